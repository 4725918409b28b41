"""The reports web app: one WSGI class, one literal URL map, one `on_<endpoint>` method per page.

Each report view does three things: parse its arguments (`params`), call one query function
(`queries`, through the data-version-keyed cache), render (a template or a download). Errors of
every kind become a page in `error_page` and nowhere else.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup
from werkzeug.exceptions import Conflict, HTTPException, InternalServerError, NotFound, ServiceUnavailable
from werkzeug.routing import IntegerConverter, Map, RequestRedirect, Rule
from werkzeug.urls import iri_to_uri
from werkzeug.utils import redirect, send_from_directory
from werkzeug.wrappers import Request, Response

from ctvdb import auth_web, db
from ctvdb.config import Config
from ctvdb.web import cache, charts, downloads, links, params, queries, sorting
from ctvdb.web.table_rows import table_rows
from ctvdb.web.views import VIEWS

log = logging.getLogger("ctvdb.web")
STATIC = Path(__file__).parent / "static"

# The index page and the navigation: endpoint, title, one-line description.
REPORT_PAGES = [
    ("me", "My day",
     "An AE's month, quarter and year against forecast and budget, booking pace, accounts and signals, new business."),
    ("manager", "Manager's scoreboard",
     "Every AE against forecast, budget and last year; revenue at risk, signals not looked at, changes since yesterday."),
    ("monthly_summary", "Monthly revenue summary",
     "Internal Ad Sales per broadcast month and quarter, open or closed, with the top 20 clients."),
    ("customer_revenue", "Customer revenue",
     "Every customer × 12 months, gross or net, with totals and new customers flagged."),
    ("ae_dashboard", "AE performance",
     "Each AE for a month, quarter or year: booked against the same months last year and budget."),
    ("market_analysis", "Language & market analysis",
     "Revenue by language group, language × market, paid vs bonus spots."),
    ("sector_analysis", "Sector analysis", "Revenue by customer sector with the top customers in each."),
    ("management_performance", "Management performance",
     "Pacing per AE and month: booked against budget and last year, for any period."),
    ("imports", "Import history", "Every import batch: status, counts, months replaced, rejected rows."),
    ("language_review", "Language review queue", "Spots whose language needs a person, high value first."),
    ("customer_review", "Customer resolution queue",
     "New customers from the imports, with the existing customers each most likely is."),
    ("customer_list", "Customers", "Every customer with its bill codes and last 12 months' gross."),
    ("customer_changes", "Customer change log", "Every decision about who a customer is, with undo."),
    ("customer_sectors", "Sectors", "The sector list, and customers given their sector, one or many at once."),
    ("customer_agencies", "Agencies", "Every agency with its customers and spellings: merge, alias, rename."),
    ("customer_stale", "Stale accounts",
     "Customers with no spot for a year and nothing booked ahead, with the revenue at risk."),
    # Accounts (issue 15), beside the workbench they share their customers and agencies with.
    ("account_list", "Accounts",
     "Every agency and advertiser with its AE, contacts, revenue, signals and next follow-up; filters, saved filters, downloads."),
    ("account_follow_ups", "Follow-ups", "Follow-ups due and overdue, an AE's or everyone's."),
    ("new_business", "New and changed business",
     "Contracts added in the last days, cancellations and reductions since the last import, spots waiting for copy."),
    ("signals", "Account signals",
     "Customers and agencies churned, declining, gone quiet, new, growing or with a renewal gap; snooze or dismiss."),
    # Issue 13, booking pace: web/views/pace.py
    ("booking_pace", "Booking pace", "Each coming month booked as of today against last year at the same point."),
    # Planning (issue 13)
    ("planning_grid", "Planning", "Budgets and forecasts per AE and month beside booked and last year: edit, or paste from Excel."),
    ("planning_history", "Planning history", "Every budget and forecast change, and a month's forecasts as they stood on any day."),
    # Rate analysis (issue 14): web/views/rates.py
    ("rates", "Rates", "What a spot sells for by language, market, daypart, length, revenue type, AE, sector and tenure, with drill-down."),
    ("rates_customers", "Customers against the card",
     "Each customer's rate per :30 against the card for the same language, market and daypart: who buys below and above it."),
    ("rates_lengths", "Spot lengths", "The mix of :15, :30, :60 and :120 spots, their rate per second, and who buys short spots."),
    ("rates_trends", "Rate trends", "Each language's, market's, daypart's … average rate month by month over 24 months, its variation, and customer concentration."),
]
TITLES = dict((e, t) for e, t, _ in REPORT_PAGES) | {"customer_detail": "Customer", "index": "Reports"}

# The menu: REPORT_PAGES in groups by what people do there, each page under a short name (its
# title, on the page and the index, says the rest). Every page of REPORT_PAGES is in one group.
MENU = [
    ("Sales", [("me", "My day"), ("manager", "Scoreboard"), ("account_list", "Accounts"),
               ("account_follow_ups", "Follow-ups"), ("signals", "Signals"), ("new_business", "New business"),
               ("booking_pace", "Pace")]),
    ("Revenue", [("monthly_summary", "Monthly summary"), ("customer_revenue", "By customer"),
                 ("ae_dashboard", "AE performance"), ("market_analysis", "Languages & markets"),
                 ("sector_analysis", "By sector"), ("management_performance", "Management")]),
    ("Rates", [("rates", "Overview"), ("rates_customers", "Against the card"), ("rates_lengths", "Lengths"),
               ("rates_trends", "Trends")]),
    ("Planning", [("planning_grid", "Budgets & forecasts"), ("planning_history", "History")]),
    ("Data", [("imports", "Imports"), ("language_review", "Language queue"), ("customer_review", "Customer queue"),
              ("customer_list", "Customers"), ("customer_changes", "Change log"), ("customer_sectors", "Sector list"),
              ("customer_agencies", "Agencies"), ("customer_stale", "Stale accounts")]),
]


ABOUT = {e: d for e, _, d in REPORT_PAGES}


def _menu_for(groups: list, user) -> list:
    """The menu's groups with only the pages this user may open (a group left empty is dropped)."""
    out = []
    for group, entries in groups:
        mine = [entry for entry in entries if auth_web.may_open(user, entry[0])]
        if mine:
            out.append((group, mine))
    return out

