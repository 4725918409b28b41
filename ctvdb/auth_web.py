"""Sign-in on the web side: who is asking, whether they may open a page, and the sign-in pages.

The web app calls `authorize` before every view, and `signin`, `signout` and `admin_users` as
the views of those endpoints. Who may open which endpoint is said once, in `refusal`; the pages
ask `may_open` what to offer. Passwords and sessions are in auth.py. Forwarded headers (client
address, https, the single sign-on login) are believed only from `config.trusted_proxies`.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, Forbidden, MethodNotAllowed
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from ctvdb import auth, db, ratelimit, tokens
from ctvdb.config import Config

log = logging.getLogger(__name__)

SESSION_COOKIE = "ctvdb_session"
FORM_COOKIE = "ctvdb_signin"            # the nonce the sign-in form's CSRF token is signed over
SIGNIN_PATH = "/signin"
DEFAULT_NEXT = "/reports/"
DATA_FORMATS = frozenset({"csv", "json", "xlsx"})

# Endpoints of the web app's URL map, by who may open them. `root` only redirects to the index.
PUBLIC_ENDPOINTS = frozenset({"signin", "static", "health", "root"})
ADMIN_ENDPOINTS = frozenset({"admin_users"})
# The customer workbench (issue 12): the people who own the data decide who a customer is.
WORKBENCH_ENDPOINTS = frozenset({"customer_list", "customer_merge", "customer_review", "customer_review_decide",
                                 "customer_changes", "customer_undo", "customer_stale", "customer_stale_deactivate",
                                 "customer_sectors", "customer_sectors_edit", "customer_sectors_assign",
                                 "customer_edit", "customer_edit_save", "customer_agencies",
                                 "customer_agencies_edit"})
WORKBENCH_ROLES = frozenset({"admin", "management"})
NOT_WORKBENCH = "Only an administrator or a manager can decide who a customer is."
# Arguments only an admin may give: the import history's rejected rows (`batch=`) show raw cells.
ADMIN_ARGUMENTS = {"imports": ("batch",)}
# What an `ae` user may open: pages without figures, and the reports whose every figure is
# filtered by `ae=` to their own sales person (a missing `ae=` is filled in, another refused).
AE_OPEN_ENDPOINTS = frozenset({"index", "signout", "api_guide"})   # issue 16: the API's guide holds no figures
AE_FILTERED_ENDPOINTS = frozenset({"monthly_summary", "customer_revenue", "ae_dashboard",
                                   "market_analysis", "sector_analysis", "management_performance"})
AE_FILTERED_ENDPOINTS |= {"new_business"}   # issue 13: an ae sees only their own contracts and spots
# Planning (issue 13): the grid and its history are read by every role, an ae's filtered to their
# own row (no company row: its sum would show the other AEs' plans). Budgets are set by admins and
# managers; a forecast by its own AE, or by them for anyone: an ae's form may send only cells of
# their own row, which the view checks (cells are the form's fields, not query arguments).
AE_FILTERED_ENDPOINTS = AE_FILTERED_ENDPOINTS | {"planning_grid", "planning_history"}
PLANNING_BUDGET_ENDPOINTS = frozenset({"planning_budgets"})
PLANNING_FORECAST_ENDPOINTS = frozenset({"planning_forecasts"})
NOT_BUDGETS = "Only an administrator or a manager sets budgets."
NOT_FORECASTS = "Only an account executive, a manager or an administrator enters forecasts."
NOT_OWN_FORECAST = "You can enter forecasts only for your own AE"
# Pages about one customer, filtered by `ae=` the same way, that an ae may open only for a
# customer they have booked. Whether they have needs the report database, which this module
# never reads: the view asks the query, then `check_booked`.
# Issue 13: the booking pace page is filtered by AE like the reports above.
AE_FILTERED_ENDPOINTS = AE_FILTERED_ENDPOINTS | {"booking_pace"}
AE_CUSTOMER_ENDPOINTS = frozenset({"customer_detail"})
NOT_BOOKED = "You can see only the customers you have booked."
# Account signals (issue 13): the page is a report an ae sees for their own AE; snoozing and
# dismissing is for a manager, an admin, or an ae on their own AE's signals (signal_states checks).
AE_FILTERED_ENDPOINTS = AE_FILTERED_ENDPOINTS | {"signals"}
SIGNAL_FORMS = frozenset({"signals_decide"})
# The daily pages (issue 13): /me is an AE's own day (an ae user lands there after signing in and
# sees only their own); /manager, the AEs' scoreboard, is for the people who manage them.
AE_FILTERED_ENDPOINTS = AE_FILTERED_ENDPOINTS | {"me"}
MANAGER_ENDPOINTS = frozenset({"manager"})
MANAGER_ROLES = frozenset({"admin", "management"})
NOT_MANAGER = "The manager's scoreboard is open to managers and administrators."
AE_LANDING = "/me"
SIGNAL_FORM_ROLES = frozenset({"admin", "management", "ae"})
# Rate analysis (issue 14): open to every role; an ae's figures are of their own spots (the page's
# company card is over every AE by design, and names no customer).
AE_FILTERED_ENDPOINTS = AE_FILTERED_ENDPOINTS | {"rates"}
# Issue 14: customers against the card and the length mix: an ae's customers and spots only.
AE_FILTERED_ENDPOINTS = AE_FILTERED_ENDPOINTS | {"rates_customers", "rates_lengths"}
AE_FILTERED_ENDPOINTS = AE_FILTERED_ENDPOINTS | {"rates_trends"}   # an ae's trends are of their own spots
NOT_SIGNAL_FORMS = "Only a manager, an administrator or the account's AE can snooze or dismiss a signal."
# The API (issue 16): /api/v1/ takes a bearer token and never a cookie, so it has no CSRF surface;
# every rule is GET-only, so a token can never write. The tokens page is an admin's. The guide
# at /api/ is a page like the reports, for anyone signed in.
API_ENDPOINTS = frozenset({"api_meta", "api_report", "api_revenue_sheet", "api_planning", "api_openapi"})
API_PUBLIC = frozenset({"api_openapi"})            # the description of the API holds no figures
API_SCOPES = {"api_report": "reports", "api_revenue_sheet": "reports", "api_planning": "planning"}
ADMIN_ENDPOINTS = ADMIN_ENDPOINTS | {"admin_tokens"}
# A token without an AE reads what a viewer reads; one with an AE, what that AE's ae user reads.
TOKEN_ROLE = "viewer"
# Accounts (issue 15): the address book is the team's, so every role opens its pages and an ae is
# not sent to `ae=` their own (they see every account's name and contacts; the views blank the
# revenue of accounts not assigned to them). Its forms are open to every role here: what a user
# may change on one account (its owner decides) is accounts.require, which the view asks. Import,
# duplicates and merge, and the list's bulk reassignment, are for managers and administrators.
ACCOUNT_ENDPOINTS = frozenset({"account_list", "account_filters", "account_follow_ups", "account_customer",
                               "account_agency", "account_customer_edit", "account_agency_edit"})
ACCOUNT_MANAGER_ENDPOINTS = frozenset({"account_assign", "account_import", "account_import_plan",
                                       "account_import_confirm", "account_duplicates", "account_merge"})
NOT_ACCOUNT_MANAGER = "Only a manager or an administrator can assign accounts in bulk, import accounts or merge them."

Render = Callable[..., Response]


@dataclass(frozen=True)
class Principal:
    """The signed-in user of a request, and the CSRF token their forms carry."""

    user: auth.User
    csrf_token: str
    via: str                                       # "session", "sso" or "token" (the API's)
    session_token: str | None = field(default=None, repr=False)
    token: tokens.Token | None = None              # via "token": the API token (never its value)

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"

    @property
    def ae(self) -> str | None:
        return self.user.ae if self.user.role == "ae" else None


# The request as the proxy saw it ------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _ip(value: str | None):
    try:
        return ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None


def is_trusted_proxy(config: Config, addr: str | None) -> bool:
    ip = _ip(addr)
    return ip is not None and any(ip in net for net in _networks(config.trusted_proxies))


def client_address(config: Config, request: Request) -> str:
    """The client's address: the peer, or from a trusted proxy the nearest untrusted forwarded hop."""
    peer = request.remote_addr or ""
    if not is_trusted_proxy(config, peer):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("X-Forwarded-For")).split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted_proxy(config, hop):
            return hop if _ip(hop) is not None else peer
    return hops[0] if hops else peer


