"""WSGI entry point for the production server: ``gunicorn helpdesk.wsgi:app``."""

import sys

from helpdesk.app import create_app
from helpdesk.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    # One clear line naming the variable, not a traceback; gunicorn then stops booting.
    print(f"configuration: {error}", file=sys.stderr, flush=True)
    raise SystemExit(3) from None
