"""The accounts pages (issue 15): the list of every customer and agency, an account's page with
its forms, the follow-ups, the CSV import and the duplicates.

Reading: the list's rows and an account's page come from ctvdb/accounts_read.py through the report
cache, keyed by the data version (every write of an account is a change-log row, so a new version);
a body is cached per role and AE with a stand-in for the forms' CSRF token, which each request puts
its own in (as the signals page does). An ae sees every account's name and contacts, the revenue
and signals only of the accounts assigned to them (blank elsewhere, in the downloads too).

Writing takes the workbench's four steps: check the form (origin, CSRF), ask accounts.require
whether this user may do this to this account (a 403 with its sentence if not), call one function
of ctvdb/accounts.py on a connection of this request's own, and redirect (303) back with the
change's id, whose summary the page says. A refusal is a 409 (a stale form, a conflict) or 400 (bad
input) page with the sentence; nothing was saved. A contact's edit form carries the values it was
drawn with: fields someone changed since are refused by name (409), the others are saved.

The import keeps the uploaded file between the dry run and the confirmation in a hidden field of
the dry-run page (base64), with an HMAC of it under the user's CSRF token (so a confirmation is of
the file this session uploaded) and the digest of the dry run (so the import refuses to go on if
the accounts changed what it would do since).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, Conflict, Forbidden, NotFound
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from ctvdb import accounts, accounts_csv, accounts_duplicates, accounts_read, auth_web, changes, db, planning
from ctvdb.accounts import AccountError, Ref
from ctvdb.accounts_read import ListFilters
from ctvdb.signals import SIGNALS, WORDS
from ctvdb.web import cache, downloads
from ctvdb.web.queries import data_version

PAGE_ROWS = 100          # the list's first rows on the page (every row with `rows=all`, and in downloads)
CSRF_STAND_IN = "csrf-token-of-the-request"
TITLES = {"account_list": "Accounts", "account_follow_ups": "Follow-ups", "account_import": "Import accounts",
          "account_duplicates": "Duplicate accounts"}
# The list's columns: key, heading, whether it is a figure, whether it sorts.
COLUMNS = [("name", "Account", False, True), ("type", "Type", False, True), ("ae", "AE", False, True),
           ("sector", "Sector", False, True), ("agency", "Agency", False, True),
           ("trailing", "Last 12 months", True, True), ("this_year", "This year", True, True),
           ("last_year", "Last year", True, True), ("change", "This year − last", True, True),
           ("signal_words", "Signals", False, False), ("next_follow_up", "Next follow-up", False, True),
           ("contacts", "Contacts", True, True)]
FIGURES = frozenset({"trailing", "this_year", "last_year", "change", "contacts"})
MANAGERS = frozenset({"admin", "management"})
FOLLOW_UP_DAYS = 14      # the follow-ups page: overdue and due within this many days, unless asked


# What every view shares --------------------------------------------------------------------

def _revenue_of(user) -> str | None:
    """Whose accounts' figures this user sees: None = every account's; an ae only their own."""
    if user.role != "ae":
        return None
    return planning.ae_key(user.user.ae) or ""


def _key(app, conn, *parts) -> tuple:
    return (str(app.config.database_path), data_version(conn), *parts, app.today())


def _cached(app, key, compute):
    return cache.REPORTS.get_or_compute(key, app.config.report_cache_seconds, compute)


def _page(app, request: Request, endpoint: str, body: str, title: str | None = None, status: int = 200) -> Response:
    response = app.page(request, endpoint, body, title=title or TITLES[endpoint], status=status)
    response.headers["Cache-Control"] = "no-store"   # a page with forms is drawn fresh every time
    return response


def _render(app, template: str, **context) -> str:
    return app.jinja.get_template(f"accounts/{template}.html").render(**context)


def _done(conn, request: Request) -> str | None:
    """The line saying what the POST before the redirect did, to the person who did it only."""
    text = request.args.get("change", "")
    change = changes.get(conn, int(text)) if text.isdigit() and len(text) < 19 else None
    if change is None or change.actor != request.principal.user.email:
        return None
    more = request.args.get("more", "")
    return f"{change.summary}" + (f", and {int(more):,} more." if more.isdigit() and int(more) else ".")


def _write(app, request: Request, write):
    """Run one write of ctvdb/accounts.py on a connection of this request's own."""
    conn = db.connect(app.config.database_path)
    try:
        return write(conn, request.principal.user.email)
    except AccountError as exc:
        raise (BadRequest if _bad_input(str(exc)) else Conflict)(str(exc)) from None
    except changes.ChangeError as exc:
        raise Conflict(str(exc)) from None
    finally:
        conn.close()


