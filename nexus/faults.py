"""Requests the app refuses before any view runs, and dependency faults of
views outside DRF, answered in the one JSON error shape (nexus.errors).

Before the view: a NUL in the path or query (400: it would reach PostgreSQL,
which refuses NUL in text), a request line longer than NEXUS_MAX_URL_BYTES
(414; gunicorn answers longer ones itself, in JSON too: gunicorn.conf.py), a
declared body larger than the limit (413) — answered from the headers, before
anything reads the body.
From a view: DRF's exception handler maps what it knows; what reaches Django
(a plain view such as the media files, or an exception DRF re-raises, e.g.
django-redis' ConnectionInterrupted) is mapped here when it is a dependency
being down (503 with Retry-After) or a body too large (413), never a 500.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django_redis.exceptions import ConnectionInterrupted

from nexus.errors import ServiceUnavailable, error_response, to_nexus_error

logger = logging.getLogger(__name__)

MULTIPART = "multipart/form-data"


def _body_limit(request) -> int:
    if request.META.get("CONTENT_TYPE", "").startswith(MULTIPART):
        # An upload: the file limit plus room for the other fields and the
        # multipart framing (the file itself is checked again while it streams).
        return settings.NEXUS_MEDIA_MAX_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class FaultMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refused = self._refuse(request)
        return refused if refused is not None else self.get_response(request)

    def _refuse(self, request):
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            return error_response(status=400, code="nul_character", detail="The URL must not contain NUL characters.")
        raw_path = request.META.get("RAW_URI") or request.get_full_path()
        if len(raw_path.encode("utf-8", "surrogateescape")) > settings.NEXUS_MAX_URL_BYTES:
            return error_response(
                status=414,
                code="uri_too_long",
                detail=f"The request URI is longer than {settings.NEXUS_MAX_URL_BYTES} bytes.",
            )
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(status=400, code="bad_request", detail="Content-Length is not a number.")
        limit = _body_limit(request)
        if length > limit:
            return error_response(
                status=413, code="too_large", detail=f"The request body is larger than {limit:,} bytes."
            )
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, ConnectionInterrupted):
            exception = ServiceUnavailable(
                "The cache is unavailable; try again shortly.",
                code="cache_unavailable",
                retry_after=round(settings.NEXUS_BREAKER_RESET_SECONDS),
            )
        error = to_nexus_error(exception)
        if error is None or error.status not in (413, 503):
            return None
        if error.status == 503:
            logger.warning("%s: %s", error.code, exception)
        return error_response(
            status=error.status, code=error.code, detail=error.detail, fields=error.fields, headers=error.headers
        )
