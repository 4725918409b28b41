"""Report arguments: parsed from the query string into a frozen, hashable `Filters`.

A bad argument is a `BadRequest` whose description is one sentence for a person. Arguments a
report does not use are ignored; the cache key is built from the parsed value, not the raw URL.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

FORMATS = ("html", "csv", "xlsx", "json")
# `period=`: the presets every page that takes a period offers; `q1`..`q4` are `quarter=1..4`.
PERIODS = {"month": "This month", "qtd": "Quarter to date", "ytd": "Year to date"}
# Issue 14: the filters only the rates pages take (web/views/rates.py parses them).
RATE_FILTERS = ("language", "daypart", "day", "length", "tenure", "customer")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Filters:
    year: int | None = None
    quarter: int | None = None
    from_month: int | None = None       # YYYYMM
    to_month: int | None = None
    measure: str = "gross"              # gross | net
    ae: str | None = None               # upper-cased, as spots.ae
    revenue_type: str | None = None
    market: str | None = None
    period: str | None = None           # month | qtd | ytd: this month, quarter or year to date
    sector: str | None = None           # a sector code, or "NONE" for unassigned customers
    revenue_class: str | None = None    # regular | irregular; None: both
    q: str | None = None                # customer name / agency search
    status: str | None = None           # imports: batch status; review: language status
    batch: int | None = None
    limit: int = 200

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def month_label(month: int) -> str:
    """202611 -> 'Nov-26'."""
    return f"{MONTH_NAMES[month % 100 - 1]}-{month // 100 % 100:02d}"


def parse_month(text: str, name: str) -> int:
    """'2026-11', '202611' or 'Nov-26' -> 202611."""
    text = text.strip()
    m = re.fullmatch(r"(\d{4})-?(\d{2})", text)
    if m:
        year, month = int(m.group(1)), int(m.group(2))
    else:
        m = re.fullmatch(r"([A-Za-z]{3})-(\d{2})", text)
        if not m or m.group(1).title() not in MONTH_NAMES:
            raise BadRequest(f"The {name} month “{text}” is not a month like 2026-11 or Nov-26.")
        year, month = 2000 + int(m.group(2)), MONTH_NAMES.index(m.group(1).title()) + 1
    if not (2000 <= year <= 2099 and 1 <= month <= 12):
        raise BadRequest(f"The {name} month “{text}” is outside January 2000 to December 2099.")
    return year * 100 + month


def _int(args: MultiDict, name: str, low: int, high: int, what: str) -> int | None:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    if not re.fullmatch(r"-?\d+", text) or not low <= int(text) <= high:
        raise BadRequest(f"The {what} “{text}” is not a number from {low} to {high}.")
    return int(text)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(args: MultiDict, name: str, max_length: int = 100) -> str | None:
    text = " ".join((args.get(name) or "").split())
    if len(text) > max_length:
        raise BadRequest(f"The {name} filter is longer than {max_length} characters.")
    # SQLite ends a string at NUL: `q=%00` searched for '' and matched every customer.
    if _CONTROL.search(text):
        raise BadRequest(f"The {name} filter holds a control character; type it again.")
    return text or None


def parse_filters(args: MultiDict) -> Filters:
    measure = (args.get("measure") or "gross").strip().lower()
    if measure not in ("gross", "net"):
        raise BadRequest(f"The measure “{measure}” is neither gross nor net.")
    from_month = parse_month(args["from"], "from") if (args.get("from") or "").strip() else None
    to_month = parse_month(args["to"], "to") if (args.get("to") or "").strip() else None
    if from_month and to_month and from_month > to_month:
        raise BadRequest("The from month is after the to month.")
    period = (args.get("period") or "").strip().lower() or None
    quarter = _int(args, "quarter", 1, 4, "quarter")
    if period in ("q1", "q2", "q3", "q4"):
        period, quarter = None, int(period[1])
    elif period == "year":
        period = None
    elif period and period not in PERIODS:
        raise BadRequest(f"The period “{period[:20]}” is not a month, quarter or year to date.")
    revenue_class = (args.get("revenue_class") or "").strip().lower() or None
    if revenue_class not in (None, "regular", "irregular"):
        raise BadRequest(f"The revenue class “{revenue_class[:20]}” is neither regular nor irregular.")
    ae = _text(args, "ae")
    market = _text(args, "market", 10)
    sector = _text(args, "sector", 20)
    status = _text(args, "status", 20)
    return Filters(
        year=_int(args, "year", 2000, 2099, "year"),
        quarter=quarter,
        from_month=from_month,
        to_month=to_month,
        measure=measure,
        period=period,
        ae=ae.upper() if ae else None,
        revenue_type=_text(args, "revenue_type"),
        market=market.upper() if market else None,
        sector=sector.upper() if sector else None,
        revenue_class=revenue_class,
        q=_text(args, "q"),
        status=status.lower() if status else None,
        batch=_int(args, "batch", 1, 10**12, "import batch"),
        limit=_int(args, "limit", 1, 5000, "row limit") or 200,
    )


@dataclass(frozen=True)
class Sort:
    """`?sort=COLUMN&dir=asc|desc`: COLUMN is a column key of the page's first table, or
    TABLE.COLUMN for another table of the page."""

    table: str | None
    column: str
    descending: bool

    def param(self) -> str:
        return f"{self.table}.{self.column}" if self.table else self.column


def parse_sort(args: MultiDict) -> Sort | None:
    text = (args.get("sort") or "").strip()
    if not text:
        return None
    if not re.fullmatch(r"(?:\w{1,40}\.)?[\w()/&-]{1,40}", text):
        raise BadRequest(f"The sort “{text[:50]}” is not a column of this page.")
    direction = (args.get("dir") or "asc").strip().lower()
    if direction not in ("asc", "desc"):
        raise BadRequest(f"The sort direction “{direction[:20]}” is neither asc nor desc.")
    table, _, column = text.rpartition(".")
    return Sort(table or None, column, direction == "desc")


def query_args(filters: dict) -> dict:
    """The query arguments that give a report its applied `filters` again: for the links a page
    offers (sort, download, the same page for one month). Defaults are left out."""
    out = {}
    if filters.get("from_month") or filters.get("to_month"):
        for key, name in (("from_month", "from"), ("to_month", "to")):
            if filters.get(key):
                out[name] = f"{filters[key] // 100}-{filters[key] % 100:02d}"
    else:
        if filters.get("year"):
            out["year"] = filters["year"]
        if filters.get("quarter"):
            out["quarter"] = filters["quarter"]
        if filters.get("period"):
            out["period"] = filters["period"]
    if filters.get("measure", "gross") != "gross":
        out["measure"] = filters["measure"]
    for key in ("ae", "revenue_type", "market", "sector", "revenue_class", "q", "status", "batch"):
        if filters.get(key):
            out[key] = filters[key]
    if filters.get("limit", 200) != 200:
        out["limit"] = filters["limit"]
    for key in RATE_FILTERS:   # issue 14: the rates pages' drill-down filters
        if filters.get(key) not in (None, ""):
            out[key] = filters[key]
    return out


def parse_format(args: MultiDict) -> str:
    fmt = (args.get("format") or "html").strip().lower()
    if fmt not in FORMATS:
        raise BadRequest(f"The format “{fmt}” is not one of {', '.join(FORMATS)}.")
    return fmt
