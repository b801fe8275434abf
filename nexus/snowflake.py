"""Snowflake ids: 41 bits of milliseconds since the Nexus epoch, 10 bits of
worker id, 12 bits of sequence. Sorting ids sorts by creation time; ids are
unique across processes as long as live processes have distinct worker ids
(by default derived from the pid, or NEXUS_SNOWFLAKE_WORKER_ID)."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
WORKER_BITS = 10
SEQUENCE_BITS = 12
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1
MAX_WORKER = (1 << WORKER_BITS) - 1


class SnowflakeGenerator:
    def __init__(self, worker_id: int) -> None:
        if not 0 <= worker_id <= MAX_WORKER:
            raise ValueError(f"worker id {worker_id} outside 0..{MAX_WORKER}")
        self.worker_id = worker_id
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def next_id(self) -> int:
        with self._lock:
            now_ms = int(time.time() * 1000)
            # A clock that steps back must not produce a duplicate: keep using
            # the last millisecond until the clock catches up.
            now_ms = max(now_ms, self._last_ms)
            if now_ms == self._last_ms:
                self._sequence = (self._sequence + 1) & MAX_SEQUENCE
                if self._sequence == 0:
                    while now_ms <= self._last_ms:
                        now_ms = max(int(time.time() * 1000), self._last_ms + 1)
            else:
                self._sequence = 0
            self._last_ms = now_ms
            return (
                ((now_ms - EPOCH_MS) << (WORKER_BITS + SEQUENCE_BITS))
                | (self.worker_id << SEQUENCE_BITS)
                | self._sequence
            )


_generator: SnowflakeGenerator | None = None
_generator_pid: int | None = None


def _worker_id() -> int:
    from django.conf import settings

    configured = getattr(settings, "NEXUS_SNOWFLAKE_WORKER_ID", -1)
    return configured if configured >= 0 else os.getpid() & MAX_WORKER


def next_id() -> int:
    """A new Snowflake id (re-seeded after fork so workers never share state)."""
    global _generator, _generator_pid
    pid = os.getpid()
    if _generator is None or _generator_pid != pid:
        _generator = SnowflakeGenerator(_worker_id())
        _generator_pid = pid
    return _generator.next_id()


def id_for_time(moment: datetime, worker_id: int = 0, sequence: int = 0) -> int:
    """The id a tweet created at `moment` would get (for backdated seed data)."""
    ms = int(moment.timestamp() * 1000)
    return ((ms - EPOCH_MS) << (WORKER_BITS + SEQUENCE_BITS)) | (worker_id << SEQUENCE_BITS) | sequence


def time_of_id(snowflake: int) -> datetime:
    ms = (snowflake >> (WORKER_BITS + SEQUENCE_BITS)) + EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


MAX_ID = (1 << 63) - 1


def id_parse(raw: object) -> int | None:
    """The id in `raw` (a string of 1–19 ASCII digits, or a JSON integer) when it
    fits a positive int64, else None. Every view, serializer and admin page
    parses ids with this one function."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        value = int(raw)
    else:
        return None
    return value if 0 < value <= MAX_ID else None
