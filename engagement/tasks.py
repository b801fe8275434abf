from celery import shared_task

from engagement import services


@shared_task(ignore_result=True)
def flush_counters() -> int:
    """Safe to run twice or concurrently: the flush is a max()-merge."""
    return services.counters_flush()


@shared_task(ignore_result=True)
def drift_check() -> dict:
    return services.drift_check()
