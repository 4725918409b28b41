"""The harness the browser tests share: uvicorn on a free port, and headless Chromium driven over
the DevTools protocol with a stdlib websocket client (no browser-automation package)."""

from __future__ import annotations

import base64
import contextlib
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


@contextlib.contextmanager
def chromium(profile: Path):
    """Headless Chromium with a fresh profile in `profile`, for the `with` block: its DevTools."""
    process = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
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


class Tab:
    """One page in `tools`' browser, signed in with a session cookie: navigate, evaluate, capture."""

    def __init__(self, tools: DevTools, port: int, cookie: tuple[str, str] | None = None):
        self.tools, self.port = tools, port
        self.target = tools.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = tools.send("Target.attachToTarget", targetId=self.target, flatten=True)["sessionId"]
        tools.send("Page.enable", self.session)
        if cookie:
            tools.send("Network.setCookie", self.session, name=cookie[0], value=cookie[1],
                       domain="127.0.0.1", path="/")

    def size(self, width: int, height: int, *, mobile: bool = False) -> None:
        """The window: a phone (`mobile`: its viewport and touch rules) or a desktop browser."""
        self.tools.send("Emulation.setDeviceMetricsOverride", self.session, width=width, height=height,
                        deviceScaleFactor=1, mobile=mobile)

    def open(self, path: str) -> None:
        self.tools.events.clear()
        self.tools.send("Page.navigate", self.session, url=f"http://127.0.0.1:{self.port}{path}")
        self.tools.wait_for("Page.loadEventFired")

    def js(self, expression: str):
        """The value of a JavaScript expression in the page (DevTools runs it; the page's CSP
        allows no script of its own)."""
        result = self.tools.send("Runtime.evaluate", self.session, expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def screenshot(self, path: Path) -> None:
        shot = self.tools.send("Page.captureScreenshot", self.session, format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def pdf(self) -> bytes:
        """The page as printed, with the page size and margins its stylesheet's @page asks for."""
        printed = self.tools.send("Page.printToPDF", self.session, preferCSSPageSize=True, printBackground=True)
        return base64.b64decode(printed["data"])

    def close(self) -> None:
        self.tools.send("Target.closeTarget", targetId=self.target)
