"""Sample Commercial Log workbooks in the real layout, for tests, demos and benchmarks.

`write_sample()` writes the four importable sheets with the 29 columns of DOMAIN.md §2 and a
realistic mix of customers, agencies, markets, languages, revenue and spot types, spread over
the requested broadcast months. The same arguments give the same file, byte for byte.

With `messy=True` it also plants what the real export contains, at fixed, counted places: blank
rows, a totals row, padded and lower-case codes, dates, amounts and months stored as text,
`Yes`/`No` affidavits, one `#REF!` error in a money column and one unparseable air date. The
returned `SampleInfo` says how many of each there are, and which rows a correct import keeps.

The xlsx is written directly (zip of XML parts) rather than through openpyxl: openpyxl's
write-only mode builds an element per cell and manages about 2,000 rows/s here, which would
make the 1.5-million-row benchmark files take a quarter of an hour.
"""

from __future__ import annotations

import argparse
import bisect
import random
import sys
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from ctvdb import codes
from ctvdb.codes import COLUMNS, IMPORTABLE_SHEETS, MONTH_ABBR

HEADERS = COLUMNS
SHEETS = IMPORTABLE_SHEETS
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

MARKETS = {"SFO": 16, "LAX": 16, "NYC": 12, "SEA": 10, "HOU": 8, "DAL": 6, "CVC": 6, "MMT": 6,
           "CMP": 5, "WDC": 5, "CHI": 4, "MSP": 3, "ADMIN": 1}
LANGUAGES = {"M": 16, "E": 14, "V": 14, "C": 12, "T": 8, "K": 8, "M/C": 6, "SA": 5, "J": 4,
             "P": 3, "Hm": 2, "EN": 2, "L": 2, "HM": 1, "ENG": 1}
LANGUAGE_NAMES = {"M": "Mandarin", "C": "Cantonese", "M/C": "Chinese", "T": "Filipino",
                  "V": "Vietnamese", "K": "Korean", "J": "Japanese", "SA": "South Asian",
                  "P": "Punjabi", "Hm": "Hmong", "HM": "Hmong", "L": "Multicultural"}
# Revenue kinds of an account, and the spot types (weighted) each books.
SPOT_TYPES = {
    "internal": {"Com": 70, "BNS": 16, "BB": 4, "PKG": 3, "CRD": 2, "AV": 2, "PRD": 1.5, "SVC": 1.5},
    "dr": {"Com": 85, "PRG": 10, "BNS": 5},
    "paid": {"PRG": 90, "Com": 10},
    "branded": {"Com": 60, "PRD": 30, "BNS": 10},
    "services": {"SVC": 70, "PRD": 30},
    "other": {"Com": 40, "BNS": 20, "SVC": 20, None: 20},
    "trade": {"Com": 70, "BNS": 30},
}
ACCOUNT_KINDS = {"internal": 80, "trade": 5, "paid": 4, "branded": 4, "other": 4, "services": 3}
REVENUE_TYPES = {"dr": "Direct Response Sales", "paid": "Paid Programming",
                 "branded": "Branded Content", "services": "Services", "other": "Other",
                 "trade": "Trade"}
# Internal Ad Sales under the names the traffic system uses for it.
INTERNAL_NAMES = {"Internal Ad Sales": 85, "Local": 6, "A&O": 5, "AO": 2, "A and O": 2}
AES = ("Alice Nguyen", "Brandon Wu", "Carmen Reyes", "David Kim", "Elaine Chan", "Frank Tran",
       "Grace Liu", "Henry Park", "Irene Santos", "Jason Lee")
AGENCIES = ("Admerasia", "IW Group", "InterTrend", "AAAZA", "Dentsu", "PanCom", "Sensis",
            "Allied Media", "Media Link", "Cultural Strategies", "Asian Media Group", "ADLM",
            "Horizon Media", "Saatchi LA")
