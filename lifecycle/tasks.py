import time

from celery import shared_task
from django.conf import settings

from lifecycle.services import erasure_collect, lifecycle_run_due, segments_compact, segments_erase_due, segments_sweep


@shared_task(ignore_result=True)
def lifecycle_dispatch() -> int:
    """Beat job (every NEXUS_LIFECYCLE_INTERVAL_SECONDS): start
    NEXUS_LIFECYCLE_WORKERS move tasks. Each claims disjoint batches (SKIP
    LOCKED), so running more of them, or this job twice, only adds movers."""
    # A move task not started within one interval is dropped: the next beat
    # starts fresh ones, so a backlog never piles tasks up in the broker.
    for _ in range(settings.NEXUS_LIFECYCLE_WORKERS):
        lifecycle_move.apply_async(expires=settings.NEXUS_LIFECYCLE_INTERVAL_SECONDS)
    return settings.NEXUS_LIFECYCLE_WORKERS


@shared_task(ignore_result=True, acks_late=True)
def lifecycle_move() -> dict[str, int]:
    """Move due batches until nothing is due or the time budget (most of one
    beat interval) is spent; the next beat starts more. A killed worker's
    batch rolls back and is claimable at once."""
    budget = max(1.0, settings.NEXUS_LIFECYCLE_INTERVAL_SECONDS * 0.9)
    return lifecycle_run_due(deadline=time.monotonic() + budget)


@shared_task(ignore_result=True)
def lifecycle_sweep() -> int:
    """Beat job: delete orphan segment objects (moves that never committed)."""
    return segments_sweep()


@shared_task(ignore_result=True)
def lifecycle_compact() -> dict[str, int]:
    """Beat job: queue erasures from the outbox, rewrite the segments whose
    erasure is due, drop dead segments and merge small ones."""
    erasure_collect()
    erased = segments_erase_due()
    return {"erased": erased, **segments_compact()}
