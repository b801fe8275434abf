"""Media's numbers for /metrics (nexus/metrics.py), read when scraped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone

from media import selectors
from nexus.metrics import Gauge

FAILURE_WINDOW = timedelta(hours=24)


def media_gauges() -> Iterator[Gauge]:
    failures = selectors.media_failures_since(since=timezone.now() - FAILURE_WINDOW)
    yield Gauge(
        "nexus_media_failed_originals_24h",
        "Uploaded originals whose processing failed in the last 24 hours.",
        float(failures["failed originals"]),
    )