def _bad_input(sentence: str) -> bool:
    """A refusal of what was typed ("Email: … is not an email address") rather than of the state
    of the data (a stale form, a merged account): its sentence starts with the field's name."""
    return any(sentence.startswith(f"{words}:") for words in accounts.FIELD_WORDS.values())


def _require(app, request: Request, account: Ref, action: str) -> None:
    user = request.principal
    conn = app.connection(request)
    try:
        accounts.require(conn, user.role, user.user.ae if user.role == "ae" else None, account, action, app.today())
    except AccountError as exc:
        raise Forbidden(str(exc)) from None


def _int(form, name: str) -> int:
    try:
        return int(form.get(name, ""))
    except ValueError:
        raise BadRequest(f"The form is missing its {name.replace('_', ' ')}; reload the page and try again.") from None


def _filters(args) -> ListFilters:
    try:
        return ListFilters.from_query(args)
    except AccountError as exc:
        raise BadRequest(str(exc)) from None


def _query(filters: ListFilters) -> str:
    return urlencode(filters.as_query())


def _json(value) -> Response:
    return Response(json.dumps(value, ensure_ascii=False, default=str), mimetype="application/json")


def _fill(body: str, user) -> str:
    return body.replace(CSRF_STAND_IN, user.csrf_token)


# The list ----------------------------------------------------------------------------------

def account_list(app, request: Request) -> Response:
    filters, user = _filters(request.args), request.principal
    fmt = (request.args.get("format") or "html").strip().lower()
    if fmt not in ("html", "csv", "xlsx", "json"):
        raise BadRequest(f"“{fmt[:20]}” is not a download (csv, xlsx or json).")
    revenue_of = _revenue_of(user)
    conn = app.connection(request)
    key = _key(app, conn, "account_list", filters, revenue_of)
    today = key[-1]
    rows = _cached(app, key, lambda: accounts_read.list_accounts(conn, today, filters, revenue_of,
                                                                 _revenue(app, conn, today), _extras(app, conn, today)))
    if fmt != "html":
        return _download(conn, request, today, filters, revenue_of, rows, fmt)
    every = request.args.get("rows") == "all"
    manager = user.role in MANAGERS
    body = _cached(app, key + ("html", every, user.role, revenue_of), lambda: _render(
        app, "list", rows=rows if every else rows[:PAGE_ROWS], total=len(rows), every=every, f=filters,
        headings=_headings(filters), choices=accounts_read.list_choices(conn), signals=[(s, WORDS[s]) for s in SIGNALS],
        query=_query(filters), manager=manager, aes=sorted(accounts.known_aes(conn)) if manager else [],
        today=today.isoformat(), csrf_token=CSRF_STAND_IN, user=user))
    fresh = _render(app, "saved", message=_done(conn, request), saved=accounts.saved_filters(conn, user.user.email),
                    query=_query(filters), csrf_token=user.csrf_token)
    return _page(app, request, "account_list", fresh + _fill(body, user))


def _revenue(app, conn, today) -> dict:
    """Every customer's revenue, kept across the data versions that cannot change it (an account's
    edits, a saved filter, a sector or budget load): only an import or a change to who a customer
    is computes it again."""
    windows = accounts_read.Windows.of(today)
    key = (str(app.config.database_path), "account_revenue", accounts_read.revenue_version(conn), windows)
    return _cached(app, key, lambda: accounts_read.revenue_by_customer(conn, today))


def _extras(app, conn, today) -> accounts_read.Extras:
    """The people-kept part of the list (assignments, contacts, follow-ups), kept across the
    data versions that cannot change it: an import, a reference load or a close writes none of it."""
    key = (str(app.config.database_path), "account_extras", accounts_read.extras_version(conn), today)
    return _cached(app, key, lambda: accounts_read.account_extras(conn, today))


