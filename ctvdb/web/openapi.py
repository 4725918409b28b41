"""The OpenAPI 3.1 description of /api/v1/ (issue 16), served at /api/v1/openapi.json.

Written out by hand, next to the views it describes (web/views/api.py): the fixed answers (meta,
the revenue sheet's rows, planning's rows, errors) with every field required and no other allowed,
so tests/test_api.py, which checks each endpoint's answers against these schemas, fails when a
field is added, dropped or retyped without this document.
"""

from __future__ import annotations

VERSION = "1.0.0"

_NUMBER = {"type": "number"}
_MAYBE_NUMBER = {"type": ["number", "null"]}
_TEXT = {"type": "string"}
_MONTH = {"type": "string", "pattern": r"^\d{4}-\d{2}$", "description": "a broadcast month, YYYY-MM"}


def _object(properties: dict, description: str = "") -> dict:
    out = {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}
    return {"description": description, **out} if description else out


SHEET_FIELDS = {
    "month": _MONTH,
    "status": {"type": "string", "enum": ["OPEN", "CLOSED"], "description": "the month's state (monthly close)"},
    "customer_id": {"type": "integer"},
    "customer": _TEXT,
    "agency": {"type": "string", "description": "the agency chain, empty for a direct customer"},
    "sector": {"type": "string", "description": "the customer's sector, or Unassigned"},
    "ae": {"type": "string", "description": "the AE key: trimmed, upper-cased sales person"},
    "revenue_type": _TEXT,
    "market": {"type": "string", "description": "the market code, empty when the spots have none"},
    "language_group": {"type": "string", "description": "Chinese, Vietnamese, … ; Other for no or an unknown code"},
    "spots": {"type": "integer"},
    "gross": _NUMBER,
    "net": _NUMBER,
}

PLANNING_FIELDS = {
    "ae": _TEXT, "month": _MONTH, "status": {"type": "string", "enum": ["OPEN", "CLOSED"]},
    "booked": _NUMBER, "last_year": _NUMBER, "change": _NUMBER, "change_pct": _MAYBE_NUMBER,
    "budget": _MAYBE_NUMBER, "variance": _MAYBE_NUMBER,
    "pacing": {"type": ["number", "null"], "description": "pace: booked as a % of budget (months with a budget)"},
    "forecast": _MAYBE_NUMBER, "still_to_book": _MAYBE_NUMBER,
}

SCHEMAS = {
    "Error": _object({"error": {"type": "string", "description": "one sentence saying what is wrong"}}),
    "Meta": _object({
        "data_version": {"type": "array", "items": {"type": "integer"},
                         "description": "changes whenever any figure can: imports, closes, loads, workbench, plans"},
        "last_import": {"oneOf": [{"type": "null"}, _object({
            "id": {"type": "integer"}, "finished_at": {"type": "string", "description": "ISO UTC"},
            "finished_at_pacific": _TEXT, "mode": {"type": "string", "enum": ["daily", "historical", "manual"]}})]},
        "stale": {"type": "boolean", "description": "the last completed import is older than stale_after_hours"},
        "stale_after_hours": _NUMBER,
        "token": _object({"name": _TEXT, "scope": {"type": "string", "enum": ["reports", "planning", "accounts"]},
                          "ae": {"type": ["string", "null"]}, "expires_at": {"type": ["string", "null"]}}),
    }),
    "SheetRow": _object(SHEET_FIELDS),
    "RevenueSheet": _object({
        "filters": _object({"from": _MONTH, "to": _MONTH, "ae": {"type": ["string", "null"]}}),
        "data_version": {"type": "array", "items": {"type": "integer"}},
        "columns": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"$ref": "#/components/schemas/SheetRow"}},
    }),
    "PlanningRow": _object(PLANNING_FIELDS),
    "Planning": _object({
        "year": {"type": "integer"},
        "filters": {"type": "object"},
        "data_version": {"type": "array", "items": {"type": "integer"}},
        "columns": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"$ref": "#/components/schemas/PlanningRow"}},
    }),
    "Column": _object({"key": _TEXT, "label": _TEXT, "kind": _TEXT}),
    "Table": _object({
        "title": _TEXT,
        "columns": {"type": "array", "items": {"$ref": "#/components/schemas/Column"}},
        "rows": {"type": "array", "items": {"type": "object", "description": "values by column key"}},
        "totals": {"type": ["object", "null"]},
    }),
    "Report": _object({
        "report": _TEXT,
        "filters": {"type": "object", "description": "the filters as applied, defaults resolved"},
        "data_version": {"type": "array", "items": {"type": "integer"}},
        "tables": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Table"}},
    }, "a report page's tables, as its JSON download holds them"),
}


