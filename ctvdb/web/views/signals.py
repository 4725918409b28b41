"""The account signals page (issue 13) and its snooze and dismiss forms.

The page is a report (cached by the data version, sortable, with its downloads); its body is
cached per role and AE with a stand-in for the forms' CSRF token, which each request fills in. An ae user sees only their own AE's
signals (auth_web.AE_FILTERED_ENDPOINTS) and may act only on those (ctvdb/signal_states.py checks
the AE). A write takes the workbench's four steps: check the form, call one function of
signal_states on a connection of this request's own, redirect (303) to the page with the change,
or a 409 page with the refusal's sentence; nothing was changed.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from urllib.parse import urlencode

from werkzeug.exceptions import BadRequest, Conflict
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from ctvdb import auth_web, changes, db, signal_states
from ctvdb.signals import SIGNALS, WORDS
from ctvdb.web import links as links_module
from ctvdb.web import cache, params, sorting
from ctvdb.web.queries import Column, current_month, describe
from ctvdb.web.queries import signals as queries

ACTIONS = Column("actions", "Snooze or dismiss", "actions")
CSRF_STAND_IN = "csrf-token-of-the-request"   # no real token looks like it (they are hex)
# Each signal's table on the page shows its largest this many (every row with `rows=all`; the
# downloads always hold every row): a page of hundreds of rows with two forms each weighs
# half a megabyte, and nobody works down more than the first screens of it.
PAGE_ROWS = 50
DECIDERS = frozenset({"admin", "management", "ae"})


def _choices(args) -> tuple[str | None, str]:
    """The page's own arguments: which signal (all when none) and whether to show hidden ones."""
    signal = (args.get("signal") or "").strip() or None
    if signal is not None and signal not in SIGNALS:
        names = ", ".join(WORDS[s].lower() for s in SIGNALS)
        raise BadRequest(f"“{signal[:40]}” is not a signal (the signals are {names}).")
    show = (args.get("show") or "open").strip()
    if show not in queries.SHOW_WORDS:
        raise BadRequest("Show either the signals not snoozed or dismissed, or all of them.")
    return signal, show


def signals(app, request: Request) -> Response:
    filters, fmt = params.parse_filters(request.args), params.parse_format(request.args)
    sort = params.parse_sort(request.args)
    signal, show = _choices(request.args)
    report, key = app.report(request, queries.signals, filters, signal, show)
    if sort is not None:
        report = sorting.sort_report(report, sort)
    if fmt != "html":
        return app.render_report(request, report, key, fmt)
    user = request.principal
    may_decide = user is not None and user.role in DECIDERS
    if may_decide:   # the forms' column, on the page only: the downloads keep the figures
        report = _with_forms(report)
    every = request.args.get("rows") == "all"
    report, more = (report, {}) if every else sorting.first_rows(report, SIGNALS, PAGE_ROWS)
    links = links_module.Links(report, user, request.path, app.url_for, sort)
    links.args.update({k: v for k, v in (("signal", signal), ("show", show if show != "open" else None)) if v})
    conn = app.connection(request)
    message = _done(conn, request)

    def draw(token: str, said: str | None) -> str:
        return app.jinja.get_template("signals.html").render(
            r=report, user=user, links=links, current_month=current_month(key[-1]), csrf_token=token,
            message=said, tomorrow=(key[-1] + timedelta(days=1)).isoformat(), back=links.args, more=more,
            every_url=request.path + "?" + urlencode({**request.args.to_dict(), "rows": "all"}))
    if message:   # right after a decision: that person's line, drawn for them alone
        body = draw(user.csrf_token, message)
    else:
        # The page is the same for everyone of a role and AE but for the forms' CSRF token: it is
        # drawn once with a stand-in, and each request puts its own session's token in.
        cached = cache.REPORTS.get_or_compute(
            key + ("html", sort, every, user.role, user.ae), app.config.report_cache_seconds,
            lambda: draw(CSRF_STAND_IN, None))
        body = cached.replace(CSRF_STAND_IN, user.csrf_token)
    response = app.page(request, "signals", body, title="Account signals", downloads=True, about=describe(report))
    response.headers["Cache-Control"] = "no-store"   # a page with forms is drawn fresh every time
    return response


def _with_forms(report):
    tables = [dataclasses.replace(t, columns=t.columns + [ACTIONS]) if t.name in SIGNALS else t
              for t in report.tables]
    return dataclasses.replace(report, tables=tables)


def _done(conn, request: Request) -> str | None:
    """The line saying what the POST before the redirect did: only to the person who did it (a
    change id in the address must not show an ae another AE's account)."""
    text = request.args.get("change", "")
    change = changes.get(conn, int(text)) if text.isdigit() and len(text) < 19 else None
    if change is None or change.object_type != "signal" or change.actor != request.principal.user.email:
        return None
    return f"{change.summary}."


def signals_decide(app, request: Request) -> Response:
    """Snooze, dismiss or show again one signal of one customer or agency."""
    auth_web.check_form(app.config, request, request.principal)
    form, user = request.form, request.principal
    action = form.get("action")
    try:
        k = signal_states.key(form.get("object_type", ""), form.get("object_id", ""), form.get("signal", ""))
    except signal_states.SignalError as exc:
        raise Conflict(str(exc)) from None
    version, run = _int(form, "version"), _int(form, "run")
    writes = {
        "snooze": lambda conn, actor: signal_states.snooze(conn, actor, k, form.get("until", ""), app.today(),
                                                          version=version, run=run, ae=user.ae),
        "dismiss": lambda conn, actor: signal_states.dismiss(conn, actor, k, form.get("reason", ""),
                                                            version=version, run=run, ae=user.ae),
        "reopen": lambda conn, actor: signal_states.reopen(conn, actor, k, version=version, ae=user.ae),
    }
    if action not in writes:
        raise BadRequest("The signal form does not know that action.")
    conn = db.connect(app.config.database_path)
    try:
        change_id = writes[action](conn, user.user.email)
    except signal_states.SignalError as exc:
        raise Conflict(str(exc)) from None
    finally:
        conn.close()
    # Back to the page as it was filtered: only values the page takes, so the redirect never fails.
    back = {"signal": form.get("back_signal") if form.get("back_signal") in SIGNALS else None,
            "show": form.get("back_show") if form.get("back_show") == "all" else None,
            "ae": user.ae or " ".join(form.get("back_ae", "").split())[:100].upper() or None}
    back = {k: v for k, v in back.items() if v}
    return redirect(f"/reports/signals?{urlencode(back | {'change': change_id})}", 303)


def _int(form, name: str) -> int:
    try:
        return int(form.get(name, ""))
    except ValueError:
        raise BadRequest(f"The form is missing its {name}; reload the page and try again.") from None
