"""Two days of small Commercial Logs for the new-and-changed-business tests (issue 13): contracts
cut by exactly the thresholds and just over them, one cancelled, one new on day 2, and spots
whose media says the copy is missing, in and out of the 14-day window. The tests' expected
figures are summed from these rows."""

from __future__ import annotations

import datetime as dt

from ctvdb import importer
from ctvdb.web.params import Filters
from xlsx_rows import Row, write

OCT, NOV, DEC, JAN = dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1)
DAY1, DAY2 = dt.date(2026, 11, 16), dt.date(2026, 11, 17)   # Mon, Tue: broadcast month Nov-26
ALICE, BRANDON = "Alice Nguyen", "Brandon Wu"
ALL = Filters()


def spot(contract, gross, month, who=ALICE, bill="Admerasia:McDonald's", air=None, media="Morning News"):
    cells = Row(bill_code=bill, month=month, air_date=air or month + dt.timedelta(days=3), gross=gross,
                net=gross * 0.85, sales_person=who).cells()
    cells[7], cells[27] = media, contract
    return cells


# contract -> (AE, bill code, {month: gross} on day 1, {month: gross} on day 2). One row per month.
CONTRACTS = {
    "C100": (ALICE, "Admerasia:McDonald's", {NOV: 4000, DEC: 6000}, {NOV: 4000, DEC: 5000}),  # −10 % exactly
    "C200": (BRANDON, "IW Group:State Farm", {DEC: 2000}, {DEC: 1500}),                       # −$500 exactly, −25 %
    "C300": (ALICE, "Phở Hòa", {DEC: 3000, JAN: 2000}, {DEC: 3000, JAN: 1499.99}),           # just over both
    "C400": (BRANDON, "Tempur Sealy", {JAN: 3000}, {}),                                      # gone: cancelled
    "C500": (ALICE, "Admerasia:McDonald's", {DEC: 800}, {DEC: 200}),                          # −75 %, −$600
    "C600": (BRANDON, "IW Group:State Farm", {DEC: 100000}, {DEC: 94000}),                    # −6 %, −$6,000
    # October is the previous month, frozen on both days: its drop counts for nothing.
    "C700": (ALICE, "Phở Hòa", {OCT: 9000, NOV: 1000}, {OCT: 1000, NOV: 1000}),
    "C900": (ALICE, "Tempur Sealy", {}, {DEC: 2500, JAN: 1500}),                              # new on day 2
}
COPY = [  # (air date, media, AE) in the day-2 workbook, no contract
    (DAY2, "need copy - holiday promo", ALICE),           # today: in
    (DAY2 + dt.timedelta(days=14), "Promo TBD Copy", BRANDON),   # day 14: in
    (DAY2 + dt.timedelta(days=15), "NEED COPY", ALICE),   # day 15: out
    (DAY2 - dt.timedelta(days=1), "Copy TBA", ALICE),     # yesterday: out
    (DAY2 + dt.timedelta(days=3), "Spot copy tba", ALICE),  # in
    (DAY2 + dt.timedelta(days=4), "Copy received", ALICE),  # says copy, not missing: out
]
COPY_IN = [COPY[0], COPY[4], COPY[1]]    # soonest first
COPY_GROSS = 125.0


def workbook(path, day: int, extra=()):
    rows = [spot(contract, gross, month, who, bill)
            for contract, (who, bill, *days) in CONTRACTS.items() for month, gross in days[day - 1].items()]
    rows.append(spot("", 777.0, DEC))   # no contract: never a contract of its own
    if day == 2:
        rows += [spot("", COPY_GROSS, DEC if air >= dt.date(2026, 11, 30) else NOV, who, "Tempur Sealy", air, media)
                 for air, media, who in COPY]
    return write(path, {"Commercials": rows + list(extra)})


def run(database, path, today, mode="daily"):
    return importer.import_workbook(database, path, mode=mode, auto_setup=True, today=today)


def open_gross(day: int) -> dict[str, float]:
    """Each contract's gross from Nov-26 (the broadcast month of both days) on."""
    return {c: sum(g for m, g in spec[1 + day].items() if m >= NOV) for c, spec in CONTRACTS.items()}