def _param(name: str, description: str, schema: dict | None = None, where: str = "query",
           required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "description": description,
            "schema": schema or {"type": "string"}}


FORMAT = _param("format", "json (the default) or csv", {"type": "string", "enum": ["json", "csv"], "default": "json"})
PERIOD = [
    _param("year", "a year, e.g. 2026 (default: this year)", {"type": "integer"}),
    _param("from", "the first month of a range, 2026-01 or Jan-26"),
    _param("to", "the last month of a range"),
    _param("period", "month, qtd, ytd or q1 … q4, as the pages take it"),
]
AE = _param("ae", "one AE's figures (a token with an AE always gets its own)")


def _error(description: str, headers: dict | None = None) -> dict:
    out = {"description": description,
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {**out, "headers": headers} if headers else out


RESPONSES = {
    "304": {"description": "Not modified: the If-None-Match ETag is the answer's"},
    "400": _error("A bad argument"),
    "401": _error("No token, or not a live one", {"WWW-Authenticate": {"schema": {"type": "string"}}}),
    "403": _error("Outside the token's scope, or another AE's figures"),
    "429": _error("Past the token's rate limit", {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}}),
}


def _ok(schema: str, description: str, csv: bool = True) -> dict:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    if csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    return {"description": description, "headers": {"ETag": {"schema": {"type": "string"}}}, "content": content}


def _get(operation: str, summary: str, parameters: list, ok: dict, scope: str | None) -> dict:
    return {"get": {
        "operationId": operation, "summary": summary, "parameters": parameters,
        "description": f"Needs a token of scope {scope}." if scope else "Any live token.",
        "responses": {"200": ok, **{code: RESPONSES[code] for code in ("304", "400", "401", "403", "429")}},
    }}


def document(reports: tuple[str, ...]) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "ctvdb booked business", "version": VERSION,
                 "description": "Read-only figures of the booked-business database, for Excel's Power Query and"
                                " scripts. Send `Authorization: Bearer <token>`; see /api/ for how to get one."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/meta": _get("meta", "When the data is from", [],
                                 _ok("Meta", "The data version and the last import", csv=False), None),
            "/api/v1/revenue/sheet": _get(
                "revenue_sheet", "The flat revenue sheet a workbook pivots", [FORMAT, *PERIOD, AE],
                _ok("RevenueSheet", "One row per month × customer × agency × AE × revenue type × market × language"
                                    " group × sector, streamed"), "reports"),
            "/api/v1/planning": _get(
                "planning", "AE × month: booked, budget, forecast, last year, pace", [FORMAT, PERIOD[0], AE],
                _ok("Planning", "One row per AE and month of the year"), "planning"),
            "/api/v1/reports/{name}": _get(
                "report", "A report page's figures, with the page's filters",
                [_param("name", "the report", {"type": "string", "enum": list(reports)}, "path", True), FORMAT,
                 *PERIOD, AE,
                 _param("table", "format=csv: the table to give (default the first)"),
                 _param("customer", "customer_detail: the customer's id", {"type": "integer"}),
                 _param("measure", "gross or net", {"type": "string", "enum": ["gross", "net"]})],
                _ok("Report", "The report's tables (CSV: one table)"), "reports"),
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "a token from `ctvdb tokens add` or /admin/tokens"}},
        },
    }
