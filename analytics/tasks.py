from celery import shared_task

from analytics import services


@shared_task(ignore_result=True)
def hashtag_hours_prune() -> int:
    return services.hashtag_hours_prune()


@shared_task(ignore_result=True)
def engagement_vectors_sync() -> int:
    """Safe to run twice or concurrently: the feed cursor row is locked per batch."""
    return services.engagement_vectors_sync()


@shared_task(ignore_result=True)
def engagement_points_prune() -> int:
    """Safe to run twice or concurrently: each run deletes under an exclusive advisory lock."""
    return services.engagement_points_prune()
