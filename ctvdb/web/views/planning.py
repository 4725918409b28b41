"""The planning pages (issue 13): the year grid of budgets and forecasts with its edit and paste
forms, and the history of the cells.

The grid is a report (its tables download as CSV, XLSX, JSON) drawn with inputs where the user
may edit. Its body is cached like a report page's, per role and AE; the forms that carry the
user's CSRF token are drawn fresh on every request and named by the cached inputs (`form=`), so
a cached body never holds a token. A save takes four steps: check the form, parse its cells, call
ctvdb/planning.py on a connection of its own, redirect (303) saying what was saved. Bad input is
a 400 page with planning's sentence (nothing saved); cells another person changed since the page
was drawn are a 409 page naming them (the others were saved).
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from werkzeug.exceptions import BadRequest, Conflict, Forbidden
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from ctvdb import auth_web, db, planning
from ctvdb.web import cache, links, params, sorting
from ctvdb.web.queries import current_month, describe
from ctvdb.web.queries import planning as queries

TITLES = {"planning_grid": "Planning", "planning_history": "Planning history"}


class _HistoryLinks(links.Links):
    """The history page's sort and download links keep its kind, month and day."""

    def __init__(self, report, *args):
        super().__init__(report, *args)
        f = report.filters
        self.args |= {"kind": f["kind"], "month": f"{f['month'] // 100}-{f['month'] % 100:02d}", "as_of": f["as_of"]}


def _report(app, request: Request, query, *args):
    """(report, cache key, format): as App.report_page, sorted when asked."""
    filters, fmt, sort = params.parse_filters(request.args), params.parse_format(request.args), \
        params.parse_sort(request.args)
    report, key = app.report(request, query, filters, *args)
    if sort is not None:
        unsorted, key = report, key[:-1] + (sort, key[-1])
        report = cache.REPORTS.get_or_compute(key, app.config.report_cache_seconds,
                                              lambda: sorting.sort_report(unsorted, sort))
    return report, key, fmt


def _render(app, request: Request, report, key, fmt: str, template: str, link_class=links.Links,
            fresh: str = "") -> Response:
    if fmt != "html":
        return app.render_report(request, report, key, fmt)
    user = request.principal
    body = cache.REPORTS.get_or_compute(
        key + ("html", user and user.role, user and user.ae), app.config.report_cache_seconds,
        lambda: app.jinja.get_template(template).render(
            r=report, user=user, current_month=current_month(key[-1]),
            links=link_class(report, user, request.path, app.url_for, params.parse_sort(request.args))))
    response = app.page(request, report.name, fresh + body, title=TITLES[report.name], downloads=True,
                        about=describe(report))
    response.headers["Cache-Control"] = "no-store"   # a page with forms is drawn fresh every time
    return response


def planning_grid(app, request: Request) -> Response:
    report, key, fmt = _report(app, request, queries.planning_grid)
    fresh = "" if fmt != "html" else app.jinja.get_template("planning/forms.html").render(
        r=report, user=request.principal, csrf_token=request.principal.csrf_token, message=_done(request))
    return _render(app, request, report, key, fmt, "planning/grid.html", fresh=fresh)


def _done(request: Request) -> str | None:
    """The line saying what the save before the redirect did: `done=forecast:3`."""
    kind, _, count = request.args.get("done", "").partition(":")
    if kind not in planning.KINDS or not count.isdigit():
        return None
    return planning.Outcome(kind, int(count), []).sentence()


def planning_history(app, request: Request) -> Response:
    kind = request.args.get("kind") or "forecast"
    if kind not in planning.KINDS:
        raise BadRequest(f"The history is of budgets or forecasts, not “{kind[:20]}”.")
    month_text = (request.args.get("month") or "").strip()
    month = params.parse_month(month_text, "history") if month_text else current_month(app.today())
    day_text = (request.args.get("as_of") or "").strip()
    try:
        as_of = date.fromisoformat(day_text) if day_text else app.today()
    except ValueError:
        raise BadRequest(f"The day “{day_text[:20]}” is not a date like 2027-02-01.") from None
    report, key, fmt = _report(app, request, queries.planning_history, kind, month, as_of)
    return _render(app, request, report, key, fmt, "planning/history.html", link_class=_HistoryLinks)


# Saving ----------------------------------------------------------------------------------------

def planning_budgets(app, request: Request) -> Response:
    return _save(app, request, "budget")


def planning_forecasts(app, request: Request) -> Response:
    return _save(app, request, "forecast")


def _save(app, request: Request, kind: str) -> Response:
    user = request.principal
    auth_web.check_form(app.config, request, user)
    form = request.form
    year = form.get("year", "")
    if not (year.isdigit() and 2000 <= int(year) <= 2099):
        raise BadRequest("The form is missing its year; reload the page and try again.")
    year, action = int(year), form.get("action")
    try:
        if action == "grid":
            edits, how, since = _grid_edits(form, kind, year), "web", None
        elif action == "paste":
            since = form.get("since", "")
            if not since.isdigit():
                raise BadRequest("The paste form is missing the moment its page was drawn; reload the page.")
            edits, how, since = planning.parse_paste(form.get("paste", ""), kind, year), "paste", int(since)
        else:
            raise BadRequest("The planning form does not know that action.")
        if user.ae and any(e.ae != user.ae for e in edits):
            other = next(e for e in edits if e.ae != user.ae)
            raise Forbidden(f"{auth_web.NOT_OWN_FORECAST} ({user.ae}): the form has a cell for {other.ae};"
                            " nothing was saved.")
        conn = db.connect(app.config.database_path)
        try:
            outcome = planning.save(conn, user.user.email, kind, edits, how, since)
        finally:
            conn.close()
    except planning.PlanError as exc:
        raise BadRequest(f"{exc}; nothing was saved.") from None
    if outcome.refused:
        raise Conflict(outcome.sentence())
    back = {"year": year, "ae": form.get("ae") or user.ae, "done": f"{kind}:{outcome.saved}"}
    return redirect(f"{app.url_for('planning_grid')}?{urlencode({k: v for k, v in back.items() if v})}", 303)


def _grid_edits(form, kind: str, year: int) -> list[planning.Edit]:
    """The grid's cells: `cell:YYYYMM:AE` holds the amount typed, `drawn:YYYYMM:AE` the amount the
    page showed (blank: none)."""
    edits = []
    for name, value in form.items():
        if not name.startswith("cell:"):
            continue
        _, month_text, ae = name.split(":", 2) if name.count(":") >= 2 else (name, "", "")
        month = int(month_text) if month_text.isdigit() else 0
        if month // 100 != year or not 1 <= month % 100 <= 12:
            raise planning.PlanError(f"{kind.title()} for {ae or 'no AE'}: “{month_text[:10]}” is not a month of {year}")
        words = planning.cell_words(kind, ae, month)
        drawn = form.get(f"drawn:{month_text}:{ae}")
        if drawn is None:
            raise BadRequest(f"The form lacks what the page showed for {words}; reload the page and try again.")
        edits.append(planning.Edit(planning.ae_key(ae), month, planning.parse_amount(value, words),
                                   planning.parse_amount(drawn, words)))
    if not edits:
        raise BadRequest(f"The form holds no {kind}; reload the page and try again.")
    return edits
