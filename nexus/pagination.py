"""Keyset (cursor) pagination over two descending columns, e.g. (published_at, id).

Offsets get slower with depth and skip or repeat rows when new rows arrive;
a keyset cursor does neither and uses the same index at every depth."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

from nexus.errors import ValidationFailed

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def page_parameters(*, default: int = DEFAULT_PAGE_SIZE, cursor: str = "cursor") -> list[OpenApiParameter]:
    """The OpenAPI declaration of a page's query parameters, with the limits
    page_size_from enforces."""
    return [
        OpenApiParameter(cursor, OpenApiTypes.STR, description="Where to continue: from a previous page"),
        OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": default}),
    ]


def page_size_from(request: Request, default: int = DEFAULT_PAGE_SIZE) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    try:
        size = int(raw)
    except ValueError:
        raise ValidationFailed({"limit": ["A valid integer is required."]}) from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValidationFailed({"limit": [f"Must be between 1 and {MAX_PAGE_SIZE}."]})
    return size


def _encode(values: Sequence[Any]) -> str:
    parts = [v.isoformat() if isinstance(v, datetime) else str(v) for v in values]
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def _decode(cursor: str, kinds: Sequence[type]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        parts = raw.split("|")
        if len(parts) != len(kinds):
            raise ValueError("wrong arity")
        return [
            datetime.fromisoformat(p) if kind is datetime else kind(p) for p, kind in zip(parts, kinds, strict=True)
        ]
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed({"cursor": ["Invalid cursor."]}) from None


def keyset_page(
    request: Request,
    queryset: QuerySet,
    *,
    fields: tuple[str, str] = ("published_at", "id"),
    kinds: tuple[type, type] = (datetime, int),
    page_size: int | None = None,
) -> tuple[list[Any], str | None]:
    """One page of `queryset`, newest first, and the absolute URL of the next page."""
    size = page_size or page_size_from(request)
    first, second = fields
    queryset = queryset.order_by(f"-{first}", f"-{second}")
    cursor = request.query_params.get("cursor")
    if cursor:
        after_first, after_second = _decode(cursor, kinds)
        queryset = queryset.filter(
            Q(**{f"{first}__lt": after_first}) | Q(**{first: after_first, f"{second}__lt": after_second})
        )
    rows = list(queryset[: size + 1])
    next_url = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_url = replace_query_param(
            request.build_absolute_uri(), "cursor", _encode([getattr(last, first), getattr(last, second)])
        )
    return rows, next_url
