"""The customer workbench's pages (issue 12): the resolution queue, the change log, the list.

A write view takes four steps: check the form (auth_web.check_form: origin and CSRF), call one
function of ctvdb/customers.py on a connection opened for this request, which commits, and
redirect (303) back to the page with the change's id, whose summary the page shows. A refusal
(a stale form, bad input) is a 409 page with the function's sentence; nothing was changed.
"""

from __future__ import annotations

import dataclasses

from werkzeug.exceptions import BadRequest, Conflict, NotFound
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from ctvdb import agencies, auth_web, changes, customers, db, sectors
from ctvdb.web import cache, params
from ctvdb.web.queries import workbench as queries

TITLES = {"customer_review": "Customer resolution queue", "customer_changes": "Customer change log",
          "customer_list": "Customers", "customer_stale": "Stale accounts", "customer_sectors": "Sectors", "customer_edit": "Who this customer is",
          "customer_agencies": "Agencies"}


def _page(app, request: Request, endpoint: str, **context) -> Response:
    body = app.jinja.get_template(f"customers/{endpoint[len('customer_'):]}.html").render(
        user=request.principal, csrf_token=request.principal.csrf_token, **context)
    response = app.page(request, endpoint, body, title=TITLES[endpoint])
    response.headers["Cache-Control"] = "no-store"   # a page with forms is drawn fresh every time
    return response


def _done(conn, request: Request) -> str | None:
    """The one line saying what the POST before the redirect did, from its change id."""
    try:
        change_id = int(request.args.get("change", ""))
    except ValueError:
        return None
    change = changes.get(conn, change_id)
    return f"{change.summary}." if change else None


def _int(form, name: str) -> int:
    try:
        return int(form.get(name, ""))
    except ValueError:
        raise BadRequest(f"The form is missing its {name.replace('_', ' ')}; reload the page and try again.") from None


def _write(app, request: Request, write) -> int:
    """Run one write of ctvdb/customers.py on a connection of this request's own; the view
    checked the form (auth_web.check_form) first."""
    conn = db.connect(app.config.database_path)
    try:
        return write(conn, request.principal.user.email)
    except changes.ChangeError as exc:
        raise Conflict(str(exc)) from None
    finally:
        conn.close()


def customer_review(app, request: Request) -> Response:
    conn = app.connection(request)
    message = _done(conn, request)
    later = request.args.get("later", "")
    if later.isdigit() and (customer := customers.get(conn, int(later))):
        message = f"{customer.label} was left for later: it waits behind the others."
    page = request.args.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= 10**6:
        raise BadRequest(f"The page “{page[:20]}” is not a page number.")
    # The suggestions' index is built once for the customers' names as they are, not per request.
    index = cache.REPORTS.get_or_compute(
        (str(app.config.database_path), "similarity", queries.similarity_version(conn)),
        app.config.report_cache_seconds, lambda: queries.similarity_index(conn))
    return _page(app, request, "customer_review", r=queries.customer_review(conn, index, int(page)),
                 message=message)


def customer_review_decide(app, request: Request) -> Response:
    """One decision on one customer of the queue. "Same as" merges the customer into the
    suggestion: every bill code of it becomes an alias of the suggestion, in one change that one
    undo takes back (aliasing its bill codes one by one would be a change, and a version, each)."""
    auth_web.check_form(app.config, request, request.principal)
    form = request.form
    customer_id, version, action = _int(form, "customer_id"), _int(form, "version"), form.get("action")
    if action == "later":
        conn = db.connect(app.config.database_path)
        try:
            customers.postpone(conn, request.principal.user.email, customer_id)
        except changes.ChangeError as exc:
            raise Conflict(str(exc)) from None
        finally:
            conn.close()
        return redirect(f"/customers/review?later={customer_id}", 303)
    if action == "new":
        change_id = _write(app, request, lambda conn, actor: customers.mark_reviewed(
            conn, actor, customer_id, version))
    elif action == "same":
        survivor = _int(form, "into")
        change_id = _write(app, request, lambda conn, actor: customers.merge(
            conn, actor, survivor, [customer_id], expected_versions={customer_id: version}))
    else:
        raise BadRequest("The resolution queue does not know that action.")
    return redirect(f"/customers/review?change={change_id}", 303)


def customer_changes(app, request: Request) -> Response:
    conn = app.connection(request)
    return _page(app, request, "customer_changes", r=queries.customer_changes(conn), message=_done(conn, request))