def is_https(config: Config, request: Request) -> bool:
    if request.scheme == "https":
        return True
    if is_trusted_proxy(config, request.remote_addr):
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
        return proto == "https"
    return False


def safe_next(value: str | None) -> str:
    """A local path to return to after signing in; anything else becomes the reports index."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith("//"):
        return DEFAULT_NEXT
    # Browsers read `\` as `/` and drop tabs and newlines, so `/\evil` and `/\t/evil` leave the site.
    if any(ch == "\\" or not 0x20 < ord(ch) < 0x7F for ch in value):
        return DEFAULT_NEXT
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path in (SIGNIN_PATH, "/signout"):
        return DEFAULT_NEXT
    return value


def wants_data(request: Request) -> bool:
    """A download or API call (answered 401), rather than a page (sent to the sign-in page)."""
    if request.args.get("format", "").strip().lower() in DATA_FORMATS:
        return True
    accept = request.accept_mimetypes
    return accept.quality("application/json") > accept.quality("text/html")


# Who is asking, and may they ---------------------------------------------------------------


def current_principal(conn: sqlite3.Connection, config: Config, request: Request) -> Principal | None:
    """Who is asking; `conn` is the sign-in database (db.connect_auth)."""
    if config.sso_header and request.headers.get(config.sso_header):
        if is_trusted_proxy(config, request.remote_addr):
            user = auth.get_user(conn, request.headers[config.sso_header])
            if user is not None and user.active:
                token = auth.signed_csrf_token(auth.csrf_secret(conn), f"sso:{user.id}")
                return Principal(user, token, "sso")
            log.warning("single sign-on login %r is not an active user", request.headers[config.sso_header][:100])
        else:
            log.warning("ignored %s header from untrusted address %s", config.sso_header, request.remote_addr)
    token = request.cookies.get(SESSION_COOKIE)
    user = auth.session_user(conn, token, idle=timedelta(minutes=config.session_idle_minutes))
    if user is None:
        return None
    return Principal(user, auth.session_csrf_token(token), "session", token)


def refusal(principal: Principal | None, endpoint: str, args: MultiDict) -> str | None:
    """Why `principal` may not open `endpoint` with the query `args`, or None when they may.

    The one statement of the role rules: `authorize` enforces it before every view, and the pages
    ask it (through `may_open`) which menu entries, links and filter choices to offer, so a page
    never offers a link that answers 403. An ae with no `ae=` may open a filtered report: the
    request is sent on to their own.
    """
    if endpoint in PUBLIC_ENDPOINTS:
        return None
    if principal is None:
        return "Sign in to open this page."
    if endpoint in ADMIN_ENDPOINTS and not principal.is_admin:
        return "Only an administrator can open this page."
    if endpoint in WORKBENCH_ENDPOINTS and principal.role not in WORKBENCH_ROLES:
        return NOT_WORKBENCH
    if endpoint in PLANNING_BUDGET_ENDPOINTS and principal.role not in WORKBENCH_ROLES:
        return NOT_BUDGETS
    if endpoint in PLANNING_FORECAST_ENDPOINTS:
        return None if principal.role in WORKBENCH_ROLES | {"ae"} else NOT_FORECASTS
    if not principal.is_admin and any(args.get(a) for a in ADMIN_ARGUMENTS.get(endpoint, ())):
        return "Only an administrator can see rejected rows."
    if endpoint in MANAGER_ENDPOINTS and principal.role not in MANAGER_ROLES:
        return NOT_MANAGER
    if endpoint in SIGNAL_FORMS:
        return None if principal.role in SIGNAL_FORM_ROLES else NOT_SIGNAL_FORMS
    if endpoint in ACCOUNT_MANAGER_ENDPOINTS:
        return None if principal.role in WORKBENCH_ROLES else NOT_ACCOUNT_MANAGER
    if endpoint in ACCOUNT_ENDPOINTS:
        return None
    if principal.role != "ae" or endpoint in AE_OPEN_ENDPOINTS:
        return None
    if endpoint not in AE_FILTERED_ENDPOINTS | AE_CUSTOMER_ENDPOINTS:
        return "This report is not open to account executives."
    if any(auth.normalise_ae(a) != principal.ae for a in args.getlist("ae")):
        return "You can see only your own accounts."
    return None


def may_open(principal: Principal | None, endpoint: str, **args) -> bool:
    """Whether a link to `endpoint` with these query arguments opens for `principal`."""
    return refusal(principal, endpoint, MultiDict(args)) is None


def authorize(conn: sqlite3.Connection, config: Config, request: Request,
              endpoint: str) -> Principal | Response | None:
    """May this request open `endpoint`? Called by the web app before every view, with a
    connection to the sign-in database (which an import's write never holds).

    Returns the Principal (None on a public endpoint nobody is signed in to) when the view may
    run, or the Response to send instead: 302 to the sign-in page for a page, 401 for a
    download, 302 to the ae's own figures when an ae gave no `ae=`. Raises Forbidden when the
    signed-in user's role does not allow it (the view of an AE_CUSTOMER_ENDPOINTS page refuses a
    customer the ae never booked).
    """
    if endpoint in API_ENDPOINTS:
        return api_authorize(conn, config, request, endpoint, ratelimit.API)
    principal = current_principal(conn, config, request)
    if endpoint in PUBLIC_ENDPOINTS:
        return principal
    if principal is None:
        return sign_in_required(request)
    reason = refusal(principal, endpoint, request.args)
    if reason is not None:
        raise Forbidden(reason)
    if (principal.role == "ae" and endpoint in AE_FILTERED_ENDPOINTS | AE_CUSTOMER_ENDPOINTS
            and not request.args.getlist("ae")):
        query = request.args.to_dict(flat=False)
        query["ae"] = [principal.ae]
        return redirect(f"{request.path}?{urlencode(query, doseq=True)}", 302)
    return principal


# The API's door (issue 16) ---------------------------------------------------------------------


def api_error(status: int, message: str, headers: dict | None = None) -> Response:
    """The JSON answer of a refused API request: {"error": one sentence}."""
    response = Response(json.dumps({"error": message}) + "\n", status, mimetype="application/json",
                        headers=headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def _unauthorized(message: str, error: str | None) -> Response:
    # RFC 6750: a request without credentials gets the bare challenge, a bad token its error code.
    challenge = 'Bearer realm="ctvdb"' + (f', error="{error}"' if error else "")
    return api_error(401, message, {"WWW-Authenticate": challenge})


def token_principal(token: tokens.Token) -> Principal:
    """The rights a token acts with: a viewer's, or the ae user's of its AE."""
    user = auth.User(id=0, email=f"token:{token.name}", name=token.name, role="ae" if token.ae else TOKEN_ROLE,
                     ae=token.ae, active=True, created_at=token.created_at, last_signin_at=None)
    return Principal(user, csrf_token="", via="token", token=token)


def api_authorize(conn: sqlite3.Connection, config: Config, request: Request, endpoint: str,
                  buckets) -> Principal | Response | None:
    """The door of /api/v1/: `Authorization: Bearer <token>` and nothing else (a cookie counts for
    nothing here). Returns the token's Principal, or the response to send: 401 (no token, or not a
    live one) with `WWW-Authenticate`, 429 with `Retry-After` past the token's rate, 403 outside
    its scope. The token is looked up on every request, so a revoked one stops at once; the logs
    name a token, never its value."""
    if endpoint in API_PUBLIC:
        return None
    scheme, _, presented = request.headers.get("Authorization", "").strip().partition(" ")
    addr = client_address(config, request)
    if scheme.lower() != "bearer" or not presented.strip():
        return _unauthorized("This API needs a token: send the header Authorization: Bearer <token>"
                             " (an administrator makes one with `ctvdb tokens add`).", None)
    token = tokens.check(conn, presented.strip(), addr)
    if token is None:
        log.warning("API request for %s from %s refused: the token is unknown, revoked or expired",
                    request.path, addr)
        return _unauthorized("This token is not valid: it is unknown, revoked or expired.", "invalid_token")
    wait = buckets.take(token.name, config.api_rate_per_minute)
    if wait:
        retry_after = ratelimit.retry_after
        log.warning("API token %r over its rate limit (%g a minute) on %s", token.name,
                    config.api_rate_per_minute, request.path)
        return api_error(429, f"Too many requests with this token: at most {config.api_rate_per_minute:g}"
                              f" a minute. Try again in {retry_after(wait)} s.", {"Retry-After": retry_after(wait)})
    wanted = API_SCOPES.get(endpoint)
    if wanted is not None and token.scope != wanted:
        log.info("API token %r (scope %s) refused %s: it needs scope %s", token.name, token.scope, request.path, wanted)
        return api_error(403, f"This token's scope is {token.scope}; {request.path} needs a token of scope {wanted}.")
    log.info("API token %r: %s %s", token.name, request.method, request.path)
    return token_principal(token)


def check_booked(principal: Principal | None, booked: bool) -> None:
    """The rest of the rule for AE_CUSTOMER_ENDPOINTS, once the view knows from the database
    whether the ae has booked this customer: Forbidden when they have not."""
    if principal is not None and principal.ae and not booked:
        raise Forbidden(NOT_BOOKED)


def sign_in_required(request: Request) -> Response:
    if wants_data(request):
        if request.args.get("format", "").strip().lower() == "json" or "json" in (request.accept_mimetypes.best or ""):
            return Response('{"error": "sign-in required"}\n', 401, mimetype="application/json")
        return Response("Sign-in required.\n", 401, mimetype="text/plain")
    here = request.full_path.rstrip("?")
    response = redirect(f"{SIGNIN_PATH}?{urlencode({'next': safe_next(here)})}", 302)
    return response


def check_origin(config: Config, request: Request) -> None:
    """A state change must come from a page of this site: its Origin (or Referer) says so."""
    expected = f"{'https' if is_https(config, request) else 'http'}://{request.host}".lower()
    origin = request.headers.get("Origin")
    if origin is None and request.headers.get("Referer"):
        parts = urlsplit(request.headers["Referer"])
        origin = f"{parts.scheme}://{parts.netloc}"
    if (origin or "").lower() != expected:
        log.warning("refused %s %s: origin %r is not %r (is the proxy in CTVDB_TRUSTED_PROXIES?)",
                    request.method, request.path, origin, expected)
        raise Forbidden("This form was not sent from this site; reload the page and try again.")


def check_form(config: Config, request: Request, principal: Principal) -> None:
    """Every state-changing request of a signed-in user: same origin and the session's CSRF token."""
    check_origin(config, request)
    if not auth.csrf_matches(principal.csrf_token, request.form.get("csrf_token")):
        raise Forbidden("This form has expired; reload the page and try again.")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


