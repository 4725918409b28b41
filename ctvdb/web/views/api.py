"""The read-only API for machines (issue 16): `/api/v1/…` behind a bearer token, and `/api/`, the
page that tells people how to use it.

auth_web.api_authorize has let the request in (a live token, within its rate and scope) and left
its Principal in `request.principal`: a viewer's rights, or an ae user's for a token with an AE.
Every answer carries an ETag made from the data version, the request's arguments and the token's
AE, and a request whose If-None-Match holds it gets 304 before anything is computed.

A report's figures come from the page's own view (`app.handler`), asked for its JSON or CSV
download: the same query function through the same cache, so the API, the page and its downloads
cannot disagree. The planning feed is the planning page's report (`queries.planning_grid` through
`app.report`), one row per AE and month. The revenue sheet streams: a generator over batches of
`queries.revenue_sheet.rows` on a connection of its own, one read snapshot for its ETag and rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime, timedelta

from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import BadRequest, Forbidden, NotFound
from werkzeug.wrappers import Request, Response

from ctvdb import auth, auth_web, db, tokens
from ctvdb.web import cache, downloads, openapi, params, queries
from ctvdb.web.queries import planning as planning_queries
from ctvdb.web.queries import revenue_sheet as sheet
from ctvdb.web.queries.base import period_months

# /api/v1/reports/<name>: the report pages a token may read, by their endpoint's name (which is also
# the "report" of their JSON). The manager's scoreboard is for managers, which no token acts as;
# the workbench pages are not reports.
REPORTS = ("monthly_summary", "customer_revenue", "ae_dashboard", "market_analysis", "sector_analysis",
           "customer_detail", "management_performance", "imports", "language_review", "new_business",
           "signals", "booking_pace", "me", "rates", "rates_customers", "rates_lengths", "rates_trends")
FORMATS = ("json", "csv")
JSON = "application/json"
CSV = "text/csv"          # werkzeug adds "; charset=utf-8"


# What every answer shares --------------------------------------------------------------------------

def _format(args) -> str:
    fmt = (args.get("format") or "json").strip().lower()
    if fmt not in FORMATS:
        raise BadRequest(f"The format “{fmt[:20]}” is not one of {', '.join(FORMATS)}.")
    return fmt


def _own_ae(principal: auth_web.Principal, args: MultiDict) -> MultiDict:
    """The arguments with an AE-scoped token's AE filled in (as the pages send an ae user to
    `?ae=` their own); another AE is refused."""
    args = MultiDict(args)
    if principal.ae:
        if any(auth.normalise_ae(a) != principal.ae for a in args.getlist("ae")):
            raise Forbidden("This token sees only its own AE's accounts.")
        args.setlist("ae", [principal.ae])
    return args


def _etag(app, version, principal: auth_web.Principal, *parts) -> str:
    """Strong ETag: what the answer is made of. Today is in it, as in the report cache's key:
    "this month" and a default year move with the date."""
    raw = json.dumps([list(version), principal.ae, str(app.today()), *parts], default=str, sort_keys=True)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:40]


def _headers(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    # A client may keep the answer, but asks again each time (If-None-Match: a 304 costs nothing).
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Authorization"
    return response


def _not_modified(request: Request, etag: str) -> Response | None:
    if request.if_none_match.contains(etag) or request.if_none_match.star_tag:
        return _headers(Response(status=304), etag)
    return None


def _json(body: dict) -> bytes:
    return json.dumps(body, default=str).encode("utf-8")


def _month_text(month: int) -> str:
    return f"{month // 100}-{month % 100:02d}"


# /api/v1/meta -----------------------------------------------------------------------------------

def api_meta(app, request: Request) -> Response:
    """The data version, the last completed import and whether it is stale: when the data is from."""
    conn = app.connection(request)
    version, last = queries.data_version(conn), queries.last_completed_import(conn)
    stale = True
    if last:
        finished = datetime.fromisoformat(last["finished_at"].replace("Z", "+00:00"))
        stale = app.now() - finished > timedelta(hours=app.config.stale_after_hours)
        last = {"id": last["id"], "finished_at": last["finished_at"],
                "finished_at_pacific": app.pacific(last["finished_at"]), "mode": last["mode"]}
    token = request.principal.token
    etag = _etag(app, version, request.principal, "meta", stale, token.name, token.expires_at)
    if (unchanged := _not_modified(request, etag)) is not None:
        return unchanged
    body = {"data_version": list(version), "last_import": last, "stale": stale,
            "stale_after_hours": app.config.stale_after_hours,
            "token": {"name": token.name, "scope": token.scope, "ae": token.ae, "expires_at": token.expires_at}}
    return _headers(Response(_json(body), mimetype=JSON), etag)


# /api/v1/reports/<name> ------------------------------------------------------------------------

def api_report(app, request: Request, name: str) -> Response:
    """The report page `name`'s JSON (or `format=csv`: one table, `table=`) download, with the
    page's own filters; an AE token's filtered to its AE by the page's own rule."""
    if name not in REPORTS:
        raise NotFound(f"There is no report “{name[:40]}”; the reports are {', '.join(REPORTS)}.")
    principal = request.principal
    fmt = _format(request.args)
    args = _own_ae(principal, request.args)
    values = {}
    if name == "customer_detail":
        customer = params._int(args, "customer", 1, 2**63 - 1, "customer")
        if customer is None:
            raise BadRequest("The customer report needs the customer's id: ?customer=ID.")
        values["customer_id"] = customer
        args.poplist("customer")
    reason = auth_web.refusal(principal, name, args)
    if reason is not None:
        raise Forbidden(reason)
    args.setlist("format", [fmt])
    version = queries.data_version(app.connection(request))
    etag = _etag(app, version, principal, "report", name, sorted(args.items(multi=True)), values)
    if (unchanged := _not_modified(request, etag)) is not None:
        return unchanged

    def build() -> tuple:
        # The page's view, asked for its download: the same query through the same cache.
        request.args = ImmutableMultiDict(args)
        page = app.handler(name)(request, **values)
        if page.status_code != 200:      # never cache something else as the answer
            raise RuntimeError(f"the {name} view answered {page.status_code} to the API")
        return page.get_data(), page.mimetype, page.headers.get("Content-Disposition")

    body, mimetype, disposition = cache.REPORTS.get_or_compute(
        ("api", str(app.config.database_path), etag), app.config.report_cache_seconds, build)
    response = Response(body, mimetype=JSON if mimetype == downloads.MIME["json"] else CSV)
    if disposition:
        response.headers["Content-Disposition"] = disposition
    return _headers(response, etag)


