"""The rates pages (issue 14): `/rates/`, a report like the others (parse the arguments, one query
through the cache, render) with its own arguments: the period presets and the drill-down filters.

An ae user is sent to `?ae=` their own (auth_web.authorize), so every figure but the company's
card is of their own spots; a `customer=` they never booked is refused, so that no other AE's
customer is named on their page.
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Request, Response

from ctvdb import auth_web, rates as rules
from ctvdb.web import cache, params, sorting
from ctvdb.web.queries import rates as queries


# The long tables of the rates pages (the card has a row per language × market × daypart, the
# customers one each) show their first this many on the page, every row with `rows=all` and in
# the downloads: a thousand rows weigh hundreds of kilobytes and take longer to draw than to compute.
PAGE_ROWS = 50


def parse_rate_filters(args: MultiDict) -> queries.RateFilters:
    """The rates page's arguments; a bad one is a BadRequest with one sentence."""
    def text(name: str, longest: int = 100) -> str | None:
        return params._text(args, name, longest)

    period = (args.get("period") or "").strip().lower() or queries.DEFAULT_PERIOD
    if period not in queries.PERIODS:
        raise BadRequest(f"The period “{period[:20]}” is not one of: {', '.join(queries.PERIODS)}.")
    from_month = params.parse_month(args["from"], "from") if (args.get("from") or "").strip() else None
    to_month = params.parse_month(args["to"], "to") if (args.get("to") or "").strip() else None
    if from_month and to_month and from_month > to_month:
        raise BadRequest("The from month is after the to month.")
    if from_month or to_month:
        period = "custom"
    elif period == "custom":
        raise BadRequest("A from/to period needs a from month or a to month.")
    daypart = (text("daypart", 20) or "").lower() or None
    if daypart and daypart != queries.NONE.lower() and daypart not in rules.DAYPART_NAMES:
        raise BadRequest(f"The daypart “{daypart}” is not one of: {', '.join(k for k, _, _ in rules.DAYPARTS)}.")
    day = (text("day", 10) or "").lower() or None
    if day not in (None, "weekday", "weekend"):
        raise BadRequest(f"The day “{day}” is neither weekday nor weekend.")
    length = (text("length", 10) or "").lower() or None
    if length is not None and length != "other" and not re.fullmatch(r"\d{1,6}", length):
        raise BadRequest(f"The length “{length}” is not a number of seconds or “other”.")
    tenure = (text("tenure", 20) or "").lower() or None
    if tenure not in (None, *rules.TENURE_NAMES):
        raise BadRequest(f"The tenure “{tenure}” is not one of: {', '.join(rules.TENURE_NAMES)}.")
    customer = params._int(args, "customer", 1, 2**63 - 1, "customer")
    ae, market, sector = text("ae"), text("market", 10), text("sector", 20)
    return queries.RateFilters(
        period=period, from_month=from_month, to_month=to_month,
        ae=ae.upper() if ae else None, revenue_type=text("revenue_type"), language=text("language", 40),
        market=market.upper() if market else None,
        daypart=queries.NONE if daypart == queries.NONE.lower() else daypart, day=day,
        length=str(int(length)) if length and length != "other" else length,
        sector=sector.upper() if sector else None, tenure=tenure, customer=customer)


def rates(app, request: Request) -> Response:
    filters = parse_rate_filters(request.args)
    if filters.customer and request.principal is not None and request.principal.ae:
        auth_web.check_booked(request.principal,
                              queries.booked(app.connection(request), filters.customer, request.principal.ae))
    report, key = app.report(request, queries.rates_overview, filters, app.url_for("rates"))
    return render(app, request, report, key, ("card", "customer"))


def render(app, request: Request, report, key: tuple, long_tables: tuple[str, ...] = ()) -> Response:
    """A rates page: sorted as asked, its long tables cut to their first PAGE_ROWS on the page."""
    fmt, sort = params.parse_format(request.args), params.parse_sort(request.args)
    if sort is not None:
        # As report_page: a sorted page is the cached report reordered, today's date kept last.
        unsorted, key = report, key[:-1] + (sort, key[-1])
        report = cache.REPORTS.get_or_compute(key, app.config.report_cache_seconds,
                                              lambda: sorting.sort_report(unsorted, sort))
    if fmt == "html" and request.args.get("rows") != "all":
        report, more = sorting.first_rows(report, long_tables, PAGE_ROWS)
        if more:
            every = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "rows"] + [("rows", "all")])
            report = dataclasses.replace(report, extra={**report.extra, "more": more, "every_url": f"?{every}"})
            key = key[:-1] + ("first rows", key[-1])
    return app.render_report(request, report, key, fmt)
