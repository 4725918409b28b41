"""Local stand-ins for what the operations scripts talk to: ntfy, Slack, the import, Litestream.

`script(name)` imports a module from scripts/ (which is not a package) for in-process tests.
"""

import importlib
import sys
from pathlib import Path

from .fake_import import FakeImport, summary
from .fake_litestream import FakeLitestream
from .servers import NtfyStandIn, Received, SlackStandIn, closed_port_url

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def script(name: str):
    """The module scripts/<name>.py; its siblings import each other by plain name."""
    if str(SCRIPTS) not in sys.path:
        sys.path.append(str(SCRIPTS))
    return importlib.import_module(name)


__all__ = ["SCRIPTS", "FakeImport", "FakeLitestream", "NtfyStandIn", "Received", "SlackStandIn", "closed_port_url", "script",
           "summary"]
