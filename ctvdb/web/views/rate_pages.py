"""The rates pages beside /rates/ (issue 14): /rates/customers (customers against the card) and
/rates/lengths (the mix of spot lengths). Each takes the period presets and, for an ae user, their
own AE (auth_web sends them to `?ae=` their own); the other filters of /rates/ do not apply here.
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from ctvdb.web.queries import rates as queries
from ctvdb.web.queries.rates_customers import rates_customers as customers_query
from ctvdb.web.queries.rates_lengths import rates_lengths as lengths_query
from ctvdb.web.views.rates import parse_rate_filters, render


def _period_and_ae(request: Request) -> queries.RateFilters:
    """The period and AE of the rates filters: these pages have no drill-down."""
    parsed = parse_rate_filters(request.args)
    return queries.RateFilters(period=parsed.period, from_month=parsed.from_month, to_month=parsed.to_month,
                               ae=parsed.ae)


def _page(app, request: Request, query, long_tables: tuple[str, ...], *paths) -> Response:
    report, key = app.report(request, query, _period_and_ae(request), *paths)
    return render(app, request, report, key, long_tables)


def rates_customers(app, request: Request) -> Response:
    return _page(app, request, customers_query, ("customers",), app.url_for("rates_customers"), app.url_for("rates"))


def rates_lengths(app, request: Request) -> Response:
    return _page(app, request, lengths_query, ("customer",))
