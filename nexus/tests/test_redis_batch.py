"""nexus.redis_batch against the real Redis: queued until the block ends, one
reply per command to its own callback, errors to the command that caused them."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django_redis import get_redis_connection
from redis.exceptions import ResponseError

from nexus.redis_batch import redis_batch, redis_write

pytestmark = pytest.mark.redis


def test_writes_inside_a_batch_go_out_together_at_its_end():
    r = get_redis_connection("default")
    a, b = cache.make_key("batch:a"), cache.make_key("batch:b")
    replies = {}
    with redis_batch():
        redis_write("SET", a, "1", on_reply=lambda reply: replies.__setitem__("a", reply))
        with redis_batch():  # a nested block joins the outer one
            redis_write("INCRBY", b, 5, on_reply=lambda reply: replies.__setitem__("b", reply))
        assert r.get(a) is None and r.get(b) is None and replies == {}
    assert r.get(a) == b"1" and r.get(b) == b"5"
    assert replies == {"a": True, "b": 5}


def test_outside_a_batch_a_write_is_sent_at_once():
    r = get_redis_connection("default")
    key = cache.make_key("batch:now")
    seen = []
    redis_write("SET", key, "x", on_reply=seen.append)
    assert r.get(key) == b"x" and seen == [True]


def test_a_failing_command_fails_alone():
    key, counter = cache.make_key("batch:text"), cache.make_key("batch:counter")
    get_redis_connection("default").set(key, "not a number")
    replies = {}
    with redis_batch():
        redis_write("INCR", key, on_reply=lambda reply: replies.__setitem__("bad", reply))
        redis_write("INCR", counter, on_reply=lambda reply: replies.__setitem__("good", reply))
    assert isinstance(replies["bad"], ResponseError)
    assert replies["good"] == 1
