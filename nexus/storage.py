"""The S3-compatible object store behind the process-wide circuit breaker.

Timeouts and the retry budget are botocore's (settings.STORAGE_*); this adds
the breaker through botocore's event hooks, so every call — django-storages'
saves and reads, a lifecycle archive read, the readiness probe — fails fast
with DependencyUnavailable once the store has failed `NEXUS_BREAKER_THRESHOLD`
times in a row, instead of each thread waiting out its own timeouts.
"""

from __future__ import annotations

from storages.backends.s3 import S3Storage

from nexus.breaker import breaker

STORE = "storage"


def _before_call(**kwargs) -> None:
    breaker(STORE).before_call()


def _after_call(http_response=None, **kwargs) -> None:
    # A 5xx after botocore's retries is the store failing; 4xx (no such key,
    # access denied) is an answer, so the store is up.
    if http_response is not None and http_response.status_code >= 500:
        breaker(STORE).record_failure()
    else:
        breaker(STORE).record_success()


def _after_call_error(**kwargs) -> None:
    # Connection refused, connect/read timeout, connection reset: no answer.
    breaker(STORE).record_failure()


class BreakerS3Storage(S3Storage):
    @property
    def connection(self):
        resource = getattr(self._connections, "connection", None)
        if resource is None:
            resource = super().connection
            events = resource.meta.client.meta.events
            events.register("before-call.s3", _before_call)
            events.register("after-call.s3", _after_call)
            events.register("after-call-error.s3", _after_call_error)
        return resource
