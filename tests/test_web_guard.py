"""The web server's connection limits (ctvdb/web/guard.py), against the real uvicorn on 127.0.0.1.

Clients that misbehave come from other loopback addresses (Linux routes all of 127/8 to lo), so
the well-behaved client on 127.0.0.1 is a different peer. Deadlines are shortened through the
environment; every test bounds its connections and its duration.
"""

from __future__ import annotations

import http.client
import os
import resource
import selectors
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ctvdb.auth_web import FORM_COOKIE, SESSION_COOKIE
from ctvdb.web.commands import UVICORN_OPTIONS
from test_web_server import ROOT, free_port, wait_for_port

REPORT = "/reports/monthly/revenue-summary?year=2026"
DEADLINE = 1.5      # CTVDB_REQUEST_TIMEOUT in these tests, seconds
NEVER = 10.0        # how long a test waits for what the old server never did


def command_line(options: dict) -> list[str]:
    """uvicorn's command-line flags for the keyword arguments of uvicorn.run()."""
    flags = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        flags += [flag.replace("--", "--no-", 1)] if value is False else [flag, str(value)]
    return flags


class Server:
    """uvicorn as production runs it (UVICORN_OPTIONS), with its log in a file."""

    def __init__(self, database: Path, log: Path, env: dict[str, str], *args: str, nofile: int | None = None):
        self.port = free_port()
        self.log = log
        limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))) if nofile else None
        with open(log, "w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "ctvdb.web.asgi:app", "--host", "127.0.0.1",
                 "--port", str(self.port), *command_line(UVICORN_OPTIONS), "--no-access-log", *args],
                cwd=ROOT, env={**os.environ, "DATABASE_PATH": str(database), **env},
                stdout=out, stderr=subprocess.STDOUT, preexec_fn=limit)
        try:
            wait_for_port(self.port, self.process)
            assert self.wait_for_client_sockets(0) == 0   # wait_for_port's own connection has gone
        except BaseException:
            self.stop()
            raise

    def client_sockets(self) -> int:
        """Connected TCP sockets the server process holds (not its listening socket)."""
        inodes = set()
        for fd in os.listdir(f"/proc/{self.process.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.process.pid}/fd/{fd}")
            except FileNotFoundError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        count = 0
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].split(":")[1], 16)
            if local_port == self.port and fields[3] != "0A" and fields[9] in inodes:  # 0A: LISTEN
                count += 1
        return count

    def wait_for_client_sockets(self, wanted: int, seconds: float = NEVER) -> int:
        deadline = time.monotonic() + seconds
        while (found := self.client_sockets()) != wanted and time.monotonic() < deadline:
            time.sleep(0.1)
        return found

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def connect(server: Server, source: str = "127.0.0.1", timeout: float = NEVER) -> socket.socket:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", server.port))
    return sock


