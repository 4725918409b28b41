"""The web server's connections: uvicorn's h11 protocol with deadlines, caps and strict framing.

uvicorn closes a keep-alive connection that stays idle between requests, and nothing else: a
client that connects and sends nothing, stops in the middle of its headers or body, trickles a
byte now and then, or never reads its response holds a connection (and a file descriptor) for as
long as it likes, and enough of them leave the server unable to accept anyone. This protocol adds

- a deadline for receiving a whole request, headers and body (`request_timeout`), counted from
  the connection's opening or from the first byte of a later request, never reset by more bytes;
  a request cut short is answered 408, a connection that sent nothing is closed without a word;
- a deadline for a response the client does not read (`send_timeout` without progress);
- caps on the connections a worker process holds, in all and from one client address
  (`max_connections`, `max_connections_per_address`; trusted proxies are exempt from the second,
  since every connection through a proxy comes from its address). The excess is answered 503 at
  once and closed, and the cap is kept below the file-descriptor limit, so the server never runs
  out of descriptors (asyncio then stops accepting anyone for a second at a time);
- 400 and a closed connection for a request whose body has two possible lengths
  (Content-Length beside Transfer-Encoding, or Transfer-Encoding in HTTP/1.0): a proxy in front
  may have read the body the other way, the classic request smuggling.

Production and `ctvdb serve` name this class in uvicorn's `http` option (commands.UVICORN_OPTIONS).
The event loop is single-threaded, so the counts are plain attributes of one object per process.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import resource
import time
from collections import Counter

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ctvdb import config as ctvdb_config
from ctvdb.auth_web import is_trusted_proxy
from ctvdb.config import Config

# Descriptors the process needs besides client connections: the listening socket, the event
# loop's, SQLite's files for each of a2wsgi's ten threads, logs, imported modules.
RESERVED_FDS = 100
# asyncio accepts up to `backlog` connections on each turn of its loop, and a connection over the
# cap is refused in connection_made and its descriptor closed three turns after its accept; under
# a flood that many backlogs of descriptors are open beside the admitted connections (measured
# with a backlog of 128 and 3,000 connections at once: 383).
ACCEPT_BURSTS = 4
REFUSAL_LOG_INTERVAL = 10.0   # seconds; a flood of refusals is one log line per interval


def _plain_response(status: str, text: str, *extra: str) -> bytes:
    body = f"{text}\n".encode()
    head = [f"HTTP/1.1 {status}", "Content-Type: text/plain; charset=utf-8",
            f"Content-Length: {len(body)}", *extra, "Connection: close"]
    return "\r\n".join(head).encode() + b"\r\n\r\n" + body


class Guard:
    """This process's limits and the connections it holds, in all and by client address."""

    def __init__(self, config: Config, max_connections: int):
        self.config = config
        self.max_connections = max_connections
        self.open = 0
        self.by_address: Counter[str] = Counter()
        self.refused = 0
        self.last_refusal_log = float("-inf")
        retry = f"Retry-After: {max(1, round(config.request_timeout))}"
        self.busy = _plain_response("503 Service Unavailable", "The server is busy; try again shortly.", retry)
        self.crowded = _plain_response("503 Service Unavailable", "Too many connections from your "
                                       "address; close some or try again shortly.", retry)
        self.timed_out = _plain_response("408 Request Timeout", "The request did not arrive within "
                                         f"{config.request_timeout:g} seconds.")

    def admit(self, address: str, logger: logging.Logger) -> bytes | None:
        """Count in a new connection from `address`, or return the 503 that refuses it."""
        if self.open >= self.max_connections:
            refusal = self.busy
        elif (self.by_address[address] >= self.config.max_connections_per_address
              and not is_trusted_proxy(self.config, address)):
            refusal = self.crowded
        else:
            self.open += 1
            self.by_address[address] += 1
            return None
        self.refused += 1
        now = time.monotonic()
        if now - self.last_refusal_log >= REFUSAL_LOG_INTERVAL:
            logger.warning("Refused %d connection(s) over the caps since the last report; %d open"
                           " (cap %d), %d from %s (cap %d).", self.refused, self.open,
                           self.max_connections, self.by_address[address], address,
                           self.config.max_connections_per_address)
            self.refused, self.last_refusal_log = 0, now
        return refusal

    def release(self, address: str) -> None:
        self.open -= 1
        self.by_address[address] -= 1
        if not self.by_address[address]:
            del self.by_address[address]


