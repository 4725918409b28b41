"""The reports app under the real uvicorn server, and in a real browser (headless Chromium driven
over the DevTools protocol, with a stdlib websocket client): what production serves."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from browser import CHROMIUM, ROOT, DevTools, chromium, free_port, start_uvicorn, wait_for_port
from ctvdb.auth_web import SESSION_COOKIE


def get(port: int, path: str, cookie: str | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def served(imported_sample, session_token):
    sample = imported_sample(rows=3000, months="Jan-25..Dec-26")
    port = free_port()
    process = start_uvicorn(sample.database, port)
    try:
        wait_for_port(port, process)
        yield port, sample, session_token(sample.database)
    finally:
        process.terminate()
        process.wait(10)


def test_uvicorn_redirects_root_to_reports(served):
    port, _, _ = served
    status, headers, _ = get(port, "/")
    assert status == 302
    assert headers["location"] == "/reports/"


def test_uvicorn_serves_a_report_and_health(served):
    port, _, token = served
    status, headers, body = get(port, "/reports/monthly/revenue-summary?year=2026", token)
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b"Data last updated:" in body and b"By broadcast month" in body
    assert "default-src 'none'" in headers["content-security-policy"]
    status, headers, body = get(port, "/health")
    assert status == 200 and json.loads(body)["database"] == "reachable"


def test_uvicorn_refuses_to_start_without_the_database(tmp_path):
    process = start_uvicorn(tmp_path / "missing.db", free_port())
    output, _ = process.communicate(timeout=30)
    assert process.returncode != 0
    lines = [line for line in output.splitlines() if line.startswith("ctvdb:")]
    assert lines == [f"ctvdb: cannot start the web app: database {tmp_path / 'missing.db'} does not exist"
                     " (check DATABASE_PATH, or create it with `ctvdb init`)"]
    assert "Traceback" not in output


# A real browser -----------------------------------------------------------------------------------

@pytest.fixture
def browser(tmp_path):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with chromium(tmp_path / "profile") as tools:
        yield tools


def visit(tools: DevTools, port: int, token: str, path: str, screenshot: Path) -> str:
    """Load `path` in a fresh tab; fail on any failed or refused request; return the page text."""
    target = tools.send("Target.createTarget", url="about:blank")["targetId"]
    session = tools.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for domain in ("Network", "Page", "Runtime", "Log"):
        tools.send(f"{domain}.enable", session)
    tools.send("Emulation.setDeviceMetricsOverride", session, width=1280, height=900,
               deviceScaleFactor=1, mobile=False)
    tools.send("Network.setCookie", session, name=SESSION_COOKIE, value=token, domain="127.0.0.1", path="/")
    tools.events.clear()
    tools.send("Page.navigate", session, url=f"http://127.0.0.1:{port}{path}")
    tools.wait_for("Page.loadEventFired")
    time.sleep(0.3)  # late requests (the favicon) after the load event
    tools.send("Runtime.evaluate", session, expression="1")  # drain events that arrived meanwhile
    responses = [e["params"]["response"] for e in tools.events if e.get("method") == "Network.responseReceived"]
    failures = [e["params"] for e in tools.events if e.get("method") == "Network.loadingFailed"]
    problems = [e["params"] for e in tools.events
                if e.get("method") in ("Runtime.exceptionThrown", "Log.entryAdded")
                and e["params"].get("entry", {}).get("level", "error") == "error"]
    assert failures == [], failures
    assert problems == [], problems
    assert [r["url"] for r in responses if r["status"] >= 400] == []
    assert any(r["url"].endswith("/static/style.css") and r["status"] == 200 for r in responses)
    shot = tools.send("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    text = tools.send("Runtime.evaluate", session, expression="document.body.innerText")["result"]["value"]
    tools.send("Target.closeTarget", targetId=target)
    return text


def test_browser_renders_index_summary_and_customer_pages(served, browser, tmp_path, workbook_rows):
    port, sample, token = served
    browser.send("Browser.getVersion")
    text = visit(browser, port, token, "/reports/", tmp_path / "index.png")
    assert "Monthly revenue summary" in text and "Data last updated:" in text

    rows = workbook_rows(sample.workbook)
    aliases = {"a&o", "ao", "a and o", "local", "internal ad sales"}
    nov = [float(r["gross_rate"]) for r in rows
           if str(r["revenue_type"]).strip().lower() in aliases and float(r["gross_rate"] or 0) > 0
           and (r["broadcast_month"].year, r["broadcast_month"].month) == (2026, 11)]
    text = visit(browser, port, token, "/reports/monthly/revenue-summary?year=2026", tmp_path / "summary.png")
    assert re.search(rf"Nov-26\s+OPEN\s+{len(nov):,}\s+{sum(nov):,.2f}", text), text[:2000]
    assert (tmp_path / "summary.png").stat().st_size > 10_000

    status, _, body = get(port, "/reports/monthly/revenue-summary?year=2026&format=json", token)
    top = json.loads(body)["tables"]["top_clients"]["rows"][0]
    text = visit(browser, port, token, f"/reports/customer/{top['customer_id']}?year=2026",
                 tmp_path / "customer.png")
    assert top["customer"] in text and "24-month trend" in text and "Bill codes that map" in text
    bill_code = f"{top['agency']}:{top['customer']}" if top["agency"] else top["customer"]
    year_gross = sum(float(r["gross_rate"] or 0) for r in rows
                     if " ".join(str(r["bill_code"]).split()) == bill_code and r["broadcast_month"].year == 2026
                     and str(r["revenue_type"]).strip() != "Trade")
    assert f"2026 gross\n${year_gross:,.2f}" in text


# Parallel password guesses against the real server (issue 10) --------------------------------------

def sign_in_over_http(port: int, email: str, password: str) -> int:
    """GET the form (its nonce cookie and token), POST it; the status of the POST."""
    from urllib.parse import urlencode

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", "/signin")
        response = conn.getresponse()
        cookie = response.getheader("Set-Cookie").split(";")[0]
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', response.read().decode()).group(1)
        conn.request("POST", "/signin", urlencode({"email": email, "password": password, "csrf_token": token}),
                     {"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}",
                      "Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_parallel_guesses_at_two_workers_get_five_password_checks_not_fourteen(tmp_path):
    import sqlite3
    import threading

    from ctvdb import auth, db

    database = tmp_path / "ctvdb.db"
    db.init(database)
    conn = db.connect_auth(database)
    auth.add_user(conn, "ana@example.com", "the right password", "viewer")
    conn.close()
    port = free_port()
    env = {**os.environ, "DATABASE_PATH": str(database)}
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "ctvdb.web.asgi:app", "--host", "127.0.0.1",
                                "--port", str(port), "--workers", "2"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        start, statuses = threading.Barrier(40), []

        def guess(i):
            start.wait()
            statuses.append(sign_in_over_http(port, "ana@example.com", f"guess number {i}"))

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with sqlite3.connect(db.auth_path(database)) as auth_db:
            checked = auth_db.execute("SELECT count(*) FROM signin_attempts WHERE email = 'ana@example.com'"
                                      ).fetchone()[0]
        assert sorted(statuses) == [401] * 5 + [429] * 35
        assert checked == auth.MAX_FAILURES_PER_ACCOUNT == 5
        assert sign_in_over_http(port, "ana@example.com", "the right password") == 429   # still limited
    finally:
        process.terminate()
        process.wait(10)