# /api/v1/planning ----------------------------------------------------------------------------------

PLANNING_COLUMNS = ("ae", "month", "status", "booked", "last_year", "change", "change_pct", "budget",
                    "variance", "pacing", "forecast", "still_to_book")


def api_planning(app, request: Request) -> Response:
    """AE x month of a year (`year=`, default this year): booked, budget, forecast, last year and
    pace (`pacing`: booked as a % of budget), from the planning page's report."""
    principal = request.principal
    fmt = _format(request.args)
    args = _own_ae(principal, request.args)
    reason = auth_web.refusal(principal, "planning_grid", args)
    if reason is not None:
        raise Forbidden(reason)
    filters = params.parse_filters(args)
    version = queries.data_version(app.connection(request))
    etag = _etag(app, version, principal, "planning", fmt, filters)
    if (unchanged := _not_modified(request, etag)) is not None:
        return unchanged
    report, _ = app.report(request, planning_queries.planning_grid, filters)
    if fmt == "csv":
        response = Response(downloads.to_csv(report, "cells"), mimetype=CSV)
        response.headers["Content-Disposition"] = f'attachment; filename="{downloads.filename(report, "csv", "cells")}"'
        return _headers(response, etag)
    rows = [{key: (_month_text(row[key]) if key == "month" else row[key]) for key in PLANNING_COLUMNS}
            for row in report.table("cells").rows]
    body = {"year": report.filters["year"], "filters": report.filters, "data_version": list(version),
            "columns": list(PLANNING_COLUMNS), "rows": rows}
    return _headers(Response(_json(body), mimetype=JSON), etag)


