"""One workbook row → the typed values of one spot, or the reason it cannot be read.

`RowReader.is_trade(values)` says whether a row is Trade, to be excluded unread; otherwise
`RowReader.read(values)` returns a `Spot` tuple, `IGNORED` for a blank or totals row, or raises
`Rejected(column, value, reason)`. It runs once per row of a 35,000-row file every day and of
1.5 million rows in a rebuild, so it keeps repeated text in small caches and avoids work per cell.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

from ctvdb import codes

EXCEL_EPOCH = dt.date(1899, 12, 30)
_TEXT_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2,4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")
_DURATION = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})(?:\.\d+)?|:(\d{1,3})")

IGNORED = None

# Column positions (DOMAIN.md §2)
(BILL_CODE, START_DATE, END_DATE, DAYS, TIME_IN, TIME_OUT, LENGTH, MEDIA, COMMENTS, LANGUAGE,
 FORMAT, UNITS, LINE, TYPE, ESTIMATE, GROSS, MAKE_GOOD, SPOT_VALUE, MONTH, BROKER_FEES, PRIORITY,
 STATION_NET, SALES_PERSON, REVENUE_TYPE, BILLING_TYPE, AGENCY_FLAG, AFFIDAVIT, CONTRACT,
 MARKET) = range(29)
SHEET_SOURCE = 29


class Rejected(Exception):
    def __init__(self, column: int, value, reason: str):
        super().__init__(reason)
        self.column, self.value, self.reason = column, value, reason


class Spot(NamedTuple):
    bill_code: str           # normalised (the customer's identity)
    values: tuple            # the spots columns from bill_code to sheet_source, in table order
    broadcast_month: int
    gross: float
    revenue_type: str
    spot_type: str
    language_code: str
    market_code: str


SPOT_COLUMNS = (
    "bill_code", "air_date", "end_date", "day_of_week", "time_in", "time_out", "length_seconds",
    "media", "comments", "language_code", "format", "sequence_number", "line_number", "spot_type",
    "estimate", "gross_rate", "make_good", "spot_value", "broadcast_month", "month_label",
    "broker_fees", "priority", "station_net", "sales_person", "ae", "revenue_type",
    "billing_type", "agency_flag", "affidavit_flag", "contract", "market_code", "sheet_source",
)


def _text(value) -> str:
    if value.__class__ is str:
        return value.strip()
    if value.__class__ is float and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _optional_text(value):
    text = _text(value)
    return text or None


def _date(value, column: int, required: bool):
    cls = value.__class__
    if cls is dt.date:
        return value.isoformat()
    if cls is dt.datetime:
        return value.date().isoformat()
    if cls is str:
        text = value.strip()
        if not text:
            if required:
                raise Rejected(column, value, "date is missing")
            return None
        m = _ISO_DATE.fullmatch(text)
        try:
            if m:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
            m = _TEXT_DATE.fullmatch(text)
            if m:
                year = int(m.group(3))
                year = year + 2000 if year < 100 else year
                return dt.date(year, int(m.group(1)), int(m.group(2))).isoformat()
        except ValueError:
            pass
        raise Rejected(column, value, "not a date")
    if cls in (float, int) and 1 < value < 2958466:  # an Excel serial number shown without a format
        return (EXCEL_EPOCH + dt.timedelta(days=int(value))).isoformat()
    raise Rejected(column, value, "not a date")


def _month(value) -> int:
    cls = value.__class__
    if cls is dt.date or cls is dt.datetime:
        return value.year * 100 + value.month
    if cls is str:
        text = value.strip()
        if not text:
            raise Rejected(MONTH, value, "broadcast month is missing")
        try:
            return codes.parse_month_label(text)
        except ValueError:
            m = _ISO_DATE.fullmatch(text)
            if m and 1 <= int(m.group(2)) <= 12:
                return int(m.group(1)) * 100 + int(m.group(2))
        raise Rejected(MONTH, value, "not a month (expected a date or Mmm-YY)")
    if cls in (float, int) and 1 < value < 2958466:
        day = EXCEL_EPOCH + dt.timedelta(days=int(value))
        return day.year * 100 + day.month
    raise Rejected(MONTH, value, "not a month (expected a date or Mmm-YY)")


def _money(value, column: int, default):
    cls = value.__class__
    if cls is float:
        return value
    if cls is int:
        return float(value)
    if cls is str:
        text = value.strip()
        if not text:
            return default
        negative = text.startswith("(") and text.endswith(")")
        cleaned = text.strip("()").replace(",", "").replace("$", "").strip()
        try:
            amount = float(cleaned)
        except ValueError:
            raise Rejected(column, value, "not an amount") from None
        return -amount if negative else amount
    raise Rejected(column, value, "not an amount")


def _integer(value):
    cls = value.__class__
    if cls is float:
        return int(value) if value.is_integer() else None
    if cls is int:
        return value
    if value == "":
        return None
    text = _text(value).replace(",", "")
    if text.lstrip("-").isdigit():
        return int(text)
    return None


def _time(value):
    cls = value.__class__
    if cls is dt.time:
        return value.strftime("%H:%M:%S")
    if cls is dt.datetime:
        return value.strftime("%H:%M:%S")
    if cls is dt.timedelta:
        seconds = int(value.total_seconds()) % 86400
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if cls is float and 0 <= value < 1:
        seconds = round(value * 86400) % 86400
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return _optional_text(value)


def _seconds(value):
    cls = value.__class__
    if cls is dt.timedelta:
        return round(value.total_seconds())
    if cls is dt.time:
        return value.hour * 3600 + value.minute * 60 + value.second
    if cls is float:
        return round(value * 86400) if value < 1 else int(value)
    if cls is int:
        return value
    text = _text(value)
    if not text:
        return None
    m = _DURATION.fullmatch(text)
    if not m:
        return None
    if m.group(4):
        return int(m.group(4))
    return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + int(m.group(3))


def _affidavit(value):
    text = _text(value).upper()
    if text in ("Y", "YES"):
        return "Y"
    if text in ("N", "NO"):
        return "N"
    return text or None


def _is_totals(values) -> bool:
    for value in values:
        if value.__class__ is str and value.strip().lower().startswith(("total", "grand total")):
            return True
    return False


class _Memo(dict):
    """A conversion memoised by its raw value: a hit is one C-level dict look-up."""

    def __init__(self, convert):
        super().__init__()
        self.convert = convert

    def __missing__(self, value):
        result = self[value] = self.convert(value)
        return result


class RowReader:
    """Reads the rows of one import; its caches live as long as the import.

    Most cells repeat (dates, times, names, codes), so each kind of conversion is memoised by the
    raw value instead of parsed again.
    """

    def __init__(self) -> None:
        self._bill_codes: dict = {}
        self._text = _Memo(_optional_text)
        self._dates = _Memo(lambda value: _date(value, START_DATE, False))
        self._end_dates = _Memo(lambda value: _date(value, END_DATE, False))
        self._months = _Memo(_month_and_label)
        self._spot_types = _Memo(_spot_type)
        self._revenue_types = _Memo(_revenue_type)
        self._upper = _Memo(_upper)
        self._aes = _Memo(_ae)
        self._times = _Memo(_time)
        self._seconds = _Memo(_seconds)
        self._affidavits = _Memo(_affidavit)
        self._integers = _Memo(_integer)

    def is_trade(self, row: list) -> bool:
        """Trade (barter) is never stored, so its row is excluded before any other cell is
        read: a Trade row with no air date or a broken cell is not a rejected row."""
        return self._revenue_types[row[REVENUE_TYPE]] == codes.TRADE

    def read(self, row: list, sheet_source_default: str | None = None):
        """A Spot, IGNORED, or raises Rejected. Excel error cells are caught by the caller."""
        raw_code = row[BILL_CODE]
        bill_code = self._bill_codes.get(raw_code)
        if bill_code is None:
            text = _text(raw_code)
            if not text:
                if not any(v != "" and v is not None for v in row):
                    return IGNORED
                if _is_totals(row) or _text(row[START_DATE]) == "":
                    return IGNORED
                raise Rejected(BILL_CODE, raw_code, "bill code is missing")
            bill_code = self._bill_codes[raw_code] = codes.normalise_bill_code(text)

        text, upper, times = self._text, self._upper, self._times
        air_date = self._dates[row[START_DATE]]
        if air_date is None:
            raise Rejected(START_DATE, row[START_DATE], "date is missing")
        end_date = self._end_dates[row[END_DATE]]
        month, label = self._months[row[MONTH]]
        gross = row[GROSS]
        if gross.__class__ is not float:
            gross = _money(gross, GROSS, 0.0)
        spot_value = row[SPOT_VALUE]
        if spot_value.__class__ is not float:
            spot_value = _money(spot_value, SPOT_VALUE, None)
        broker_fees = row[BROKER_FEES]
        if broker_fees.__class__ is not float:
            broker_fees = _money(broker_fees, BROKER_FEES, None)
        station_net = row[STATION_NET]
        if station_net.__class__ is not float:
            station_net = _money(station_net, STATION_NET, None)

        spot_type = self._spot_types[row[TYPE]]
        revenue_type = self._revenue_types[row[REVENUE_TYPE]]
        if revenue_type is None:
            raise Rejected(REVENUE_TYPE, row[REVENUE_TYPE], "unknown revenue type")
        language = upper[row[LANGUAGE]]
        market = upper[row[MARKET]]

        sheet_source = text[row[SHEET_SOURCE]] if len(row) > SHEET_SOURCE else None
        values = (
            bill_code, air_date, end_date, text[row[DAYS]], times[row[TIME_IN]],
            times[row[TIME_OUT]], self._seconds[row[LENGTH]],
            text[row[MEDIA]], text[row[COMMENTS]], language or None, text[row[FORMAT]],
            self._integers[row[UNITS]], self._integers[row[LINE]], spot_type or None,
            text[row[ESTIMATE]], gross, text[row[MAKE_GOOD]], spot_value,
            month, label, broker_fees, self._integers[row[PRIORITY]], station_net,
            text[row[SALES_PERSON]], self._aes[row[SALES_PERSON]],
            revenue_type, text[row[BILLING_TYPE]], text[row[AGENCY_FLAG]],
            self._affidavits[row[AFFIDAVIT]], text[row[CONTRACT]], market or None,
            sheet_source or sheet_source_default,
        )
        return Spot(bill_code, values, month, gross, revenue_type, spot_type, language, market)


def _month_and_label(value) -> tuple[int, str]:
    month = _month(value)
    if not 1 <= month % 100 <= 12:
        raise Rejected(MONTH, value, "not a month")
    return month, codes.month_label(month)


def _spot_type(value) -> str:
    return codes.normalise_spot_type(_text(value))


def _revenue_type(value):
    return codes.normalise_revenue_type(_text(value))


def _upper(value) -> str:
    return _text(value).upper()


def _ae(value) -> str:
    return codes.ae_key(_text(value))
