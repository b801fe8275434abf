"""Structured (JSON) logs with a request id that follows the work.

One id per HTTP request: taken from the client's `X-Request-ID` when it is a
sane token, made up otherwise, echoed in the response, put on every log line
the request writes, and carried in the message headers of every Celery task
the request enqueues, so the worker's lines for that task carry it too
(`celery_signals_connect`, wired in nexus/celery.py)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
TASK_HEADER = "nexus_request_id"
# Letters, digits and -_.:; at most 128: anything else (log injection, huge
# values) is replaced by a fresh id rather than copied into every log line.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id_var: ContextVar[str | None] = ContextVar("nexus_request_id", default=None)
_access_log = logging.getLogger("nexus.request")

# Attributes every LogRecord has; anything else was passed with `extra=` and goes into the JSON.
_RECORD_FIELDS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "request_id"}


def request_id_get() -> str | None:
    return request_id_var.get()


def request_id_clean(value: str | None) -> str:
    """The client's id when it is a sane token, else a new one."""
    if value and _VALID_ID.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Puts the current request id (and Celery task, if any) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        if not hasattr(record, "task_id"):
            from celery import current_task

            task = current_task._get_current_object() if current_task else None
            if task is not None and task.request.id:
                record.task_id = task.request.id
                record.task_name = task.name
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class RequestIdMiddleware:
    """Sets the request id for the request's duration, answers with it, and
    writes one access line per request (method, path, status, duration)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Normally set already by request_started (request_id_begin), so that the
        # lines Django writes after the middleware chain returned (django.request's
        # "Not Found: …" warnings) carry it too; set here when no signal ran.
        request_id = request_id_var.get() or request_id_clean(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            _access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


# --- the whole request: from Django's request_started to request_finished -----------------
def request_id_begin(sender=None, environ: dict | None = None, scope: dict | None = None, **kwargs) -> None:
    """request_started: the id is set before the middleware chain runs and stays
    until the response is closed, so the handler's own lines after the chain
    (django.request 4xx/5xx warnings, logged outside every middleware) carry it."""
    sent = None
    if environ is not None:
        sent = environ.get("HTTP_X_REQUEST_ID")
    elif scope is not None:
        sent = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1") or None
    request_id_var.set(request_id_clean(sent))


def request_id_end(sender=None, **kwargs) -> None:
    """request_finished: the thread serves another request next; its lines must
    not carry this one's id."""
    request_id_var.set(None)


def request_signals_connect() -> None:
    from django.core.signals import request_finished, request_started

    request_started.connect(request_id_begin, weak=False, dispatch_uid="nexus-request-id-begin")
    request_finished.connect(request_id_end, weak=False, dispatch_uid="nexus-request-id-end")


# --- Celery: publish the id with the task, restore it around the task's run ------------------
def _on_publish(headers: dict | None = None, **kwargs) -> None:
    request_id = request_id_var.get()
    if headers is not None and request_id and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


def _on_prerun(task=None, **kwargs) -> None:
    request_id = task.request.get(TASK_HEADER) if task is not None else None
    if request_id:
        # Kept on the request so postrun restores exactly what was there (an
        # eager task runs inside the web request and must not clear its id).
        task.request.nexus_request_id_token = request_id_var.set(request_id)


def _on_postrun(task=None, **kwargs) -> None:
    token = getattr(task.request, "nexus_request_id_token", None) if task is not None else None
    if token is not None:
        request_id_var.reset(token)
        task.request.nexus_request_id_token = None


def _keep_django_logging(**kwargs) -> None:
    """Connected to celery's setup_logging: the worker keeps Django's LOGGING
    (JSON to stdout) instead of installing its own plain-text handlers."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


def celery_signals_connect() -> None:
    from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

    before_task_publish.connect(_on_publish, weak=False, dispatch_uid="nexus-request-id-publish")
    task_prerun.connect(_on_prerun, weak=False, dispatch_uid="nexus-request-id-prerun")
    task_postrun.connect(_on_postrun, weak=False, dispatch_uid="nexus-request-id-postrun")
    setup_logging.connect(_keep_django_logging, weak=False, dispatch_uid="nexus-logging")
