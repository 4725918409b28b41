"""The rates pages beside /rates/ (issue 14): /rates/customers (customers against the card) and
/rates/lengths (the mix of spot lengths). Each takes the period presets and, for an ae user, their
own AE (auth_web sends them to `?ae=` their own); the other filters of /rates/ do not apply here.
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from ctvdb.web import cache, params, sorting
from ctvdb.web.queries import rates as queries
from ctvdb.web.queries.rates_customers import rates_customers as customers_query
from ctvdb.web.queries.rates_lengths import rates_lengths as lengths_query
from ctvdb.web.views.rates import parse_rate_filters


def _period_and_ae(request: Request) -> queries.RateFilters:
    """The period and AE of the rates filters: these pages have no drill-down."""
    parsed = parse_rate_filters(request.args)
    return queries.RateFilters(period=parsed.period, from_month=parsed.from_month, to_month=parsed.to_month,
                               ae=parsed.ae)


def _page(app, request: Request, query, *paths) -> Response:
    filters = _period_and_ae(request)
    fmt, sort = params.parse_format(request.args), params.parse_sort(request.args)
    report, key = app.report(request, query, filters, *paths)
    if sort is not None:
        # As report_page: a sorted page is the cached report reordered, today's date kept last.
        unsorted, key = report, key[:-1] + (sort, key[-1])
        report = cache.REPORTS.get_or_compute(key, app.config.report_cache_seconds,
                                              lambda: sorting.sort_report(unsorted, sort))
    return app.render_report(request, report, key, fmt)


def rates_customers(app, request: Request) -> Response:
    return _page(app, request, customers_query, app.url_for("rates_customers"), app.url_for("rates"))


def rates_lengths(app, request: Request) -> Response:
    return _page(app, request, lengths_query)