NAMED_CUSTOMERS = (
    "McDonald's", "Phở Hòa", "金山 Travel", "Toyota Dealers Association", "State Farm", "AT&T",
    "Comcast Xfinity", "Kaiser Permanente", "H Mart", "99 Ranch Market", "Jollibee",
    "Lee's Sandwiches", "Sun Sui Wah", "Cathay Bank", "East West Bank", "Pechanga Resort",
    "Thunder Valley Casino", "Hyundai Motor America", "Western Union", "Remitly", "T-Mobile",
    "Seafood City", "Nguyễn Law Office", "Kim & Park Realty", "Bánh Mì Chè Cali", "Tân Định Pharmacy",
    "Covered California", "US Census Bureau", "Wells Fargo", "Costco", "서울 Galbi House",
)
NAME_STARTS = ("Golden", "Pacific", "Lucky", "Jade", "Lotus", "Dragon", "Phoenix", "Bamboo",
               "Sakura", "Seoul", "Manila", "Saigon", "Harmony", "Evergreen", "Silk Road", "Royal",
               "Sunrise", "Ocean", "Summit", "Orchid")
NAME_ENDS = ("Auto", "Dental", "Realty", "Travel", "Insurance", "Law Group", "Market", "Restaurant",
             "Bakery", "Jewelers", "Clinic", "Furniture", "Tax Service", "Home Loans", "Tea House", "Spa")
WORLDLINK_CODES = ("WorldLink:Sleep Number", "WorldLink:Tempur Sealy", "WorldLink:LifeLock",
                   "WorldLink:Ronco", "WorldLink:OxiClean", "WorldLink:Medicare Helpline",
                   "WorldLink Direct Response", "WorldLink Broker Fees (Broker Fees - DO NOT INVOICE)")
PROGRAMS = ("Evening News", "Morning Talk", "Drama Series", "Variety Show", "Cooking", "Travel",
            "Sports", "Kids", "Movie", "Community Affairs", "Music", "Game Show")
LENGTHS = {30: 60, 15: 15, 60: 20, 120: 5}  # seconds: weight, for Com/BNS
RATES = (25, 40, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500)
LENGTH_FACTOR = {10: 0.5, 15: 0.6, 30: 1.0, 60: 1.8, 120: 3.2}

EXCEL_EPOCH = date(1899, 12, 30).toordinal()  # serial 0 in Excel's 1900 date system
FIXED_TIME = (2025, 1, 1, 0, 0, 0)  # zip entries and document properties: never the clock
MESS_KINDS = ("padded_spot_type", "spot_type_alias", "lower_market", "lower_language",
              "us_text_date", "iso_text_date", "text_amount", "text_month", "yes_no_affidavit",
              "padded_sales_person")
MESSY_ROW_SHARE = 0.15
_MARKET_CODES, _LANGUAGE_CODES = list(MARKETS), list(LANGUAGES)


@dataclass(frozen=True)
class SampleInfo:
    """What `write_sample` wrote. Counts are exact, so tests can compare an import with them.

    rows: data rows written, over all sheets (rows_by_sheet splits them). The messy blank and
    totals rows are not counted; the two rows a correct import must reject are.
    blank_rows: rows whose cells are all empty (one of them holds only whitespace strings).
    totals_rows: rows with a blank bill code, `Total` in column 14 and sums in the money columns.
    rejected_rows_expected: the `#REF!` row and the unparseable air date row (messy only).
    trade_rows: Trade rows among the accepted ones (the import excludes them from revenue).
    spots_by_month: rows a correct import stores per month: accepted and not Trade.
    messy_cells: (kind, number of rows so altered) for each kind in MESS_KINDS.
    """

    path: Path
    rows: int
    months: list[int]
    seed: int
    messy: bool
    blank_rows: int
    totals_rows: int
    rejected_rows_expected: int
    trade_rows: int
    rows_by_sheet: tuple[tuple[str, int], ...]
    spots_by_month: tuple[tuple[int, int], ...]
    messy_cells: tuple[tuple[str, int], ...]

    @property
    def accepted_rows(self) -> int:
        return self.rows - self.rejected_rows_expected

    @property
    def spots_expected(self) -> int:
        return self.accepted_rows - self.trade_rows


