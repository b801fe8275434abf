"""Requests the app must refuse before any view runs, and faults a view may
hit, answered in the one JSON error shape instead of Django's HTML pages.

Before the view: a NUL in the path or query (400: it would reach PostgreSQL,
which refuses NUL in text), a request line longer than NEXUS_MAX_URL_BYTES
(414; gunicorn answers longer ones itself, in JSON too: gunicorn.conf.py), a
declared body larger than the limit (413).
From the view: a dependency that is down — the object store, Redis or the
broker behind their circuit breakers, the database — is a 503 with
Retry-After, never a 500; a body too large to read is a 413.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from nexus.breaker import DependencyUnavailable
from nexus.errors import error_response

logger = logging.getLogger(__name__)

MULTIPART = "multipart/form-data"


def _body_limit(request) -> int:
    if request.META.get("CONTENT_TYPE", "").startswith(MULTIPART):
        # An upload: the file limit plus room for the other fields and the
        # multipart framing (the file itself is checked again while it streams).
        return settings.NEXUS_MEDIA_MAX_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


NAMES = {"storage": "The object store", "cache": "The cache", "broker": "The task queue", "database": "The database"}


def _unavailable(dependency: str, retry_after: int):
    return error_response(
        status=503,
        code="service_unavailable",
        detail=f"{NAMES.get(dependency, dependency)} is unavailable; retry shortly.",
        headers={"Retry-After": str(retry_after)},
    )


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
                status=413, code="request_too_large", detail=f"The request body is larger than {limit:,} bytes."
            )
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, DependencyUnavailable):
            return _unavailable(exception.dependency, exception.retry_after)
        if isinstance(exception, ConnectionInterrupted | RedisConnectionError | RedisTimeoutError):
            logger.warning("redis unavailable: %s", exception)
            return _unavailable("cache", int(getattr(exception, "retry_after", settings.NEXUS_BREAKER_RESET_SECONDS)))
        if isinstance(exception, DatabaseOperationalError | DatabaseInterfaceError):
            logger.warning("database unavailable: %s", exception)
            return _unavailable("database", int(settings.NEXUS_BREAKER_RESET_SECONDS))
        if isinstance(exception, RequestDataTooBig | TooManyFieldsSent):
            return error_response(status=413, code="request_too_large", detail=str(exception))
        return None
