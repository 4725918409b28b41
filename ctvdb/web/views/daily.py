"""The sales team's daily pages (issue 13): /me, an AE's own day (an ae user lands here after
signing in), and /manager, the scoreboard of the AEs. Both are reports: cached by data version,
with the downloads every report has; their tables come from ctvdb/web/queries/daily.py."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from ctvdb.web.queries import daily


def me(app, request: Request) -> Response:
    return app.report_page(request, daily.my_page)


def manager(app, request: Request) -> Response:
    return app.report_page(request, daily.manager_page)