# Views -------------------------------------------------------------------------------------


def signin(config: Config, request: Request, render: Render) -> Response:
    """GET shows the form; POST checks it and starts a session. Failures say nothing more than that."""
    conn = db.connect_auth(config.database_path)
    try:
        secret = auth.csrf_secret(conn)
        nonce = request.cookies.get(FORM_COOKIE, "")
        fresh_nonce = len(nonce) != 43
        if fresh_nonce:
            nonce = secrets.token_urlsafe(32)
        form_token = auth.signed_csrf_token(secret, f"signin:{nonce}")
        status, error, email = 200, None, ""
        if request.method == "POST":
            check_origin(config, request)
            if fresh_nonce or not auth.csrf_matches(form_token, request.form.get("csrf_token")):
                raise Forbidden("The sign-in form has expired; reload the page and try again.")
            email = request.form.get("email", "")[:254]
            next_path = safe_next(request.form.get("next"))
            addr = client_address(config, request)
            try:
                user = auth.authenticate(conn, email, request.form.get("password", ""), addr)
            except auth.RateLimited as exc:
                status, error = 429, str(exc)
            except auth.Busy as exc:
                status, error = 503, str(exc)
            else:
                if user is not None:
                    return _signed_in(config, request, conn, user, addr, next_path)
                status, error = 401, "The email or password is not right."
        else:
            next_path = safe_next(request.args.get("next"))
        response = render("signin.html", csrf_token=form_token, next=next_path, error=error, email=email)
        response.status_code = status
        if fresh_nonce:
            response.set_cookie(FORM_COOKIE, nonce, httponly=True, samesite="Lax",
                                secure=is_https(config, request), path=SIGNIN_PATH)
        return _no_store(response)
    finally:
        conn.close()


