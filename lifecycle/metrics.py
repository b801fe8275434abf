"""The lifecycle's numbers for /metrics (nexus/metrics.py), read when scraped."""

from __future__ import annotations

from collections.abc import Iterator

from lifecycle import selectors
from nexus.metrics import Gauge


def lifecycle_gauges() -> Iterator[Gauge]:
    """The lag (age of the oldest move that is due) and the moves due now; the
    one place that reads the lifecycle for metrics, through its selector."""
    backlog = selectors.queue_backlog()
    yield Gauge(
        "nexus_lifecycle_oldest_due_age_seconds",
        "Age of the oldest tier move that is due and not done (0 when none is due).",
        float(backlog["oldest_due_age_seconds"]),
    )
    yield Gauge("nexus_lifecycle_due_moves", "Tier moves due now and not done.", float(backlog["due"]))