# --- months -------------------------------------------------------------------------------


def parse_month_label(label: str) -> int:
    """`Nov-26` -> 202611 (years are 2000 + YY)."""
    text = label.strip()
    name, _, yy = text.partition("-")
    names = [m.lower() for m in MONTH_ABBR]
    if name.lower() not in names or len(yy) != 2 or not yy.isdigit():
        raise ValueError(f"not a month label like Nov-26: {label!r}")
    return (2000 + int(yy)) * 100 + names.index(name.lower()) + 1


month_label = codes.month_label


def month_range(spec: str) -> list[int]:
    """`Jan-22..Dec-26` -> [202201, 202202, ..., 202612]."""
    first_text, sep, last_text = spec.partition("..")
    if not sep:
        raise ValueError(f"not a month range like Jan-22..Dec-26: {spec!r}")
    first, last = parse_month_label(first_text), parse_month_label(last_text)
    if last < first:
        raise ValueError(f"month range runs backwards: {spec!r}")
    months, m = [], first
    while m <= last:
        months.append(m)
        m = m + 1 if m % 100 < 12 else (m // 100 + 1) * 100 + 1
    return months


def parse_months(months: list[str] | str) -> list[int]:
    """A comma list of `Mmm-YY` labels and/or ranges -> sorted distinct YYYYMM ints."""
    items = months.split(",") if isinstance(months, str) else list(months)
    found: set[int] = set()
    for item in (i.strip() for i in items):
        if item:
            found.update(month_range(item) if ".." in item else [parse_month_label(item)])
    if not found:
        raise ValueError("no months given")
    return sorted(found)


def broadcast_calendar(yyyymm: int) -> tuple[date, date]:
    """First and last air date of a broadcast month: the Monday on or before the 1st, and the
    last Sunday of the calendar month."""
    year, month = divmod(yyyymm, 100)
    first = date(year, month, 1)
    next_first = date(year + month // 12, month % 12 + 1, 1)
    start = first.toordinal() - first.weekday()
    end = next_first.toordinal() - next_first.weekday() - 1  # the day before next month's start
    return date.fromordinal(start), date.fromordinal(end)


# --- the data -----------------------------------------------------------------------------


class _Weighted:
    """Weighted choice with one rng.random() call and a bisect: rng.choices is much slower."""

    def __init__(self, weights: dict):
        self.items = list(weights)
        self.cum, total = [], 0.0
        for w in weights.values():
            total += w
            self.cum.append(total)
        self.total = total

    def pick(self, rng: random.Random):
        return self.items[bisect.bisect(self.cum, rng.random() * self.total)]


@dataclass(eq=False)  # hashed by identity: accounts are dict keys in _Weighted
class _Account:
    bill_code: str
    kind: str
    ae: str
    market: str
    language: str
    rate: int
    contract: int | str
    billing_type: str | None
    affidavit: str | None
    estimate: str | None


def _customer_names(rng: random.Random, count: int) -> list[str]:
    generated = [f"{a} {b}" for a in NAME_STARTS for b in NAME_ENDS]
    rng.shuffle(generated)
    return (list(NAMED_CUSTOMERS) + generated)[:count]


def _accounts(rng: random.Random, customers: int) -> list[_Account]:
    """Bill codes of the three forms; about one customer in twelve through a second agency."""
    kinds, markets, languages = _Weighted(ACCOUNT_KINDS), _Weighted(MARKETS), _Weighted(LANGUAGES)
    codes: list[tuple[str, str | None]] = []
    for name in _customer_names(rng, customers):
        if name == "McDonald's":  # the same customer through two agencies: two accounts
            codes += [("Admerasia:McDonald's", "internal"), ("IW Group:McDonald's", "internal")]
            continue
        form = rng.random()
        agency, other = rng.sample(AGENCIES, 2)
        if form < 0.5:
            codes.append((name, None))
        elif form < 0.9:
            codes.append((f"{agency}:{name}", None))
        else:
            codes.append((f"{other}:{agency}:{name}", None))
        if rng.random() < 0.08:
            codes.append((f"{other}:{name}", None))
    accounts = []
    for n, (code, kind) in enumerate(codes):
        kind = kind or kinds.pick(rng)
        accounts.append(_Account(
            bill_code=code, kind=kind,
            ae="House" if rng.random() < 0.05 else rng.choice(AES),
            market=markets.pick(rng), language=languages.pick(rng), rate=rng.choice(RATES),
            contract=10000 + n if rng.random() < 0.9 else f"C-{2000 + n}",
            billing_type=rng.choice(("Broadcast", "Broadcast", "Broadcast", "Calendar", None)),
            affidavit=rng.choice(("Y", "Y", "N", None)),
            estimate=f"EST {rng.randrange(100, 999)}" if ":" in code else None,
        ))
    for code in WORLDLINK_CODES:
        accounts.append(_Account(
            bill_code=code, kind="dr", ae="House", market="MMT", language="E",
            rate=rng.choice(RATES[3:]), contract=90000 + len(accounts), billing_type="Broadcast",
            affidavit="Y", estimate=None))
    return accounts


class _RowMaker:
    """Makes the 29 cell values of one data row. Dates are Excel serial numbers, times and
    lengths fractions of a day, so the writer only has to print them."""

    def __init__(self, rng: random.Random, accounts: list[_Account], months: list[int]):
        self.rng = rng
        regular = [a for a in accounts if a.kind != "dr"]
        worldlink = [a for a in accounts if a.kind == "dr"]
        # A few big customers and a long tail: weight 1 / (rank + 3) in a shuffled order.
        order = list(range(len(regular)))
        rng.shuffle(order)
        self.regular = _Weighted({a: 1 / (order[i] + 3) for i, a in enumerate(regular)})
        self.worldlink = _Weighted({a: 1 for a in worldlink})
        self.spot_types = {k: _Weighted(w) for k, w in SPOT_TYPES.items()}
        self.internal_names = _Weighted(INTERNAL_NAMES)
        self.markets, self.languages = _Weighted(MARKETS), _Weighted(LANGUAGES)
        self.lengths = _Weighted(LENGTHS)
        self.months = {}
        for m in months:
            start, end = broadcast_calendar(m)
            first = date(m // 100, m % 100, 1).toordinal()
            self.months[m] = (start.toordinal(), end.toordinal() - start.toordinal() + 1,
                              first - EXCEL_EPOCH)

    def row(self, month: int, worldlink: bool, force_market=None, force_language=None) -> list:
        rng = self.rng
        r = rng.random
        acct = (self.worldlink if worldlink else self.regular).pick(rng)
        kind = acct.kind
        spot_type = self.spot_types[kind].pick(rng)
        revenue = self.internal_names.pick(rng) if kind == "internal" else REVENUE_TYPES[kind]
        start, days, month_serial = self.months[month]
        air = start + int(r() * days)
        air_serial = air - EXCEL_EPOCH

        if spot_type in ("Com", "BNS"):
            seconds = self.lengths.pick(rng)
        elif spot_type == "BB":
            seconds = 10 if r() < 0.5 else 15
        elif spot_type == "PRG":
            seconds = 1800 if r() < 0.7 else 3600
        elif spot_type in ("PKG", "CRD", "AV"):
            seconds = 30
        else:
            seconds = None
        if spot_type == "BNS":
            gross = 0
        elif seconds is None or seconds >= 1800:  # services, production, paid programming
            gross = acct.rate * (4 + int(r() * 8))
        else:
            gross = round(acct.rate * LENGTH_FACTOR[seconds])
        if spot_type == "CRD":
            gross = -gross
        agency = ":" in acct.bill_code
        broker = None
        if gross > 0 and (r() < 0.5 if worldlink else r() < 0.03):
            broker = round(gross * 0.1, 2)
        net = round(gross * (0.85 if agency else 1.0) - (broker or 0), 2)

        block = (0 if worldlink and r() < 0.5 else 12) + int(r() * (48 - 12))
        minutes = 30 if r() < 0.6 else 60
        h, mm = divmod((block * 30 + int(r() * minutes)) % 1440, 60)
        comment = f"{(h - 1) % 12 + 1}:{mm:02d} {'AM' if h < 12 else 'PM'}" if r() < 0.9 else None

        market = force_market or (acct.market if r() < 0.85 else self.markets.pick(rng))
        if force_language:
            language = force_language
        elif spot_type in ("SVC", "PRD") or r() < 0.02:
            language = None
        else:
            language = acct.language if r() < 0.85 else self.languages.pick(rng)
        program = "Paid Programming" if spot_type == "PRG" else PROGRAMS[int(r() * len(PROGRAMS))]
        media = f"{LANGUAGE_NAMES.get(language, 'English')} {program}"
        return [
            acct.bill_code, air_serial, air_serial, DAY_NAMES[(air - 1) % 7],
            block / 48, (block * 30 + minutes) % 1440 / 1440,
            seconds / 86400 if seconds else None,
            media, comment, language, program, 1 + int(r() * 40), 1 + int(r() * 300), spot_type,
            acct.estimate, gross, "MG" if r() < 0.01 else None, gross, month_serial, broker,
            int(r() * 5), net, acct.ae, revenue, acct.billing_type,
            "Agency" if agency else "Non-agency", acct.affidavit, acct.contract, market,
        ]


def _mess(rng: random.Random, row: list, month: int, counts: dict[str, int]) -> None:
    """Alter one cell of a data row the way the real export does; the row stays importable."""
    kind = MESS_KINDS[int(rng.random() * len(MESS_KINDS))]
    if kind == "padded_spot_type" and row[13]:
        row[13] = f" {row[13].lower()} " if rng.random() < 0.5 else row[13].lower()
    elif kind == "spot_type_alias" and row[13] in ("Com", "BNS", "PRD"):
        row[13] = {"Com": "COMMERCIAL", "BNS": "BONUS", "PRD": "PROD"}[row[13]]
    elif kind == "lower_market":
        row[28] = row[28].lower() if rng.random() < 0.5 else f" {row[28].lower()} "
    elif kind == "lower_language" and row[9]:
        mixed = row[9].capitalize() if row[9].capitalize() != row[9] else row[9].lower()
        row[9] = f" {row[9].lower()} " if rng.random() < 0.5 else mixed
    elif kind in ("us_text_date", "iso_text_date"):
        day = date.fromordinal(row[1] + EXCEL_EPOCH)
        text = day.strftime("%m/%d/%Y") if kind == "us_text_date" else day.isoformat()
        row[1] = row[2] = text
    elif kind == "text_amount" and row[15]:
        row[15] = f"{row[15]:,.2f}"
    elif kind == "text_month":
        row[18] = month_label(month)
    elif kind == "yes_no_affidavit" and row[26]:
        row[26] = "Yes" if row[26] == "Y" else "No"
    elif kind == "padded_sales_person":
        row[22] = f"{row[22]} " if rng.random() < 0.5 else row[22].lower()
    else:
        return
    counts[kind] += 1


# --- the workbook -------------------------------------------------------------------------


def write_sample(path, *, rows: int, months: list[str] | str, seed: int = 1, messy: bool = False,
                 progress=None) -> SampleInfo:
    """Write a Commercial Log of `rows` data rows spread over `months` (see parse_months).

    progress, if given, is called with the number of data rows written so far, now and then.
    """
    if rows < 0 or (messy and rows < 20):
        raise ValueError(f"cannot write {rows} rows" + (" with --messy (20 at least)" if messy else ""))
    month_list = parse_months(months)
    path = Path(path)
    rng = random.Random(seed)
    mrng = random.Random(f"{seed}-messy")  # its own stream, so the messy file has the clean data
    maker = _RowMaker(rng, _accounts(rng, min(300, max(12, rows // 40))), month_list)

    # Below 20 rows everything goes on Commercials; the other sheets keep just their header.
    split = {name: (max(1, round(rows * share)) if rows >= 20 else 0)
             for name, share in zip(SHEETS[1:], (0.08, 0.02, 0.02))}
    split = {SHEETS[0]: rows - sum(split.values()), **split}
    # Where the messy extras go, by index of the Commercials data row they precede or replace.
    n_com = split[SHEETS[0]]
    blank_rows = max(3, rows // 5000) if messy else 0
    blank_before = {(b + 1) * n_com // (blank_rows + 1) for b in range(blank_rows)}  # membership only
    first_blank = min(blank_before, default=-1)
    ref_at, bad_date_at = (n_com // 3, 2 * n_com // 3) if messy else (-1, -1)

    counts = {kind: 0 for kind in MESS_KINDS}
    by_sheet = {name: 0 for name in SHEETS}
    by_month = {m: 0 for m in month_list}
    trade = done = 0

    def sheet_rows(name: str):
        nonlocal trade, done
        n, first_sheet = split[name], name == SHEETS[0]
        gross_sum = spot_sum = net_sum = 0.0
        for j in range(n):
            month = month_list[j * len(month_list) // n]
            # The first Commercials rows take every market and language code once.
            row = maker.row(month, name == SHEETS[1],
                            _MARKET_CODES[j] if first_sheet and j < len(_MARKET_CODES) else None,
                            _LANGUAGE_CODES[j] if first_sheet and j < len(_LANGUAGE_CODES) else None)
            rejected = False
            if messy and first_sheet:
                if j in blank_before:  # the first blank row holds whitespace-only strings
                    yield [" ", None, None, None, None, None, None, None, "  "] if j == first_blank else None
                if j == ref_at:
                    row[15], rejected = _ExcelError("#REF!"), True
                elif j == bad_date_at:
                    row[1] = row[2] = "13/45/2026"
                    rejected = True
            if messy and not rejected and mrng.random() < MESSY_ROW_SHARE:
                _mess(mrng, row, month, counts)
            by_sheet[name] += 1
            if not rejected:
                is_trade = row[23] == "Trade"
                trade += is_trade
                by_month[month] += not is_trade
            if type(row[15]) in (int, float):  # as Excel's SUM: text and errors do not count
                gross_sum += row[15]
            spot_sum += row[17]
            net_sum += row[21]
            yield row
            done += 1
            if progress and done % 10_000 == 0:
                progress(done)
        if messy and first_sheet:
            totals = [None] * len(HEADERS)
            totals[14], totals[15] = "Total", round(gross_sum, 2)
            totals[17], totals[21] = round(spot_sum, 2), round(net_sum, 2)
            yield totals

    extras = {SHEETS[0]: blank_rows + (1 if messy else 0)}
    _write_xlsx(path, [(name, 1 + split[name] + extras.get(name, 0), sheet_rows(name))
                       for name in SHEETS], force_zip64=rows > 500_000)
    if progress and done % 10_000:
        progress(done)  # the last, partial step
    return SampleInfo(
        path=path, rows=rows, months=month_list, seed=seed, messy=messy,
        blank_rows=blank_rows, totals_rows=1 if messy else 0,
        rejected_rows_expected=2 if messy else 0, trade_rows=trade,
        rows_by_sheet=tuple(by_sheet.items()), spots_by_month=tuple(by_month.items()),
        messy_cells=tuple(counts.items()),
    )


class _ExcelError:
    """An Excel error value such as #REF!, written as an error cell (t="e")."""

    def __init__(self, code: str):
        self.code = code


# Cell styles (index into cellXfs of STYLES_XML) for numbers in each column.
_DATE, _TIME, _LENGTH, _MONEY, _MONTH = 1, 2, 3, 4, 5
_COLUMN_STYLE = {1: _DATE, 2: _DATE, 4: _TIME, 5: _TIME, 6: _LENGTH, 15: _MONEY, 17: _MONEY,
                 18: _MONTH, 19: _MONEY, 21: _MONEY}
_COLUMN_LETTERS = [chr(65 + i) if i < 26 else "A" + chr(65 + i - 26) for i in range(29)]
_NUMBER_STYLE = [f' s="{_COLUMN_STYLE[i]}"' if i in _COLUMN_STYLE else "" for i in range(29)]

STYLES_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    # 0 general, 1 date (14, m/d/yyyy), 2 time of day (19, h:mm:ss AM/PM), 3 length (21,
    # h:mm:ss), 4 money (4, #,##0.00), 5 month (17, mmm-yy), 6 bold header
    '<cellXfs count="7"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    + "".join(f'<xf numFmtId="{n}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
              for n in (14, 19, 21, 4, 17))
    + '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>'
)


def _write_xlsx(path: Path, sheets, force_zip64: bool) -> None:
    """Stream the sheets into an xlsx. `sheets` holds (name, last row number, rows), where rows
    yields lists of 29 values (str, int, float, _ExcelError or None) or None for a blank row."""
    strings: dict[str, int] = {}

    def entry(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        # Level 1: a quarter of level 6's time for a file a third bigger. zipfile takes the level
        # of an entry opened from a ZipInfo only from this attribute (public in 3.13 only).
        info._compresslevel = 1
        return info

    with zipfile.ZipFile(path, "w") as zf:
        # The fixed parts first: tools that sniff the type look for [Content_Types].xml there.
        for name, text in _package_parts([name for name, _, _ in sheets]).items():
            zf.writestr(entry(name), text.encode())
        for n, (name, last_row, rows) in enumerate(sheets, 1):
            with zf.open(entry(f"xl/worksheets/sheet{n}.xml"), "w", force_zip64=force_zip64) as out:
                out.write(
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    f'<dimension ref="A1:AC{last_row}"/><sheetData>'.encode())
                _write_rows(out, rows, strings)
                out.write(b"</sheetData></worksheet>")
        shared = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' if s != s.strip()
                         else f"<si><t>{escape(s)}</t></si>" for s in strings)
        zf.writestr(entry("xl/sharedStrings.xml"), (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'uniqueCount="{len(strings)}">{shared}</sst>').encode())


def _write_rows(out, rows, strings: dict[str, int]) -> None:
    """Write <row> elements. Each cell is its column's `<c r="X` + row number + a tail that
    depends only on the value, so tails are cached per column: it halves the time per row."""
    header = "".join(f'<c r="{_COLUMN_LETTERS[i]}1" t="inlineStr" s="6"><is><t>{escape(h)}</t></is></c>'
                     for i, h in enumerate(HEADERS))
    chunk = [f'<row r="1">{header}</row>']
    heads = [f'<c r="{letter}' for letter in _COLUMN_LETTERS]
    tails: list[dict] = [{} for _ in HEADERS]
    row_number = 1
    for row in rows:
        row_number += 1
        if row is None:
            continue
        n = str(row_number)
        cells = ['<row r="', n, '">']
        for i, value in enumerate(row):
            if value is None:
                continue
            tail = tails[i].get(value)
            if tail is None:
                tail = tails[i][value] = _cell_tail(i, value, strings)
            cells += (heads[i], n, tail)
        cells.append("</row>")
        chunk.append("".join(cells))
        if len(chunk) >= 2000:
            out.write("".join(chunk).encode())
            chunk = []
    out.write("".join(chunk).encode())


def _cell_tail(column: int, value, strings: dict[str, int]) -> str:
    """What follows the row number in a cell's XML: type, style and value."""
    if isinstance(value, str):
        index = strings.get(value)
        if index is None:
            index = strings[value] = len(strings)
        return f'" t="s"><v>{index}</v></c>'
    if isinstance(value, _ExcelError):
        return f'" t="e"><v>{escape(value.code)}</v></c>'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'"{_NUMBER_STYLE[column]}><v>{value!r}</v></c>'
    raise TypeError(f"cannot write {value!r} in column {HEADERS[column]!r}")


def _package_parts(names: list[str]) -> dict[str, str]:
    """The parts of an xlsx package other than the worksheets and the shared strings."""
    count = len(names)
    decl = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006"
    ct = "application/vnd.openxmlformats-officedocument"
    sheets = "".join(f'<sheet name={quoteattr(name)} sheetId="{n}" r:id="rId{n}"/>'
                     for n, name in enumerate(names, 1))
    sheet_rels = "".join(f'<Relationship Id="rId{n}" Type="{rel}/worksheet" Target="worksheets/sheet{n}.xml"/>'
                         for n in range(1, count + 1))
    sheet_types = "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
                          f'ContentType="{ct}.spreadsheetml.worksheet+xml"/>' for n in range(1, count + 1))
    stamp = "%04d-%02d-%02dT%02d:%02d:%02dZ" % FIXED_TIME
    return {
        "[Content_Types].xml": decl + (
            f'<Types xmlns="{pkg}/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.spreadsheetml.sheet.main+xml"/>'
            f'{sheet_types}'
            f'<Override PartName="/xl/styles.xml" ContentType="{ct}.spreadsheetml.styles+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.spreadsheetml.sharedStrings+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            f'<Override PartName="/docProps/app.xml" ContentType="{ct}.extended-properties+xml"/>'
            '</Types>'),
        "_rels/.rels": decl + (
            f'<Relationships xmlns="{pkg}/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            f'<Relationship Id="rId2" Type="{pkg}/relationships/metadata/core-properties" '
            'Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{rel}/extended-properties" Target="docProps/app.xml"/>'
            '</Relationships>'),
        "docProps/core.xml": decl + (
            f'<cp:coreProperties xmlns:cp="{pkg}/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            '<dc:title>Commercial Log (sample)</dc:title><dc:creator>ctvdb sample</dc:creator>'
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
            '</cp:coreProperties>'),
        "docProps/app.xml": decl + (
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            '<Application>ctvdb</Application></Properties>'),
        "xl/workbook.xml": decl + (
            f'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{rel}">'
            f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": decl + (
            f'<Relationships xmlns="{pkg}/relationships">'
            f'{sheet_rels}'
            f'<Relationship Id="rId{count + 1}" Type="{rel}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{count + 2}" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
            '</Relationships>'),
        "xl/styles.xml": STYLES_XML,
    }


# --- the command --------------------------------------------------------------------------


def _months_arg(text: str) -> str:
    try:
        parse_months(text)
        return text
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _rows_arg(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a number of rows: {text!r}")
    return int(text)


def add_commands(sub) -> None:
    p = sub.add_parser("sample", help="write a sample Commercial Log workbook (no database needed)")
    p.add_argument("out", metavar="OUT.xlsx", help="workbook to write")
    p.add_argument("--rows", type=_rows_arg, default=1000, help="data rows (default 1000)")
    p.add_argument("--months", type=_months_arg, required=True,
                   help="broadcast months: Nov-26,Dec-26 or a range Jan-22..Dec-26")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--messy", action="store_true",
                   help="add blank and totals rows, text dates and amounts, odd codes, #REF!")
    p.set_defaults(func=run)


def run(args, config) -> int:
    """Write the workbook; needs no database, so it does not name one."""
    progress = None
    if args.rows >= 50_000 and sys.stderr.isatty():
        def progress(done: int) -> None:
            end = "\n" if done == args.rows else ""
            print(f"\rsample: {done:,} of {args.rows:,} rows", end=end, file=sys.stderr, flush=True)
    try:
        info = write_sample(args.out, rows=args.rows, months=args.months,
                            seed=args.seed, messy=args.messy, progress=progress)
    except (ValueError, OSError) as exc:
        print(f"ctvdb: error: sample {args.out}: {exc}", file=sys.stderr)
        return 1
    labels = [month_label(m) for m in info.months]
    span = ", ".join(labels) if len(labels) <= 3 else f"{labels[0]}..{labels[-1]}"
    extra = (f", messy: {info.blank_rows} blank rows, {info.totals_rows} totals row, "
             f"{info.rejected_rows_expected} rows to reject" if info.messy else "")
    print(f"Wrote {info.path}: {info.rows:,} rows over {len(labels)} month{'s' if len(labels) > 1 else ''} "
          f"({span}), seed {info.seed}{extra}.")
    return 0
