"""Views that live outside app.py, by the endpoint of their URL-map rule (STYLE.md)."""

from ctvdb.web.views import business, daily, pace, planning, signals, workbench
from ctvdb.web.views import rate_pages, rate_trends, rates   # issue 14
from ctvdb.web.views import api, tokens   # issue 16
from ctvdb.web.views import accounts   # issue 15

VIEWS = {name: getattr(workbench, name) for name in (
    "customer_list", "customer_merge", "customer_review", "customer_review_decide", "customer_changes", "customer_undo",
    "customer_stale", "customer_stale_deactivate", "customer_sectors", "customer_sectors_edit",
    "customer_sectors_assign", "customer_edit", "customer_edit_save", "customer_agencies", "customer_agencies_edit")}
VIEWS |= {"new_business": business.new_business}   # issue 13, new and changed business
VIEWS |= {name: getattr(signals, name) for name in ("signals", "signals_decide")}
VIEWS |= {"booking_pace": pace.booking_pace}   # issue 13, booking pace
VIEWS |= {name: getattr(planning, name) for name in (
    "planning_grid", "planning_history", "planning_budgets", "planning_forecasts")}
VIEWS |= {"me": daily.me, "manager": daily.manager}   # issue 13, the daily pages
VIEWS |= {"rates": rates.rates}   # issue 14, rate analysis
VIEWS |= {name: getattr(rate_pages, name) for name in ("rates_customers", "rates_lengths")}   # issue 14
VIEWS |= {"rates_trends": rate_trends.rates_trends}   # issue 14, rate trends
VIEWS |= {name: getattr(api, name) for name in (   # issue 16, the API and its guide
    "api_guide", "api_meta", "api_report", "api_revenue_sheet", "api_planning", "api_openapi")}
VIEWS |= {"admin_tokens": tokens.admin_tokens}   # issue 16, the API tokens page
VIEWS |= {name: getattr(accounts, name) for name in (   # issue 15, accounts
    "account_list", "account_filters", "account_assign", "account_follow_ups", "account_customer", "account_agency",
    "account_customer_edit", "account_agency_edit", "account_import", "account_import_plan", "account_import_confirm",
    "account_duplicates", "account_merge")}
