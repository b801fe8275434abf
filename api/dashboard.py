"""The operator dashboard (/ops/, staff only): one page, rendered on the
server with inline SVG charts (no JavaScript, no CDN: works offline).

The numbers come from the owning apps' own functions, the same ones the
`storage_report` command and the APIs use; this module only arranges them.
A section whose function fails says "not available" with the reason instead
of breaking the page (Redis down must not hide the database figures)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from api import selectors
from api.templatetags.nexus_admin import size_text
from engagement import selectors as engagement_selectors
from lifecycle import selectors as lifecycle_selectors
from media import selectors as media_selectors

STORAGE_CACHE_SECONDS = 30  # the measurement reads table sizes and lists the archive: not on every refresh
TRENDING_WINDOW_SECONDS = 3600
TRENDING_LIMIT = 10
MEDIA_FAILURE_WINDOW = timedelta(hours=24)


@dataclass
class Section:
    data: Any = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def _section(function: Callable, *args: Any, **kwargs: Any) -> Section:
    try:
        return Section(data=function(*args, **kwargs))
    except Exception as exc:  # one failing subsystem must not hide the others
        return Section(error=f"not available ({exc.__class__.__name__}: {exc})")


def _storage() -> Section:
    cached = cache.get("ops:dashboard:storage")
    if cached is not None:
        return Section(data=cached)
    section = _section(lifecycle_selectors.storage_summary)
    if section.ok:
        cache.set("ops:dashboard:storage", section.data, STORAGE_CACHE_SECONDS)
    return section


# --- charts: horizontal bars as inline SVG -----------------------------------------------------
BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 130
CHART_WIDTH = 560


def bar_chart(rows: list[tuple[str, float | int | None]], *, unit: str = "") -> dict:
    """Geometry for a horizontal bar chart; values scale to the largest."""
    values = [v or 0 for _, v in rows]
    top = max(values, default=0) or 1
    span = CHART_WIDTH - LABEL_WIDTH - 110
    bars = []
    for i, (label, value) in enumerate(rows):
        y = i * (BAR_HEIGHT + BAR_GAP)
        width = round(span * (value or 0) / top, 1)
        bars.append(
            {
                "label": label,
                "value": value,
                "text": human(value, unit),
                "y": y,
                "text_y": y + BAR_HEIGHT * 0.7,
                "width": max(width, 1 if value else 0),
                "value_x": LABEL_WIDTH + width + 6,
            }
        )
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": max(len(rows), 1) * (BAR_HEIGHT + BAR_GAP),
        "label_width": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
    }


def human(value: float | int | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if unit == "B":
        return size_text(value)  # IEC units, as the page's other sizes (one unit system)
    if isinstance(value, float):
        return f"{value:,.1f}{unit}"
    return f"{value:,}{unit}"


def _storage_charts(summary: dict) -> dict:
    tiers = list(summary["tweets"]["by_tier"])
    db = summary["primary_db"]
    store = summary.get("object_store") or {}
    redis = summary.get("redis") or {}
    baseline = summary["baseline_all_hot"]["primary_db"]
    return {
        "tweets": bar_chart([(t, summary["tweets"]["by_tier"][t]) for t in tiers]),
        "bytes": bar_chart(
            [(f"{t} · database", db["by_tier"].get(t, 0)) for t in tiers]
            + [(f"{t} · archive", store.get("by_tier", {}).get(t, 0)) for t in tiers if t != "hot"]
            + ([("hot · redis", redis.get("total", 0))] if redis else []),
            unit="B",
        ),
        "saving": bar_chart([("all-hot baseline", baseline), ("measured", db["total"])], unit="B"),
    }


@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    storage = _storage()
    frame = admin.site.each_context(request)
    context = {
        # The admin's frame: header, the user's name, password and logout links;
        # the side bar only for someone who has admin models to go to.
        **frame,
        "is_nav_sidebar_enabled": frame["is_nav_sidebar_enabled"] and bool(frame["available_apps"]),
        "title": "Operator dashboard",
        "now": now,
        "storage": storage,
        "charts": _storage_charts(storage.data) if storage.ok else None,
        "queue": _section(lifecycle_selectors.queue_backlog),
        "flush_lag": _section(engagement_selectors.counters_flush_lag),
        "media_failures": _section(media_selectors.media_failures_since, since=now - MEDIA_FAILURE_WINDOW),
        "trending": _section(
            selectors.trending_get,
            window_seconds=TRENDING_WINDOW_SECONDS,
            limit=TRENDING_LIMIT,
            user=request.user,
        ),
        "trending_window_minutes": TRENDING_WINDOW_SECONDS // 60,
        "storage_cache_seconds": STORAGE_CACHE_SECONDS,
    }
    return render(request, "ops/dashboard.html", context)