def customer_undo(app, request: Request, change_id: int) -> Response:
    auth_web.check_form(app.config, request, request.principal)
    undo_id = _write(app, request, lambda conn, actor: customers.undo(conn, actor, change_id))
    return redirect(f"/customers/changes?change={undo_id}", 303)


def customer_merge(app, request: Request) -> Response:
    """The list's merge form: the ticked customers into the one chosen to survive, each checked
    against the version the page showed."""
    auth_web.check_form(app.config, request, request.principal)
    survivor = _int(request.form, "survivor")
    others = [i for i in dict.fromkeys(_ids(request.form.getlist("merge"))) if i != survivor]
    versions = {i: _int(request.form, f"version_{i}") for i in [survivor, *others]}
    change_id = _write(app, request, lambda conn, actor: customers.merge(
        conn, actor, survivor, others, expected_versions=versions))
    return redirect(f"/customers/?change={change_id}", 303)


def _ids(values) -> list[int]:
    try:
        return [int(v) for v in values]
    except ValueError:
        raise BadRequest("The merge form names a customer that is not a number; reload the page.") from None


def customer_list(app, request: Request) -> Response:
    filters = params.parse_filters(request.args)
    revenue_class = request.args.get("class") if request.args.get("class") in customers.CLASSES else None
    active = request.args.get("active") if request.args.get("active") in ("yes", "no") else None
    unreviewed = request.args.get("unreviewed") == "yes"
    conn = app.connection(request)
    report = queries.customer_list(conn, filters, app.today(), revenue_class=revenue_class, active=active,
                                   unreviewed=unreviewed)
    return _page(app, request, "customer_list", r=report, revenue_class=revenue_class or "", active=active or "",
                 unreviewed=unreviewed, message=_done(conn, request))


def customer_stale(app, request: Request) -> Response:
    months = request.args.get("months", "12").strip()
    if not months.isdigit() or not 1 <= int(months) <= 60:
        raise BadRequest(f"“{months[:20]}” months is not a number of months from 1 to 60.")
    conn = app.connection(request)
    return _page(app, request, "customer_stale", r=queries.customer_stale(conn, app.today(), int(months)),
                 message=_done(conn, request))


def customer_stale_deactivate(app, request: Request) -> Response:
    """Deactivate the ticked stale customers, in one change, each checked against the page's version."""
    auth_web.check_form(app.config, request, request.principal)
    ids = list(dict.fromkeys(_ids(request.form.getlist("deactivate"))))
    versions = {i: _int(request.form, f"version_{i}") for i in ids}
    months = request.form.get("months", "12")
    change_id = _write(app, request, lambda conn, actor: customers.deactivate_many(conn, actor, ids, versions))
    return redirect(f"/customers/stale?months={int(months) if months.isdigit() else 12}&change={change_id}", 303)


def customer_sectors(app, request: Request) -> Response:
    """The sector list with its edit forms, and customers to give a sector: unassigned ones by
    default, or those of an AE or an agency, highest gross of the last 12 months first."""
    filters = params.parse_filters(request.args)
    showing = request.args.get("show", "unassigned")
    if showing not in ("unassigned", "all"):
        raise BadRequest("Show either the unassigned customers or all of them.")
    if showing == "unassigned":
        filters = dataclasses.replace(filters, sector="NONE")
    agency = " ".join(request.args.get("agency", "").split())[:100] or None
    conn = app.connection(request)
    # The 200 with the most gross: enough to work down, and the page stays a page.
    report = queries.customer_list(conn, filters, app.today(), active="yes", agency=agency, limit=200)
    return _page(app, request, "customer_sectors", r=report, sectors=sectors.list_sectors(conn),
                 showing=showing, agency=agency or "", message=_done(conn, request))


def customer_sectors_edit(app, request: Request) -> Response:
    """Add, rename, retire or bring back a sector."""
    auth_web.check_form(app.config, request, request.principal)
    form, action = request.form, request.form.get("action")
    writes = {"add": lambda conn, actor: sectors.add(conn, actor, form.get("code", ""), form.get("name", "")),
              "rename": lambda conn, actor: sectors.rename(conn, actor, form.get("code", ""), form.get("name", "")),
              "retire": lambda conn, actor: sectors.retire(conn, actor, form.get("code", "")),
              "restore": lambda conn, actor: sectors.restore(conn, actor, form.get("code", ""))}
    if action not in writes:
        raise BadRequest("The sector form does not know that action.")
    change_id = _write(app, request, writes[action])
    return redirect(f"/customers/sectors?change={change_id}", 303)


