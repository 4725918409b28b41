"""Sign-in on the web side (ctvdb/auth_web.py), through WSGI, with a stand-in app that wires
`authorize` and the views the way the reports app does. The reports app's own routes are
checked in test_auth_app.py."""

import logging
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jinja2
import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from ctvdb import auth, auth_web, db
from ctvdb.config import Config

pytestmark = pytest.mark.usefixtures("cheap_scrypt")

PASSWORD = "correct horse battery"
ORIGIN = {"Origin": "http://localhost"}
TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("ctvdb.web", "templates"), autoescape=True,
                               undefined=jinja2.StrictUndefined)
TEMPLATES.filters["pacific"] = lambda iso: f"pacific({iso})"




class StandIn:
    """The reports app's contract in miniature: authorize first, then the endpoint's view."""

    url_map = Map([
        Rule("/signin", endpoint="signin", methods=["GET", "POST"]),
        Rule("/signout", endpoint="signout", methods=["POST"]),
        Rule("/admin/users", endpoint="admin_users", methods=["GET", "POST"]),
        Rule("/health", endpoint="health"),
        Rule("/reports/", endpoint="index"),
        Rule("/reports/ae-dashboard", endpoint="ae_dashboard"),
        Rule("/reports/imports", endpoint="imports"),
    ])

    def __init__(self, config):
        self.config = config

    def __call__(self, environ, start_response):
        request = Request(environ)
        conn = db.connect_auth(self.config.database_path)
        try:
            endpoint, values = self.url_map.bind_to_environ(environ).match()
            allowed = auth_web.authorize(conn, self.config, request, endpoint)
            if isinstance(allowed, Response):
                response = allowed
            else:
                response = self.view(request, endpoint, allowed)
        except HTTPException as exc:
            response = Response(exc.description, exc.code)
        finally:
            conn.close()
        return response(environ, start_response)

    def view(self, request, endpoint, principal):
        def render(template, **context):
            return Response(TEMPLATES.get_template(template).render(**context), mimetype="text/html")
        if endpoint == "signin":
            return auth_web.signin(self.config, request, render)
        if endpoint == "signout":
            return auth_web.signout(self.config, request, principal)
        if endpoint == "admin_users":
            return auth_web.admin_users(self.config, request, principal, render)
        who = principal.user.email if principal else "nobody"
        return Response(f"{endpoint} for {who} ae={request.args.getlist('ae')}")


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "ctvdb.db"
    db.init(path)
    conn = db.connect_auth(path)
    auth.add_user(conn, "admin@example.com", PASSWORD, "admin")
    auth.add_user(conn, "viewer@example.com", PASSWORD, "viewer")
    auth.add_user(conn, "jane@example.com", PASSWORD, "ae", ae="Jane Doe")
    conn.close()
    return Config(database_path=path, trusted_proxies=("10.0.0.0/8",), sso_header="Tailscale-User-Login")


@pytest.fixture
def conn(config):
    conn = db.connect_auth(config.database_path)
    yield conn
    conn.close()


class PeerClient(Client):
    """A test client whose requests come from the peer address `addr`."""

    def __init__(self, app, addr):
        super().__init__(app)
        self.addr = addr

    def open(self, *args, **kwargs):
        kwargs["environ_base"] = {**kwargs.get("environ_base", {}), "REMOTE_ADDR": self.addr}
        return super().open(*args, **kwargs)


def client(config, addr="192.0.2.10"):
    return PeerClient(StandIn(config), addr)


def form_token(c, next_path=None):
    page = c.get("/signin", query_string={"next": next_path} if next_path else None)
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)


def sign_in(c, email, password=PASSWORD, next_path=None, headers=ORIGIN):
    token = form_token(c)
    data = {"email": email, "password": password, "csrf_token": token}
    if next_path is not None:
        data["next"] = next_path
    return c.post("/signin", data=data, headers=headers)


def session_cookie(response):
    return next((h for h in response.headers.getlist("Set-Cookie")
                 if h.startswith(auth_web.SESSION_COOKIE + "=")), None)


