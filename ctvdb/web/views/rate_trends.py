"""/rates/trends (issue 14): the period presets of /rates/ and one dimension, one query through the
cache, render. An ae arrives with `?ae=` their own (auth_web.AE_FILTERED_ENDPOINTS), so every
figure is of their own spots."""

from __future__ import annotations

from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Request, Response

from ctvdb.web.queries import rate_trends as queries
from ctvdb.web.queries.rates import RateFilters
from ctvdb.web.views.rates import parse_rate_filters, render


def parse_dimension(args) -> str:
    dimension = (args.get("dimension") or "").strip().lower() or queries.DEFAULT_DIMENSION
    if dimension not in queries.DIMENSIONS:
        raise BadRequest(f"The dimension “{dimension[:20]}” is not one of: {', '.join(queries.DIMENSIONS)}.")
    return dimension


def rates_trends(app, request: Request) -> Response:
    parsed = parse_rate_filters(request.args)
    # Only the period and the AE apply here: the dimension's values are the rows.
    filters = RateFilters(parsed.period, parsed.from_month, parsed.to_month, parsed.ae)
    dimension = parse_dimension(request.args)
    report, key = app.report(request, queries.rates_trends, filters, app.url_for("rates"), dimension)
    return render(app, request, report, key, ("months",))
