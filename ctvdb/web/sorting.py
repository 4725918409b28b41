"""Sorting a report's table by any column, on the server (`?sort=&dir=`): the page runs no script.

A sorted page is the cached report with one table's rows reordered, never a second query. Numbers
sort as numbers, months in time order, names as a person reads them (case- and accent-blind);
an empty cell ("—") goes last in both directions, and rows that tie keep the report's own order.
"""

from __future__ import annotations

import dataclasses

from werkzeug.exceptions import BadRequest

from ctvdb.names import fold
from ctvdb.web.params import Sort
from ctvdb.web.queries import Report, Table

TEXT_KINDS = frozenset({"text", "customer", "ae", "sector", "date", "datetime"})


def _key(kind: str, value):
    if kind in TEXT_KINDS or isinstance(value, str):
        return fold(str(value))
    return value


def sort_rows(rows: list[dict], key: str, kind: str, descending: bool) -> list[dict]:
    present = [r for r in rows if r.get(key) not in (None, "")]
    empty = [r for r in rows if r.get(key) in (None, "")]
    # sorted() is stable in both directions, so ties keep the order the report gave them.
    return sorted(present, key=lambda r: _key(kind, r[key]), reverse=descending) + empty


def sort_report(report: Report, sort: Sort) -> Report:
    """`report` with the table `sort` names sorted; a sentence when the page has no such column."""
    table = report.tables[0] if sort.table is None else next(
        (t for t in report.tables if t.name == sort.table), None)
    column = table and next((c for c in table.columns if c.key == sort.column), None)
    if column is None:
        raise BadRequest(f"This page has no column “{sort.param()}” to sort by.")
    tables = [dataclasses.replace(t, rows=sort_rows(t.rows, column.key, column.kind, sort.descending))
              if t is table else t for t in report.tables]
    return dataclasses.replace(report, tables=tables)


def table_sort(sort: Sort | None, report: Report, table: Table) -> tuple[str, bool] | None:
    """(column key, descending) when `table` is the one sorted, for its headings' arrows."""
    if sort is None:
        return None
    name = sort.table or report.tables[0].name
    return (sort.column, sort.descending) if name == table.name else None


def first_rows(report: Report, names, limit: int) -> tuple[Report, dict[str, int]]:
    """The report with each table of `names` cut to its first `limit` rows, for a page (its
    downloads keep every row): (the report, {table: how many rows it had} for those cut). A table
    of a thousand rows weighs hundreds of kilobytes and takes longer to draw than to compute."""
    more = {t.name: len(t.rows) for t in report.tables if t.name in names and len(t.rows) > limit}
    if not more:
        return report, more
    return dataclasses.replace(report, tables=[
        dataclasses.replace(t, title=f"{t.title}: the first {limit} of {more[t.name]:,}", rows=t.rows[:limit])
        if t.name in more else t for t in report.tables]), more