def read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed it
    (infinity: it was still open after the socket's timeout)."""
    started, data = time.monotonic(), b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        return data, float("inf")
    return data, time.monotonic() - started


def trickle(sock: socket.socket) -> tuple[bytes, float]:
    """Send a header byte every 0.2 s, never the end of the headers, until the server answers."""
    started = time.monotonic()
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: ")
    sock.settimeout(0.2)
    while time.monotonic() - started < NEVER:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            try:
                sock.send(b"a")
            except OSError:   # closed meanwhile: the next recv says how
                pass
            continue
        sock.settimeout(NEVER)
        rest, _ = read_until_closed(sock) if chunk else (b"", 0)
        return chunk + rest, time.monotonic() - started
    return b"", float("inf")


def get(server: Server, path: str, token: str | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=NEVER)
    try:
        conn.request("GET", path, headers={"Cookie": f"{SESSION_COOKIE}={token}"} if token else {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module", autouse=True)
def enough_descriptors():
    """The tests' own clients open up to a thousand sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture(scope="module")
def sample(imported_sample, session_token):
    sample = imported_sample(rows=3000, months="Jan-25..Dec-26")
    return sample.database, session_token(sample.database)


@pytest.fixture
def start_server(sample, tmp_path):
    """start_server(env, *uvicorn_args, nofile=None) -> a Server, stopped after the test however it ends."""
    started: list[Server] = []

    def start(env: dict[str, str], *args: str, nofile: int | None = None) -> Server:
        started.append(Server(sample[0], tmp_path / f"uvicorn-{len(started)}.log", env, *args, nofile=nofile))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def guarded(sample, tmp_path_factory):
    """A server with short deadlines and the default caps."""
    database, token = sample
    server = Server(database, tmp_path_factory.mktemp("guarded") / "uvicorn.log",
                    {"CTVDB_REQUEST_TIMEOUT": str(DEADLINE), "CTVDB_SEND_TIMEOUT": "1"})
    try:
        assert get(server, REPORT, token)[0] == 200   # the report is cached from here on
        yield server, token
    finally:
        server.stop()


# Deadlines ---------------------------------------------------------------------------------------

def test_silent_half_sent_and_trickling_connections_are_closed_at_the_deadline(guarded):
    server, _ = guarded
    host = f"127.0.0.1:{server.port}"
    half_body = (f"POST /signin HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n"
                 f"Cookie: {FORM_COOKIE}={'n' * 43}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                 "Content-Length: 100\r\n\r\nemail=a").encode()
    clients = {
        "silent": b"",
        "half headers": b"GET /health HTTP/1.1\r\nHost: x\r\n",
        "half body": half_body,          # the sign-in form waits for the rest of its body
        "trickling": None,               # a header byte every 0.2 s, never the end of them
    }
    results: dict[str, tuple[bytes, float]] = {}

    def run(name: str, first: bytes | None) -> None:
        sock = connect(server, "127.0.0.2")
        if first is None:
            results[name] = trickle(sock)
        else:
            sock.sendall(first)
            results[name] = read_until_closed(sock)
        sock.close()

    threads = [threading.Thread(target=run, args=item) for item in clients.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(NEVER + 5)

    for name, (_, seconds) in results.items():
        assert DEADLINE - 0.1 <= seconds < NEVER, (name, seconds)
    timed_out = b"HTTP/1.1 408 Request Timeout\r\n"
    assert results["silent"][0] == b""
    assert results["half headers"][0].startswith(timed_out) and b"Connection: close" in results["half headers"][0]
    assert results["half body"][0].startswith(timed_out)
    assert results["trickling"][0].startswith(timed_out)
    assert "Exception in ASGI application" not in server.output()   # the cut-off form read ends quietly


def test_a_keep_alive_client_is_not_cut_off_by_the_deadline(guarded):
    server, token = guarded
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=NEVER)
    statuses, sockets = [], set()
    try:
        for _ in range(6):   # 2.4 s on one connection, longer than the deadline
            conn.request("GET", REPORT, headers={"Cookie": f"{SESSION_COOKIE}={token}"})
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
            sockets.add(conn.sock.getsockname())
            time.sleep(0.4)
    finally:
        conn.close()
    assert statuses == [200] * 6 and len(sockets) == 1


def test_a_client_that_never_reads_its_responses_is_dropped(guarded):
    server, token = guarded
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind(("127.0.0.2", 0))
    sock.connect(("127.0.0.1", server.port))
    request = f"GET {REPORT} HTTP/1.1\r\nHost: x\r\nCookie: {SESSION_COOKIE}={token}\r\n\r\n".encode()
    sock.sendall(request * 300)   # 300 pipelined reports, ~4.5 MB, more than the socket buffers hold
    try:
        assert server.wait_for_client_sockets(1, 2) == 1
        # the client still holds its end open and unread; CTVDB_SEND_TIMEOUT is 1 s
        assert server.wait_for_client_sockets(0) == 0
    finally:
        sock.close()


def test_trickling_clients_do_not_stop_health_or_a_cached_report_and_leave_nothing_behind(guarded):
    server, token = guarded
    attackers = 300                         # 100 from each of three addresses, under the per-address cap
    stop_at = time.monotonic() + 4.0
    closed_by_server = 0
    open_sockets: list[socket.socket] = []

    def trickle() -> None:
        nonlocal closed_by_server
        selector = selectors.DefaultSelector()
        request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 1000
        sent: dict[socket.socket, int] = {}

        def open_one(i: int) -> None:
            sock = connect(server, f"127.0.0.{2 + i % 3}")
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, i)
            sent[sock] = 0

        for i in range(attackers):
            open_one(i)
        while time.monotonic() < stop_at:
            for key, _ in selector.select(timeout=0.25):
                selector.unregister(key.fileobj)
                del sent[key.fileobj]
                key.fileobj.close()
                closed_by_server += 1
                open_one(key.data)
            for sock in list(sent):   # one more header byte on every connection
                try:
                    sock.send(request[sent[sock]:sent[sock] + 1])
                    sent[sock] += 1
                except OSError:
                    pass
        open_sockets.extend(sent)     # stop sending, but keep them open

    attack = threading.Thread(target=trickle)
    attack.start()
    answers = []
    while attack.is_alive():
        for path in ("/health", REPORT):
            started = time.monotonic()
            status, _, _ = get(server, path, token)
            answers.append((path, status, time.monotonic() - started))
        time.sleep(0.1)
    attack.join()
    try:
        assert len(answers) >= 10
        assert [(p, s) for p, s, _ in answers if s != 200] == []
        assert max(seconds for *_, seconds in answers) < 5
        assert closed_by_server >= attackers          # each connection lived a deadline at most
        assert len(open_sockets) == attackers
        assert server.wait_for_client_sockets(0) == 0  # while the clients still hold their ends
    finally:
        for sock in open_sockets:
            sock.close()


# Framing -----------------------------------------------------------------------------------------

SMUGGLED = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("head, body", [
    (b"POST /signin HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
     b"0\r\n\r\n" + SMUGGLED),
    (b"POST /signin HTTP/1.1\r\nHost: x\r\ntransfer-encoding: CHUNKED\r\ncontent-length: 40\r\n\r\n",
     b"0\r\n\r\n" + SMUGGLED),
    (b"POST /signin HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", b"0\r\n\r\n" + SMUGGLED),
    # refused by h11 itself; here so that the whole class stays refused
    (b"POST /signin HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", b"12345" + SMUGGLED),
    (b"POST /signin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", b"0\r\n\r\n" + SMUGGLED),
    (b"POST /signin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
     b"0\r\n\r\n" + SMUGGLED),
], ids=["CL+TE", "te+cl, odd case", "TE in HTTP/1.0", "two CLs", "TE gzip", "two TEs"])
def test_a_request_with_two_possible_body_lengths_is_refused_and_closed(guarded, head, body):
    server, _ = guarded
    sock = connect(server)
    sock.sendall(head + body)
    data, seconds = read_until_closed(sock)
    sock.close()
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert data.count(b"HTTP/1.") == 1      # the request hidden in the body was not answered
    assert seconds < DEADLINE                # closed at once, not at the deadline


# Caps --------------------------------------------------------------------------------------------

def held_and_refused(socks: list[socket.socket]) -> tuple[int, list[bytes]]:
    """(connections the server holds open and silent, the answers of those it refused)."""
    time.sleep(0.5)
    held, refused = 0, []
    for sock in socks:
        sock.setblocking(False)
        try:
            refused.append(sock.recv(65536))
        except BlockingIOError:
            held += 1
    return held, refused


def test_the_caps_refuse_the_excess_at_once_and_exempt_a_trusted_proxy(start_server):
    server = start_server({"CTVDB_MAX_CONNECTIONS": "50", "CTVDB_MAX_CONNECTIONS_PER_ADDRESS": "20",
                           "CTVDB_TRUSTED_PROXIES": "127.0.0.9", "CTVDB_REQUEST_TIMEOUT": "30"})
    socks: list[socket.socket] = []
    try:
        flooder = [connect(server, "127.0.0.2") for _ in range(25)]
        proxy = [connect(server, "127.0.0.9") for _ in range(25)]
        another = [connect(server, "127.0.0.3") for _ in range(10)]
        socks = flooder + proxy + another
        held, refused = held_and_refused(flooder)
        assert held == 20 and len(refused) == 5
        assert all(r.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and b"Retry-After: 30\r\n" in r
                   and b"Connection: close\r\n" in r and b"from your address" in r for r in refused)
        assert held_and_refused(proxy) == (25, [])            # a proxy speaks for many people
        held, refused = held_and_refused(another)             # 45 open: 5 more fit under 50
        assert held == 5 and len(refused) == 5 and all(b"The server is busy" in r for r in refused)
        assert server.client_sockets() == 50
        status, headers, _ = get(server, "/health")
        assert (status, headers["Retry-After"], headers["Connection"]) == (503, "30", "close")
        for sock in flooder:
            sock.close()
        assert server.wait_for_client_sockets(30) == 30
        assert get(server, "/health")[0] == 200
        assert "Refused 1 connection(s) over the caps" in server.output()   # a flood is not a log line each
    finally:
        for sock in socks:
            sock.close()


def test_a_flood_stays_under_the_descriptor_limit(start_server):
    # 1,024 descriptors and a backlog of 128 leave room for 1024 - 4 * 128 - 100 = 412 connections
    server = start_server({"CTVDB_REQUEST_TIMEOUT": "30"}, "--backlog", "128", nofile=1024)
    cap, flood = 412, []
    try:
        for i in range(1000):
            sock = socket.socket()
            sock.bind((f"127.0.1.{1 + i // 100}", 0))   # ten addresses, under the per-address cap
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", server.port))
            flood.append(sock)
            if i % 100 == 99:
                time.sleep(0.05)   # 1,000 in half a second: more than a backlog at a time, no more
        selector = selectors.DefaultSelector()
        for sock in flood:
            selector.register(sock, selectors.EVENT_READ)
        deadline, answered = time.monotonic() + NEVER, {}
        while len(answered) < 1000 - cap and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.5):
                selector.unregister(key.fileobj)
                answered[key.fileobj] = key.fileobj.recv(65536)
        selector.close()
        assert len(answered) == 1000 - cap
        assert all(r.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") for r in answered.values())
        assert server.client_sockets() == cap
        assert len(os.listdir(f"/proc/{server.process.pid}/fd")) < 1024
        assert get(server, "/health")[0] == 503
        output = server.output()
        assert f"At most {cap} connections (CTVDB_MAX_CONNECTIONS is 2000)" in output
        assert "Too many open files" not in output and "out of system resource" not in output
    finally:
        for sock in flood:
            sock.close()
    assert server.wait_for_client_sockets(0) == 0
    assert get(server, "/health")[0] == 200
