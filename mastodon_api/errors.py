"""Errors on the Mastodon routes as Mastodon sends them: `{"error": "..."}`,
and 422 for a request that failed validation. The native handler decides the
status and the message (one mapping of the project's exceptions); this one
only reshapes its body."""

from __future__ import annotations

from rest_framework import exceptions, status

from nexus.errors import exception_handler as native_exception_handler


def _text(value) -> str:
    return " ".join(str(m) for m in value) if isinstance(value, list) else str(value)


def error_message(data) -> str:
    if isinstance(data, dict):
        if "detail" in data and len(data) <= 2:
            return _text(data["detail"])
        fields = data.get("fields", data)
        return "Validation failed: " + "; ".join(
            f"{name}: {' '.join(str(m) for m in (msgs if isinstance(msgs, list) else [msgs]))}"
            if name not in ("detail", "non_field_errors")
            else " ".join(str(m) for m in (msgs if isinstance(msgs, list) else [msgs]))
            for name, msgs in fields.items()
            if name != "code"
        )
    if isinstance(data, list):
        return " ".join(str(m) for m in data)
    return str(data)


def exception_handler(exc, context):
    response = native_exception_handler(exc, context)
    if response is None:
        return None
    message = error_message(response.data)
    if isinstance(exc, exceptions.ValidationError) or (
        response.status_code == status.HTTP_400_BAD_REQUEST and message.startswith("Validation failed")
    ):
        response.status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    response.data = {"error": message}
    return response
