"""The project's errors and their one JSON shape.

Services, selectors and storage code raise the domain exceptions below (plain
Python, no HTTP framework in them); `exception_handler` (DRF's
EXCEPTION_HANDLER) turns them, DRF's own exceptions and Django's Http404 /
PermissionDenied / ValidationError into

    {"detail": str, "code": str, "fields"?: {name: [messages]}}

with the status the exception names. `error_response` builds the same body for
code that runs outside a DRF view (middleware, the URL-level 404/405/500).
The OpenAPI schema declares this shape as the `Error` component (nexus.schema).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

NON_FIELD = "non_field_errors"


class NexusError(Exception):
    """Base of every domain error: an HTTP status, a stable `code` clients may
    branch on, a human `detail`, optional per-field messages and headers."""

    status: int = 400
    code: str = "error"
    default_detail: str = "The request failed."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        fields: Mapping[str, list[str] | str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        if code is not None:
            self.code = code
        self.fields = {name: _as_list(messages) for name, messages in (fields or {}).items()} or None
        self.headers = dict(headers or {})
        super().__init__(self.detail)

    def body(self) -> dict:
        return error_body(code=self.code, detail=self.detail, fields=self.fields)


class ValidationFailed(NexusError):
    """400 with per-field messages: `ValidationFailed({"text": ["Too long."]})`."""

    status = 400
    code = "invalid"
    default_detail = "Invalid input."

    def __init__(self, fields: Mapping[str, list[str] | str], detail: str | None = None, **kwargs) -> None:
        fields = {name: _as_list(messages) for name, messages in fields.items()}
        super().__init__(detail or _summary(fields), fields=fields, **kwargs)


class BadRequest(NexusError):
    status = 400
    code = "bad_request"
    default_detail = "The request is malformed."


class NotAuthenticated(NexusError):
    status = 401
    code = "not_authenticated"
    default_detail = "Authentication credentials were not provided."


class PermissionDenied(NexusError):
    status = 403
    code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class NotFound(NexusError):
    status = 404
    code = "not_found"
    default_detail = "Not found."


class Conflict(NexusError):
    """409; pass a specific `code` (edit_window_closed, edit_limit_reached, ...)."""

    status = 409
    code = "conflict"
    default_detail = "The request conflicts with the resource's current state."


class PreconditionFailed(NexusError):
    status = 412
    code = "precondition_failed"
    default_detail = "The resource has changed since the ETag you sent (If-Match)."


class PayloadTooLarge(NexusError):
    status = 413
    code = "too_large"
    default_detail = "The request body is too large."


class Unprocessable(NexusError):
    status = 422
    code = "unprocessable"
    default_detail = "The request is well-formed but cannot be processed."


class ServiceUnavailable(NexusError):
    """503 with Retry-After: a dependency (store, archive, database) is down."""

    status = 503
    code = "unavailable"
    default_detail = "A dependency is unavailable; try again shortly."

    def __init__(self, detail: str | None = None, *, retry_after: int = 5, **kwargs) -> None:
        self.retry_after = retry_after
        headers = {"Retry-After": str(retry_after), **kwargs.pop("headers", {})}
        super().__init__(detail, headers=headers, **kwargs)


def _as_list(messages: list[str] | str) -> list[str]:
    return [str(messages)] if isinstance(messages, str) else [str(m) for m in messages]


# --- the shape ---------------------------------------------------------------------------------------
def error_body(*, code: str, detail: str, fields: Mapping[str, list[str]] | None = None) -> dict:
    body: dict = {"detail": str(detail), "code": str(code)}
    if fields:
        body["fields"] = {str(k): [str(m) for m in v] for k, v in fields.items()}
    return body


def error_response(
    *, status: int, code: str, detail: str, fields: dict | None = None, headers: dict | None = None
) -> JsonResponse:
    """The error shape as a plain Django response (middleware, URL-level errors)."""
    response = JsonResponse(error_body(code=code, detail=detail, fields=fields), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _summary(fields: Mapping[str, list[str]]) -> str:
    """One line for `detail`: the first message, named by its field."""
    for name, messages in fields.items():
        if messages:
            return messages[0] if name == NON_FIELD else f"{name}: {messages[0]}"
    return ValidationFailed.default_detail


def _messages(detail, where: str = "") -> list[str]:
    """Every message under one field, each prefixed with where it sits inside
    it ("1: ..." for the second item of a list, "a.b: ..." deeper)."""
    if isinstance(detail, Mapping):
        return [m for key, value in detail.items() for m in _messages(value, f"{where}.{key}" if where else str(key))]
    if isinstance(detail, list | tuple):
        return [m for item in detail for m in _messages(item, where)]
    return [f"{where}: {detail}" if where else str(detail)]


def _flatten(detail) -> dict[str, list[str]]:
    """DRF's error detail ({field: [..]}, {field: {0: [..]}}, [..]) as
    {top-level field | "non_field_errors": [messages]}."""
    if not isinstance(detail, Mapping):
        return {NON_FIELD: _messages(detail)}
    return {(NON_FIELD if key == "detail" else str(key)): _messages(value) for key, value in detail.items()}


def _validation_failed(detail) -> ValidationFailed:
    return ValidationFailed(_flatten(detail))


def to_nexus_error(exc: Exception) -> NexusError | None:
    """The domain error for any exception the API maps to a 4xx/5xx, else None."""
    if isinstance(exc, NexusError):
        return exc
    if isinstance(exc, drf.ValidationError):
        return _validation_failed(exc.detail)
    if isinstance(exc, DjangoValidationError):
        return _validation_failed(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        return NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    # A dependency that is down or timing out (its client's own timeouts and
    # retry budget already spent): 503 and when to retry, never a 500.
    if isinstance(exc, OperationalError | InterfaceError):
        return ServiceUnavailable("The database is unavailable; try again shortly.", code="database_unavailable")
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return ServiceUnavailable("The cache is unavailable; try again shortly.", code="cache_unavailable")
    if isinstance(exc, drf.APIException):
        error = NexusError(str(exc.detail) if not isinstance(exc.detail, dict | list) else exc.default_detail)
        error.status = exc.status_code
        codes = exc.get_codes()
        error.code = codes if isinstance(codes, str) else exc.default_code
        if isinstance(exc, drf.Throttled):
            error.code = "throttled"
            if exc.wait is not None:
                error.headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
        if getattr(exc, "auth_header", None):
            error.headers["WWW-Authenticate"] = exc.auth_header
        return error
    return None


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error a view raises, in the one shape.
    Anything unmapped returns None and surfaces as a 500 (handler500)."""
    error = to_nexus_error(exc)
    if error is None:
        return None
    set_rollback()
    return Response(error.body(), status=error.status, headers=error.headers or None)


# --- URL-level errors (no DRF view ran): JSON under /api/, Django's pages elsewhere ------------------
API_PATH_PREFIX = "/api/"


def _is_api(request) -> bool:
    return request.path_info.startswith(API_PATH_PREFIX)


@csrf_exempt  # any method gets the 404, not a CSRF page
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """The catch-all route for unmatched /api/ paths (any method)."""
    return error_response(status=404, code="not_found", detail=f"No API endpoint at {request.path_info}.")


def page_not_found(request, exception=None):
    if _is_api(request):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception=None):
    if _is_api(request):
        return error_response(status=400, code="bad_request", detail="Bad request.")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return error_response(status=403, code="permission_denied", detail=PermissionDenied.default_detail)
    return defaults.permission_denied(request, exception)


def server_error(request):
    if _is_api(request):
        return error_response(status=500, code="server_error", detail="Internal server error.")
    return defaults.server_error(request)
