"""Mastodon's pagination: `max_id` / `since_id` / `min_id` / `limit` over an
id that sorts by time (a Snowflake for statuses), and a `Link` header with
`rel="next"` (older, `max_id`) and `rel="prev"` (newer, `min_id`)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

MAX_ID = (1 << 63) - 1


def _id_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or int(raw) > MAX_ID:
        raise ValidationError({name: ["Must be an id."]})
    return int(raw)


def limit_from(request: Request, *, default: int, maximum: int) -> int:
    raw = request.query_params.get("limit")
    if raw in (None, ""):
        return default
    try:
        return max(1, min(int(raw), maximum))  # Mastodon clamps rather than refuses
    except ValueError:
        raise ValidationError({"limit": ["A valid integer is required."]}) from None


def offset_from(request: Request) -> int:
    raw = request.query_params.get("offset")
    if raw in (None, ""):
        return 0
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise ValidationError({"offset": ["Must be a non-negative integer."]})
    return int(raw)


def id_page(
    request: Request, queryset: QuerySet, *, field: str = "id", default: int = 20, maximum: int = 40
) -> tuple[list[Any], str | None]:
    """One page of `queryset` newest first by `field`, and its Link header."""
    limit = limit_from(request, default=default, maximum=maximum)
    max_id, since_id, min_id = (_id_param(request, n) for n in ("max_id", "since_id", "min_id"))
    if max_id is not None:
        queryset = queryset.filter(**{f"{field}__lt": max_id})
    if since_id is not None:
        queryset = queryset.filter(**{f"{field}__gt": since_id})
    if min_id is not None:
        # The page just above min_id (oldest first), then shown newest first.
        rows = list(queryset.filter(**{f"{field}__gt": min_id}).order_by(field)[:limit])[::-1]
    else:
        rows = list(queryset.order_by(f"-{field}")[:limit])
    return rows, link_header(request, [getattr(r, field) for r in rows], full=len(rows) == limit)


def link_header(request: Request, ids: list[int], *, full: bool) -> str | None:
    if not ids:
        return None
    url = request.build_absolute_uri()
    for name in ("max_id", "since_id", "min_id"):
        url = remove_query_param(url, name)
    links = []
    if full:
        links.append(f'<{replace_query_param(url, "max_id", ids[-1])}>; rel="next"')
    links.append(f'<{replace_query_param(url, "min_id", ids[0])}>; rel="prev"')
    return ", ".join(links)
