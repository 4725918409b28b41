"""The ASGI app uvicorn serves: `uvicorn ctvdb.web.asgi:app --host 0.0.0.0 --port 8000`.

Built at import from the environment's configuration. When the app cannot start (no database,
an old schema, a broken template) this prints one line and exits 1, so uvicorn and systemd see
a failed start instead of a site that answers 500 on every page.
"""

import sys

from a2wsgi import WSGIMiddleware

from ctvdb import config
from ctvdb.web.app import StartupError, create_app

try:
    app = WSGIMiddleware(create_app(config.load()))
except StartupError as exc:
    print(f"ctvdb: cannot start the web app: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(1) from None