def csrf_of(c):
    """The session-bound token of a signed-in client, as the users page embeds it."""
    page = c.get("/admin/users")
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)


# Without a session -----------------------------------------------------------------------------


def test_a_page_without_a_session_redirects_to_the_sign_in_page_with_next(config):
    r = client(config).get("/reports/ae-dashboard?year=2026&ae=X")
    assert r.status_code == 302
    location = urlsplit(r.headers["Location"])
    assert location.path == "/signin" and not location.netloc
    assert parse_qs(location.query)["next"] == ["/reports/ae-dashboard?year=2026&ae=X"]


@pytest.mark.parametrize("query, mimetype", [("format=json", "application/json"),
                                             ("format=csv", "text/plain"), ("format=xlsx", "text/plain")])
def test_a_download_without_a_session_is_401(config, query, mimetype):
    r = client(config).get(f"/reports/ae-dashboard?{query}")
    assert r.status_code == 401 and r.mimetype == mimetype


def test_json_asked_by_accept_header_is_401(config):
    r = client(config).get("/reports/imports", headers={"Accept": "application/json"})
    assert r.status_code == 401


def test_public_endpoints_need_no_session(config):
    c = client(config)
    assert c.get("/health").status_code == 200
    assert c.get("/signin").status_code == 200


# Signing in --------------------------------------------------------------------------------------


def test_sign_in_sets_an_httponly_lax_cookie_and_goes_to_next(config, conn):
    c = client(config)
    r = sign_in(c, "Viewer@Example.com", next_path="/reports/imports?status=failed")
    assert r.status_code == 303 and r.headers["Location"] == "/reports/imports?status=failed"
    cookie = session_cookie(r)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http, no trusted proxy
    assert r.headers["Cache-Control"] == "no-store"
    assert c.get("/reports/imports").text == "imports for viewer@example.com ae=[]"
    assert auth.get_user(conn, "viewer@example.com").last_signin_at is not None


