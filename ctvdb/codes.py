"""Code lists and the rules that turn workbook text into them (DOMAIN.md §3–§4).

Pure functions with no database access: the import, the sample writer and the reports share them.
"""

from __future__ import annotations

import datetime as dt
import re

COLUMNS = (
    "Bill Code", "Start Date", "End Date", "Day(s)", "Time In", "Time Out", "Length",
    "Media/Name/Program", "Comments", "Language", "Format", "Units-Spot count", "Line", "Type",
    "Agency/Episode# or cut number", "Unit rate Gross", "Make Good", "Spot Value", "Month",
    "Broker Fees", "Sales/rep com: revenue sharing", "Station Net", "Sales Person",
    "Revenue Type", "Billing Type", "Agency?", "Affidavit?", "Notarize?", "Market",
)
IMPORTABLE_SHEETS = ("Commercials", "Worldlink Lines", "Add to booked business", "Pending")
RECAP_SHEET = "Data"

MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {name.lower(): number for number, name in enumerate(MONTH_ABBR, start=1)}

SPOT_TYPES = ("COM", "BNS", "BB", "SVC", "PRD", "PKG", "CRD", "PRG", "AV")
SPOT_TYPE_ALIASES = {
    "SPOT": "COM", "COMMERCIAL": "COM", "BONUS": "BNS", "PROD": "PRD", "PROGRAM": "PRG",
    "SERVICE": "SVC",
}

INTERNAL_AD_SALES = "Internal Ad Sales"
DIRECT_RESPONSE = "Direct Response Sales"
TRADE = "Trade"
REVENUE_TYPES = (INTERNAL_AD_SALES, DIRECT_RESPONSE, "Paid Programming", "Branded Content",
                 "Services", "Other", TRADE)
_REVENUE_ALIASES = {
    "a&o": INTERNAL_AD_SALES, "ao": INTERNAL_AD_SALES, "a and o": INTERNAL_AD_SALES,
    "a & o": INTERNAL_AD_SALES, "local": INTERNAL_AD_SALES,
    "direct response": DIRECT_RESPONSE, "service": "Services",
}
_REVENUE_BY_KEY = {name.lower(): name for name in REVENUE_TYPES} | _REVENUE_ALIASES

LANGUAGE_GROUPS = {
    "M": "Chinese", "C": "Chinese", "M/C": "Chinese", "V": "Vietnamese", "T": "Filipino",
    "K": "Korean", "J": "Japanese", "SA": "South Asian", "P": "South Asian", "HM": "Hmong",
    "E": "English", "EN": "English", "ENG": "English",
}
UNDETERMINED_LANGUAGE = "L"

MARKETS = {
    "SEA": "Seattle", "SFO": "San Francisco", "LAX": "Los Angeles", "NYC": "New York",
    "HOU": "Houston", "DAL": "Dallas", "CVC": "Central Valley",
    "CMP": "Chicago/Minneapolis-St Paul", "CHI": "Chicago", "MSP": "Minneapolis",
    "WDC": "Washington DC", "MMT": "Multimarket", "ADMIN": "Administrative",
}

