"""The links a report page offers: sort a heading, download a table, open what a cell names.

Built once per rendered page from the report's applied filters (not the raw URL), so a cached
page body is the same for every request that gives the same figures. Each target is offered only
where `may_open` says it opens for the signed-in user: a page never links to a 403.
"""

from __future__ import annotations

from urllib.parse import urlencode

from ctvdb.auth_web import may_open
from ctvdb.web.params import Sort, query_args
from ctvdb.web.queries import Report, Table

# Pages that take a period: a month in one of their tables opens the same page for that month.
PERIOD_PAGES = frozenset({"monthly_summary", "ae_dashboard", "management_performance"})
# The filters a link to another page carries along: the year, the measure, an ae's own AE.
CARRIED = ("year", "measure", "ae")


def _month_arg(month: int) -> str:
    return f"{month // 100}-{month % 100:02d}"


class Links:
    def __init__(self, report: Report, user, path: str, url_for, sort: Sort | None):
        self.report, self.user, self.path, self.sort = report, user, path, sort
        self.args = query_args(report.filters)
        self._base: tuple = (None, "")
        carried = {k: v for k, v in self.args.items() if k in CARRIED}
        if user is not None and user.ae:
            carried["ae"] = user.ae
        self._carried = carried
        qs = urlencode(carried)
        self.customer = ("/reports/customer/", f"?{qs}" if qs else "") \
            if may_open(user, "customer_detail", **({"ae": user.ae} if user and user.ae else {})) else None
        self._ae_page = url_for("ae_dashboard")
        self._revenue_page = url_for("customer_revenue")
        self._month_page = path if report.name in PERIOD_PAGES else url_for("monthly_summary")
        self._month_args = {k: v for k, v in (self.args if report.name in PERIOD_PAGES else carried).items()
                            if k not in ("year", "quarter", "period", "from", "to", "sort", "dir")}
        self._first_table = report.tables[0].name if report.tables else None

    def _here(self, **extra) -> str:
        if extra.keys() & self.args.keys():
            return f"{self.path}?{urlencode(self.args | extra)}"
        # The page's own arguments encoded once (again only if a view changed them), the link's
        # appended: a table's headings are a hundred links on a page.
        key = tuple(self.args.items())
        if key != self._base[0]:
            self._base = (key, f"{self.path}?{urlencode(self.args)}{'&' if self.args else ''}")
        return f"{self._base[1]}{urlencode(extra)}"

    def sorted_by(self, table: Table) -> tuple[str, bool] | None:
        if self.sort is None:
            return None
        name = self.sort.table or self._first_table
        return (self.sort.column, self.sort.descending) if name == table.name else None

    def sort_href(self, table: Table, column, current: tuple[str, bool] | None) -> str:
        """The heading's link: the other direction when it is the sorted column, else names
        A to Z and figures largest first, as a person looks for them."""
        if current and current[0] == column.key:
            descending = not current[1]
        else:
            descending = column.kind not in ("text", "customer", "ae", "sector", "month", "date", "id")
        param = column.key if table.name == self._first_table else f"{table.name}.{column.key}"
        return self._here(sort=param, dir="desc" if descending else "asc")

    def download(self, table: Table) -> str:
        return self._here(format="csv", table=table.name)

    def ae(self, name) -> str | None:
        if not name or not may_open(self.user, "ae_dashboard", ae=name):
            return None
        return f"{self._ae_page}?{urlencode(self._carried | {'ae': name})}"

    def sector(self, code) -> str | None:
        if not code:
            return None
        return f"{self._revenue_page}?{urlencode(self._carried | {'sector': code})}"

    def agency(self, name) -> str | None:
        """An agency's customers: the customer revenue report searched for the agency's name."""
        if not name or not may_open(self.user, "customer_revenue", **({"ae": self.user.ae} if self.user and self.user.ae else {})):
            return None
        return f"{self._revenue_page}?{urlencode(self._carried | {'q': name})}"

    def month(self, month) -> str | None:
        if not isinstance(month, int):
            return None
        return f"{self._month_page}?{urlencode(self._month_args | {'from': _month_arg(month), 'to': _month_arg(month)})}"
