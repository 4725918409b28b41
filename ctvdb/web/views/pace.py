"""The booking pace page (issue 13): `/reports/pace`, a report like the others (parse, one
query through the cache, render), with `?month=` choosing the month it breaks down and draws."""

from __future__ import annotations

from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Request, Response

from ctvdb.web import params
from ctvdb.web.queries import pace as queries


def booking_pace(app, request: Request) -> Response:
    # The page's own links (sorting, a table's CSV) carry the month as from=/to=, as every
    # report's applied period; `month=` is what its form sends.
    text = (request.args.get("month") or "").strip()
    month = params.parse_month(text, "chosen") if text else params.parse_filters(request.args).from_month
    months = queries.pace_months(app.today())
    if month is not None and month not in months:
        raise BadRequest(f"Pace shows {params.month_label(months[0])} to {params.month_label(months[-1])}: "
                         f"{params.month_label(month)} is not one of them.")
    history = queries.snapshot_version(app.connection(request))
    return app.report_page(request, queries.booking_pace, month, history)
