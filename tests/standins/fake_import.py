"""A stand-in for the venv's Python running `-m ctvdb.import`, for testing the daily update.

`FakeImport(tmp_path).python` is an executable to set as PYTHON_VENV. What it does is set with
`configure(...)`: the lines it appends to --log-file, the summary it writes to --summary-json,
its last stdout line, how long it takes, its exit status or the signal that kills it. Each run records its argv.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PROGRAM = r'''#!{python}
import json, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "behaviour.json"), encoding="utf-8") as f:
    behaviour = json.load(f)
with open(os.path.join(here, "runs.jsonl"), "a", encoding="utf-8") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
args = sys.argv[1:]
def option(name):
    return args[args.index(name) + 1] if name in args else None
if args[:2] != ["-m", "ctvdb.import"]:
    print("fake import: expected -m ctvdb.import, got %r" % args, file=sys.stderr)
    sys.exit(2)
log_file = option("--log-file")
if log_file and behaviour["log_lines"]:
    with open(log_file, "a", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in behaviour["log_lines"]))
if option("--summary-json") and behaviour["summary"] is not None:
    with open(option("--summary-json"), "w", encoding="utf-8") as f:
        json.dump(behaviour["summary"], f, ensure_ascii=False)
time.sleep(behaviour["seconds"])
if behaviour["signal"]:
    os.kill(os.getpid(), behaviour["signal"])
if behaviour["stderr"]:
    print(behaviour["stderr"], file=sys.stderr)
print(behaviour["stdout"])
sys.exit(behaviour["exit"])
'''


def summary(**overrides) -> dict:
    """A plausible --summary-json for one replaced month; override any field."""
    result = {
        "status": "COMPLETED", "batch_id": 17, "rows_read": 12345, "rows_imported": 12300,
        "rows_rejected": 0, "rows_trade": 45,
        "months": [{"month": "Nov-26", "replaced": True, "spots_before": 1200, "spots_after": 1250,
                    "gross_before": 100000.0, "gross_after": 101500.0}],
        "message": "Imported 12,300 spots for Nov-26.",
    }
    result.update(overrides)
    return result


class FakeImport:
    def __init__(self, directory: Path):
        self.directory = Path(directory) / "fake-venv" / "bin"
        self.directory.mkdir(parents=True)
        self.python = self.directory / "python"
        self.python.write_text(PROGRAM.replace("{python}", sys.executable), encoding="utf-8")
        self.python.chmod(0o755)
        self.configure()

    def configure(self, *, exit: int = 0, log_lines=("import started", "import finished"),
                  summary: dict | None = None, stdout: str = "Imported 12,300 spots for Nov-26.",
                  stderr: str = "", seconds: float = 0.0, signal: int = 0) -> "FakeImport":
        behaviour = {"exit": exit, "log_lines": list(log_lines), "summary": summary,
                     "stdout": stdout, "stderr": stderr, "seconds": seconds, "signal": signal}
        (self.directory / "behaviour.json").write_text(json.dumps(behaviour), encoding="utf-8")
        return self

    @property
    def runs(self) -> list[list[str]]:
        path = self.directory / "runs.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
