"""New and changed business (issue 13): /reports/new-business, the three tables of
ctvdb/web/queries/business.py for the last `days=` days, for one AE or all."""

from __future__ import annotations

import re

from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Request, Response

from ctvdb.web import cache, links, params, queries, sorting
from ctvdb.web.queries import business

TITLE = "New and changed business"
MAX_DAYS = 366


class _Links(links.Links):
    """The report links, keeping this page's own `days=`, which the shared filters (and so
    params.query_args) do not know."""

    def __init__(self, report, *args):
        super().__init__(report, *args)
        if report.filters["days"] != business.ADDED_DAYS:
            self.args["days"] = report.filters["days"]


def _days(args) -> int:
    text = (args.get("days") or "").strip()
    if not text:
        return business.ADDED_DAYS
    if not re.fullmatch(r"\d{1,4}", text) or not 1 <= int(text) <= MAX_DAYS:
        raise BadRequest(f"The number of days “{text[:20]}” is not a number from 1 to {MAX_DAYS}.")
    return int(text)


def new_business(app, request: Request) -> Response:
    filters, fmt = params.parse_filters(request.args), params.parse_format(request.args)
    days, sort = _days(request.args), params.parse_sort(request.args)
    report, key = app.report(request, business.new_business, filters, days)
    if sort is not None:   # the cached report reordered, as report_page does
        unsorted, key = report, key[:-1] + (sort, key[-1])
        report = cache.REPORTS.get_or_compute(key, app.config.report_cache_seconds,
                                              lambda: sorting.sort_report(unsorted, sort))
    if fmt != "html":
        return app.render_report(request, report, key, fmt)
    user = request.principal
    body = cache.REPORTS.get_or_compute(
        key + ("html", user and user.role, user and user.ae), app.config.report_cache_seconds,
        lambda: app.jinja.get_template("new_business.html").render(
            r=report, user=user, current_month=queries.current_month(key[-1]),
            links=_Links(report, user, request.path, app.url_for, sort)))
    return app.page(request, "new_business", body, title=TITLE, downloads=True, about=queries.describe(report))
