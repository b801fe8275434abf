"""Publishing a task without letting a down or hanging broker fail the request.

The broker's own timeouts and publish retry policy bound each attempt
(settings: CELERY_BROKER_TRANSPORT_OPTIONS, CELERY_TASK_PUBLISH_RETRY_POLICY);
the "broker" circuit breaker skips the attempt while the broker is down. For
work whose state is in the database, a failed dispatch is only logged: a
periodic sweep of that state dispatches it again (e.g. media_requeue_stale).
"""

from __future__ import annotations

import logging

from django.db import transaction
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from nexus.breaker import DependencyUnavailable, breaker

logger = logging.getLogger(__name__)

BROKER = "broker"
_PUBLISH_ERRORS = (KombuError, RedisError, OSError, TimeoutError)


def dispatch(task, *args) -> bool:
    """Publish `task(*args)` now; False (logged) when the broker is unavailable."""
    try:
        with breaker(BROKER).guard(lambda exc: isinstance(exc, _PUBLISH_ERRORS)):
            task.apply_async(args=args)
    except DependencyUnavailable:
        logger.warning("broker circuit open: %s%r not dispatched (the sweep retries it)", task.name, args)
        return False
    except _PUBLISH_ERRORS as exc:
        logger.warning("broker unavailable: %s%r not dispatched (the sweep retries it): %s", task.name, args, exc)
        return False
    return True


def dispatch_on_commit(task, *args) -> None:
    """dispatch() once the current transaction commits (the worker must find the rows)."""
    transaction.on_commit(lambda: dispatch(task, *args))
