"""Redis writes of several apps sent in one round trip.

A new tweet ends with two Redis writes from two apps: its record into the
cache (tweets) and its counters started at zero (engagement). Each alone is a
round trip, and on the post path a round trip costs about as much CPU as the
command handling around it. Inside `redis_batch()`, `redis_write` queues a
command instead of sending it; the block's end sends them all in one pipeline
and hands each reply (or the error) to its own callback. Outside a batch,
`redis_write` sends at once. The callbacks are where each app keeps its own
failure policy: the cache ignores errors, the counters trip their breaker.

Reads batch the same way (`redis_read`): a cached tweet's read needs its
record (tweets) and its live counts (engagement), one round trip for both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django_redis import get_redis_connection
from redis.exceptions import RedisError

ReplyHandler = Callable[[Any], None]

_batch: ContextVar[list[tuple[str, tuple, ReplyHandler]] | None] = ContextVar("redis_batch", default=None)


@contextmanager
def redis_batch() -> Iterator[None]:
    """Queue the `redis_write`s made inside; send them together at the end.
    Nested blocks join the outer one."""
    if _batch.get() is not None:
        yield
        return
    queued: list[tuple[str, tuple, ReplyHandler]] = []
    token = _batch.set(queued)
    try:
        yield
    finally:
        _batch.reset(token)
        _send(queued)


def redis_write(command: str, *args: Any, on_reply: ReplyHandler) -> None:
    """Send `command` to the default Redis (django-redis's connection), now or
    with the current batch. `on_reply` gets the reply, or the RedisError."""
    queued = _batch.get()
    if queued is None:
        _send([(command, args, on_reply)])
    else:
        queued.append((command, args, on_reply))


class Reply:
    """A command's reply, once its batch has been sent: `value`, or `error`."""

    __slots__ = ("error", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.error: RedisError | None = None

    def __call__(self, reply: Any) -> None:
        if isinstance(reply, RedisError):
            self.error = reply
        else:
            self.value = reply


def redis_read(command: str, *args: Any) -> Reply:
    """`redis_write` for a read: the reply is filled in when the batch is sent
    (at once outside a batch)."""
    reply = Reply()
    redis_write(command, *args, on_reply=reply)
    return reply


def _send(queued: list[tuple[str, tuple, ReplyHandler]]) -> None:
    if not queued:
        return
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        for command, args, _ in queued:
            pipe.execute_command(command, *args)
        replies = pipe.execute(raise_on_error=False)
    except RedisError as exc:
        replies = [exc] * len(queued)
    for (_, _, on_reply), reply in zip(queued, replies, strict=True):
        on_reply(reply)
