"""The API tokens page (ctvdb/web/views/tokens.py) and the API's guide for people (/api/)."""

from __future__ import annotations

import html
import re

import pytest
from werkzeug.test import Client

from ctvdb import auth_web, db, tokens
from ctvdb.config import Config
from ctvdb.web.app import create_app

ORIGIN = {"Origin": "http://localhost"}


@pytest.fixture
def site(imported_sample, private_copy, session_token):
    path = private_copy(imported_sample(rows=3000, months="Jan-25..Dec-26").database)
    return path, session_token


def client(path, session_token, role="admin", ae=None) -> Client:
    c = Client(site_app(path))
    c.set_cookie(auth_web.SESSION_COOKIE, session_token(path, role, ae=ae))
    return c


_apps = {}


def site_app(path):
    return _apps.setdefault(str(path), create_app(Config(database_path=path)))


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)


def test_an_admin_adds_a_token_sees_it_once_and_revokes_it(site):
    path, session_token = site
    c = client(path, session_token)
    page = c.get("/admin/tokens")
    assert page.status_code == 200 and "No tokens yet." in page.text and page.headers["Cache-Control"] == "no-store"
    added = c.post("/admin/tokens", headers=ORIGIN, data={
        "csrf_token": csrf(page.text), "action": "add", "name": "management workbook", "scope": "reports",
        "ae": "", "expires": "30d"})
    assert added.status_code == 200 and added.headers["Cache-Control"] == "no-store"
    secret = re.search(r"<code>(ctvdb_[A-Za-z0-9_-]{43})</code>", added.text).group(1)
    assert "not shown again" in added.text
    assert Client(site_app(path)).get("/api/v1/meta", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    listed = c.get("/admin/tokens").text
    assert "management workbook" in listed and secret not in listed and "active" in listed
    conn = db.connect_auth(path)
    assert tokens.get_token(conn, "management workbook").created_by == "admin-all@example.com"
    conn.close()
    revoked = c.post("/admin/tokens", headers=ORIGIN, data={"csrf_token": csrf(listed), "action": "revoke",
                                                              "name": "management workbook"})
    assert revoked.status_code == 200 and "Revoked token management workbook" in revoked.text
    assert Client(site_app(path)).get("/api/v1/meta", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_a_bad_form_is_a_sentence_and_adds_nothing(site):
    path, session_token = site
    c = client(path, session_token)
    page = c.get("/admin/tokens").text
    bad = c.post("/admin/tokens", headers=ORIGIN, data={"csrf_token": csrf(page), "action": "add", "name": "x",
                                                          "scope": "everything", "expires": "90d"})
    assert bad.status_code == 400 and "is not one of reports, planning, accounts" in bad.text
    bad = c.post("/admin/tokens", headers=ORIGIN, data={"csrf_token": csrf(page), "action": "add", "name": "x",
                                                          "scope": "reports", "expires": "someday"})
    assert bad.status_code == 400 and "is not a lifetime" in bad.text
    conn = db.connect_auth(path)
    assert tokens.list_tokens(conn) == []
    conn.close()


def test_without_csrf_or_from_elsewhere_or_not_an_admin_nothing_is_added(site):
    path, session_token = site
    c = client(path, session_token)
    form = {"action": "add", "name": "x", "scope": "reports", "expires": "90d"}
    assert c.post("/admin/tokens", headers=ORIGIN, data=form).status_code == 403
    page = c.get("/admin/tokens").text
    assert c.post("/admin/tokens", headers={"Origin": "http://evil.example"},
                  data={**form, "csrf_token": csrf(page)}).status_code == 403
    for role in ("management", "viewer"):
        other = client(path, session_token, role)
        assert other.get("/admin/tokens").status_code == 403
        assert other.post("/admin/tokens", headers=ORIGIN, data=form).status_code == 403
    conn = db.connect_auth(path)
    assert tokens.list_tokens(conn) == []
    conn.close()


@pytest.mark.parametrize("role, ae", [("viewer", None), ("ae", "Frank Tran")])
def test_the_guide_shows_how_to_make_a_token_curl_and_power_query(site, role, ae):
    path, session_token = site
    page = client(path, session_token, role, ae).get("/api/")
    assert page.status_code == 200
    text = html.unescape(page.text)      # what a person reads, and copies
    assert "ctvdb tokens add" in text and "/admin/tokens" in text
    assert 'curl -H "Authorization: Bearer $CTVDB_TOKEN"' in text and "/api/v1/revenue/sheet?year=" in text
    assert "Web.Contents(" in text and 'Headers = [Authorization = "Bearer " & Token]' in text
    assert "Csv.Document" in text and "429" in text and "Retry-After" in text and "120 requests a minute" in text
    assert Client(site_app(path)).get("/api/").status_code == 302       # a page: sign in first
