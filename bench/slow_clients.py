"""Benchmark the web server under slow clients: does a normal user still get answers?

    uv run python bench/slow_clients.py [--connections 1000] [--seconds 20] [--spots 60000]

Starts `uvicorn ctvdb.web.asgi:app` on 127.0.0.1 with the options production uses
(ctvdb.web.commands.UVICORN_OPTIONS: the guarded protocol) and its default limits, then runs
three phases of --seconds each, while a normal client on 127.0.0.1 asks for /health and a cached
report 10 times a second, each on a new connection:

- no attack: the reference, in the same run;
- --connections trickling connections from one address (127.0.0.2): each sends one header byte
  a second and never finishes; when the server closes one, it reconnects a second later;
- the same number spread over ten addresses (127.0.0.2-11), each under the per-address cap.

Reported for each phase: the normal client's p50/p95 and failures, its p95 against the no-attack
reference, the load average; how the server ended the attackers' connections (503 at once, 408
at the deadline, closed, reset); and the connections the server still holds once the attackers
stop sending but keep their sockets open for CTVDB_REQUEST_TIMEOUT + 2 s (should be 0).
The attacker is a separate process, so it does not share the normal client's interpreter lock.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import multiprocessing
import os
import resource
import selectors
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ctvdb import config  # noqa: E402
from ctvdb.auth_web import SESSION_COOKIE  # noqa: E402
import web_bench  # noqa: E402
from web_bench import build, pct  # noqa: E402

REPORT = "/reports/monthly/revenue-summary"
TRICKLE = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 4000   # never ends its headers


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Server(web_bench.Server):
    """The benchmark's uvicorn, and the client connections it holds."""

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
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
        return sum(1 for f in map(str.split, lines)
                   if int(f[1].split(":")[1], 16) == self.port and f[3] != "0A" and f[9] in inodes)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def attack(port: int, sources: list[str], connections: int, seconds: float, reconnect_delay: float,
           stopped, release, results) -> None:
    """Keep `connections` trickling connections open for `seconds`; then stop sending, keep the
    sockets until `release` is set, and put the tally in `results`."""
    raise_fd_limit()
    selector = selectors.DefaultSelector()
    sent: dict[socket.socket, int] = {}
    tally = {"opened": 0, "503 at once": 0, "408": 0, "closed silently": 0, "reset": 0, "other": 0}
    reconnect: list[tuple[float, int]] = []

    def open_slot(slot: int) -> None:
        sock = socket.socket()
        sock.bind((sources[slot % len(sources)], 0))
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        selector.register(sock, selectors.EVENT_READ, slot)
        sent[sock] = 0
        tally["opened"] += 1

    for slot in range(connections):
        open_slot(slot)
    end = time.monotonic() + seconds
    next_byte = time.monotonic()
    while (now := time.monotonic()) < end:
        for key, _ in selector.select(timeout=max(0.0, min(next_byte, end) - now)):
            sock = key.fileobj
            try:
                data = sock.recv(65536)
                kind = ("503 at once" if data.startswith(b"HTTP/1.1 503") else "408"
                        if data.startswith(b"HTTP/1.1 408") else "closed silently" if not data else "other")
            except ConnectionResetError:
                kind = "reset"
            except OSError:
                kind = "other"
            tally[kind] += 1
            selector.unregister(sock)
            del sent[sock]
            sock.close()
            reconnect.append((time.monotonic() + reconnect_delay, key.data))
        while reconnect and reconnect[0][0] <= time.monotonic():
            open_slot(reconnect.pop(0)[1])
        if time.monotonic() >= next_byte:
            next_byte += 1.0
            for sock, count in list(sent.items()):
                try:
                    sock.send(TRICKLE[count % len(TRICKLE):count % len(TRICKLE) + 1])
                    sent[sock] = count + 1
                except OSError:
                    pass   # not connected yet, or closed: the selector says which
    stopped.set()
    release.wait(600)   # stops by itself if the parent is gone
    tally["open at the end"] = len(sent)
    for sock in sent:
        sock.close()
    results.put(tally)


def normal_client(port: int, token: str, seconds: float) -> dict[str, list]:
    """/health and the cached report in turn, 10 requests a second, each on a new connection."""
    times: dict[str, list[float]] = {"/health": [], REPORT: []}
    failures: list[str] = []
    end = time.monotonic() + seconds
    paths = ["/health", REPORT]
    i = 0
    while time.monotonic() < end:
        path = paths[i % 2]
        i += 1
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", path, headers={"Cookie": f"{SESSION_COOKIE}={token}"})
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            status = type(exc).__name__
        finally:
            conn.close()
        elapsed = (time.perf_counter() - started) * 1000
        if status == 200:
            times[path].append(elapsed)
        else:
            failures.append(f"{path}: {status}")
        time.sleep(max(0.0, 0.1 - elapsed / 1000))
    return {**times, "failures": failures}


