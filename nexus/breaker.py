"""Circuit breakers for the dependencies a request may wait on (object store,
Redis, the broker), one per dependency per process.

A breaker is a plain in-memory object shared by every thread of the process
(gunicorn's threads of one worker, a Celery worker's pool thread): after
`threshold` consecutive failures it opens, and for `reset_seconds` every call
fails at once with DependencyUnavailable instead of waiting for another
timeout. Then one trial call goes through (half-open): success closes it,
failure opens it for another period. Per process, not shared through Redis:
the breaker must work when Redis is the dependency that is down.

A breaker can also be a bulkhead (`max_concurrent`): at most that many calls
in flight at once, so a dependency that hangs (connections accepted, never
answered) holds at most that many of the process's threads while the first
timeouts run out — the other threads keep serving what does not need it
(hot reads, /readyz). A call that finds no free slot within `queue_seconds`
fails fast like an open breaker.

DependencyUnavailable is the project's ServiceUnavailable: 503 JSON with
Retry-After from the DRF exception handler (nexus.errors), and from
nexus.faults.FaultMiddleware for the few views outside DRF.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings

from nexus.errors import ServiceUnavailable

NAMES = {"storage": "The object store", "redis": "The cache", "broker": "The task queue"}


class DependencyUnavailable(ServiceUnavailable):
    """A dependency is down or hanging; the caller may retry after `retry_after` seconds."""

    def __init__(self, dependency: str, *, retry_after: int) -> None:
        self.dependency = dependency
        super().__init__(
            f"{NAMES.get(dependency, dependency)} is unavailable; try again shortly.",
            retry_after=max(1, int(retry_after)),
            code=f"{dependency}_unavailable",
        )


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        threshold: int,
        reset_seconds: float,
        max_concurrent: int | None = None,
        queue_seconds: float = 0.1,
    ) -> None:
        self.name = name
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self.queue_seconds = queue_seconds
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self._slots = threading.BoundedSemaphore(max_concurrent) if max_concurrent else None
        self._held = threading.local()  # whether this thread holds a slot

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._opened_at is not None and time.monotonic() - self._opened_at < self.reset_seconds

    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "open" if time.monotonic() - self._opened_at < self.reset_seconds else "half-open"

    def before_call(self) -> None:
        """Raise DependencyUnavailable while open or while every slot is taken;
        let one trial through once the open period is over."""
        with self._lock:
            if self._opened_at is not None:
                elapsed = time.monotonic() - self._opened_at
                if elapsed < self.reset_seconds:
                    raise DependencyUnavailable(self.name, retry_after=math.ceil(self.reset_seconds - elapsed))
                # Half-open: exactly one caller probes the dependency; the others
                # keep failing fast instead of all piling onto a hanging server.
                if self._trial_running:
                    raise DependencyUnavailable(self.name, retry_after=math.ceil(self.reset_seconds))
                self._trial_running = True
        if self._slots is not None:
            self._release_slot()  # a call whose end was never reported (an exception between hooks)
            if not self._slots.acquire(timeout=self.queue_seconds):
                with self._lock:
                    self._trial_running = False
                raise DependencyUnavailable(self.name, retry_after=1)
            self._held.slot = True

    def _release_slot(self) -> None:
        if self._slots is not None and getattr(self._held, "slot", False):
            self._held.slot = False
            self._slots.release()

    def record_success(self) -> None:
        self._release_slot()
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_running = False

    def record_failure(self) -> None:
        self._release_slot()
        with self._lock:
            self._trial_running = False
            self._failures += 1
            if self._failures >= self.threshold or self._opened_at is not None:
                self._opened_at = time.monotonic()

    def reset(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_running = False

    @contextmanager
    def guard(self, is_failure: Callable[[BaseException], bool] = lambda exc: True) -> Iterator[None]:
        """Run the body under the breaker; exceptions for which `is_failure`
        is true count against the dependency (others, e.g. "no such key", do not)."""
        self.before_call()
        try:
            yield
        except BaseException as exc:
            if is_failure(exc):
                self.record_failure()
            else:
                self.record_success()
            raise
        else:
            self.record_success()


_breakers: dict[str, CircuitBreaker] = {}
_registry_lock = threading.Lock()


def breaker(name: str) -> CircuitBreaker:
    """The process-wide breaker of one dependency ("storage", "redis", "broker")."""
    with _registry_lock:
        if name not in _breakers:
            _breakers[name] = CircuitBreaker(
                name,
                threshold=settings.NEXUS_BREAKER_THRESHOLD,
                reset_seconds=settings.NEXUS_BREAKER_RESET_SECONDS,
                max_concurrent=settings.NEXUS_BREAKER_MAX_CONCURRENT.get(name),
            )
        return _breakers[name]


def breakers_reset() -> None:
    """Close every breaker (tests)."""
    with _registry_lock:
        for item in _breakers.values():
            item.reset()
