#!/usr/bin/env python3
"""Notifications for the unattended jobs: ntfy and Slack over urllib, standard library only.

A notification never fails the job it reports on: every error is logged and `send` returns
False. Run as a script it sends one message, to test the settings of an env file:

    notify.py --env-file /etc/ctv-daily-update.env --level info "Test" "Hello from the host"
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import opsenv

log = logging.getLogger("ctv.notify")

DEFAULT_NTFY_SERVER = "https://ntfy.sh"
# ntfy turns a body over 4,096 bytes into an attachment (or refuses it); stay clear of that.
BODY_LIMIT = 3900
# level: (ntfy Priority, ntfy Tags as emoji short codes, Slack prefix)
LEVELS = {
    "info": (2, "information_source", ":information_source:"),
    "success": (3, "white_check_mark", ":white_check_mark:"),
    "warning": (4, "warning", ":warning:"),
    "error": (5, "rotating_light", ":rotating_light:"),
}


def ascii_header(text: str) -> str:
    """`text` as plain ASCII for an HTTP header: accents dropped, anything else replaced."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.encode("ascii", "replace").decode("ascii").replace("\r", " ").replace("\n", " ")


def fit_body(verdict: str, detail: str = "", limit: int = BODY_LIMIT) -> str:
    """`verdict` then `detail`, under `limit` UTF-8 bytes: the detail's start goes first."""
    body = f"{verdict}\n{detail}" if detail else verdict
    if len(body.encode()) <= limit:
        return body
    room = limit - len(verdict.encode()) - len("\n…".encode())
    if room <= 0:
        return verdict.encode()[:limit].decode("utf-8", "ignore")
    kept = detail.encode()[-room:].decode("utf-8", "ignore")
    return f"{verdict}\n…{kept}"


@dataclass(frozen=True)
class Notifier:
    ntfy_server: str = DEFAULT_NTFY_SERVER
    ntfy_topic: str = ""
    ntfy_token: str = ""
    slack_webhook: str = ""
    timeout: float = 10.0
    retry_delay: float = 2.0
    max_retry_after: float = 60.0  # the longest Slack Retry-After worth waiting for

    @classmethod
    def from_settings(cls, values: dict[str, str]) -> "Notifier":
        return cls(
            ntfy_server=(values.get("NTFY_SERVER") or DEFAULT_NTFY_SERVER).rstrip("/"),
            ntfy_topic=(values.get("NTFY_TOPIC") or "").strip("/ "),
            ntfy_token=values.get("NTFY_TOKEN") or "",
            slack_webhook=values.get("SLACK_WEBHOOK_URL") or "",
            timeout=_number(values, "NOTIFY_TIMEOUT", 10.0),
            retry_delay=_number(values, "NOTIFY_RETRY_DELAY", 2.0),
        )

    def send(self, level: str, title: str, body: str) -> bool:
        """Deliver to every configured channel; True only if all of them took it. Never raises."""
        if not (self.ntfy_topic or self.slack_webhook):
            log.warning("no notification channel configured (NTFY_TOPIC, SLACK_WEBHOOK_URL): %s", title)
            return False
        delivered = True
        for channel, post in (("ntfy", self._ntfy), ("Slack", self._slack)):
            try:
                delivered &= post(level, title, body)
            except Exception:  # a notification must never take the job down with it
                log.exception("%s notification %r failed unexpectedly", channel, title)
                delivered = False
        return delivered

    def _ntfy(self, level: str, title: str, body: str) -> bool:
        if not self.ntfy_topic:
            return True
        priority, tags, _ = LEVELS[level]
        headers = {
            "Title": ascii_header(title),
            "Priority": str(priority),
            "Tags": tags,
            "Content-Type": "text/plain; charset=utf-8",
        }
        if self.ntfy_token:
            headers["Authorization"] = f"Bearer {self.ntfy_token}"
        url = f"{self.ntfy_server}/{self.ntfy_topic}"
        return self._post("ntfy", url, fit_body(body).encode(), headers, lambda status, text: status == 200)

    def _slack(self, level: str, title: str, body: str) -> bool:
        if not self.slack_webhook:
            return True
        text = f"{LEVELS[level][2]} *{title}*\n{fit_body(body)}"
        payload = json.dumps({"text": text}).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        # Slack answers 200 with the body `ok`; anything else (even another 2xx) was not posted.
        accepted = lambda status, text: status == 200 and text.strip() == "ok"  # noqa: E731
        return self._post("Slack", self.slack_webhook, payload, headers, accepted)

    def _post(self, channel, url, data, headers, accepted) -> bool:
        """POST with an explicit timeout and one retry for what a retry can cure."""
        for attempt in (1, 2):
            request = urllib.request.Request(url, data=data, headers=headers, method="POST")
            retry_after = None
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    status, text = response.status, response.read(2048).decode("utf-8", "replace")
            except urllib.error.HTTPError as exc:
                status, text = exc.code, exc.read(2048).decode("utf-8", "replace")
                retry_after = exc.headers.get("Retry-After")
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                log.warning("%s: POST to %s failed (attempt %d): %s", channel, _redact(url), attempt, reason)
                if attempt == 1:
                    time.sleep(self.retry_delay)
                continue
            if accepted(status, text):
                return True
            log.warning("%s: POST to %s answered HTTP %d (attempt %d): %s",
                        channel, _redact(url), status, attempt, text.strip()[:200])
            if status != 429 and status < 500:
                return False  # a bad token or topic stays bad: no point asking twice
            if attempt == 1:
                time.sleep(self._wait_for(retry_after))
        return False

    def _wait_for(self, retry_after: str | None) -> float:
        try:
            return min(max(float(retry_after), 0.0), self.max_retry_after)
        except (TypeError, ValueError):
            return self.retry_delay


def _number(values: dict[str, str], name: str, default: float) -> float:
    try:
        return float(values.get(name) or default)
    except ValueError:
        log.warning("%s=%r is not a number; using %s", name, values.get(name), default)
        return default


def _redact(url: str) -> str:
    """A Slack webhook URL and an ntfy topic are secrets: log the server only."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.netloc else "(malformed URL)"



def settings_or_alert(env_file, job: str, environ: dict[str, str]) -> dict[str, str] | None:
    """A job's settings from its env file, or None after logging and alerting (with whatever
    ntfy/Slack settings the environment itself holds) that the file could not be read."""
    try:
        return opsenv.load_settings(env_file)
    except (OSError, UnicodeDecodeError) as exc:
        log.error("cannot read settings file %s: %s", env_file, exc)
        Notifier.from_settings(dict(environ)).send(
            "error", f"{job} FAILED: no settings", f"Cannot read {env_file}: {exc}.")
        return None

def main(argv: list[str] | None = None) -> int:
    import opsenv  # a sibling in scripts/, standard library only

    parser = argparse.ArgumentParser(description="Send one notification with a job's settings.")
    parser.add_argument("--env-file", default="/etc/ctv-daily-update.env")
    parser.add_argument("--level", choices=sorted(LEVELS), default="info")
    parser.add_argument("title")
    parser.add_argument("body", nargs="?", default="Test notification from notify.py.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="notify: %(levelname)s %(message)s")
    try:
        values = opsenv.load_settings(args.env_file)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"notify: cannot read {args.env_file}: {exc}", file=sys.stderr)
        return 1
    return 0 if Notifier.from_settings(values).send(args.level, args.title, args.body) else 1


if __name__ == "__main__":
    sys.exit(main())
