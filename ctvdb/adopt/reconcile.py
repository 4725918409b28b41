"""The proof: the source's figures and ctvdb's after adopt, side by side, in integer cents.

Compared per broadcast month (spots, gross, net, from the spots and from the summary the
reports read), per customer after the source's identity decisions, and per AE and year; and
the counts of each kind of record brought (`KindReport`s). The source side is read from the
source's own rows with SQL (each amount rounded to the cent, then added), the ctvdb side from
the target's; any difference makes adopt fail, so the target is never left holding figures
that are not the source's. Trade spots are left out on both sides (ctvdb never stores them,
and the source's reports exclude them).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from ctvdb import codes
from ctvdb.adopt.identity import Identity
from ctvdb.adopt.model import KindReport

_NOT_TRADE = "(revenue_type IS NULL OR upper(trim(revenue_type)) <> 'TRADE')"
_CENTS = "sum(CAST(round(coalesce({0}, 0) * 100) AS INTEGER))"
_FIGURES = f"count(*), {_CENTS.format('gross_rate')}, {_CENTS.format('station_net')}"


@dataclass
class Reconciliation:
    months: list[dict] = field(default_factory=list)
    customers: dict = field(default_factory=dict)
    aes: dict = field(default_factory=dict)
    kinds: list[KindReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def unequal(self) -> list[str]:
        """One sentence per difference found (empty: everything equal)."""
        found = [f"{m['month']}: source {_say(m['source'])}, ctvdb {_say(m['ctvdb'])}"
                 for m in self.months if not m["equal"]]
        found += [f"customer {c['customer_id']}: source {_say(c['source'])}, ctvdb {_say(c['ctvdb'])}"
                  for c in self.customers.get("unequal", [])]
        found += [f"AE {a['ae']} {a['year']}: source {_say(a['source'])}, ctvdb {_say(a['ctvdb'])}"
                  for a in self.aes.get("unequal", [])]
        return found

    @property
    def ok(self) -> bool:
        return not self.unequal

    def as_dict(self) -> dict:
        return {"equal": self.ok, "months": self.months, "customers": self.customers, "aes": self.aes,
                "kinds": [kind.as_dict() for kind in self.kinds], "notes": self.notes,
                "differences": self.unequal}


def _say(figures: dict | None) -> str:
    if not figures:
        return "nothing"
    return f"{figures['spots']:,} spots, gross {figures['gross']:,.2f}, net {figures['net']:,.2f}"


def _figures(spots: int, gross_cents: int, net_cents: int) -> dict:
    return {"spots": spots, "gross_cents": gross_cents or 0, "net_cents": net_cents or 0,
            "gross": (gross_cents or 0) / 100, "net": (net_cents or 0) / 100}


def _same(a: dict | None, b: dict | None) -> bool:
    key = ("spots", "gross_cents", "net_cents")
    return (a and tuple(a[k] for k in key)) == (b and tuple(b[k] for k in key))


def _add(into: dict, key, spots: int, gross: int, net: int) -> None:
    old = into.get(key, (0, 0, 0))
    into[key] = (old[0] + spots, old[1] + (gross or 0), old[2] + (net or 0))


def reconcile(src: sqlite3.Connection, dst: sqlite3.Connection, identity: Identity,
              kinds: list[KindReport]) -> Reconciliation:
    result = Reconciliation(kinds=list(kinds), notes=list(identity.notes))
    _months(src, dst, result)
    _customers(src, dst, identity, result)
    _aes(src, dst, result)
    return result


def _months(src, dst, result: Reconciliation) -> None:
    source: dict[int, tuple] = {}
    for label, spots, gross, net in src.execute(
            f"SELECT broadcast_month, {_FIGURES} FROM spots WHERE {_NOT_TRADE} GROUP BY broadcast_month"):
        _add(source, codes.parse_month_label(str(label)), spots, gross, net)
    target = {row[0]: row[1:] for row in dst.execute(
        f"SELECT broadcast_month, {_FIGURES} FROM spots GROUP BY broadcast_month")}
    # The summary the reports read: its spots, and its gross to the cent of the same total.
    summary = {row[0]: (row[1], row[2]) for row in dst.execute(
        "SELECT broadcast_month, sum(spots), CAST(round(total(gross) * 100) AS INTEGER)"
        " FROM customer_total_summary GROUP BY broadcast_month")}
    source_totals = {}
    for label, total in src.execute(f"SELECT broadcast_month, total(gross_rate) FROM spots WHERE {_NOT_TRADE}"
                                    " GROUP BY broadcast_month"):
        month = codes.parse_month_label(str(label))
        source_totals[month] = source_totals.get(month, 0.0) + total
    for month in sorted(set(source) | set(target)):
        a = _figures(*source[month]) if month in source else None
        b = _figures(*target[month]) if month in target else None
        in_summary = summary.get(month, (0, 0))
        summary_equal = (a is not None and in_summary[0] == a["spots"]
                         and in_summary[1] == round(source_totals.get(month, 0.0) * 100))
        result.months.append({"month": codes.month_label(month), "yyyymm": month, "source": a, "ctvdb": b,
                              "summary_spots": in_summary[0], "equal": _same(a, b) and summary_equal})


def _customers(src, dst, identity: Identity, result: Reconciliation) -> None:
    source: dict[int, tuple] = {}
    for raw, customer_id, spots, gross, net in src.execute(
            f"SELECT bill_code, customer_id, {_FIGURES} FROM spots WHERE {_NOT_TRADE} GROUP BY bill_code, customer_id"):
        code = codes.normalise_bill_code(str(raw).strip())
        _add(source, identity.customer_for(raw, customer_id, code), spots, gross, net)
    target = {row[0]: row[1:] for row in dst.execute(f"SELECT customer_id, {_FIGURES} FROM spots GROUP BY customer_id")}
    unequal = []
    for customer_id in sorted(set(source) | set(target)):
        a = _figures(*source[customer_id]) if customer_id in source else None
        b = _figures(*target[customer_id]) if customer_id in target else None
        if not _same(a, b):
            unequal.append({"customer_id": customer_id, "source": a, "ctvdb": b})
    result.customers = {"compared": len(set(source) | set(target)), "unequal": unequal}


def _aes(src, dst, result: Reconciliation) -> None:
    source: dict[tuple, tuple] = {}
    for person, label, spots, gross, net in src.execute(
            f"SELECT sales_person, broadcast_month, {_FIGURES} FROM spots WHERE {_NOT_TRADE}"
            " GROUP BY sales_person, broadcast_month"):
        year = codes.parse_month_label(str(label)) // 100
        _add(source, (codes.ae_key(str(person or "")), year), spots, gross, net)
    target: dict[tuple, tuple] = {}
    for ae, month, spots, gross, net in dst.execute(
            f"SELECT ae, broadcast_month, {_FIGURES} FROM spots GROUP BY ae, broadcast_month"):
        _add(target, (ae, month // 100), spots, gross, net)
    unequal = []
    for key in sorted(set(source) | set(target)):
        a = _figures(*source[key]) if key in source else None
        b = _figures(*target[key]) if key in target else None
        if not _same(a, b):
            unequal.append({"ae": key[0], "year": key[1], "source": a, "ctvdb": b})
    result.aes = {"compared": len(set(source) | set(target)), "unequal": unequal}


def summary_lines(result: Reconciliation) -> list[str]:
    """The readable summary the terminal shows."""
    lines = [f"{'month':<8} {'spots':>9} {'gross':>16} {'net':>16}  source = ctvdb"]
    for m in result.months:
        figures = m["ctvdb"] or m["source"] or _figures(0, 0, 0)
        lines.append(f"{m['month']:<8} {figures['spots']:>9,} {figures['gross']:>16,.2f} {figures['net']:>16,.2f}"
                     f"  {'equal' if m['equal'] else 'DIFFERENT'}")
    lines.append(f"customers compared: {result.customers.get('compared', 0):,}, different: "
                 f"{len(result.customers.get('unequal', [])):,}; AE-years compared: {result.aes.get('compared', 0):,},"
                 f" different: {len(result.aes.get('unequal', [])):,}")
    for kind in result.kinds:
        lines.append(f"{kind.kind}: {kind.brought:,} of {kind.in_source:,} brought"
                     + (f", {len(kind.not_brought):,} not brought" if kind.not_brought else ""))
        for table, source_id, reason in kind.not_brought[:5]:
            lines.append(f"    not brought: {table} {source_id}: {reason}")
        if len(kind.not_brought) > 5:
            lines.append(f"    … and {len(kind.not_brought) - 5:,} more (all in the report file)")
    lines.extend(f"note: {note}" for note in result.notes)
    return lines
