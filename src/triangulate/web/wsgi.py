"""WSGI entry point for a production server: set TRIANGULATE_STORE (and the database) first."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triangulate.web.settings")
application = get_wsgi_application()
