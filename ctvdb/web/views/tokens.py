"""The API tokens page (issue 16): `/admin/tokens`, an administrator's, like the users page: the
list, add (the token is shown once, on the answer to the form), revoke. Each action is one write
of ctvdb/tokens.py after the form's origin and CSRF token are checked."""

from __future__ import annotations

from werkzeug.exceptions import BadRequest, Forbidden
from werkzeug.wrappers import Request, Response

from ctvdb import auth, auth_web, db, tokens


def admin_tokens(app, request: Request) -> Response:
    principal = request.principal
    if not principal.is_admin:
        raise Forbidden("Only an administrator can open this page.")
    conn = db.connect_auth(app.config.database_path)
    try:
        status, message, error, shown = 200, None, None, None
        if request.method == "POST":
            auth_web.check_form(app.config, request, principal)
            try:
                message, shown = _action(conn, request.form, principal)
            except auth.AuthError as exc:
                status, error = 400, str(exc)
        body = app.jinja.get_template("api/tokens.html").render(
            tokens=tokens.list_tokens(conn), scopes=tokens.SCOPE_WORDS, default_expires=tokens.DEFAULT_EXPIRES,
            message=message, error=error, shown=shown, csrf_token=principal.csrf_token, form=request.form)
    finally:
        conn.close()
    response = app.page(request, "admin_tokens", body, title="API tokens", status=status)
    response.headers["Cache-Control"] = "no-store"   # the token shown once is never kept by a cache
    return response


def _action(conn, form, principal) -> tuple[str, tuple[str, str] | None]:
    action, name, by = form.get("action"), form.get("name", ""), principal.user.email
    if action == "add":
        expires = tokens.parse_expires(form.get("expires") or tokens.DEFAULT_EXPIRES)
        token, secret = tokens.add_token(conn, name, form.get("scope", ""), ae=form.get("ae") or None,
                                         expires=expires, by=by)
        return (f"Added token {token.name}. Copy it now: it is not shown again, and only its digest is kept.",
                (token.name, secret))
    if action == "revoke":
        return f"Revoked token {tokens.revoke_token(conn, name, by=by).name}; its next request is refused.", None
    raise BadRequest("The tokens page does not know that action.")
