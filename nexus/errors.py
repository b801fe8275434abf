"""API error shapes: DRF's standard ones, plus a stable `code` where a client
must branch on it (409 edit_window_closed / edit_limit_reached, ...)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the resource's current state."
    default_code = "conflict"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource has changed since the ETag you sent (If-Match)."
    default_code = "precondition_failed"


class UnprocessableEntity(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request is well-formed but cannot be processed."
    default_code = "unprocessable"


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, Conflict | PreconditionFailed | UnprocessableEntity):
        response.data = {"detail": str(exc.detail), "code": exc.get_codes()}
    return response


def error_response(*, status: int, code: str, detail: str, fields=None, headers=None) -> JsonResponse:
    """The one JSON error shape, for code that answers outside DRF (middleware)."""
    body: dict = {"detail": detail, "code": code}
    if fields:
        body["fields"] = fields
    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response
