"""The rules of rate analysis (DOMAIN.md §9), said once: which spots count, the daypart of a time,
weekday or weekend, a length's class, a customer's tenure, and exact quartiles of unit rates.

The rate summaries (ctvdb.rate_summary) are made with these rules, and the pages and the tests
read the same ones. Stdlib only.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import date

# Counted: a positive unit rate, not Trade (never stored anyway), not a bonus spot.
COUNTED_SQL = "gross_rate > 0 AND revenue_type <> 'Trade' AND coalesce(spot_type, '') <> 'BNS'"

# key, name, the hours of Time In (the log's own Pacific clock) it takes. Late Fringe crosses
# midnight: 23:00-00:59.
DAYPARTS = (
    ("early_morning", "Early Morning", tuple(range(5, 9))),
    ("daytime", "Daytime", tuple(range(9, 16))),
    ("early_fringe", "Early Fringe", tuple(range(16, 19))),
    ("prime_access", "Prime Access", (19,)),
    ("prime", "Prime", tuple(range(20, 23))),
    ("late_fringe", "Late Fringe", (23, 0)),
    ("overnight", "Overnight", tuple(range(1, 5))),
)
NO_TIME = ""                       # Time In missing, or text that is not a time of day
HOUR_DAYPART = {hour: key for key, _, hours in DAYPARTS for hour in hours}
DAYPART_NAMES = {key: name for key, name, _ in DAYPARTS} | {NO_TIME: "No time"}
_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI")
WEEKEND_DAYS = ("SAT", "SUN")
DAY_NAMES = {0: "Weekday", 1: "Weekend"}

STANDARD_LENGTHS = (15, 30, 60, 120)

TENURES = (("new", "New"), ("established", "Established"), ("long_standing", "Long-standing"))
TENURE_NAMES = dict(TENURES)
TENURE_WORDS = ("new: first spot in the 12 months up to the period's last month; established: 1 to 3 years"
                " before it; long-standing: 3 years or more")


def counted(gross_rate: float, revenue_type: str, spot_type: str | None) -> bool:
    return gross_rate > 0 and revenue_type != "Trade" and (spot_type or "") != "BNS"


def daypart(time_in: str | None) -> str:
    """'20:00:00' -> 'prime'; '' for a missing time or one the import kept as text."""
    m = _TIME.match(time_in or "")
    return HOUR_DAYPART[int(m.group(1))] if m else NO_TIME


def is_weekend(day_of_week: str | None, air_date: str | None) -> bool:
    """By Day(s) (Saturday, Sunday; its first three letters, any case); a day the log left blank
    or misspelt is taken from the air date."""
    head = (day_of_week or "").strip(" ").upper()[:3]
    if head in WEEKEND_DAYS or head in WEEKDAYS:
        return head in WEEKEND_DAYS
    try:
        return date.fromisoformat(air_date or "").weekday() >= 5
    except ValueError:
        return False


def length_class(seconds: int | None) -> str:
    """'30' for the standard lengths, 'other' for any other (0 or None: no length given)."""
    return str(seconds) if seconds in STANDARD_LENGTHS else "other"


def length_label(seconds: int | None) -> str:
    if seconds in STANDARD_LENGTHS:
        return f":{seconds}"
    return f"Other ({seconds} s)" if seconds else "Other (no length)"


def months_between(first: int, last: int) -> int:
    """202511, 202611 -> 12."""
    return (last // 100 * 12 + last % 100) - (first // 100 * 12 + first % 100)


def tenure(first_month: int, period_last: int) -> str:
    age = months_between(first_month, period_last)
    return "new" if age < 12 else "established" if age < 36 else "long_standing"


# Exact quartiles from (rate, spots) pairs --------------------------------------------------------

def quartiles(pairs: list[tuple[float, int]]) -> tuple[float, float, float] | None:
    """(p25, median, p75) of the unit rates, each rate counted its spots' times, by the inclusive
    method (Excel's QUARTILE.INC; Python's statistics.quantiles(method='inclusive')): the rates in
    order, position (n − 1) × q, interpolated between the two rates either side. Same arithmetic
    as statistics, so the figures agree to the last bit. None for no spots."""
    pairs = sorted((rate, count) for rate, count in pairs if count > 0)
    if not pairs:
        return None
    ends, total = [], 0
    for _, count in pairs:
        total += count
        ends.append(total)            # spots up to and including this rate

    def nth(i: int) -> float:         # the i-th rate (0-based) of the ordered spots
        return pairs[bisect_right(ends, i)][0]

    if total == 1:
        return (pairs[0][0],) * 3
    m = total - 1
    out = []
    for i in (1, 2, 3):
        j, delta = divmod(i * m, 4)
        out.append((nth(j) * (4 - delta) + nth(j + 1) * delta) / 4)
    return out[0], out[1], out[2]
