"""WSGI entry point for the production server: ``gunicorn helpdesk.wsgi:app``."""

from helpdesk.app import create_app

app = create_app()
