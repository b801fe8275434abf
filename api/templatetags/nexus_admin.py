"""Template filters of the moderator admin and the operator dashboard: one way
to show a time (the reader's local time, UTC without JavaScript), a size (IEC
units, as the charts) and a duration."""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html

register = template.Library()

SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def as_datetime(value) -> datetime | None:
    """A datetime from a datetime or an ISO-8601 string (archive documents keep strings)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return parse_datetime(value)
        except ValueError:
            return None
    return None


@register.filter
def local_time(value) -> str:
    """<time> in UTC, turned into the reader's local time by api/local-time.js."""
    moment = as_datetime(value)
    if moment is None:
        return "—" if not value else str(value)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    utc = moment.astimezone(UTC)
    return format_html(
        '<time datetime="{}" data-local-time title="{} UTC">{} UTC</time>',
        utc.isoformat(),
        utc.strftime("%Y-%m-%d %H:%M:%S"),
        utc.strftime("%Y-%m-%d %H:%M"),
    )


def size_text(value) -> str:
    if value is None:
        return "n/a"
    size = float(value)
    for unit in SIZE_UNITS:
        if abs(size) < 1024 or unit == SIZE_UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


@register.filter
def ibytes(value) -> str:
    """Bytes in IEC units (KiB, MiB, …), the unit system of the whole dashboard."""
    return size_text(value)


@register.filter
def duration(value) -> str:
    """Seconds as '45 s', '3 min 20 s', '2 h 5 min', '3 d 4 h'."""
    if value is None or value == "":
        return "—"
    seconds = float(value)
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 or seconds == int(seconds) else f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@register.filter
def get_item(mapping, key):
    """mapping[key] for keys a template cannot spell (spaces)."""
    return mapping.get(key) if hasattr(mapping, "get") else None
