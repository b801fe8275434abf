"""WSGI entry point (gunicorn nexus.wsgi:application)."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nexus.settings")

application = get_wsgi_application()
# Load the URLconf (and every view module it imports) now, while the worker
# boots, rather than inside its first request: under load that import cost
# about a second of CPU and showed up as first-request latency.
_ = get_resolver().url_patterns