def customer_sectors_assign(app, request: Request) -> Response:
    """Give the ticked customers the chosen sector, in one change, each checked against the page's version."""
    auth_web.check_form(app.config, request, request.principal)
    ids = list(dict.fromkeys(_ids(request.form.getlist("customer"))))
    versions = {i: _int(request.form, f"version_{i}") for i in ids}
    code = request.form.get("sector", "")
    change_id = _write(app, request, lambda conn, actor: sectors.assign(
        conn, actor, ids, None if code == "NONE" else code, versions))
    return redirect(f"/customers/sectors?change={change_id}", 303)


def customer_edit(app, request: Request, customer_id: int) -> Response:
    """One customer's identity with the forms that change it: rename, move, class, deactivate or
    reactivate, confirm, split a bill code off. Not part of the cached report page, whose body is
    shared by everyone of a role: these forms carry the user's own CSRF token."""
    conn = app.connection(request)
    customer = customers.get(conn, customer_id)
    if customer is None:
        raise NotFound("There is no such customer.")
    return _page(app, request, "customer_edit", customer=customer, codes=customers.bill_codes(conn, customer_id),
                 history=changes.list_changes(conn, customer_id, limit=50), message=_done(conn, request),
                 classes=customers.CLASSES, when=changes.when)


def customer_edit_save(app, request: Request, customer_id: int) -> Response:
    auth_web.check_form(app.config, request, request.principal)
    form, action = request.form, request.form.get("action")
    version = _int(form, "version")
    writes = {
        "rename": lambda conn, actor: customers.rename(conn, actor, customer_id, form.get("name", ""), version),
        "move": lambda conn, actor: customers.move(conn, actor, customer_id, form.get("agency", ""), version),
        "class": lambda conn, actor: customers.set_class(conn, actor, customer_id, form.get("revenue_class", ""),
                                                         version),
        "deactivate": lambda conn, actor: customers.deactivate(conn, actor, customer_id, version),
        "reactivate": lambda conn, actor: customers.reactivate(conn, actor, customer_id, version),
        "review": lambda conn, actor: customers.mark_reviewed(conn, actor, customer_id, version),
        "split": lambda conn, actor: customers.split(conn, actor, form.get("bill_code", ""), None, None, version),
    }
    if action not in writes:
        raise BadRequest("The customer form does not know that action.")
    change_id = _write(app, request, writes[action])
    return redirect(f"/customers/{customer_id}?change={change_id}", 303)


def customer_agencies(app, request: Request) -> Response:
    """The agencies with their customers, other spellings and gross; merge, alias, rename."""
    conn = app.connection(request)
    listed = agencies.list_agencies(conn)
    versions = dict(conn.execute("SELECT id, version FROM agencies").fetchall())
    for agency in listed:
        agency["version"] = versions[agency["id"]]
    return _page(app, request, "customer_agencies", agencies=listed, message=_done(conn, request))


def customer_agencies_edit(app, request: Request) -> Response:
    auth_web.check_form(app.config, request, request.principal)
    form, action = request.form, request.form.get("action")
    if action == "merge":
        survivor = _int(form, "survivor")
        others = [i for i in dict.fromkeys(_ids(form.getlist("merge"))) if i != survivor]
        versions = {i: _int(form, f"version_{i}") for i in [survivor, *others]}
        write = lambda conn, actor: agencies.merge(conn, actor, survivor, others, versions)   # noqa: E731
    elif action == "rename":
        agency_id = _int(form, "agency_id")
        # Chosen from a list of every agency, so no version: one merged meanwhile is refused all the same.
        write = lambda conn, actor: agencies.rename(conn, actor, agency_id, form.get("name", ""))   # noqa: E731
    elif action == "alias":
        agency_id = _int(form, "agency_id")
        write = lambda conn, actor: agencies.alias(conn, actor, form.get("spelling", ""), agency_id)   # noqa: E731
    else:
        raise BadRequest("The agency form does not know that action.")
    change_id = _write(app, request, write)
    return redirect(f"/customers/agencies?change={change_id}", 303)
