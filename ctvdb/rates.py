"""The rules of rate analysis (DOMAIN.md §9), said once: which spots count, the daypart of a time,
weekday or weekend, a length's class, a customer's tenure, and exact quartiles of unit rates.

The rate summaries (tables rate_summary and rate_cut_summary, stored by ctvdb.summaries) are
computed here, in Python, from spot rows: `cube` counts the spots by every key, `cuts` adds the
cube up by each of CUTS. The import runs both in its background process; the pages and the tests
read the same rules.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable

import numpy as np
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


# The summaries ---------------------------------------------------------------------------------

# The spot columns the cube reads, in this order (ctvdb.summaries.SPOT_FIELDS holds them too).
CUBE_FIELDS = ("broadcast_month", "customer_id", "ae", "revenue_type", "market_code", "language_code",
               "spot_type", "gross_rate", "time_in", "day_of_week", "air_date", "length_seconds")
# A cube key: the columns of rate_summary before its count.
MONTH, LANGUAGE, MARKET, DAYPART, WEEKEND, LENGTH, REVENUE_TYPE, AE, CUSTOMER, RATE = range(10)


def cube(rows: Iterable[tuple]) -> Counter:
    """The counted spots of `rows` (CUBE_FIELDS) by rate_summary's key. The daypart of a Time In
    and the day of a Day(s) and air date are worked out once per distinct text, not per spot."""
    out: Counter = Counter()
    parts: dict = {}
    days: dict = {}
    for month, customer, ae, revenue_type, market, language, spot_type, rate, time_in, day, air_date, seconds in rows:
        if not (rate > 0 and revenue_type != "Trade" and spot_type != "BNS"):
            continue
        part = parts.get(time_in)
        if part is None:
            part = parts[time_in] = daypart(time_in)
        weekend = days.get((day, air_date))
        if weekend is None:
            weekend = days[(day, air_date)] = int(is_weekend(day, air_date))
        out[(month, language or "", market or "", part, weekend, seconds or 0, revenue_type, ae, customer,
             rate)] += 1
    return out


SEP = "|"   # joins the parts of a cut's value: no code, daypart key or length holds it
# name: (the key positions of its value, by customer, by rate), over every AE (an AE's own figures
# are read from the cube). The single dimensions keep the rate (medians); the
# cuts of two or three dimensions need only sums (the card, the customers against it, the lengths
# by language, market and customer).
CUTS = {
    "all": ((), False, True),
    "language": ((LANGUAGE,), False, True),
    "market": ((MARKET,), False, True),
    "daypart": ((DAYPART,), False, True),
    "day": ((WEEKEND,), False, True),
    "length": ((LENGTH,), False, True),
    "revenue_type": ((REVENUE_TYPE,), False, True),
    "ae": ((AE,), False, True),
    "customer": ((), True, True),
    "card": ((LANGUAGE, MARKET, DAYPART), False, False),
    "customer_card": ((LANGUAGE, MARKET, DAYPART), True, False),
    "length_language": ((LENGTH, LANGUAGE), False, False),
    "length_market": ((LENGTH, MARKET), False, False),
    "length_customer": ((LENGTH,), True, False),
}
CUSTOMER_CUTS = tuple(name for name, (_, by_customer, _) in CUTS.items() if by_customer)


def _cents(amounts: list[float]) -> list[float]:
    return [round(a, 2) for a in amounts]


def cuts(counts: Counter, names: Iterable[str] = tuple(CUTS)) -> list[tuple]:
    """rate_cut_summary's rows of the cube `counts`, for the cuts `names`: (cut, month,
    customer_id, value, gross_rate, spots, revenue, timed_spots, timed_revenue, seconds).

    The cuts add up tens of thousands of cube entries 14 ways: numpy groups them by an integer
    code per key (np.unique, np.bincount), where a Python loop took a second per 100 k spots. The
    sums of money are rounded to the cent, so the order the entries come in does not show."""
    names = list(names)
    if not counts or not names:
        return []
    items = list(counts.items())
    columns = list(zip(*(key for key, _ in items)))
    # Each key column's distinct values, and each entry's index into them.
    values = [list(set(column)) for column in columns]
    codes = [np.array([index[v] for v in column], dtype=np.int64)
             for column, index in zip(columns, ({v: i for i, v in enumerate(vs)} for vs in values))]
    spots = np.array([n for _, n in items], dtype=np.int64)
    rate = np.array(columns[RATE], dtype=np.float64)
    seconds = np.array(columns[LENGTH], dtype=np.int64)
    timed = seconds > 0
    measures = (spots, rate * spots, np.where(timed, spots, 0), np.where(timed, rate * spots, 0.0), seconds * spots)

    def combine(keys: list[int]) -> np.ndarray:
        combined = np.zeros(len(items), dtype=np.int64)
        for k in keys:
            combined = combined * len(values[k]) + codes[k]
        return combined

    def split(combined: np.ndarray, keys: list[int]) -> list[list[int]]:
        parts = []
        for k in reversed(keys):
            combined, part = np.divmod(combined, len(values[k]))
            parts.append(part.tolist())
        return parts[::-1]

    rows: list[tuple] = []
    for name in names:
        positions, by_customer, by_rate = CUTS[name]
        head = [MONTH] + ([CUSTOMER] if by_customer else [])
        tail = [RATE] if by_rate else []
        # The value's parts as one code, so each distinct value is joined into text once.
        value_codes = combine(list(positions))
        text = {int(code): SEP.join(str(values[k][i]) for k, i in zip(positions, parts))
                for code, *parts in zip(*([np.unique(value_codes).tolist()]
                                          + split(np.unique(value_codes), list(positions))))}
        width = int(value_codes.max()) + 1
        combined = combine(head) * width + value_codes
        for k in tail:
            combined = combined * len(values[k]) + codes[k]
        groups, inverse = np.unique(combined, return_inverse=True)
        sums = [np.bincount(inverse, weights=m, minlength=len(groups)).tolist() for m in measures]
        if tail:
            groups, rate_at = np.divmod(groups, len(values[RATE]))
            gross = [values[RATE][i] for i in rate_at.tolist()]
        else:
            gross = [0.0] * len(groups)
        rest, value_at = np.divmod(groups, width)
        head_parts = split(rest, head)
        month = [values[MONTH][i] for i in head_parts[0]]
        customer = [values[CUSTOMER][i] for i in head_parts[1]] if by_customer else [0] * len(groups)
        value = [text[i] for i in value_at.tolist()]
        total, revenue, timed_spots, timed_revenue, secs = sums
        rows.extend(zip([name] * len(groups), month, customer, value, gross, map(int, total), _cents(revenue),
                        map(int, timed_spots), _cents(timed_revenue), map(int, secs)))
    return rows
