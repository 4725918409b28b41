"""`python -m ctvdb.import` / `ctvdb import`: the import's command line.

Logs go to stderr (and --log-file); the last line on stdout says what happened in one sentence.
Exit status: 0 success (including nothing to do), 1 any failure, 2 usage error.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from ctvdb import config as config_module, importer

log = logging.getLogger("ctvdb.import")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workbook", help="the Commercial Log .xlsx to import")
    parser.add_argument("--mode", choices=importer.MODES, default="daily",
                        help="daily (default): open months only; historical: monthly close; manual")
    parser.add_argument("--closed-by", help="who closes the months (historical mode)")
    parser.add_argument("--auto-setup", action="store_true",
                        help="create the database, and new markets, agencies and customers, as needed")
    parser.add_argument("--unattended", action="store_true", help="no prompt, plain log lines (for the timer)")
    parser.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    parser.add_argument("--include-previous-month", action="store_true",
                        help="daily mode: also refresh the previous calendar month")
    parser.add_argument("--today", metavar="YYYY-MM-DD",
                        help="the date that decides the previous month (default: $CTVDB_IMPORT_CLOCK or today)")
    parser.add_argument("--log-file", help="also append the log to this file")
    parser.add_argument("--summary-json", help="write the result as JSON to this file")
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    parser.add_argument("--yes", action="store_true", help="do not ask before writing")


def add_commands(sub) -> None:
    parser = sub.add_parser("import", help="import a Commercial Log workbook", description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.set_defaults(func=run)


def _setup_logging(log_file: str | None, verbose: bool, interactive: bool) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    handlers[0].setFormatter(logging.Formatter("%(levelname)s %(message)s" if interactive else
                                               "%(asctime)s %(levelname)s %(message)s"))
    if log_file:
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handlers.append(file_handler)
    root = logging.getLogger("ctvdb")
    root.handlers[:] = handlers
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


class ProgressBar:
    """A one-line bar on stderr, redrawn at most every percent."""

    def __init__(self) -> None:
        self._last = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        percent = int(100 * done / total) if total else 0
        if (stage, percent) == self._last:
            return
        self._last = (stage, percent)
        filled = percent // 4
        # Reading counts the sheets' XML bytes (the rows are not known until they are read).
        amount = f"{done / 1e6:,.1f}/{total / 1e6:,.1f} MB" if stage == "reading" else f"{done:,}/{total:,} rows"
        sys.stderr.write(f"\r{stage:<14} [{'#' * filled}{'.' * (25 - filled)}] {percent:3d}% ({amount})")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def preview(result: importer.ImportResult) -> str:
    lines = [f"Workbook {result.workbook} → database {result.database} ({result.mode} mode)",
             f"Rows read {result.rows_read:,}: {result.rows_ignored:,} blank/total ignored, "
             f"{result.rows_trade:,} Trade excluded, {result.rows_rejected:,} rejected",
             f"{'month':<8} {'action':<8} {'rows':>8} {'spots before':>13} {'→ after':>9} "
             f"{'gross before':>15} {'→ after':>15}  note"]
    for m in result.months:
        lines.append(f"{m.label:<8} {m.action:<8} {m.rows_in_workbook:>8,} {m.spots_before:>13,} "
                     f"{m.spots_after:>9,} {m.gross_before:>15,.2f} {m.gross_after:>15,.2f}  {m.reason}")
    for rejected in result.rejected[:10]:
        lines.append("rejected: " + rejected.describe(Path(result.workbook).name))
    if len(result.rejected) > 10:
        lines.append(f"... and {len(result.rejected) - 10} more rejected rows")
    return "\n".join(lines)


def _ask(result: importer.ImportResult) -> bool:
    print(preview(result), file=sys.stderr)
    try:
        answer = input("Write these changes? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _today(args, config) -> dt.date:
    text = args.today or config.import_clock
    if not text:
        # The day in the broadcaster's time zone, as the pages count it: the day's booking
        # snapshot is the one the pace page finds for "today", whatever zone the server is in.
        return dt.datetime.now(ZoneInfo(config.timezone)).date()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        print(f"ctvdb import: error: the clock {text!r} is not a date like 2026-11-24", file=sys.stderr)
        raise SystemExit(2) from None


def run(args, config: config_module.Config) -> int:
    interactive = not args.unattended and sys.stdin.isatty() and sys.stderr.isatty()
    _setup_logging(args.log_file, args.verbose, interactive)
    log.info("database %s", config.database_path)
    today = _today(args, config)
    return supervise(lambda stages: _import(args, config, interactive, today, stages),
                     Path(config.database_path), args.summary_json)


def _import(args, config, interactive: bool, today: dt.date, stages: Callable[[str], None]) -> int:
    """The import itself, in the supervised process: it ends with one line, the summary JSON and
    the exit status whatever happens in Python."""
    bar = ProgressBar() if interactive else None

    def progress(stage: str, done: int, total: int) -> None:
        stages(stage)
        if bar is not None:
            bar(stage, done, total)

    try:
        result = importer.import_workbook(
            config.database_path, args.workbook, mode=args.mode, closed_by=args.closed_by,
            auto_setup=args.auto_setup, dry_run=args.dry_run,
            include_previous_month=args.include_previous_month, today=today,
            max_rejected_ratio=config.max_rejected_ratio, max_xml_bytes=config.max_xml_mb << 20,
            confirm=_ask if interactive and not args.yes and not args.dry_run else None,
            progress=progress,
        )
    except importer.ImportFailed as exc:
        return _failed(args.summary_json, str(exc))
    except Exception as exc:  # a bug or an unexpected condition: still one line, the log has the trace
        log.exception("import failed unexpectedly")
        return _failed(args.summary_json, f"{exc.__class__.__name__}: {exc}")
    if args.dry_run or not interactive:
        for line in preview(result).splitlines():
            log.info("%s", line)
    log.info("%s", result.message)
    _write_summary(args.summary_json, result.as_dict())
    print(result.message)
    return 0 if result.status in ("COMPLETED", "PLANNED") else 1


def _failed(summary_json: str | None, reason: str) -> int:
    log.error("%s", reason)
    _write_summary(summary_json, {"status": "FAILED", "message": f"Import failed: {reason}"})
    print(f"Import failed: {reason}", flush=True)
    return 1


# The supervisor ------------------------------------------------------------------------------

def supervise(work: Callable[[Callable[[str], None]], int], database: Path, summary_json: str | None) -> int:
    """Run `work` in a child process and say how it ended when the child could not say it itself.

    A crash in the reader (calamine aborts when an allocation fails), a kill by the kernel's OOM
    killer under the daily update's MemoryMax=, or a SIGKILL leaves no Python behind to print
    "Import failed" or write the summary: this parent does it, marks the child's RUNNING batch
    FAILED, and exits 1. `work(stages)` reports each stage it enters ("reading", "writing") so
    the message can say where it stopped. The child dies with this process (PR_SET_PDEATHSIG),
    and a SIGTERM sent here is passed on to it.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    reader, writer = os.pipe()
    parent = os.getpid()
    try:
        child = os.fork()
    except OSError as exc:   # no process to spare: import here, unsupervised, rather than not at all
        log.warning("cannot start the import's process (%s); importing without a supervisor", exc)
        os.close(reader)
        os.close(writer)
        return work(lambda stage: None)
    if child == 0:
        code = 1
        try:
            os.close(reader)
            _die_with(parent)
            last: list[str] = []

            def stages(stage: str) -> None:
                if last[-1:] != [stage]:
                    last.append(stage)
                    os.write(writer, stage.encode() + b"\n")

            code = work(stages)
        except KeyboardInterrupt:
            print("Import interrupted; nothing was changed by the unfinished step.", flush=True)
            code = 130
        except BaseException:  # noqa: BLE001 - whatever it is, the child ends here with its status
            log.exception("import failed unexpectedly")
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(writer)
    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C reaches the child itself
    previous_term = signal.signal(signal.SIGTERM, lambda *_: _pass_on(child, signal.SIGTERM))
    try:
        stage = ""
        with os.fdopen(reader, "rb") as stream:
            for line in stream:
                stage = line.decode().strip()
        while True:
            try:
                _, status = os.waitpid(child, 0)
                break
            except InterruptedError:
                continue
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return _report_death(child, os.WTERMSIG(status), stage, database, summary_json)


