"""Every SELECT the web side runs. Each report function takes a read-only connection and the
parsed `Filters` and returns a `Report`: the tables a page, a CSV, an XLSX and a JSON download
all show, so the four can never disagree. A report's function has its endpoint's name.

Revenue reports read the summary tables (`ctvdb.summaries`); customer detail, imports and the
review queue read the base tables through their indexes.
"""

from ctvdb.web.queries.base import (
    PACE_WORDS, Column, Report, Table, current_month, data_version, describe, last_completed_import,
    pace_class, period_months, schema_version,
)
from ctvdb.web.queries.customers import customer_detail, sector_analysis
from ctvdb.web.queries.languages import language_review, market_analysis
from ctvdb.web.queries.operations import (
    ae_month_totals, customer_bill_codes, customer_keys, imports, sector_lookup,
)
from ctvdb.web.queries.revenue import (
    ae_dashboard, customer_revenue, index, management_performance, monthly_summary,
)

__all__ = [
    "PACE_WORDS", "Column", "Report", "Table", "current_month", "data_version", "describe",
    "pace_class", "period_months", "last_completed_import", "schema_version",
    "monthly_summary", "customer_revenue", "ae_dashboard", "market_analysis", "sector_analysis",
    "customer_detail", "management_performance", "index", "imports", "language_review",
    "customer_keys", "sector_lookup", "customer_bill_codes", "ae_month_totals",
]
