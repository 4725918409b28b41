"""Every source spot into ctvdb's spots, read and checked by the import's own row reader.

A source spot is laid out as the workbook row it came from (its columns are the Commercial
Log's 29, cleaned) and handed to `ctvdb.rows.RowReader`, so an adopted spot is exactly what
ctvdb's import would have stored for it: normalised bill code, `Mmm-YY` month as YYYYMM, AE key,
revenue type, money. A value ctvdb cannot take fails adopt naming the spot (source table, id,
column, value). The source is read with one streaming cursor and written with executemany in
big batches, so memory stays flat at any size; the spot keeps its source id.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Callable

from ctvdb import codes
from ctvdb.adopt.identity import Identity
from ctvdb.adopt.source import AdoptError, has_table
from ctvdb.importer import _INSERT_SPOT
from ctvdb.rows import MARKET, SPOT_COLUMNS, Rejected, RowReader

BATCH = 20_000
SHEET = "adopted"            # spots.sheet of an adopted spot; row_number is its source spot_id
# The source's column of each workbook column position (for the sentence naming a bad value).
SOURCE_COLUMNS = (
    "bill_code", "air_date", "end_date", "day_of_week", "time_in", "time_out", "length_seconds",
    "media", "comments", "language_code", "format", "sequence_number", "line_number", "spot_type",
    "estimate", "gross_rate", "make_good", "spot_value", "broadcast_month", "broker_fees", "priority",
    "station_net", "sales_person", "revenue_type", "billing_type", "agency_flag", "affidavit_flag",
    "contract", "market_name",
)
_AT_AE = SPOT_COLUMNS.index("ae")
_AT_MARKET = SPOT_COLUMNS.index("market_code")


@dataclass
class SpotsWritten:
    spots: int = 0
    trade: int = 0                              # Trade spots: never stored by ctvdb (the source's own
    months: set[int] = field(default_factory=set)   # reports leave them out too)
    ae_names: set[str] = field(default_factory=set)


def _select(src: sqlite3.Connection) -> str:
    columns = ", ".join(f"s.{name}" for name in SOURCE_COLUMNS[:-1])
    if has_table(src, "markets"):
        market, join = "coalesce(m.market_code, s.market_name)", " LEFT JOIN markets m ON m.market_id = s.market_id"
    else:
        market, join = "s.market_name", ""
    return (f"SELECT s.spot_id, {columns}, {market}, s.customer_id, s.import_batch_id"
            f" FROM spots s{join} ORDER BY s.spot_id")


def count(src: sqlite3.Connection) -> int:
    return src.execute("SELECT count(*) FROM spots").fetchone()[0]


def write_spots(src: sqlite3.Connection, dst: sqlite3.Connection, identity: Identity, batch_of: dict,
                adopt_batch: int, progress: Callable[[str, int, int], None] | None = None) -> SpotsWritten:
    """Stream the source's spots into `dst` (inside the caller's transaction)."""
    total = count(src)
    reader = RowReader()
    written = SpotsWritten()
    known_markets = {row[0] for row in dst.execute("SELECT code FROM markets")}
    market_names = dict(src.execute("SELECT market_code, market_name FROM markets")) if has_table(src, "markets") else {}
    outcomes: set[tuple] = set()
    pending: list[tuple] = []
    done = 0
    if progress:
        progress("writing spots", 0, total)
    for source_row in src.execute(_select(src)):
        done += 1
        spot_id = source_row[0]
        row = ["" if value is None else value for value in source_row[1:30]]
        length = row[6]
        if length.__class__ is str and length.strip().isdigit():
            row[6] = int(length)
        if reader.is_trade(row):
            written.trade += 1
            continue
        try:
            spot = reader.read(row)
        except Rejected as exc:
            raise AdoptError(f"source table spots, spot_id {spot_id}, column {SOURCE_COLUMNS[exc.column]}, "
                             f"value {exc.value!r}: {exc.reason}; ctvdb cannot take it, so nothing was adopted") from None
        if spot is None:
            raise AdoptError(f"source table spots, spot_id {spot_id}, column bill_code, value {row[0]!r}: "
                             f"a spot without a bill code; ctvdb cannot take it, so nothing was adopted")
        market = spot.values[_AT_MARKET]
        if market is not None and market not in known_markets:
            dst.execute("INSERT INTO markets (code, name) VALUES (?, ?)",
                        (market, codes.MARKETS.get(market) or market_names.get(row[MARKET]) or market))
            known_markets.add(market)
        customer_id = identity.customer_for(source_row[1], source_row[30], spot.bill_code)
        identity.saw(spot.bill_code, customer_id)
        pending.append((spot_id, batch_of.get(source_row[31], adopt_batch), SHEET, spot_id, customer_id,
                        identity.customer_agency.get(customer_id)) + spot.values)
        written.months.add(spot.broadcast_month)
        written.ae_names.add(spot.values[_AT_AE])
        outcomes.add((spot.revenue_type, spot.spot_type, spot.language_code))
        if len(pending) >= BATCH:
            dst.executemany(_INSERT_SPOT, pending)
            written.spots += len(pending)
            pending.clear()
            if progress:
                progress("writing spots", done, total)
    if pending:
        dst.executemany(_INSERT_SPOT, pending)
        written.spots += len(pending)
    if progress:
        progress("writing spots", total, total)
    _assign_languages(dst, outcomes, written.spots)
    return written


def _assign_languages(dst: sqlite3.Connection, keys: set[tuple], expected: int) -> None:
    """spot_languages for every spot: each (revenue type, spot type, language) decided once by
    ctvdb's rules (codes.py), joined to the spots in one INSERT … SELECT, as the import does."""
    rows = []
    for revenue_type, spot_type, language in keys:
        category = codes.spot_category(revenue_type, spot_type)
        rows.append((revenue_type, spot_type, language, category, *codes.assign_language(category, spot_type, language)))
    dst.execute("CREATE TEMP TABLE adopt_language_outcomes (revenue_type TEXT, spot_type TEXT, language_code TEXT,"
                " category TEXT, language TEXT, status TEXT, review INTEGER,"
                " PRIMARY KEY (revenue_type, spot_type, language_code))")
    dst.executemany("INSERT INTO temp.adopt_language_outcomes VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    inserted = dst.execute(
        "INSERT INTO spot_languages (spot_id, category, language_code, status, needs_review, high_value)"
        " SELECT s.id, o.category, o.language, o.status, o.review, o.review AND s.gross_rate >= ?"
        " FROM spots s JOIN temp.adopt_language_outcomes o ON o.revenue_type = s.revenue_type"
        " AND o.spot_type = coalesce(s.spot_type, '') AND o.language_code = coalesce(s.language_code, '')",
        (codes.HIGH_VALUE_GROSS,)).rowcount
    dst.execute("DROP TABLE temp.adopt_language_outcomes")
    if inserted != expected:
        raise AdoptError(f"language step: {inserted} outcomes for {expected} spots; nothing was adopted")
