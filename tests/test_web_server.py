"""The reports app under the real uvicorn server, and in a real browser (headless Chromium driven
over the DevTools protocol, with a stdlib websocket client): what production serves."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ctvdb.auth_web import SESSION_COOKIE

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_uvicorn(database: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_PATH": str(database)}
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "ctvdb.web.asgi:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"uvicorn exited {process.returncode}: {process.stdout.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("uvicorn did not start listening")


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

class DevTools:
    """Just enough of the Chrome DevTools protocol over a stdlib websocket (RFC 6455) client."""

    def __init__(self, url: str):
        host, port, path = re.fullmatch(r"ws://([^:/]+):(\d+)(/.*)", url).groups()
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += self.sock.recv(1)
        assert b" 101 " in reply.split(b"\r\n")[0], reply
        self.next_id = 0
        self.events: list[dict] = []

    def _recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("DevTools connection closed")
            data += chunk
        return data

    def _receive(self) -> dict:
        message = b""
        while True:
            first, second = self._recv_exact(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._recv_exact(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._recv_exact(8))[0]
            message += self._recv_exact(length)
            if first & 0x80:
                return json.loads(message)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        self.next_id += 1
        payload = {"id": self.next_id, "method": method, "params": params}
        if session:
            payload["sessionId"] = session
        data, mask = json.dumps(payload).encode(), os.urandom(4)
        header = bytes([0x81]) + (bytes([0x80 | len(data)]) if len(data) < 126 else
                                  bytes([0x80 | 126]) + struct.pack(">H", len(data)) if len(data) < 65536 else
                                  bytes([0x80 | 127]) + struct.pack(">Q", len(data)))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
        while True:
            message = self._receive()
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, seconds: float = 30) -> dict:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for event in self.events:
                if event.get("method") == method:
                    self.events.remove(event)
                    return event
            self.events.append(self._receive())
        raise AssertionError(f"no {method} within {seconds} s")


@pytest.fixture
def browser(tmp_path):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    process = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--remote-debugging-port=0", f"--user-data-dir={tmp_path / 'profile'}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            if found:
                break
        else:
            raise AssertionError("chromium did not start its DevTools endpoint")
        yield DevTools(found.group(1))
    finally:
        process.terminate()
        process.wait(10)


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