# Column kinds shown right-aligned as figures (see queries.Column).
NUMERIC = frozenset({"money", "change", "int", "pct", "change_pct", "pace", "id"})

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class IdConverter(IntegerConverter):
    """`<id:name>`: a row id in a URL, 1 to SQLite's largest integer. A bigger one is no page
    (404), where a plain int would reach sqlite3 and fail to bind (OverflowError, a 500)."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, min=1, max=2**63 - 1)


class StartupError(Exception):
    """The app cannot serve at all (no database, old schema, broken template): one line."""


class App:
    def __init__(self, config: Config, now=None):
        self.config = config
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.tz = ZoneInfo(config.timezone)
        self.url_map = Map([
            Rule("/", endpoint="root"),
            Rule("/health", endpoint="health"),
            Rule("/static/<path:filename>", endpoint="static"),
            Rule("/reports/", endpoint="index"),
            Rule("/reports/monthly/revenue-summary", endpoint="monthly_summary"),
            Rule("/reports/revenue-dashboard-customer", endpoint="customer_revenue"),
            Rule("/reports/ae-dashboard", endpoint="ae_dashboard"),
            Rule("/reports/market-analysis", endpoint="market_analysis"),
            Rule("/reports/sector-analysis", endpoint="sector_analysis"),
            Rule("/reports/customer/<id:customer_id>", endpoint="customer_detail"),
            Rule("/reports/management-performance", endpoint="management_performance"),
            Rule("/reports/imports", endpoint="imports"),
            Rule("/reports/language-review", endpoint="language_review"),
            Rule("/signin", endpoint="signin", methods=["GET", "POST"]),
            Rule("/signout", endpoint="signout", methods=["POST"]),
            Rule("/admin/users", endpoint="admin_users", methods=["GET", "POST"]),
            # The customer workbench: views in web/views/workbench.py, named by the rule.
            Rule("/customers/", endpoint="customer_list", methods=["GET"]),
            Rule("/customers/merge", endpoint="customer_merge", methods=["POST"]),
            Rule("/customers/review", endpoint="customer_review", methods=["GET"]),
            Rule("/customers/review", endpoint="customer_review_decide", methods=["POST"]),
            Rule("/customers/changes", endpoint="customer_changes", methods=["GET"]),
            Rule("/customers/changes/<id:change_id>/undo", endpoint="customer_undo", methods=["POST"]),
            Rule("/customers/stale", endpoint="customer_stale", methods=["GET"]),
            Rule("/customers/stale", endpoint="customer_stale_deactivate", methods=["POST"]),
            Rule("/customers/sectors", endpoint="customer_sectors", methods=["GET"]),
            Rule("/customers/sectors", endpoint="customer_sectors_edit", methods=["POST"]),
            Rule("/customers/sectors/assign", endpoint="customer_sectors_assign", methods=["POST"]),
            Rule("/customers/agencies", endpoint="customer_agencies", methods=["GET"]),
            Rule("/customers/agencies", endpoint="customer_agencies_edit", methods=["POST"]),
            Rule("/customers/<id:customer_id>", endpoint="customer_edit", methods=["GET"]),
            Rule("/customers/<id:customer_id>", endpoint="customer_edit_save", methods=["POST"]),
            # New and changed business (issue 13): views/business.py.
            Rule("/reports/new-business", endpoint="new_business"),
            # The daily pages (issue 13): views in web/views/daily.py.
            Rule("/me", endpoint="me"),
            Rule("/manager", endpoint="manager"),
            # Account signals (issue 13): views in web/views/signals.py.
            Rule("/reports/signals", endpoint="signals", methods=["GET"]),
            Rule("/reports/signals", endpoint="signals_decide", methods=["POST"]),
            # Issue 13, booking pace: the view in web/views/pace.py.
            Rule("/reports/pace", endpoint="booking_pace"),
            # Planning (issue 13): budgets and forecasts, views in web/views/planning.py.
            Rule("/planning/", endpoint="planning_grid", methods=["GET"]),
            Rule("/planning/history", endpoint="planning_history", methods=["GET"]),
            Rule("/planning/budgets", endpoint="planning_budgets", methods=["POST"]),
            Rule("/planning/forecasts", endpoint="planning_forecasts", methods=["POST"]),
            # Rate analysis (issue 14): the view in web/views/rates.py.
            Rule("/rates/", endpoint="rates"),
            Rule("/rates/customers", endpoint="rates_customers"),
            Rule("/rates/lengths", endpoint="rates_lengths"),
            Rule("/rates/trends", endpoint="rates_trends"),
            # The API for machines (issue 16): views in web/views/api.py. /api/v1/ takes a bearer
            # token, never a cookie (auth_web.api_authorize), and only GET: a token never writes.
            Rule("/api/", endpoint="api_guide", methods=["GET"]),
            Rule("/api/v1/meta", endpoint="api_meta", methods=["GET"]),
            Rule("/api/v1/reports/<name>", endpoint="api_report", methods=["GET"]),
            Rule("/api/v1/revenue/sheet", endpoint="api_revenue_sheet", methods=["GET"]),
            Rule("/api/v1/planning", endpoint="api_planning", methods=["GET"]),
            Rule("/api/v1/openapi.json", endpoint="api_openapi", methods=["GET"]),
            Rule("/admin/tokens", endpoint="admin_tokens", methods=["GET", "POST"]),
            # Accounts (issue 15): views in web/views/accounts.py.
            Rule("/accounts/", endpoint="account_list", methods=["GET"]),
            Rule("/accounts/filters", endpoint="account_filters", methods=["POST"]),
            Rule("/accounts/assign", endpoint="account_assign", methods=["POST"]),
            Rule("/accounts/follow-ups", endpoint="account_follow_ups", methods=["GET"]),
            Rule("/accounts/customer/<id:account_id>", endpoint="account_customer", methods=["GET"]),
            Rule("/accounts/customer/<id:account_id>", endpoint="account_customer_edit", methods=["POST"]),
            Rule("/accounts/agency/<id:account_id>", endpoint="account_agency", methods=["GET"]),
            Rule("/accounts/agency/<id:account_id>", endpoint="account_agency_edit", methods=["POST"]),
            Rule("/accounts/import", endpoint="account_import", methods=["GET"]),
            Rule("/accounts/import", endpoint="account_import_plan", methods=["POST"]),
            Rule("/accounts/import/confirm", endpoint="account_import_confirm", methods=["POST"]),
            Rule("/accounts/duplicates", endpoint="account_duplicates", methods=["GET"]),
            Rule("/accounts/duplicates", endpoint="account_merge", methods=["POST"]),
        ], converters={"id": IdConverter})
        self.urls = self.url_map.bind("localhost", script_name="/")
        self.jinja = jinja2.Environment(
            loader=jinja2.PackageLoader("ctvdb.web", "templates"),
            autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.jinja.filters.update(
            money=_money, dollars=_dollars, change=_change, integer=_integer, pct=_pct, change_pct=_change_pct,
            pace=queries.pace_class, month_label=_month_label, market_name=_market_name,
            pacific=self.pacific, month_input=_month_input,
            zip_pairs=lambda values: [(v, v) for v in values], zip_with=lambda a, b: list(zip(a, b)))
        # The navigation's URLs are built once, not per request; each page offers only the
        # entries, links and filter choices that `may_open` says the signed-in user may open.
        self.jinja.globals.update(url_for=self.url_for, bars=charts.bars, shares=charts.shares,
                                  may_open=auth_web.may_open, NUMERIC=NUMERIC, PACE_WORDS=queries.PACE_WORDS,
                                  pages=[(e, t, d, self.url_for(e)) for e, t, d in REPORT_PAGES],
                                  menu_for=functools.partial(_menu_for, [
                                      (group, [(e, label, TITLES[e], self.url_for(e), ABOUT[e]) for e, label in entries])
                                      for group, entries in MENU]),
                                  table_rows=functools.partial(table_rows, self.jinja.filters, NUMERIC))
        self.check_startup()
        # One idle connection to each database for the life of the process. Without it a request
        # on a quiet server is the first and the last connection, and SQLite builds and tears
        # down the write-ahead log's index each time (0.2 ms a database). It runs no query after
        # this one; every request still opens its own.
        self._keep_open = [db.connect_readonly(self.config.database_path),
                           db.connect_readonly(db.auth_path(self.config.database_path))]
        for conn in self._keep_open:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()

    # Start-up: fail with one line rather than answer 500 on every page -------------------------

    def check_startup(self) -> None:
        try:
            conn = db.connect_readonly(self.config.database_path)
        except db.DatabaseError as exc:
            raise StartupError(str(exc)) from None
        try:
            found, wanted = queries.schema_version(conn), db.schema_version()
        except sqlite3.Error as exc:
            raise StartupError(f"database {self.config.database_path} cannot be read: {exc}") from None
        finally:
            conn.close()
        if not found:
            raise StartupError(f"database {self.config.database_path} has no ctvdb schema: run `ctvdb init`")
        if found == wanted and not db.auth_path(self.config.database_path).exists():
            raise StartupError(f"sign-in database {db.auth_path(self.config.database_path)} does not exist: "
                               f"run `ctvdb migrate`")
        if found == wanted and db.auth_version(self.config.database_path) != db.AUTH_SCHEMA_VERSION:
            raise StartupError(f"sign-in database {db.auth_path(self.config.database_path)} is at version"
                               f" {db.auth_version(self.config.database_path)}, this ctvdb needs"
                               f" {db.AUTH_SCHEMA_VERSION}: run `ctvdb migrate`")
        if found != wanted:
            raise StartupError(
                f"database {self.config.database_path} is at schema version {found}, this ctvdb needs"
                f" {wanted}: " + ("run `ctvdb migrate`" if found < wanted else "deploy the ctvdb that wrote it"))
        for name in self.jinja.list_templates():
            try:
                self.jinja.get_template(name)
            except jinja2.TemplateError as exc:
                raise StartupError(f"template {name} does not load: {exc}") from None

    # WSGI ---------------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        return self.wsgi_app(environ, start_response)

    def wsgi_app(self, environ, start_response):
        request = Request(environ)
        request.db = request.auth_db = None
        request.principal = None
        try:
            response = self.dispatch_request(request)
        except Exception as exc:  # noqa: BLE001 - the one place errors become pages
            response = self.error_page(request, exc)
        finally:
            for conn in (request.db, request.auth_db):
                if conn is not None:
                    conn.close()
        response.headers.update(SECURITY_HEADERS)
        return response(environ, start_response)

    def dispatch_request(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        endpoint, values = adapter.match()
        refused = self.authorize(request, endpoint)
        if refused is not None:
            return refused
        return self.handler(endpoint)(request, **values)

    def handler(self, endpoint: str):
        """The view of an endpoint: `view(request, **values)`. The API asks it for a report's page."""
        if endpoint in VIEWS:
            return functools.partial(VIEWS[endpoint], self)
        return getattr(self, f"on_{endpoint}")

    def authorize(self, request: Request, endpoint: str) -> Response | None:
        """Sign-in and roles (issue 5): None to go on, a response (sign-in redirect, 401) to send
        instead, or Forbidden raised. The signed-in user is left in `request.principal`."""
        if request.auth_db is None:
            request.auth_db = db.connect_auth(self.config.database_path)
        allowed = auth_web.authorize(request.auth_db, self.config, request, endpoint)
        if isinstance(allowed, Response):
            return allowed
        request.principal = allowed
        return None

    def error_page(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, (db.ImportRunning, db.WriteBusy)):   # a change not saved: say so, not 503
            log.warning("change refused for %s: %s", request.path, exc)
            exc = Conflict(str(exc))
        elif isinstance(exc, (db.DatabaseError, sqlite3.OperationalError)):
            log.error("database unavailable for %s: %s", request.path, exc)
            exc = ServiceUnavailable("The report database cannot be read just now; try again shortly.")
        elif not isinstance(exc, HTTPException):
            log.exception("error serving %s", request.url)
            exc = InternalServerError("Something went wrong building this page; it has been logged.")
        if isinstance(exc, RequestRedirect):  # a missing trailing slash: a relative Location, never
            parts = urlsplit(exc.new_url)     # one built from the Host header a client sent
            return redirect(parts.path + (f"?{parts.query}" if parts.query else ""), exc.code)
        if isinstance(exc, NotFound) and exc.description == NotFound.description:
            exc = NotFound("There is no page at this address. Check the link, or start again from the reports.")
        if request.path.startswith("/api/v1/"):   # issue 16: a machine reads the one sentence
            return auth_web.api_error(exc.code, exc.description)
        if request.path == "/health" or request.args.get("format") == "json":
            body = {"status": "error", "error": exc.description}
            if exc.code == 503:
                body["database"] = "unreachable"
            return Response(json.dumps(body), status=exc.code, mimetype="application/json")
        footer = None
        try:
            footer = self.footer(request)
            # A refused or unknown page still shows who is signed in and their menu: the 403 was
            # raised before the view, and a 404 before sign-in was even looked at.
            if request.principal is None:
                if request.auth_db is None:
                    request.auth_db = db.connect_auth(self.config.database_path)
                request.principal = auth_web.current_principal(request.auth_db, self.config, request)
        except Exception:  # noqa: BLE001 - an error page must not fail on its footer or menu
            log.warning("error page for %s drawn without its footer or menu", request.path)
        if request.db is not None:
            request.db.close()
            request.db = None
        html = self.jinja.get_template("layout.html").render(
            title=exc.name, body=Markup(self.jinja.get_template("error.html").render(error=exc)),
            footer=footer, endpoint=None, downloads=None, user=request.principal, about=None)
        return Response(html, status=exc.code, mimetype="text/html")

    # Helpers --------------------------------------------------------------------------------------

    def connection(self, request: Request) -> sqlite3.Connection:
        if request.db is None:
            request.db = db.connect_readonly(self.config.database_path)
        return request.db

    def url_for(self, endpoint: str, **values) -> str:
        return self.urls.build(endpoint, {k: v for k, v in values.items() if v not in (None, "")})

    def pacific(self, iso_utc: str | None) -> str:
        if not iso_utc:
            return ""
        moment = datetime.fromisoformat(iso_utc.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(self.tz).strftime("%a %-d %b %Y, %-I:%M %p %Z")

    def footer(self, request: Request) -> dict:
        """The last completed import, cached per database for footer_cache_seconds."""
        last = cache.FOOTER.get_or_compute(
            str(self.config.database_path), self.config.footer_cache_seconds,
            lambda: queries.last_completed_import(self.connection(request)))
        if last is None:
            return {"updated": None, "stale": True}
        finished = datetime.fromisoformat(last["finished_at"].replace("Z", "+00:00"))
        stale = self.now() - finished > timedelta(hours=self.config.stale_after_hours)
        return {"updated": self.pacific(last["finished_at"]), "stale": stale}

    def today(self) -> date:
        """Today in Pacific time: the year a report opens on and the current broadcast month."""
        return self.now().astimezone(self.tz).date()

    def report(self, request: Request, query, filters: params.Filters, *args) -> tuple:
        """(report, cache key): `query(conn, *args, filters=, today=)` through the cache.

        The key holds the data version, so a new import or load is a cache miss at once.
        """
        conn = self.connection(request)
        today = self.today()
        key = (str(self.config.database_path), queries.data_version(conn), query.__name__, args,
               filters, today)
        report = cache.REPORTS.get_or_compute(
            key, self.config.report_cache_seconds,
            lambda: query(conn, *args, filters=filters, today=today))
        return report, key

    def render_report(self, request: Request, report, key: tuple, fmt: str) -> Response:
        if report is None:
            raise NotFound("There is no such customer; it may have been merged or never imported.")
        if fmt in ("csv", "xlsx", "json"):
            table = request.args.get("table")
            if fmt == "csv":
                body = downloads.to_csv(report, table)
            elif fmt == "xlsx":
                about = {"title": _title(report), "data_version": key[1], "tz": self.tz,
                         "made": self.pacific(self.now().isoformat())}
                body = downloads.to_xlsx(report, about)
            else:
                body = downloads.to_json(report, key[1])
            response = Response(body, mimetype=downloads.MIME[fmt])
            if fmt != "json":
                response.headers["Content-Disposition"] = \
                    f'attachment; filename="{downloads.filename(report, fmt, table)}"'
            return response
        # The page's links and choices depend on the rules, and the rules only on role and AE.
        user = request.principal
        body = cache.REPORTS.get_or_compute(
            key + ("html", user and user.role, user and user.ae), self.config.report_cache_seconds,
            lambda: self.jinja.get_template(f"{report.name}.html").render(
                r=report, user=user, current_month=queries.current_month(key[-1]),
                links=links.Links(report, user, request.path, self.url_for, params.parse_sort(request.args))))
        return self.page(request, report.name, body, title=_title(report), downloads=True,
                         about=queries.describe(report))

    def page(self, request: Request, endpoint: str, body: str, *, title: str,
             downloads: bool = False, status: int = 200, about: list | None = None) -> Response:
        download_links = None
        if downloads:
            base = {k: v for k, v in request.args.items() if k not in ("format", "table")}
            download_links = {fmt: iri_to_uri(request.path + "?" + urlencode(base | {"format": fmt}))
                     for fmt in ("csv", "xlsx", "json")}
        html = self.jinja.get_template("layout.html").render(
            title=title, body=Markup(body), footer=self.footer(request), endpoint=endpoint,
            downloads=download_links, user=request.principal, about=about)
        return Response(html, status=status, mimetype="text/html")

    # Pages ------------------------------------------------------------------------------------------

    def on_signin(self, request):
        return auth_web.signin(self.config, request, self.form_page(request, "signin", "Sign in"))

    def on_signout(self, request):
        return auth_web.signout(self.config, request, request.principal)

    def on_admin_users(self, request):
        return auth_web.admin_users(self.config, request, request.principal,
                                    self.form_page(request, "admin_users", "Users"))

    def form_page(self, request: Request, endpoint: str, title: str):
        """The `render(template, **context)` the sign-in views take: their template in the layout."""
        return lambda template, **context: self.page(
            request, endpoint, self.jinja.get_template(template).render(**context), title=title)

    def on_root(self, request):
        return redirect("/reports/", code=302)

    def on_static(self, request, filename):
        return send_from_directory(STATIC, filename, request.environ, max_age=3600)

    def on_health(self, request):
        """Status, the last import and staleness, for anyone (a monitor signs in as nobody); the
        server's paths (database, workbook) only for a signed-in user, and never an error text."""
        try:
            conn = self.connection(request)
            last = queries.last_completed_import(conn)
        except (db.DatabaseError, sqlite3.Error) as exc:
            log.error("health: database unreachable: %s", exc)
            body = {"status": "error", "database": "unreachable",
                    "error": "The report database cannot be read just now."}
            return Response(json.dumps(body), status=503, mimetype="application/json")
        stale = True
        if last:
            finished = datetime.fromisoformat(last["finished_at"].replace("Z", "+00:00"))
            stale = self.now() - finished > timedelta(hours=self.config.stale_after_hours)
            last = {**last, "finished_at_pacific": self.pacific(last["finished_at"])}
            if request.principal is None:
                del last["source_file"]
        body = {"status": "ok", "database": "reachable", "last_import": last, "stale": stale}
        return Response(json.dumps(body), mimetype="application/json")

    def on_index(self, request):
        """The reports, opened by the headline figures: an ae user's are their own AE's."""
        user = request.principal
        report, _ = self.report(request, queries.index, params.Filters(ae=user.ae if user else None))
        body = self.jinja.get_template("index.html").render(user=user, r=report)
        return self.page(request, "index", body, title="Reports")

    def report_page(self, request, query, *args):
        """The three steps every report takes: parse the filters, run its query (cached), render."""
        filters, fmt = params.parse_filters(request.args), params.parse_format(request.args)
        sort = params.parse_sort(request.args)
        report, key = self.report(request, query, filters, *args)
        if report is not None and sort is not None:
            # A sorted page is the cached report reordered, not a second query; the key keeps
            # today's date last, where the page's current month is read from.
            unsorted, key = report, key[:-1] + (sort, key[-1])
            report = cache.REPORTS.get_or_compute(key, self.config.report_cache_seconds,
                                                  lambda: sorting.sort_report(unsorted, sort))
        return self.render_report(request, report, key, fmt)

    def on_monthly_summary(self, request):
        return self.report_page(request, queries.monthly_summary)

    def on_customer_revenue(self, request):
        return self.report_page(request, queries.customer_revenue)

    def on_ae_dashboard(self, request):
        return self.report_page(request, queries.ae_dashboard)

    def on_market_analysis(self, request):
        return self.report_page(request, queries.market_analysis)

    def on_sector_analysis(self, request):
        return self.report_page(request, queries.sector_analysis)

    def on_customer_detail(self, request, customer_id):
        """An ae user reaches this with `ae=` their own (auth_web.authorize sees to it); the
        query says whether they have booked the customer, which only the database knows."""
        filters, fmt = params.parse_filters(request.args), params.parse_format(request.args)
        report, key = self.report(request, queries.customer_detail, filters, customer_id)
        if report is not None:
            auth_web.check_booked(request.principal, report.extra["booked"])
        return self.render_report(request, report, key, fmt)

    def on_management_performance(self, request):
        return self.report_page(request, queries.management_performance)

    def on_imports(self, request):
        return self.report_page(request, queries.imports)

    def on_language_review(self, request):
        return self.report_page(request, queries.language_review)


def create_app(config: Config, now=None) -> App:
    """The WSGI app; raises StartupError (one line) when it could not serve anything."""
    return App(config, now=now)


# Formatting filters ------------------------------------------------------------------------------

# Formatted numbers hold only digits, separators, signs and a dash: marked safe so that the
# thousands of cells of a large report are not escaped one by one. A zero or missing figure is a
# dash, not "0.00" in every empty month; a negative one carries a minus sign, never colour alone.

MINUS = "\u2212"


def _money(value) -> Markup:
    if not value:
        return Markup("—")
    return Markup(f"{value:,.2f}".replace("-", MINUS))


def _dollars(value) -> Markup:
    """A card's amount: $1,234.00, −$350.00, or a dash for none or zero."""
    if not value:
        return Markup("—")
    return Markup(f"{MINUS if value < 0 else ''}${abs(value):,.2f}")


def _change(value) -> Markup:
    if value is None:
        return Markup("—")
    return Markup(f"{value:+,.2f}".replace("-", MINUS)) if round(value, 2) else Markup("0.00")


def _integer(value) -> Markup:
    return Markup("—" if value is None else f"{int(value):,}".replace("-", MINUS))


def _pct(value) -> Markup:
    return Markup("—" if value is None else f"{float(value):.1f}%".replace("-", MINUS))


def _change_pct(value) -> Markup:
    return Markup("—" if value is None else f"{float(value):+.1f}%".replace("-", MINUS))


def _month_label(value) -> str:
    return params.month_label(value) if isinstance(value, int) else ("" if value is None else str(value))


def _market_name(market: dict) -> str:
    return f"{market['name']} ({market['code']})" if market.get("name") and market["name"] != market["code"] \
        else market["code"]


def _month_input(month: int | None) -> str:
    """202611 -> '2026-11', the value of an <input type="month">."""
    return f"{month // 100}-{month % 100:02d}" if month else ""


def _title(report) -> str:
    if report.name == "customer_detail":
        return report.extra["customer"]["name"]
    return TITLES[report.name]