def _headings(filters: ListFilters) -> list[dict]:
    """Each column's heading with its sort link: the other direction when it is the sorted one,
    else names A to Z and figures largest first (as the report pages' headings)."""
    base = {k: v for k, v in filters.as_query().items() if k not in ("sort", "dir")}
    out = []
    for key, label, figure, sorts in COLUMNS:
        current = filters.sort == key
        descending = (not filters.desc) if current else figure
        href = "/accounts/?" + urlencode(base | {"sort": key, "dir": "desc" if descending else "asc"}) if sorts else None
        out.append({"key": key, "label": label, "figure": figure, "href": href,
                    "sorted": ("descending" if filters.desc else "ascending") if current else None})
    return out


def _download(conn, request, today, filters, revenue_of, rows, fmt) -> Response:
    name = "accounts" + "".join(f"-{v}" for k, v in filters.as_query().items() if k in ("type", "ae", "sector", "signal"))
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:80]
    if fmt == "json":
        return _json({"filters": filters.as_query(), "accounts": rows})
    if fmt == "xlsx":
        body, filename = accounts_csv.export_xlsx(conn, today, filters, revenue_of, rows), f"{name}.xlsx"
    elif request.args.get("table") == "contacts":
        body, filename = accounts_csv.export_contacts(conn, today, filters, rows), f"{name}-contacts.csv"
    else:
        body, filename = accounts_csv.export_accounts(conn, today, filters, revenue_of, rows), f"{name}.csv"
    response = Response(body, mimetype=downloads.MIME[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def account_filters(app, request: Request) -> Response:
    """Save the list's current filters under a name, or delete a saved filter (one's own)."""
    user = request.principal
    auth_web.check_form(app.config, request, user)
    form, action = request.form, request.form.get("action")
    if action == "save":
        filters = _filters(MultiDict(_parse_query(form.get("query", ""))))
        query = _query(filters)
        filter_id = _write(app, request, lambda conn, actor: accounts.save_filter(conn, actor, form.get("name", ""),
                                                                                   query))
        return redirect(f"/accounts/?{query}{'&' if query else ''}saved={filter_id}", 303)
    if action == "delete":
        filter_id = _int(form, "filter_id")
        change_id = _write(app, request, lambda conn, actor: accounts.delete_filter(conn, actor, filter_id))
        return redirect(f"/accounts/?change={change_id}", 303)
    raise BadRequest("The saved-filter form does not know that action.")


def _parse_query(text: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl
    return parse_qsl(str(text or "").lstrip("?")[:2000])


def account_assign(app, request: Request) -> Response:
    """The list's bulk reassignment: the ticked accounts to one AE from a day on, in one transaction."""
    auth_web.check_form(app.config, request, request.principal)
    form = request.form
    try:
        chosen = [accounts.ref(v) for v in form.getlist("account")]
    except AccountError as exc:
        raise BadRequest(str(exc)) from None
    ids = _write(app, request, lambda conn, actor: accounts.assign(conn, actor, chosen, form.get("ae", ""),
                                                                    form.get("effective_from", ""), app.today()))
    back = _query(_filters(MultiDict(_parse_query(form.get("back", "")))))
    return redirect(f"/accounts/?{back}{'&' if back else ''}change={ids[0]}&more={len(ids) - 1}", 303)


# One account -------------------------------------------------------------------------------

def account_customer(app, request: Request, account_id: int) -> Response:
    return _account(app, request, Ref("customer", account_id))


def account_agency(app, request: Request, account_id: int) -> Response:
    return _account(app, request, Ref("agency", account_id))


def _url(account) -> str:
    account = accounts.ref(account)
    return f"/accounts/{account.type}/{account.id}"


def _account(app, request: Request, account: Ref) -> Response:
    user, conn = request.principal, app.connection(request)
    fmt = (request.args.get("format") or "html").strip().lower()
    key = _key(app, conn, "account_page", account)
    try:
        page = _cached(app, key, lambda: accounts_read.account_page(conn, account, key[-1]))
    except AccountError as exc:
        raise NotFound(str(exc)) from None
    if page["merged_into"]:
        return redirect(_url(page["merged_into"]), 302)
    user_ae = user.user.ae if user.role == "ae" else None
    may = {action: accounts.may(user.role, user_ae, action, page["ae"]) for action in accounts.ACTIONS}
    if not may["revenue"]:
        page = accounts_read.hide_revenue(page)
    if fmt == "json":
        return _json({k: v for k, v in page.items() if k != "members"} | {"members": page["members"]})
    if fmt != "html":
        raise BadRequest("An account page downloads as json only; the list downloads as CSV and XLSX.")
    report = None
    if account.type == "customer" and may["revenue"] and (
            user_ae is None or accounts_read.booked_by(conn, account.id, planning.ae_key(user_ae))):
        report = f"/reports/customer/{account.id}" + (f"?{urlencode({'ae': user.ae})}" if user.ae else "")
    body = _cached(app, key + ("html", user.role, planning.ae_key(user_ae) if user_ae else None, user.user.email), lambda: _render(
        app, "account", p=page, may=may, report=report, url=_url(account), csrf_token=CSRF_STAND_IN, user=user,
        years=accounts_read.month_grid(page["revenue"]["months"]),
        aes=sorted(accounts.known_aes(conn)) if may["manage"] or user.role != "ae" else [],
        me=user.user.email, my_ae=planning.ae_key(user_ae) if user_ae else None, today=key[-1].isoformat(),
        roles=accounts.CONTACT_ROLES, role_words=accounts.ROLE_WORDS, kinds=accounts.ACTIVITY_KINDS,
        address_kinds=accounts.ADDRESS_KINDS, when=changes.when, signal_words=WORDS))
    message = _render(app, "message", message=_done(conn, request))
    return _page(app, request, "account_list", message + _fill(body, user), title=page["label"])


def account_customer_edit(app, request: Request, account_id: int) -> Response:
    return _edit(app, request, Ref("customer", account_id))


def account_agency_edit(app, request: Request, account_id: int) -> Response:
    return _edit(app, request, Ref("agency", account_id))


# What each action of the account page needs of the user (accounts.may's actions).
EDIT_ACTIONS = {"add_contact": "edit", "edit_contact": "edit", "remove_contact": "edit", "add_address": "edit",
                "edit_address": "edit", "remove_address": "edit", "activity": "activity", "follow_up": "edit",
                "done": "edit", "terms": "manage", "assign": "manage", "deactivate": "manage",
                "reactivate": "manage"}


def _edit(app, request: Request, account: Ref) -> Response:
    user = request.principal
    auth_web.check_form(app.config, request, user)
    form, action = request.form, request.form.get("action", "")
    if action not in EDIT_ACTIONS:
        raise BadRequest("The account form does not know that action.")
    if not (action == "done" and _own_follow_up(app, request, _int(form, "follow_up_id"))):
        _require(app, request, account, EDIT_ACTIONS[action])
    today = app.today()
    if action in ("edit_contact", "remove_contact"):
        _belongs(app, request, account, "contact", _int(form, "contact_id"))
    elif action in ("edit_address", "remove_address"):
        _belongs(app, request, account, "address", _int(form, "address_id"))
    elif action == "done":
        _belongs(app, request, account, "follow_up", _int(form, "follow_up_id"))
    contact_fields = {f: form.get(f, "") for f in accounts.CONTACT_FIELDS}
    address_fields = {f: form.get(f, "") for f in accounts.ADDRESS_FIELDS}
    owner = planning.ae_key(user.user.ae) if user.role == "ae" else form.get("owner", "")
    writes = {
        "add_contact": lambda conn, actor: _contact_added(conn, actor, account, contact_fields),
        "edit_contact": lambda conn, actor: accounts.update_contact(
            conn, actor, _int(form, "contact_id"), contact_fields,
            {f: form.get(f"drawn_{f}", "") for f in accounts.CONTACT_FIELDS}),
        "remove_contact": lambda conn, actor: accounts.remove_contact(conn, actor, _int(form, "contact_id"),
                                                                      _int(form, "version")),
        "add_address": lambda conn, actor: _address_added(conn, actor, account, address_fields),
        "edit_address": lambda conn, actor: accounts.update_address(conn, actor, _int(form, "address_id"),
                                                                    address_fields, _int(form, "version")),
        "remove_address": lambda conn, actor: accounts.remove_address(conn, actor, _int(form, "address_id"),
                                                                      _int(form, "version")),
        "activity": lambda conn, actor: _logged(conn, actor, account, form),
        "follow_up": lambda conn, actor: _follow_up(conn, actor, account, form, owner),
        "done": lambda conn, actor: accounts.mark_done(conn, actor, _int(form, "follow_up_id"), _int(form, "version")),
        "terms": lambda conn, actor: accounts.set_terms(
            conn, actor, account, _int(form, "version"), po_required=form.get("po_required", "no"),
            edi_code=form.get("edi_code", ""), commission_pct=form.get("commission_pct", ""),
            affidavit_required=form.get("affidavit_required", "no"), invoice_notes=form.get("invoice_notes", "")),
        "assign": lambda conn, actor: accounts.assign(conn, actor, [account], form.get("ae", ""),
                                                      form.get("effective_from", ""), today)[0],
        "deactivate": lambda conn, actor: accounts.deactivate(conn, actor, account, _int(form, "version")),
        "reactivate": lambda conn, actor: accounts.reactivate(conn, actor, account, _int(form, "version")),
    }
    done = _write(app, request, writes[action])
    if isinstance(done, accounts.Outcome):
        if done.refused:       # the fields another person changed since: refused by name, the others saved
            raise Conflict(done.sentence())
        done = done.change_id
    back = "/accounts/follow-ups" if form.get("back") == "follow-ups" else _url(account)
    return redirect(back + (f"?change={done}" if done else ""), 303)


def _own_follow_up(app, request: Request, follow_up_id: int) -> bool:
    """An ae marks their own follow-up done on any account: a manager may set one for them on an
    account assigned to nobody or to another AE, and it is on their follow-ups page."""
    user = request.principal
    if user.role != "ae":
        return False
    row = app.connection(request).execute("SELECT owner FROM account_follow_ups WHERE id = ?", (follow_up_id,)).fetchone()
    return row is not None and row[0] in (planning.ae_key(user.user.ae) or "", user.user.email)


def _belongs(app, request: Request, account: Ref, what: str, row_id: int) -> None:
    """A contact, address or follow-up named by a form must be on this account (on its own id or
    one merged into it): a user's right on one account is no right on another's rows."""
    conn = app.connection(request)
    table = {"contact": "account_contacts", "address": "account_addresses", "follow_up": "account_follow_ups"}[what]
    row = conn.execute(f"SELECT account_type, account_id FROM {table} WHERE id = ?", (row_id,)).fetchone()
    if row is None or accounts.survivor(conn, Ref(row[0], row[1])) != account:
        raise NotFound(f"There is no {what.replace('_', '-')} {row_id} on {accounts.label(conn, account)}.")


def _contact_added(conn, actor, account, fields) -> int:
    contact_id = accounts.add_contact(conn, actor, account, **fields)
    return changes.last_for(conn, contact_id, "contact").id


def _address_added(conn, actor, account, fields) -> int:
    address_id = accounts.add_address(conn, actor, account, **fields)
    return changes.last_for(conn, address_id, "address").id


def _logged(conn, actor, account, form) -> int:
    activity_id = accounts.log_activity(conn, actor, account, form.get("kind", ""), form.get("happened_on", ""),
                                        form.get("text", ""), form.get("contact_id") or None)
    return changes.last_for(conn, activity_id, "activity").id


def _follow_up(conn, actor, account, form, owner) -> int:
    follow_up_id = accounts.add_follow_up(conn, actor, account, form.get("due_on", ""), owner, form.get("text", ""))
    return changes.last_for(conn, follow_up_id, "follow_up").id


# Follow-ups --------------------------------------------------------------------------------

def account_follow_ups(app, request: Request) -> Response:
    """An AE's follow-ups overdue and due soon: an ae's own (their AE and their email); a manager
    picks an AE, their own, or sees everyone's."""
    user, conn = request.principal, app.connection(request)
    days = (request.args.get("days") or str(FOLLOW_UP_DAYS)).strip()
    if not days.isdigit() or not 0 <= int(days) <= 3660:
        raise BadRequest(f"“{days[:20]}” is not a number of days from 0 to 3660.")
    if user.role == "ae":
        owners, chosen = [planning.ae_key(user.user.ae) or "", user.user.email], None
    else:
        chosen = " ".join((request.args.get("owner") or "").split())[:200] or None
        owners = None if chosen is None else [user.user.email if chosen == "me" else chosen]
    key = _key(app, conn, "account_follow_ups", tuple(owners) if owners else None, int(days))
    rows = _cached(app, key, lambda: accounts_read.follow_ups(conn, key[-1], owners, within_days=int(days)))
    if (request.args.get("format") or "html") == "json":
        return _json({"follow_ups": rows})
    every = request.args.get("rows") == "all"
    body = _cached(app, key + ("html", every, user.role, user.user.email, user.user.ae), lambda: _render(
        app, "follow_ups", rows=rows if every else rows[:PAGE_ROWS], total=len(rows), every=every, days=int(days),
        chosen=chosen, owners=[] if user.role == "ae" else sorted(
            {r[0] for r in conn.execute("SELECT DISTINCT owner FROM account_follow_ups WHERE done_at IS NULL")}),
        query=urlencode({k: v for k, v in (("owner", request.args.get("owner") or ""), ("days", days)) if v}),
        message=None, csrf_token=CSRF_STAND_IN, user=user, url=_url))
    message = _done(conn, request)
    body = _fill(body, user)
    if message:
        body = _render(app, "message", message=message) + body
    return _page(app, request, "account_follow_ups", body)


# Import ------------------------------------------------------------------------------------

def _seal(user, data: bytes) -> str:
    return hmac.new(user.csrf_token.encode(), b"accounts-import\0" + data, hashlib.sha256).hexdigest()


def account_import(app, request: Request) -> Response:
    message = _done(app.connection(request), request)
    if request.args.get("nothing"):
        message = "The file changed nothing: every line is as the database has it."
    return _page(app, request, "account_import", _render(app, "import", plan=None, csrf_token=request.principal.csrf_token,
                                                         message=message))


def account_import_plan(app, request: Request) -> Response:
    """The dry run of an uploaded CSV: line by line what would be created, updated, left or refused."""
    user = request.principal
    auth_web.check_form(app.config, request, user)
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    if not data:
        raise BadRequest("Choose a CSV file to import (an accounts or contacts export).")
    try:
        plan = accounts_csv.plan(app.connection(request), data, app.today())
    except AccountError as exc:
        raise BadRequest(f"{exc} Nothing was imported.") from None
    body = _render(app, "import", plan=plan, counts=plan.counts(), csrf_token=user.csrf_token, message=None,
                   data=base64.b64encode(data).decode(), seal=_seal(user, data), digest=plan.digest(),
                   filename=upload.filename or "the file")
    return _page(app, request, "account_import", body, status=200)


def account_import_confirm(app, request: Request) -> Response:
    user = request.principal
    auth_web.check_form(app.config, request, user)
    try:
        data = base64.b64decode(request.form.get("data", ""), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("The import form lost its file; upload it again.") from None
    if not data or not hmac.compare_digest(_seal(user, data), request.form.get("seal", "")):
        raise BadRequest("This is not the file of your dry run; upload it again.")
    plan = _write(app, request, lambda conn, actor: accounts_csv.import_csv(
        conn, actor, data, app.today(), expected=request.form.get("digest", "")))
    conn = app.connection(request)
    last = conn.execute("SELECT max(id) FROM changes WHERE actor = ?", (user.user.email,)).fetchone()[0]
    counts = plan.counts()
    if not counts["create"] + counts["update"]:
        return redirect("/accounts/import?nothing=1", 303)
    return redirect(f"/accounts/import?change={last}&more={counts['create'] + counts['update'] - 1}", 303)


# Duplicates --------------------------------------------------------------------------------

def account_duplicates(app, request: Request) -> Response:
    conn = app.connection(request)
    key = _key(app, conn, "account_duplicates")
    pairs = _cached(app, key, lambda: accounts_duplicates.pairs(conn))
    vers = {kind: accounts_read.versions(conn, kind, {i for p in pairs if p.type == kind for i in (p.first, p.second)})
            for kind in accounts.TYPES}
    body = _render(app, "duplicates", pairs=pairs, versions=vers, csrf_token=request.principal.csrf_token,
                   message=_done(conn, request), url=_url)
    return _page(app, request, "account_duplicates", body)


def account_merge(app, request: Request) -> Response:
    """Merge one pair through issue 9's merge (the change log has it; undo it there)."""
    auth_web.check_form(app.config, request, request.principal)
    form = request.form
    kind, survivor, other = form.get("type", ""), _int(form, "survivor"), _int(form, "other")
    versions = {survivor: _int(form, "survivor_version"), other: _int(form, "other_version")}
    change_id = _write(app, request, lambda conn, actor: accounts_duplicates.merge_pair(
        conn, actor, kind, survivor, other, versions))
    return redirect(f"/accounts/duplicates?change={change_id}", 303)
