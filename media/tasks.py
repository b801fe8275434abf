import random

from celery import shared_task
from django.conf import settings

from media import services
from media.storage import StoreError


def retry_countdown(retries: int) -> float:
    """Bounded exponential backoff with jitter (so a store outage does not make
    every worker retry in lockstep)."""
    base = settings.NEXUS_MEDIA_RETRY_BACKOFF_SECONDS * (2**retries)
    return min(base, settings.NEXUS_MEDIA_RETRY_BACKOFF_MAX_SECONDS) * random.uniform(0.5, 1.0)


@shared_task(bind=True, ignore_result=True, acks_late=True, max_retries=None)
def media_process(self, sha256: str) -> None:
    """Make the variants of one stored original (idempotent: a ready or claimed
    blob is left alone)."""
    try:
        services.media_blob_process(sha256=sha256)
    except StoreError as exc:
        if self.request.retries >= settings.NEXUS_MEDIA_MAX_RETRIES:
            # The client sees why, not where: the exception names the store's endpoint.
            services.media_blob_fail(
                sha256=sha256,
                error=f"Object store failed after {self.request.retries + 1} attempts; upload the file again later.",
                detail=str(exc),
            )
            return
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries)) from exc


@shared_task(ignore_result=True)
def media_requeue_stale() -> int:
    return services.media_requeue_stale()