# /api/v1/revenue/sheet ---------------------------------------------------------------------------

def api_revenue_sheet(app, request: Request) -> Response:
    """The flat revenue sheet for a year (`year=`, default this year) or a month range (`from=`,
    `to=`; also the pages' `period=`), streamed as it is read."""
    principal = request.principal
    fmt = _format(request.args)
    filters = params.parse_filters(_own_ae(principal, request.args))
    today = app.today()
    first, last = period_months(filters, filters.year or today.year, today)
    conn = db.connect_readonly(app.config.database_path)
    try:
        conn.execute("BEGIN")     # one snapshot: the ETag's data version is that of the rows sent
        version = queries.data_version(conn)
        etag = _etag(app, version, principal, "sheet", fmt, first, last, filters.ae)
        unchanged = _not_modified(request, etag)
    except BaseException:
        conn.close()
        raise
    if unchanged is not None:
        conn.close()
        return unchanged
    about = {"filters": {"from": _month_text(first), "to": _month_text(last), "ae": filters.ae},
             "data_version": list(version)}
    body = _sheet_csv(conn, first, last, filters.ae) if fmt == "csv" else _sheet_json(conn, first, last, filters.ae, about)
    response = Response(body, mimetype=JSON if fmt == "json" else CSV)
    response.call_on_close(conn.close)    # also when the client goes away before the end
    if fmt == "csv":
        period = _month_text(first) if first == last else f"{_month_text(first)}-to-{_month_text(last)}"
        who = f"-ae-{downloads._slug(filters.ae)}" if filters.ae else ""
        response.headers["Content-Disposition"] = f'attachment; filename="revenue-sheet-{period}{who}.csv"'
    return _headers(response, etag)


def _sheet_json(conn, first: int, last: int, ae: str | None, about: dict):
    try:
        head = json.dumps({**about, "columns": list(sheet.COLUMNS)})
        yield (head[:-1] + ', "rows": [').encode("utf-8")
        sep = ""
        for batch in sheet.rows(conn, first, last, ae):
            text = json.dumps([dict(zip(sheet.COLUMNS, row)) for row in batch], ensure_ascii=False)
            yield (sep + text[1:-1]).encode("utf-8")
            sep = ", "
        yield b"]}\n"
    finally:
        conn.close()


def _sheet_csv(conn, first: int, last: int, ae: str | None):
    try:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(sheet.COLUMNS)
        yield out.getvalue().encode("utf-8-sig")   # the byte-order mark, as every download has
        # A name a person typed never becomes a formula in Excel: the query quotes it (quote_formulas).
        for batch in sheet.rows(conn, first, last, ae, quote_formulas=True):
            out.seek(0)
            out.truncate()
            writer.writerows(batch)
            yield out.getvalue().encode("utf-8")
    finally:
        conn.close()


# /api/v1/openapi.json and /api/ --------------------------------------------------------------------

def api_openapi(app, request: Request) -> Response:
    body = cache.REPORTS.get_or_compute(("api", "openapi"), app.config.report_cache_seconds,
                                        lambda: _json(openapi.document(REPORTS)))
    response = Response(body, mimetype=JSON)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def api_guide(app, request: Request) -> Response:
    """The page for people: how to get a token, a curl example, a Power Query (M) example."""
    base = request.host_url.rstrip("/")
    body = app.jinja.get_template("api/guide.html").render(
        user=request.principal, base=base, reports=REPORTS, scopes=tokens.SCOPE_WORDS,
        rate=app.config.api_rate_per_minute, this_year=app.today().year, columns=sheet.COLUMNS,
        planning_columns=PLANNING_COLUMNS)
    return app.page(request, "api_guide", body, title="The API: figures for Excel and scripts")
