from celery import shared_task

from tweets.outbox import outbox_purge
from tweets.services import idempotency_keys_purge


@shared_task(ignore_result=True)
def purge_idempotency_keys() -> int:
    return idempotency_keys_purge()


@shared_task(ignore_result=True)
def purge_outbox_events() -> int:
    """Beat job: drop outbox events past NEXUS_OUTBOX_RETENTION_HOURS (idempotent)."""
    return outbox_purge()
