from celery import shared_task

from tweets.services import idempotency_keys_purge


@shared_task(ignore_result=True)
def purge_idempotency_keys() -> int:
    return idempotency_keys_purge()
