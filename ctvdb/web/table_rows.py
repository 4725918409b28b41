"""A report table's body rows as HTML, in Python.

The `table` macro (templates/_macros.html) calls this for its <tbody>: a big table is thousands
of cells, and the same cells written as a Jinja loop took half of a rates page's time to render
(40 ms of 90). It writes what the loop wrote: each value formatted by its column's kind with the
app's filters, every text escaped, the links `Links` offers for what a cell names.
"""

from __future__ import annotations

from numbers import Number

from markupsafe import Markup, escape


# The kinds whose filter writes a figure as Markup (no text of a person's in it).
_SAFE = frozenset({"money", "change", "pct", "pace", "change_pct", "int"})


def _get(row, key):
    try:
        return row[key]
    except (KeyError, IndexError):
        return None


def table_rows(filters: dict, numeric: frozenset, t, shown: list, links, current_month, caller=None) -> Markup:
    """The <tr> rows of table `t`'s columns `shown` (a caller renders an "actions" cell)."""
    money, change, pct, change_pct, integer, month_label, pacific, pace = (
        filters[name] for name in ("money", "change", "pct", "change_pct", "integer", "month_label", "pacific", "pace"))
    formats = {"money": money, "change": change, "pct": pct, "pace": pct, "change_pct": change_pct, "int": integer,
               "month": month_label, "datetime": pacific}
    month_key = next((c.key for c in shown if c.kind == "month"), None)
    columns = [(c.key, c.kind, c.kind in numeric, " minor" if c.minor else "", formats.get(c.kind)) for c in shown]
    customer = links.customer
    out = []
    for row in t.rows:
        if month_key and _get(row, month_key) == current_month:
            out.append('<tr class="current">')
        elif _get(row, "few"):
            out.append('<tr class="few">')
        else:
            out.append("<tr>")
        for i, (key, kind, is_num, minor, fmt) in enumerate(columns):
            v = _get(row, key)
            if i == 0:
                out.append('<th scope="row" class="first num">' if is_num else '<th scope="row" class="first">')
            elif is_num:
                extra = " neg" if isinstance(v, Number) and v < 0 else ""
                if kind == "pace" and isinstance(v, Number):
                    extra += " " + pace(v)
                out.append(f'<td class="num{extra}{minor}">')
            else:
                out.append(f'<td class="{minor}">')
            href = None
            if kind == "money":
                out.append(fmt(v))              # the figure filters give safe text (Markup)
            elif kind == "customer" and customer and _get(row, "customer_id"):
                href = f"{customer[0]}{_get(row, 'customer_id')}{customer[1]}"
            elif kind == "ae" and (href := links.ae(v)):
                pass
            elif kind == "sector" and (href := links.sector(_get(row, "sector_code"))):
                pass
            elif kind == "month" and (href := links.month(v)):
                v = month_label(v)
            elif kind == "agency" and (href := links.agency(v)):
                pass
            elif i == 0 and _get(row, "href"):
                href = _get(row, "href")
            elif kind == "actions" and caller is not None:
                out.append(caller(row))
            elif fmt is not None:
                out.append(fmt(v) if kind in _SAFE else escape(fmt(v)))
            else:
                out.append(escape("" if v is None else v))
            if href is not None:
                out.append(f'<a href="{escape(href)}">{escape(v)}</a>')
            out.append("</th>" if i == 0 else "</td>")
        out.append("</tr>\n")
    return Markup("".join(out))