def test_the_sign_in_form_cookie_is_httponly_and_scoped_to_the_form(config):
    r = client(config).get("/signin")
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(auth_web.FORM_COOKIE + "=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/signin" in cookie


def test_the_cookie_is_secure_when_a_trusted_proxy_says_https(config):
    r = sign_in(client(config, "10.0.0.2"), "viewer@example.com",
                headers={"Origin": "https://localhost", "X-Forwarded-Proto": "https"})
    assert r.status_code == 303 and "Secure" in session_cookie(r)


def test_https_claimed_by_an_untrusted_address_is_ignored(config):
    c = client(config, "192.0.2.50")
    # the Origin says https, the request (as far as we can believe) came over http: refused
    r = sign_in(c, "viewer@example.com", headers={"Origin": "https://localhost", "X-Forwarded-Proto": "https"})
    assert r.status_code == 403
    r = sign_in(c, "viewer@example.com", headers={**ORIGIN, "X-Forwarded-Proto": "https"})
    assert r.status_code == 303 and "Secure" not in session_cookie(r)


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(config):
    wrong = sign_in(client(config), "viewer@example.com", "not the password")
    unknown = sign_in(client(config), "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert session_cookie(wrong) is None
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.text)  # noqa: E731 - the typed email and token
    assert strip(wrong) == strip(unknown)
    assert "The email or password is not right." in wrong.text


def test_a_disabled_account_cannot_sign_in(config, conn):
    auth.set_active(conn, "viewer@example.com", False)
    assert sign_in(client(config), "viewer@example.com").status_code == 401


def test_repeated_failures_are_refused_with_429_even_with_the_right_password(config):
    c = client(config)
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        assert sign_in(c, "viewer@example.com", "wrong password").status_code == 401
    r = sign_in(c, "viewer@example.com")
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    assert session_cookie(r) is None


def test_the_failure_is_counted_against_the_real_client_behind_a_trusted_proxy(config, conn):
    sign_in(client(config, "10.0.0.2"), "x@example.com", "wrong password",
            headers={**ORIGIN, "X-Forwarded-For": "1.2.3.4, 198.51.100.7"})
    sign_in(client(config, "192.0.2.99"), "y@example.com", "wrong password",
            headers={**ORIGIN, "X-Forwarded-For": "198.51.100.8"})
    rows = conn.execute("SELECT email, client_addr FROM signin_attempts ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [("x@example.com", "198.51.100.7"), ("y@example.com", "192.0.2.99")]


def test_passwords_never_reach_the_log_through_the_web(config, caplog):
    caplog.set_level(logging.DEBUG)
    c = client(config)
    sign_in(c, "viewer@example.com", "a mistyped password")
    sign_in(c, "viewer@example.com")
    assert "viewer@example.com" in caplog.text
    assert PASSWORD not in caplog.text and "a mistyped password" not in caplog.text


# CSRF and Origin -------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "0" * 64, "not-hex"])
def test_sign_in_without_the_right_csrf_token_is_403(config, token):
    c = client(config)
    form_token(c)
    data = {"email": "viewer@example.com", "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    r = c.post("/signin", data=data, headers=ORIGIN)
    assert r.status_code == 403 and session_cookie(r) is None


def test_a_token_from_another_browser_does_not_sign_in(config):
    other = form_token(client(config))
    c = client(config)
    form_token(c)
    r = c.post("/signin", data={"email": "viewer@example.com", "password": PASSWORD, "csrf_token": other},
               headers=ORIGIN)
    assert r.status_code == 403


@pytest.mark.parametrize("headers", [{}, {"Origin": "https://evil.example"}, {"Origin": "null"},
                                     {"Origin": "http://localhost.evil.example"},
                                     {"Referer": "https://evil.example/localhost"}])
def test_sign_in_from_another_origin_is_403(config, headers):
    r = sign_in(client(config), "viewer@example.com", headers=headers)
    assert r.status_code == 403 and session_cookie(r) is None


def test_a_same_site_referer_is_enough_when_no_origin_is_sent(config):
    r = sign_in(client(config), "viewer@example.com", headers={"Referer": "http://localhost/signin?next=/"})
    assert r.status_code == 303


def test_sign_out_needs_the_session_token_then_revokes_the_session(config):
    c = client(config)
    sign_in(c, "admin@example.com")
    token = csrf_of(c)
    assert c.post("/signout", headers=ORIGIN).status_code == 403
    assert c.post("/signout", data={"csrf_token": "0" * 64}, headers=ORIGIN).status_code == 403
    assert c.post("/signout", data={"csrf_token": token}, headers={"Origin": "http://evil"}).status_code == 403
    assert c.get("/reports/").status_code == 200
    stolen = c.get_cookie(auth_web.SESSION_COOKIE).value
    r = c.post("/signout", data={"csrf_token": token}, headers=ORIGIN)
    assert r.status_code == 303 and r.headers["Location"] == "/signin"
    assert c.get_cookie(auth_web.SESSION_COOKIE) is None
    replay = client(config)
    replay.set_cookie(auth_web.SESSION_COOKIE, stolen)
    assert replay.get("/reports/").status_code == 302


# Forged, expired and revoked cookies -----------------------------------------------------------


@pytest.mark.parametrize("cookie", ["A" * 43, "", "' OR '1'='1", "x" * 4000])
def test_a_forged_session_cookie_is_treated_as_no_session(config, cookie):
    c = client(config)
    c.set_cookie(auth_web.SESSION_COOKIE, cookie)
    assert c.get("/reports/").status_code == 302
    assert c.get("/reports/?format=json").status_code == 401


def test_an_expired_session_cookie_is_refused(config, conn):
    c = client(config)
    sign_in(c, "viewer@example.com")
    conn.execute("UPDATE sessions SET expires_at = ?", (auth.iso(auth.utcnow() - timedelta(seconds=1)),))
    assert c.get("/reports/").status_code == 302


def test_disabling_a_user_revokes_their_open_session(config, conn):
    c = client(config)
    sign_in(c, "viewer@example.com")
    assert c.get("/reports/").status_code == 200
    auth.set_active(conn, "viewer@example.com", False)
    assert c.get("/reports/").status_code == 302


# Open redirects --------------------------------------------------------------------------------

BAD_NEXT = ["//evil.example", "https://evil.example/", "/\\evil.example", "\\\\evil.example",
            "/\t/evil.example", "/\n/evil.example", "http:evil.example", "javascript:alert(1)",
            "evil.example", " //evil.example", "/%0a/evil", "/signout", "/signin?next=//evil", "",
            "/\u2215evil.example", "///evil.example"]


@pytest.mark.parametrize("next_path", BAD_NEXT)
def test_next_leaving_the_site_goes_to_the_reports_index(config, next_path):
    r = sign_in(client(config), "viewer@example.com", next_path=next_path)
    assert r.status_code == 303
    location = r.headers["Location"]
    assert urlsplit(location).netloc == "" and not location.startswith("//")
    if next_path != "/%0a/evil":
        assert location == "/reports/"


@pytest.mark.parametrize("next_path", ["/reports/", "/reports/customer/12?year=2025",
                                       "/reports/revenue-dashboard-customer?q=%3Cscript%3E&ae=JANE"])
def test_local_next_paths_are_kept(next_path):
    assert auth_web.safe_next(next_path) == next_path


def test_the_sign_in_page_does_not_reflect_a_bad_next(config):
    page = client(config).get("/signin?next=//evil.example")
    assert 'name="next" value="/reports/"' in page.text and "evil" not in page.text


# Proxies and single sign-on --------------------------------------------------------------------


def test_the_sso_header_from_a_trusted_proxy_signs_in_an_existing_active_user(config, conn):
    c = client(config, "10.1.2.3")
    r = c.get("/reports/imports", headers={"Tailscale-User-Login": "Viewer@Example.com"})
    assert r.status_code == 200 and r.text == "imports for viewer@example.com ae=[]"
    assert c.get("/reports/imports", headers={"Tailscale-User-Login": "nobody@example.com"}).status_code == 302
    auth.set_active(conn, "viewer@example.com", False)
    assert c.get("/reports/imports", headers={"Tailscale-User-Login": "viewer@example.com"}).status_code == 302


def test_the_sso_header_from_an_untrusted_address_is_ignored(config, caplog):
    c = client(config, "192.0.2.10")
    r = c.get("/reports/imports", headers={"Tailscale-User-Login": "admin@example.com",
                                           "X-Forwarded-For": "10.0.0.1"})
    assert r.status_code == 302
    assert "ignored Tailscale-User-Login header from untrusted address 192.0.2.10" in caplog.text


def test_without_a_configured_header_no_header_is_believed(config):
    from dataclasses import replace
    c = PeerClient(StandIn(replace(config, sso_header=None)), "10.1.2.3")
    assert c.get("/reports/imports", headers={"Tailscale-User-Login": "admin@example.com"}).status_code == 302


@pytest.mark.parametrize("peer, forwarded, expected", [
    ("192.0.2.1", "1.2.3.4", "192.0.2.1"),                # untrusted peer: header ignored
    ("10.0.0.1", "1.2.3.4", "1.2.3.4"),
    ("10.0.0.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"),          # the client cannot push a hop in front
    ("10.0.0.1", "1.2.3.4, 10.0.0.7", "1.2.3.4"),         # a chain of trusted proxies
    ("10.0.0.1", "not-an-address", "10.0.0.1"),
    ("10.0.0.1", None, "10.0.0.1"),
])
def test_client_address(config, peer, forwarded, expected):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    request = Request.from_values(headers=headers, environ_base={"REMOTE_ADDR": peer})
    assert auth_web.client_address(config, request) == expected


# Roles -----------------------------------------------------------------------------------------


def test_only_an_admin_opens_the_users_page(config):
    for email, status in [("viewer@example.com", 403), ("jane@example.com", 403), ("admin@example.com", 200)]:
        c = client(config)
        sign_in(c, email)
        assert c.get("/admin/users").status_code == status, email


def test_only_an_admin_sees_the_rejected_rows_of_an_import(config):
    for email, status in [("viewer@example.com", 403), ("admin@example.com", 200)]:
        c = client(config)
        sign_in(c, email)
        assert c.get("/reports/imports?batch=3").status_code == status, email
        assert c.get("/reports/imports").status_code == 200


def test_an_ae_sees_only_their_own_sales_person(config):
    c = client(config)
    sign_in(c, "jane@example.com")
    assert c.get("/reports/ae-dashboard?ae=jane%20doe").text == "ae_dashboard for jane@example.com ae=['jane doe']"
    assert c.get("/reports/ae-dashboard?ae=JOHN").status_code == 403
    assert c.get("/reports/ae-dashboard?ae=JANE%20DOE&ae=JOHN").status_code == 403
    r = c.get("/reports/ae-dashboard?year=2025")
    assert r.status_code == 302 and r.headers["Location"] == "/reports/ae-dashboard?year=2025&ae=JANE+DOE"
    assert c.get("/reports/imports").status_code == 403
    assert c.get("/reports/").status_code == 200


def test_a_viewer_reads_every_report_with_any_ae(config):
    c = client(config)
    sign_in(c, "viewer@example.com")
    assert c.get("/reports/ae-dashboard?ae=JOHN").status_code == 200
    assert c.get("/reports/imports").status_code == 200


# The users page ------------------------------------------------------------------------------


def test_an_admin_adds_a_user_whose_generated_password_is_shown_once(config):
    c = client(config)
    sign_in(c, "admin@example.com")
    token = csrf_of(c)
    r = c.post("/admin/users", data={"csrf_token": token, "action": "add", "email": "New@Example.com",
                                     "role": "ae", "ae": "Sam Lee", "name": "Sam"}, headers=ORIGIN)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    password = re.search(r"password <code>([^<]+)</code>", r.text).group(1)
    assert sign_in(client(config), "new@example.com", password).status_code == 303
    assert "password <code>" not in c.get("/admin/users").text


def test_the_users_page_refuses_changes_without_csrf_or_from_another_origin(config, conn):
    c = client(config)
    sign_in(c, "admin@example.com")
    token = csrf_of(c)
    data = {"action": "disable", "email": "viewer@example.com"}
    assert c.post("/admin/users", data=data, headers=ORIGIN).status_code == 403
    assert c.post("/admin/users", data=data | {"csrf_token": token},
                  headers={"Origin": "https://evil.example"}).status_code == 403
    assert auth.get_user(conn, "viewer@example.com").active


def test_disabling_from_the_users_page_ends_the_users_sessions(config):
    victim = client(config)
    sign_in(victim, "viewer@example.com")
    c = client(config)
    sign_in(c, "admin@example.com")
    r = c.post("/admin/users", data={"csrf_token": csrf_of(c), "action": "disable",
                                     "email": "viewer@example.com"}, headers=ORIGIN)
    assert r.status_code == 200 and "Disabled viewer@example.com" in r.text
    assert victim.get("/reports/").status_code == 302


def test_an_admin_cannot_disable_themselves_and_errors_are_one_sentence(config):
    c = client(config)
    sign_in(c, "admin@example.com")
    token = csrf_of(c)
    r = c.post("/admin/users", data={"csrf_token": token, "action": "disable", "email": "admin@example.com"},
               headers=ORIGIN)
    assert r.status_code == 400 and "You cannot disable your own account." in r.text
    r = c.post("/admin/users", data={"csrf_token": token, "action": "add", "email": "<script>x</script>@x",
                                     "role": "viewer"}, headers=ORIGIN)
    assert r.status_code == 400 and "<script>" not in r.text and "&lt;script&gt;" in r.text


def test_a_viewer_cannot_post_to_the_users_page(config, conn):
    c = client(config)
    sign_in(c, "viewer@example.com")
    r = c.post("/admin/users", data={"action": "add", "email": "x@example.com", "role": "admin"}, headers=ORIGIN)
    assert r.status_code == 403 and auth.get_user(conn, "x@example.com") is None
