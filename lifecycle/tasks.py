from celery import shared_task
from django.conf import settings
from django.db import transaction

from lifecycle.services import lifecycle_claim, lifecycle_tasks_process

CHUNK = 50  # queue rows per worker task: small enough to spread, large enough to amortise


@shared_task(ignore_result=True)
def lifecycle_dispatch() -> int:
    """Beat job: claim due queue rows in bounded batches and hand them to workers
    by id. Safe to run twice or concurrently: claims skip each other's rows."""
    claimed = 0
    for _ in range(settings.NEXUS_LIFECYCLE_MAX_BATCHES):
        ids = lifecycle_claim(limit=settings.NEXUS_LIFECYCLE_BATCH_SIZE)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            transaction.on_commit(lambda chunk=chunk: lifecycle_migrate.delay(task_ids=chunk))
        claimed += len(ids)
        if len(ids) < settings.NEXUS_LIFECYCLE_BATCH_SIZE:
            break
    return claimed


@shared_task(ignore_result=True, acks_late=True)
def lifecycle_migrate(task_ids: list[int]) -> dict[str, int]:
    """Migrate the tweets of these queue rows (idempotent: replays are no-ops)."""
    return lifecycle_tasks_process(task_ids=task_ids)
