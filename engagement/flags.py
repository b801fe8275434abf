"""Which tweets a user has liked and retweeted, served from Redis.

A Mastodon client gets, with every status, the caller's `favourited` and
`reblogged`. The facts (`Like`, `Retweet` rows) answer that, but a PostgreSQL
round trip per read cost as much as the rest of a cached read. So Redis keeps
the answer per (tweet, user), filled from the facts on first use, and the read
travels in the caller's `nexus.redis_batch` with the tweet's record and counts.

Redis holds, per tweet, the hash `eng:f:<tweet id>` (at most FLAGS_MAX_FIELDS
fields, expiring FLAGS_TTL after its last fill or write), and in it per user:
    `<user id>`     the flags: 1 liked, 2 retweeted (a bit mask), once filled
    `<user id>:p`   writes of that user on that tweet in flight
    `<user id>:v`   a version, bumped by every write

The facts stay the only truth. Without a lock, Redis never keeps an answer
older than a write that has answered its client:
- A write (like, un-like, retweet, undo) calls `flags_write_begin` before it
  writes the fact and `flags_write_end` once it is committed (whatever
  happened). Both drop the cached answer and bump the version; begin also
  counts the write in flight, end uncounts it.
- A reader that misses reads the facts and then stores their answer only if
  no write was in flight when it looked and the version is still the one it
  saw then (one Lua script: check and set at once).
A write that began after the reader looked has bumped the version, so the
fill is refused; a write whose commit the reader's query did not see yet may
let a fill through, but its end comes after and drops that answer.
A writer that dies between begin and end leaves its write counted as in
flight: that pair is read from PostgreSQL until the hash expires (slower,
never wrong). A wiped Redis has no answers: they are refilled from the facts.
A writer that cannot reach Redis at its end queues the tweet for the drift job
(`CounterRepair`, as the counters do), whose check drops the tweet's answers:
an answer stored before the outage is served until that check (as the counts
are).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import connection
from redis.exceptions import RedisError

from engagement import counters
from engagement.models import Like, Retweet
from nexus.db import prepared_cursor
from nexus.redis_batch import redis_read

LIKED, RETWEETED = 1, 2
FLAGS_TTL = 24 * 3600  # a tweet's answers expire a day after its last fill or write
# Fields per tweet hash (~50 bytes each): a tweet read by very many signed-in
# users keeps the answers of the first ones; the others read the facts.
FLAGS_MAX_FIELDS = 30_000
Flags = tuple[set[int], set[int]]  # (liked tweet ids, retweeted tweet ids)

# Both facts of one user over a page of tweets in one statement, prepared on PostgreSQL.
FACTS_SQL = (
    f"SELECT tweet_id, {LIKED} FROM {Like._meta.db_table} "
    "WHERE user_id = %(user_id)s AND tweet_id = ANY(%(ids)s::bigint[]) "
    f"UNION ALL SELECT tweet_id, {RETWEETED} FROM {Retweet._meta.db_table} "
    "WHERE user_id = %(user_id)s AND tweet_id = ANY(%(ids)s::bigint[])"
)


def _hash_key(tweet_id: int) -> str:
    return counters.redis_key(f"f:{tweet_id}")


# KEYS: one flags hash per tweet; ARGV: user id. Per tweet two numbers: the
# flags (0-3) and 0 when cached; else -1 and the version when a fill may store
# the answer, or -2 while a write is in flight.
_READ = """
local out = {}
for i = 1, #KEYS do
  local v = redis.call('HMGET', KEYS[i], ARGV[1], ARGV[1] .. ':p', ARGV[1] .. ':v')
  if v[1] then
    table.insert(out, tonumber(v[1])); table.insert(out, 0)
  elseif tonumber(v[2] or '0') > 0 then
    table.insert(out, -2); table.insert(out, 0)
  else
    table.insert(out, -1); table.insert(out, tonumber(v[3] or '0'))
  end
end
return out
"""

# KEYS: one flags hash per tweet; ARGV: user id, ttl, most fields, then per
# tweet the version its reader saw (with no write in flight) and the flags the
# facts gave. Every write's begin bumps the version: an unchanged one means
# none began. A full hash stores no more answers (those users read the facts).
_FILL = """
local u = ARGV[1]
for i = 1, #KEYS do
  local v = redis.call('HMGET', KEYS[i], u, u .. ':v')
  if (not v[1]) and tonumber(v[2] or '0') == tonumber(ARGV[2 + 2 * i])
     and redis.call('HLEN', KEYS[i]) < tonumber(ARGV[3]) then
    redis.call('HSET', KEYS[i], u, ARGV[3 + 2 * i])
    redis.call('EXPIRE', KEYS[i], ARGV[2])
  end
