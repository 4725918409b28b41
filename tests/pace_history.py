"""A year and a bit of daily Commercial Logs in which bookings grow as each month approaches, for
the pace tests (tests/test_snapshots.py, tests/test_web_pace.py).

Every broadcast month from Aug-25 to Nov-27 has the same ten spots, each booked on its own day
(from 170 days before the month starts to 10 days into it). The workbook of day D holds, for the
months from the one before D's on, the spots booked by D: what the traffic system's export of
that day would show. The workbooks are written with the sample writer's xlsx writer; the
expected figures are sums over SPOTS, computed here without ctvdb.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ctvdb import sample
from ctvdb.importer import import_workbook

FIRST_DAY, LAST_DAY = dt.date(2025, 10, 1), dt.date(2026, 12, 2)
# Weekly, to keep the tests quick: 62 days, the last one exactly 52 weeks after the eleventh.
DAYS = [FIRST_DAY + dt.timedelta(days=7 * n) for n in range((LAST_DAY - FIRST_DAY).days // 7 + 1)]
BOOKED_BEFORE = (170, 140, 110, 80, 55, 35, 20, 8, 1, -10)   # days before the month starts
AES = ("Alice Nguyen", "Brandon Wu", " carmen reyes ")
REVENUE = ("Internal Ad Sales", "Local", "Direct Response Sales", "Internal Ad Sales", "Trade")
MARKETS = ("SFO", "LAX", "", "SFO", "NYC")
EXCEL_EPOCH = dt.date(1899, 12, 30)


@dataclass(frozen=True)
class Spot:
    month: int
    booked_on: dt.date
    air: dt.date
    gross: float
    net: float
    sales_person: str
    revenue_type: str
    market: str
    line: int

    @property
    def ae(self) -> str:               # DOMAIN.md §4: trimmed, upper-cased
        return self.sales_person.strip().upper()

    def cells(self) -> list:
        serial = (self.air - EXCEL_EPOCH).days
        month = (dt.date(self.month // 100, self.month % 100, 1) - EXCEL_EPOCH).days
        return [f"Pace Customer {self.line % 4}", serial, serial, "Monday", 0.25, 0.27, 30 / 86400,
                "Mandarin News", None, "M", "News", 1, self.line, "Com", None, self.gross, None, self.gross,
                month, None, 1, self.net, self.sales_person, self.revenue_type, "Broadcast", "Non-agency", "Y",
                5000 + self.line, self.market or None]


def start(month: int) -> dt.date:
    """The Monday on or before the 1st (DOMAIN.md: broadcast months start on a Monday)."""
    first = dt.date(month // 100, month % 100, 1)
    return first - dt.timedelta(days=first.weekday())


def broadcast_month(day: dt.date) -> int:
    sunday = day + dt.timedelta(days=6 - day.weekday())
    return sunday.year * 100 + sunday.month


def add(month: int, count: int) -> int:
    index = month // 100 * 12 + month % 100 - 1 + count
    return index // 12 * 100 + index % 12 + 1


MONTHS = [add(202508, i) for i in range(28)]       # Aug-25 .. Nov-27
SPOTS = [Spot(month, start(month) - dt.timedelta(days=before), start(month) + dt.timedelta(days=2 * i),
              round(100 + 37.25 * i + month % 100 * 3.5, 2), round((100 + 37.25 * i) * 0.85, 2),
              AES[(i + month) % 3], REVENUE[i % 5], MARKETS[(i + month) % 5], month % 10000 * 10 + i)
         for month in MONTHS for i, before in enumerate(BOOKED_BEFORE)]


def name(day: dt.date) -> str:
    return f"Commercial Log {day:%y%m%d}.xlsx"


def spots_of(day: dt.date) -> list[Spot]:
    """What day's export holds: the spots booked by then, of the months from the one before on."""
    return [s for s in SPOTS if s.booked_on <= day and s.month >= add(broadcast_month(day), -1)]


def write(path: Path, spots: list[Spot]) -> Path:
    rows = [s.cells() for s in spots]
    sample._write_xlsx(path, [("Commercials", len(rows) + 1, iter(rows))], force_zip64=False)
    return path


def booked(month: int, day: dt.date, **only) -> float:
    """Gross booked for `month` by `day` (Trade is never revenue), optionally of one ae= /
    revenue_type= / market=."""
    def keep(s: Spot) -> bool:
        return all(getattr(s, k) == v for k, v in only.items())
    return round(sum(s.gross for s in SPOTS if s.month == month and s.booked_on <= day
                     and s.revenue_type != "Trade" and keep(s)), 2)


def final(month: int, **only) -> float:
    return booked(month, dt.date.max, **only)


def snapshot_day(day: dt.date) -> dt.date | None:
    """The test day whose snapshot counts as of `day`: the latest on or before it."""
    return max((d for d in DAYS if d <= day), default=None)


_BUILT: dict[str, tuple[Path, Path]] = {}


def history(tmp_path_factory) -> tuple[Path, Path]:
    """(database, folder of workbooks): every day's workbook imported on its day, in order.
    Built once per test run; treat both as read-only (copy the database to change it)."""
    if "built" not in _BUILT:
        folder = tmp_path_factory.mktemp("pace")
        logs = folder / "logs"
        logs.mkdir()
        database = folder / "ctvdb.db"
        for day in DAYS:
            workbook = write(logs / name(day), spots_of(day))
            import_workbook(database, workbook, mode="daily", auto_setup=True, today=day)
        _BUILT["built"] = (database, logs)
    return _BUILT["built"]