def _signed_in(config, request, conn, user, addr, next_path) -> Response:
    lifetime = timedelta(hours=config.session_hours)
    token = auth.start_session(conn, user, lifetime, addr)
    if user.role == "ae" and next_path == DEFAULT_NEXT:
        next_path = AE_LANDING   # an AE's day starts on their own page
    response = redirect(next_path, 303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(lifetime.total_seconds()), httponly=True,
                        samesite="Lax", secure=is_https(config, request), path="/")
    response.delete_cookie(FORM_COOKIE, path=SIGNIN_PATH)
    return _no_store(response)


def signout(config: Config, request: Request, principal: Principal) -> Response:
    if request.method != "POST":
        raise MethodNotAllowed(["POST"])
    check_form(config, request, principal)
    if principal.session_token:
        conn = db.connect_auth(config.database_path)
        try:
            auth.end_session(conn, principal.session_token)
        finally:
            conn.close()
    log.info("user %s signed out", principal.user.email)
    response = redirect(SIGNIN_PATH, 303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax",
                           secure=is_https(config, request))
    return _no_store(response)


def admin_users(config: Config, request: Request, principal: Principal, render: Render) -> Response:
    """The users page: list, add (with a generated password shown once), disable, enable, reset."""
    if not principal.is_admin:
        raise Forbidden("Only an administrator can open this page.")
    conn = db.connect_auth(config.database_path)
    try:
        status, message, error, password_for = 200, None, None, None
        if request.method == "POST":
            check_form(config, request, principal)
            try:
                message, password_for = _user_action(conn, request.form, principal)
            except auth.AuthError as exc:
                status, error = 400, str(exc)
        response = render("admin_users.html", users=auth.list_users(conn), roles=auth.ROLES,
                          message=message, error=error, password_for=password_for,
                          csrf_token=principal.csrf_token)
        response.status_code = status
        return _no_store(response)
    finally:
        conn.close()


def _user_action(conn, form, principal) -> tuple[str, tuple[str, str] | None]:
    action, email = form.get("action"), form.get("email", "")
    if action == "add":
        password = auth.generate_password()
        user = auth.add_user(conn, email, password, form.get("role", ""), name=form.get("name", ""),
                             ae=form.get("ae") or None)
        return f"Added {user.email}. Give them this password; it is not shown again.", (user.email, password)
    if action == "reset":
        password = auth.generate_password()
        user = auth.set_password(conn, email, password)
        return f"New password for {user.email}; their sessions have ended.", (user.email, password)
    if action == "disable":
        target = auth.get_user(conn, email)
        if target is not None and target.id == principal.user.id:
            raise auth.AuthError("You cannot disable your own account.")
        return f"Disabled {auth.set_active(conn, email, False).email}; their sessions have ended.", None
    if action == "enable":
        return f"Enabled {auth.set_active(conn, email, True).email}.", None
    raise BadRequest("The users page does not know that action.")