_BILL_CODE_SUFFIXES = re.compile(
    r"(?:\s+\(Broker (?:Fees|Costs) - DO NOT INVOICE\)|\s+CREDIT MEMO|\s+PRODUCTION|\s+PROD)+$",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s{2,}")
_WORLDLINK_SPACE = re.compile(r"^worldlink\s+(?!:)", re.IGNORECASE)


def column_letter(index: int) -> str:
    """0 -> A, 28 -> AC."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def month_key(year: int, month: int) -> int:
    return year * 100 + month


def month_label(key: int) -> str:
    """202611 -> 'Nov-26'."""
    return f"{MONTH_ABBR[key % 100 - 1]}-{key // 100 % 100:02d}"


def parse_month_label(text: str) -> int:
    """'Nov-26' (any case, spaces trimmed) -> 202611. ValueError otherwise."""
    m = re.fullmatch(r"\s*([A-Za-z]{3})[-\s]?'?(\d{2})\s*", text)
    if not m or m.group(1).lower() not in _MONTH_NUMBER:
        raise ValueError(f"not a month like Nov-26: {text!r}")
    return month_key(2000 + int(m.group(2)), _MONTH_NUMBER[m.group(1).lower()])


def broadcast_month(day: dt.date) -> int:
    """The broadcast month `day` is in, as YYYYMM. A broadcast month ends on the last Sunday of
    its calendar month, so a day belongs to the month of the Sunday that ends its week (Monday
    30 November 2026 is in December). Here, not in the web side, so the import can use it too."""
    sunday = day + dt.timedelta(days=6 - day.weekday())
    return sunday.year * 100 + sunday.month


def broadcast_start(month: int) -> dt.date:
    """The first day of a broadcast month: the Monday on or before the 1st."""
    first = dt.date(month // 100, month % 100, 1)
    return first - dt.timedelta(days=first.weekday())


def broadcast_end(month: int) -> dt.date:
    """The last day of a broadcast month: the day before the next one starts."""
    return broadcast_start(add_months(month, 1)) - dt.timedelta(days=1)


def add_months(month: int, count: int) -> int:
    """The month `count` months after YYYYMM `month` (before it when negative)."""
    index = (month // 100) * 12 + month % 100 - 1 + count
    return (index // 12) * 100 + index % 12 + 1


def month_span(first: int, last: int) -> list[int]:
    """Every YYYYMM month from `first` to `last`, both included."""
    months, m = [], first
    while m <= last:
        months.append(m)
        m = add_months(m, 1)
    return months


def previous_month(key: int) -> int:
    year, month = divmod(key, 100)
    return month_key(year - 1, 12) if month == 1 else key - 1


def quarter(key: int) -> int:
    return (key % 100 - 1) // 3 + 1


def normalise_spot_type(text: str) -> str:
    code = text.strip().upper()
    return SPOT_TYPE_ALIASES.get(code, code)


def normalise_revenue_type(text: str) -> str | None:
    """The canonical revenue type, 'Other' for a blank one, None when unknown."""
    key = " ".join(text.split()).lower()
    if not key:
        return "Other"
    return _REVENUE_BY_KEY.get(key)


def normalise_language(text: str) -> str:
    return text.strip().upper()


def language_group(code: str | None) -> str:
    return LANGUAGE_GROUPS.get((code or "").strip().upper(), "Other")


def normalise_bill_code(text: str) -> str:
    """Trimmed, single-spaced, without the billing suffixes; 'WorldLink X' becomes 'WorldLink:X'."""
    code = _SPACES.sub(" ", text.strip())
    code = _BILL_CODE_SUFFIXES.sub("", code).strip()
    code = _WORLDLINK_SPACE.sub("WorldLink:", code)
    return ":".join(part.strip() for part in code.split(":"))


def split_bill_code(code: str) -> tuple[list[str], str]:
    """'A1:A2:Customer' -> (['A1', 'A2'], 'Customer'); the agencies in booking order."""
    *chain, customer = code.split(":")
    return [agency for agency in chain if agency], customer


def ae_key(sales_person: str) -> str:
    key = sales_person.strip().upper()
    return key or "UNKNOWN"


# Spot category and language assignment (DOMAIN.md §4) ------------------------------------------

LANGUAGE_ASSIGNMENT = "language_assignment"
REVIEW_CATEGORY = "review_category"
DEFAULT_ENGLISH = "default_english"
HIGH_VALUE_GROSS = 1000.0


def spot_category(revenue_type: str, spot_type: str) -> str:
    if revenue_type == INTERNAL_AD_SALES:
        if spot_type in ("COM", "BNS"):
            return LANGUAGE_ASSIGNMENT
        return REVIEW_CATEGORY
    if revenue_type == "Other":
        if spot_type in ("SVC", "PRD"):
            return DEFAULT_ENGLISH
        return REVIEW_CATEGORY
    if revenue_type in (DIRECT_RESPONSE, "Paid Programming", "Branded Content"):
        return DEFAULT_ENGLISH
    return REVIEW_CATEGORY


def assign_language(category: str, spot_type: str, code: str) -> tuple[str | None, str, bool]:
    """(language, status, needs_review) for one spot; `code` is already normalised."""
    if category == DEFAULT_ENGLISH:
        return "E", "default", False
    review = category == REVIEW_CATEGORY
    if code in LANGUAGE_GROUPS:
        return code, "assigned", review
    if not code:
        return "E", "default", review
    if code == UNDETERMINED_LANGUAGE:
        if spot_type in ("COM", "BB"):
            return "E", "default", review
        return None, "undetermined", True
    return None, "invalid", True


def month_ranges(months: list[int]) -> str:
    """Broadcast months in words, consecutive ones as a range: a rebuild's 48 months are
    "Jan-23..Dec-26", not 48 labels in a row; a gap starts a new range ("Jan-25..Mar-25, Jun-25")."""
    runs: list[list[int]] = []
    for month in sorted(set(months)):
        if runs and month == _next_month(runs[-1][-1]):
            runs[-1].append(month)
        else:
            runs.append([month])
    return ", ".join(month_label(run[0]) if len(run) == 1 else f"{month_label(run[0])}..{month_label(run[-1])}"
                     for run in runs)


def _next_month(month: int) -> int:
    return month + 1 if month % 100 < 12 else (month // 100 + 1) * 100 + 1
