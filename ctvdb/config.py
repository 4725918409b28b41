"""Configuration, read from the environment once into a frozen object that is passed down.

No other module reads os.environ: commands call `load()` at start-up and hand the result on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_DATABASE = Path("var") / "ctvdb.db"
DEFAULT_DATA = Path("var") / "data"


@dataclass(frozen=True)
class Config:
    database_path: Path = DEFAULT_DATABASE
    data_path: Path = DEFAULT_DATA
    # The import fails when more than this fraction of the data rows is rejected.
    max_rejected_ratio: float = 0.01
    # What a workbook may unpack to, in MB (issue 10): past it the import refuses the file unread.
    max_xml_mb: int = 1024
    # "Now" for the previous-month freeze, as an ISO date or datetime; None means the real clock.
    import_clock: str | None = None
    # Web side
    report_cache_seconds: float = 300.0
    footer_cache_seconds: float = 300.0
    stale_after_hours: float = 24.0
    timezone: str = "America/Los_Angeles"
    # Web server connections (ctvdb.web.guard), per uvicorn worker process. A whole request must
    # arrive within request_timeout seconds of the connection opening or of its first byte; a
    # response may make no progress for send_timeout seconds. Caps on open connections, in all
    # and from one client address (trusted proxies are exempt from that one).
    request_timeout: float = 10.0
    send_timeout: float = 60.0
    max_connections: int = 2000
    max_connections_per_address: int = 200
    # Sign-in (issue 5): header set by a trusted proxy, and the addresses it is trusted from.
    trusted_proxies: tuple[str, ...] = field(default_factory=tuple)
    sso_header: str | None = None
    # How long a sign-in lasts before the password is asked again, and how long it may go unused.
    session_hours: float = 12.0
    session_idle_minutes: float = 120.0
    # The API (issue 16): requests a minute per token (a token bucket per process; web/ratelimit.py).
    api_rate_per_minute: float = 120.0

    def with_database(self, path: str | os.PathLike | None) -> "Config":
        """A copy pointing at another database (a command's --db option)."""
        return self if path is None else replace(self, database_path=Path(path))


def load(environ: dict[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    proxies = tuple(p.strip() for p in env.get("CTVDB_TRUSTED_PROXIES", "").split(",") if p.strip())
    return Config(
        database_path=Path(env.get("DATABASE_PATH") or DEFAULT_DATABASE),
        data_path=Path(env.get("DATA_PATH") or DEFAULT_DATA),
        max_rejected_ratio=float(env.get("CTVDB_MAX_REJECTED_RATIO") or 0.01),
        max_xml_mb=int(env.get("CTVDB_MAX_XML_MB") or 1024),
        import_clock=env.get("CTVDB_IMPORT_CLOCK") or None,
        report_cache_seconds=float(env.get("CTVDB_REPORT_CACHE_SECONDS") or 300),
        request_timeout=float(env.get("CTVDB_REQUEST_TIMEOUT") or 10),
        send_timeout=float(env.get("CTVDB_SEND_TIMEOUT") or 60),
        max_connections=int(env.get("CTVDB_MAX_CONNECTIONS") or 2000),
        max_connections_per_address=int(env.get("CTVDB_MAX_CONNECTIONS_PER_ADDRESS") or 200),
        trusted_proxies=proxies,
        sso_header=env.get("CTVDB_SSO_HEADER") or None,
        session_hours=float(env.get("CTVDB_SESSION_HOURS") or 12),
        session_idle_minutes=float(env.get("CTVDB_SESSION_IDLE_MINUTES") or 120),
        api_rate_per_minute=float(env.get("CTVDB_API_RATE_PER_MINUTE") or 120),
    )