def connection_cap(wanted: int, backlog: int) -> tuple[int, int]:
    """(the most connections this process may hold, its descriptor limit).

    The cap leaves room for connections accepted but not yet refused (ACCEPT_BURSTS backlogs)
    and for RESERVED_FDS beside it. A soft limit too low for that is raised towards the hard one
    where the process may (not under a system-call filter that forbids it); a systemd unit's
    LimitNOFILE= sets both.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + ACCEPT_BURSTS * backlog + RESERVED_FDS
    if soft != resource.RLIM_INFINITY and soft < needed and soft != hard:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (OSError, ValueError):
            pass
    room = wanted if soft == resource.RLIM_INFINITY else soft - ACCEPT_BURSTS * backlog - RESERVED_FDS
    return max(1, min(wanted, room)), soft


@functools.cache
def process_guard(backlog: int) -> Guard:
    """The one Guard of this process, built from the environment at its first connection."""
    config = ctvdb_config.load()
    cap, fd_limit = connection_cap(config.max_connections, backlog)
    logger = logging.getLogger("uvicorn.error")
    if cap < config.max_connections:
        logger.warning("At most %d connections (CTVDB_MAX_CONNECTIONS is %d): the descriptor limit"
                       " %d must also hold %d x the listen backlog of %d and %d for files; raise"
                       " LimitNOFILE=.", cap, config.max_connections, fd_limit, ACCEPT_BURSTS, backlog,
                       RESERVED_FDS)
    logger.info("Connection limits: %d open, %d per address; a request must arrive within %g s.",
                cap, config.max_connections_per_address, config.request_timeout)
    return Guard(config, cap)


class FramingCheckedConnection(h11.Connection):
    """h11, refusing a request whose body could be read two ways (RFC 9112 §6.1, §6.3)."""

    def next_event(self):
        event = super().next_event()
        if isinstance(event, h11.Request):
            names = {name for name, _ in event.headers}
            if b"transfer-encoding" in names and (b"content-length" in names or event.http_version == b"1.0"):
                raise h11.RemoteProtocolError("Transfer-Encoding with Content-Length or in HTTP/1.0",
                                              error_status_hint=400)
        return event


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol under this process's Guard (see the module's docstring)."""

    def __init__(self, config, server_state, app_state, _loop=None):
        super().__init__(config, server_state, app_state, _loop)
        size = config.h11_max_incomplete_event_size
        self.conn = FramingCheckedConnection(
            h11.SERVER, **({} if size is None else {"max_incomplete_event_size": size}))
        self.guard = process_guard(config.backlog)
        self.address: str | None = None          # set once admitted; None for a refused connection
        self.request_deadline: asyncio.TimerHandle | None = None
        self.send_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport):
        peer = transport.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) else ""
        refusal = self.guard.admit(address, self.logger)
        if refusal is not None:
            transport.write(refusal)
            transport.close()
            return
        self.address = address
        super().connection_made(transport)
        self.request_deadline = self.loop.call_later(self.guard.config.request_timeout, self.request_timed_out)

    def connection_lost(self, exc):
        if self.address is None:   # refused: uvicorn's side of it was never set up
            return
        self.guard.release(self.address)
        for timer in (self.request_deadline, self.send_deadline):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data):
        super().data_received(data)
        self.watch_request()

    def on_response_complete(self):
        super().on_response_complete()
        self.watch_request()   # a pipelined request may be half here already

    def receiving(self) -> bool:
        """Part of a request has arrived and the rest has not."""
        state = self.conn.their_state
        return state is h11.SEND_BODY or (state is h11.IDLE and bool(self.conn.trailing_data[0]))

    def watch_request(self) -> None:
        """Arm the deadline at a request's first byte; disarm it once the whole request is here."""
        if self.receiving():
            if self.request_deadline is None and not self.transport.is_closing():
                self.request_deadline = self.loop.call_later(self.guard.config.request_timeout,
                                                             self.request_timed_out)
        elif self.request_deadline is not None and self.conn.their_state is not h11.IDLE:
            # (IDLE with nothing here yet: a new connection, whose first deadline stands)
            self.request_deadline.cancel()
            self.request_deadline = None

    def request_timed_out(self) -> None:
        self.request_deadline = None
        if self.transport.is_closing():
            return
        if self.receiving() and (self.conn.their_state is h11.IDLE or not self.cycle.response_started):
            if self.conn.their_state is h11.SEND_BODY:
                self.cycle.disconnected = True   # the app's own answer, if it gives one, goes nowhere
            self.transport.write(self.guard.timed_out)
        self.transport.close()

    def pause_writing(self):
        super().pause_writing()
        if self.send_deadline is None:
            self.send_deadline = self.loop.call_later(self.guard.config.send_timeout, self.transport.abort)

    def resume_writing(self):
        if self.send_deadline is not None:
            self.send_deadline.cancel()
            self.send_deadline = None
        super().resume_writing()
