"""A stand-in for the Litestream binary, for tests of what asks it about its replica.

`FakeLitestream(tmp_path).binary` is an executable that answers `databases` and `generations`
the way Litestream 0.3 prints them (space-aligned columns under a header), from what
`configure(...)` set: the replica lag per database as a Go duration (None: no generation).
Real replication is tested with the real binary in tests/test_litestream.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PROGRAM = r'''#!{python}
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "litestream.json"), encoding="utf-8") as f:
    behaviour = json.load(f)
with open(os.path.join(here, "litestream-runs.jsonl"), "a", encoding="utf-8") as f:
    f.write(json.dumps({"argv": sys.argv[1:], "url": os.environ.get("LITESTREAM_REPLICA_URL")}) + "\n")
command, args = sys.argv[1], sys.argv[2:]
if behaviour["stderr"]:
    print(behaviour["stderr"], file=sys.stderr)
if behaviour["exit"]:
    sys.exit(behaviour["exit"])
if command == "databases":
    print("path" + " " * 40 + "replicas")
    for path in behaviour["lags"]:
        print(path + "  replica")
elif command == "generations":
    print("name     generation        lag    start                 end")
    lag = behaviour["lags"].get(args[-1])
    if lag is not None:
        print("replica  51ba3d93d7f4ae2b  " + lag + "  2026-11-25T04:30:00Z  2026-11-25T04:31:00Z")
else:
    print("fake litestream: unexpected " + command, file=sys.stderr)
    sys.exit(2)
'''


class FakeLitestream:
    def __init__(self, directory: Path):
        self.directory = Path(directory) / "fake-litestream"
        self.directory.mkdir(parents=True)
        self.binary = self.directory / "litestream"
        self.binary.write_text(PROGRAM.replace("{python}", sys.executable), encoding="utf-8")
        self.binary.chmod(0o755)
        self.config = self.directory / "litestream.yml"
        self.config.write_text("# the fake reads litestream.json instead\n")
        self.env_file = self.directory / "litestream.env"
        self.env_file.write_text("LITESTREAM_REPLICA_URL=s3://ctv-replica/production\n")
        self.configure({})

    def configure(self, lags: dict, *, exit: int = 0, stderr: str = "") -> "FakeLitestream":
        """lags: database path -> Go duration string (or None: configured, nothing replicated)."""
        behaviour = {"lags": {str(k): v for k, v in lags.items()}, "exit": exit, "stderr": stderr}
        (self.directory / "litestream.json").write_text(json.dumps(behaviour), encoding="utf-8")
        return self

    @property
    def runs(self) -> list[dict]:
        path = self.directory / "litestream-runs.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