_STAGES = {"": "before it read the workbook", "reading": "while reading the workbook",
           "writing": "while writing to the database"}


def _report_death(child: int, number: int, stage: str, database: Path, summary_json: str | None) -> int:
    name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else f"signal {number}"
    cause = {"SIGKILL": " (out of memory? the daily update's MemoryMax=, or the kernel's OOM killer)",
             "SIGABRT": " (the workbook reader crashed: is the workbook far bigger than it looks?)",
             "SIGSEGV": " (the workbook reader crashed)"}.get(name, "")
    reason = f"the import process was killed by {name} {_STAGES.get(stage, stage)}{cause}"
    batches = importer.mark_interrupted(database, child, f"interrupted: {reason}")
    if batches:
        reason += f"; batch {', '.join(map(str, batches))} marked FAILED"
    return _failed(summary_json, reason + "; nothing was changed")


def _pass_on(child: int, number: int) -> None:
    try:
        os.kill(child, number)
    except ProcessLookupError:
        pass


def _die_with(parent: int) -> None:
    """Ask the kernel to SIGKILL this child when its parent ends (Linux), so a supervisor killed
    by a timeout never leaves an import running on its own."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:          # the parent ended before prctl took effect
        os._exit(1)


def _write_summary(path: str | None, data: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ctvdb.import", description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database file (default: $DATABASE_PATH or var/ctvdb.db)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    config = config_module.load().with_database(args.db)
    return run(args, config)