def phase(server: Server, token: str, args, sources: list[str] | None, hold: float) -> dict:
    if sources is None:
        return {**normal_client(server.port, token, args.seconds), "load": os.getloadavg()[0]}
    context = multiprocessing.get_context("fork")
    stopped, release, results = context.Event(), context.Event(), context.Queue()
    attacker = context.Process(target=attack, args=(server.port, sources, args.connections, args.seconds,
                                                    args.reconnect_delay, stopped, release, results))
    attacker.start()
    time.sleep(1.0)   # let the attack build up first
    measured = normal_client(server.port, token, args.seconds - 1.0)
    load = os.getloadavg()[0]
    stopped.wait()
    during = server.client_sockets()
    time.sleep(hold)
    leftover = server.client_sockets()
    release.set()
    tally = results.get(timeout=60)
    attacker.join(30)
    return {**measured, "load": load, "tally": tally, "held when it stopped": during, "leftover": leftover}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--reconnect-delay", type=float, default=1.0)
    parser.add_argument("--spots", type=int, default=60_000)
    parser.add_argument("--db", type=Path, help="database (default var/bench/slow-clients-<spots>.db)")
    args = parser.parse_args(argv)

    limit = raise_fd_limit()
    if limit < args.connections + 100:
        raise SystemExit(f"the descriptor limit {limit} is too low for {args.connections} connections")
    settings = config.load()
    database = args.db or ROOT / "var" / "bench" / f"slow-clients-{args.spots}.db"
    print(f"Database {database}: building if needed ...", flush=True)
    build(database, args.spots, 2, dt.date.today())
    token = web_bench.bench_session(database)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; limits: request "
          f"{settings.request_timeout:g} s, {settings.max_connections} connections, "
          f"{settings.max_connections_per_address} per address", flush=True)

    server = Server(database)
    phases = [("no attack", None), (f"{args.connections} from 1 address", ["127.0.0.2"]),
              (f"{args.connections} from 10 addresses", [f"127.0.0.{2 + i}" for i in range(10)])]
    results = {}
    try:
        normal_client(server.port, token, 1.0)   # warm the report cache
        for name, sources in phases:
            print(f"  {name} ...", file=sys.stderr, flush=True)
            results[name] = phase(server, token, args, sources, settings.request_timeout + 2)
    finally:
        server.stop()

    reference = {path: pct(results["no attack"][path], 95) for path in ("/health", REPORT)}
    print(f"\n{'phase':26} {'/health p50':>11} {'p95':>7} {'report p50':>10} {'p95':>7} "
          f"{'p95 vs none':>11} {'failed':>6} {'load':>5}")
    for name, r in results.items():
        h50, h95, r50, r95 = (pct(r["/health"], 50), pct(r["/health"], 95), pct(r[REPORT], 50), pct(r[REPORT], 95))
        ratio = max(h95 / reference["/health"], r95 / reference[REPORT])
        print(f"{name:26} {h50:9.1f}ms {h95:5.1f}ms {r50:8.1f}ms {r95:5.1f}ms {ratio:10.1f}x "
              f"{len(r['failures']):>6} {r['load']:5.2f}")
    print(f"\n{'attack':26} {'opened':>7} {'503':>6} {'408':>5} {'closed':>6} {'reset':>5} {'held':>5} "
          f"{'leftover':>8}")
    for name, r in results.items():
        if "tally" in r:
            t = r["tally"]
            print(f"{name:26} {t['opened']:7} {t['503 at once']:6} {t['408']:5} {t['closed silently']:6} "
                  f"{t['reset']:5} {r['held when it stopped']:5} {r['leftover']:8}")
    print("\n503: refused at once over a cap; 408: cut off at the request deadline; held: connections the "
          "server held when the attack stopped sending; leftover: what it still held "
          f"{settings.request_timeout + 2:g} s later, the attacker's sockets still open.")
    failures = [f for r in results.values() for f in r["failures"]]
    if failures:
        print(f"Normal client failures: {failures[:10]}")
    print(f"Load average {os.getloadavg()[0]:.2f} at the end (other work on the machine skews p95).")
    leftovers = sum(r.get("leftover", 0) for r in results.values())
    return 0 if not failures and leftovers == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
