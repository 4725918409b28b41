"""Local stand-ins for ntfy and a Slack incoming webhook: real HTTP servers on 127.0.0.1.

They answer the way the real services do (as documented by them) closely enough to test a
client: ntfy answers 200 with the message as JSON, 401/403 for a missing or wrong token, 413
for a body over 4,096 bytes (attachments off), 429 when rate limited; Slack answers 200 with
the body `ok`, 400 `invalid_payload`, 403 `invalid_token`, 404 `no_service`, 429 with
`Retry-After`. Standard library only, so it also runs inside a test container:

    python3 servers.py ntfy --port 8090 --record /tmp/ntfy.jsonl
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NTFY_MESSAGE_LIMIT = 4096


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def as_json(self) -> dict:
        return {"path": self.path, "headers": self.headers, "body": self.text, "status": self.status}


@dataclass
class StandIn:
    """A server in a background thread; set the attributes to change how it answers."""

    host: str = "127.0.0.1"
    port: int = 0
    delay: float = 0.0  # seconds to wait before answering (a slow server)
    fail_first: int = 0  # answer this many requests with the failure below, then normally
    failure: int = 429
    received: list[Received] = field(default_factory=list)
    record_path: str | None = None

    def __post_init__(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if stand_in.delay:
                    time.sleep(stand_in.delay)
                status, headers, payload = stand_in.answer(self.path, self.headers, body)
                stand_in.record(Received(self.path, dict(self.headers.items()), body, status))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format, *args):
                pass

        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def record(self, request: Received) -> None:
        with self._lock:
            self.received.append(request)
            if self.record_path:
                with open(self.record_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(request.as_json()) + "\n")

    def take_failure(self) -> bool:
        with self._lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                return True
            return False

    def answer(self, path, headers, body) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


def _json(status: int, payload: dict) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, (json.dumps(payload) + "\n").encode()


@dataclass
class NtfyStandIn(StandIn):
    token: str | None = None  # when set, publishing needs `Authorization: Bearer <token>`

    def answer(self, path, headers, body):
        topic = path.strip("/")
        auth = headers.get("Authorization")
        if self.token and auth is None:
            return _json(401, {"code": 40101, "http": 401, "error": "unauthorized"})
        if self.token and auth != f"Bearer {self.token}":
            return _json(403, {"code": 40301, "http": 403, "error": "forbidden"})
        if self.take_failure():
            if self.failure == 429:
                return _json(429, {"code": 42901, "http": 429, "error": "limit reached: too many requests"})
            return _json(self.failure, {"code": self.failure * 100, "http": self.failure, "error": "stand-in failure"})
        if len(body) > NTFY_MESSAGE_LIMIT:
            return _json(413, {"code": 41301, "http": 413, "error": "attachments not allowed"})
        try:
            title = headers.get("Title", "")
            message = body.decode("utf-8")
        except UnicodeDecodeError:
            return _json(400, {"code": 40000, "http": 400, "error": "invalid request: message not UTF-8"})
        tags = [t.strip() for t in headers.get("Tags", "").split(",") if t.strip()]
        return _json(200, {
            "id": f"standin{len(self.received)}", "time": int(time.time()), "event": "message",
            "topic": topic, "title": title, "message": message,
            "priority": int(headers.get("Priority") or 3), "tags": tags,
        })


@dataclass
class SlackStandIn(StandIn):
    hook_path: str = "/services/T000/B000/XXXX"
    retry_after: int = 1

    @property
    def webhook(self) -> str:
        return self.url + self.hook_path

    def answer(self, path, headers, body):
        plain = {"Content-Type": "text/html"}
        if path != self.hook_path:
            return 404, plain, b"no_service"
        if self.take_failure():
            if self.failure == 429:
                return 429, dict(plain, **{"Retry-After": str(self.retry_after)}), b"rate_limited"
            return self.failure, plain, b"invalid_token" if self.failure == 403 else b"error"
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return 400, plain, b"invalid_payload"
        if not isinstance(payload, dict) or not payload.get("text"):
            return 400, plain, b"no_text"
        return 200, plain, b"ok"


def closed_port_url() -> str:
    """The URL of a port on 127.0.0.1 that nothing listens on (a server that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a stand-in server until killed.")
    parser.add_argument("kind", choices=["ntfy", "slack"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--record", help="append each request to this file as a JSON line")
    args = parser.parse_args(argv)
    server_class = NtfyStandIn if args.kind == "ntfy" else SlackStandIn
    with server_class(port=args.port, record_path=args.record) as server:
        print(f"{args.kind} stand-in listening on {server.url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