end
return 0
"""

# KEYS: the tweet's flags hash; ARGV: user id, ttl, +1 (begin) or -1 (end).
# The count of writes in flight never goes below zero: an end whose begin did
# not reach Redis (or was wiped with it) must not let fills through early.
_WRITE = """
local u = ARGV[1]
redis.call('HDEL', KEYS[1], u)
redis.call('HINCRBY', KEYS[1], u .. ':v', 1)
local p = tonumber(redis.call('HGET', KEYS[1], u .. ':p') or '0')
if ARGV[3] == '1' or p > 0 then redis.call('HINCRBY', KEYS[1], u .. ':p', tonumber(ARGV[3])) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 0
"""


def flags_from_facts(*, user_id: int, tweet_ids: list[int]) -> Flags:
    """Which of `tweet_ids` the user has liked, and which retweeted: the facts."""
    liked: set[int] = set()
    shared: set[int] = set()
    if not tweet_ids:
        return liked, shared
    if connection.vendor == "postgresql":
        with prepared_cursor() as cursor:
            cursor.execute(FACTS_SQL, {"user_id": user_id, "ids": list(tweet_ids)})
            rows = cursor.fetchall()
    else:
        mine = {"user_id": user_id, "tweet_id__in": tweet_ids}
        rows = [(i, LIKED) for i in Like.objects.filter(**mine).values_list("tweet_id", flat=True)]
        rows += [(i, RETWEETED) for i in Retweet.objects.filter(**mine).values_list("tweet_id", flat=True)]
    for tweet_id, kind in rows:
        (liked if kind == LIKED else shared).add(tweet_id)
    return liked, shared


def flags_read_many(*, user_id: int, tweet_ids: Iterable[int]) -> Callable[[Iterable[int]], Flags]:
    """The user's flags for `tweet_ids`, read with the caller's `redis_batch`
    if any: call the result once the batch has been sent, with the ids wanted
    after all (a subset). Misses are read from the facts (one query) and stored."""
    ids = list(dict.fromkeys(tweet_ids))
    if not ids or not counters.uses_redis() or counters.redis_breaker_open():
        return lambda wanted: flags_from_facts(user_id=user_id, tweet_ids=list(dict.fromkeys(wanted)))
    # EVAL, not EVALSHA: in a batch a NOSCRIPT could not be retried.
    reply = redis_read("EVAL", _READ, len(ids), *[_hash_key(i) for i in ids], user_id)

    def complete(wanted: Iterable[int]) -> Flags:
        wanted = list(dict.fromkeys(wanted))
        if not wanted:
            return set(), set()
        if reply.error is not None:
            counters.redis_failed(reply.error, "flags read from PostgreSQL")
            return flags_from_facts(user_id=user_id, tweet_ids=wanted)
        found = {tweet_id: reply.value[2 * k : 2 * k + 2] for k, tweet_id in enumerate(ids)}
        flags = {i: found[i][0] for i in wanted if found[i][0] >= 0}
        missing = [i for i in wanted if i not in flags]
        if missing:
            liked, shared = flags_from_facts(user_id=user_id, tweet_ids=missing)
            fresh = {i: (LIKED if i in liked else 0) | (RETWEETED if i in shared else 0) for i in missing}
            flags.update(fresh)
            _fill(user_id, {i: (found[i][1], fresh[i]) for i in missing if found[i][0] == -1})
        return {i for i, f in flags.items() if f & LIKED}, {i for i, f in flags.items() if f & RETWEETED}

    return complete


def flags_get_many(*, user_id: int, tweet_ids: Iterable[int]) -> Flags:
    ids = list(dict.fromkeys(tweet_ids))
    return flags_read_many(user_id=user_id, tweet_ids=ids)(ids)


def _fill(user_id: int, seen: dict[int, tuple[int, int]]) -> None:
    """Store answers read from the facts, where still safe (module docstring)."""
    if not seen:
        return
    args = [x for version, flags in seen.values() for x in (version, flags)]
    try:
        counters.redis_client().eval(
            _FILL, len(seen), *[_hash_key(i) for i in seen], user_id, FLAGS_TTL, FLAGS_MAX_FIELDS, *args
        )
    except RedisError as exc:
        counters.redis_failed(exc, "flags not stored")


def _write(user_id: int, tweet_id: int, step: int) -> bool:
    try:
        counters.redis_client().eval(_WRITE, 1, _hash_key(tweet_id), user_id, FLAGS_TTL, step)
    except RedisError as exc:
        counters.redis_failed(exc, "flags not updated")
        return False
    return True


def flags_write_begin(*, user_id: int, tweet_id: int) -> None:
    """Call before writing a like or retweet fact (or deleting one)."""
    if counters.uses_redis():
        _write(user_id, tweet_id, 1)


def flags_write_end(*, user_id: int, tweet_id: int) -> None:
    """Call after the fact's statement, whether it changed anything or failed."""
    if counters.uses_redis() and not _write(user_id, tweet_id, -1):
        counters.repair_enqueue(tweet_id)  # the drift check drops the tweet's answers


def flags_forget(tweet_ids: list[int]) -> None:
    """Drop every cached answer of these tweets (the drift check, after an outage)."""
    if not tweet_ids or not counters.uses_redis():
        return
    try:
        counters.redis_client().delete(*[_hash_key(i) for i in tweet_ids])
    except RedisError as exc:
        counters.redis_failed(exc, "flags not dropped")
