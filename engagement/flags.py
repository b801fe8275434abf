"""Which tweets a user has liked and retweeted, served from Redis.

A Mastodon client gets, with every status, the caller's `favourited` and
`reblogged`. The facts (`Like`, `Retweet` rows) answer that, but a PostgreSQL
round trip per read cost as much as the rest of a cached read. So Redis keeps
the answers, and the read travels in the caller's `nexus.redis_batch` with the
tweet's record and counts.

Redis holds, per tweet, the hash `eng:f:<tweet id>` (expiring FLAGS_TTL after
its last load, fill or write):
    `_l`            1 once loaded: the hash then names every user who liked or
                    retweeted the tweet; a user it does not name has not
                    (0: too many facts to load, see below)
    `_v`            the tweet's version, bumped by every write on it
    `<user id>`     that user's flags (1 liked, 2 retweeted: a bit mask), or
                    `?` when written since: read from the facts and stored again
    `<user id>:p`   that user's writes on the tweet in flight
    `<user id>:v`   that pair's version, bumped by its every write
A tweet is loaded on its first read by a signed-in user, from its facts (one
query), unless it has more than LOAD_MAX_FACTS of them: then each pair is
read from the facts and stored on its own (at most FLAGS_MAX_FIELDS fields).
A page of tweets is loaded in one query; when one of them has that many, the
page's pairs are read one by one, and the tweet is marked when read alone.

The facts stay the only truth. Without a lock, Redis never keeps an answer
older than a write that has answered its client:
- A write (like, un-like, retweet, undo) calls `flags_write_begin` before it
  writes the fact and `flags_write_end` once it is committed (whatever
  happened). Both mark the pair `?` and bump both versions; begin also counts
  the write in flight, end uncounts it.
- A reader that misses reads the facts and then stores what they said only if
  nothing was written since it looked: a load only if the tweet's version is
  the one it saw (every pair in flight is then marked `?`), a pair only if no
  write of it was in flight and its version is unchanged (one Lua script each:
  check and set at once).
A write whose commit the reader's query did not see yet may let a store
through, but its end comes after and marks the pair `?` again.
A writer that dies between begin and end leaves its write counted as in
flight: that pair is read from PostgreSQL until the hash expires (slower,
never wrong). A wiped Redis has no answers: they are loaded again.
A writer that cannot reach Redis at its end queues the tweet for the drift job
(`CounterRepair`, as the counters do), whose check drops the tweet's answers:
an answer stored before the outage is served until that check (as the counts
are).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

from django.db import connection
from redis.exceptions import RedisError

from engagement import counters
from engagement.models import Like, Retweet
from nexus.db import prepared_cursor
from nexus.redis_batch import redis_read

LIKED, RETWEETED = 1, 2
FLAGS_TTL = 24 * 3600  # a tweet's answers expire a day after its last fill or write
# A tweet with more likes and retweets than this is not loaded whole: its
# readers' answers are stored one by one, up to FLAGS_MAX_FIELDS fields
# (~50 bytes each); further readers read the facts.
LOAD_MAX_FACTS = 2_000
FLAGS_MAX_FIELDS = 30_000
Flags = tuple[set[int], set[int]]  # (liked tweet ids, retweeted tweet ids)

# Both facts of one user over a page of tweets in one statement, prepared on PostgreSQL.
FACTS_SQL = (
    f"SELECT tweet_id, {LIKED} FROM {Like._meta.db_table} "
    "WHERE user_id = %(user_id)s AND tweet_id = ANY(%(ids)s::bigint[]) "
    f"UNION ALL SELECT tweet_id, {RETWEETED} FROM {Retweet._meta.db_table} "
    "WHERE user_id = %(user_id)s AND tweet_id = ANY(%(ids)s::bigint[])"
)
TWEET_FACTS_SQL = (
    f"SELECT tweet_id, user_id, {LIKED} FROM {Like._meta.db_table} WHERE tweet_id IN ({{placeholders}}) "
    f"UNION ALL SELECT tweet_id, user_id, {RETWEETED} FROM {Retweet._meta.db_table} "
    "WHERE tweet_id IN ({placeholders}) LIMIT %s"
)


def _hash_key(tweet_id: int) -> str:
    return counters.redis_key(f"f:{tweet_id}")


# KEYS: one flags hash per tweet; ARGV: user id. Per tweet three numbers: a
# code, the pair's version and the tweet's. The code: the flags (0-3) when
# known; -1 when the pair's answer may be stored (its own, or the tweet has
# too many facts to load: `_l` 0), -2 while the pair is being written, -3
# when the tweet may be loaded.
_READ = """
local u = ARGV[1]
local out = {}
for i = 1, #KEYS do
  local v = redis.call('HMGET', KEYS[i], u, u .. ':p', u .. ':v', '_l', '_v')
  local code = -3
  if tonumber(v[2] or '0') > 0 then code = -2
  elseif v[1] == '?' then code = -1
  elseif v[1] then code = tonumber(v[1])
  elseif v[4] == '1' then code = 0
  elseif v[4] then code = -1 end
  table.insert(out, code); table.insert(out, tonumber(v[3] or '0')); table.insert(out, tonumber(v[5] or '0'))
end
return out
"""

# KEYS: one flags hash per tweet; ARGV: user id, ttl, most fields, then per
# tweet the pair's version its reader saw (with no write in flight) and the
# flags the facts gave. Every write's begin bumps that version: an unchanged
# one means none began since. A full hash stores no more answers.
_FILL = """
local u = ARGV[1]
for i = 1, #KEYS do
  local v = redis.call('HMGET', KEYS[i], u, u .. ':v')
  if ((not v[1]) or v[1] == '?') and tonumber(v[2] or '0') == tonumber(ARGV[2 + 2 * i])
     and redis.call('HLEN', KEYS[i]) < tonumber(ARGV[3]) then
    redis.call('HSET', KEYS[i], u, ARGV[3 + 2 * i])
    redis.call('EXPIRE', KEYS[i], ARGV[2])
  end
end
return 0
"""

# KEYS: the tweet's flags hash; ARGV: the tweet's version its reader saw, ttl,
# then user id / flags pairs (every user who liked or retweeted it). Loads
# only if no write began or ended since the reader looked; the pairs in flight
# (writers that began before) are marked unknown.
_LOAD = """
local v = redis.call('HMGET', KEYS[1], '_l', '_v')
if v[1] or tonumber(v[2] or '0') ~= tonumber(ARGV[1]) then return 0 end
local all = redis.call('HGETALL', KEYS[1])
local flying = {}
for j = 1, #all, 2 do
  local f = all[j]
  if string.sub(f, -2) == ':p' then
    if tonumber(all[j + 1]) > 0 then flying[string.sub(f, 1, -3)] = true end
  elseif not string.find(f, '[:_]') then
    redis.call('HDEL', KEYS[1], f)
  end
end
for j = 3, #ARGV, 2 do
  if not flying[ARGV[j]] then redis.call('HSET', KEYS[1], ARGV[j], ARGV[j + 1]) end
end
for u in pairs(flying) do redis.call('HSET', KEYS[1], u, '?') end
redis.call('HSET', KEYS[1], '_l', '1')
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS: the tweet's flags hash; ARGV: ttl. Marks a tweet not to be loaded.
_TOO_MANY = """
if redis.call('HSETNX', KEYS[1], '_l', '0') == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 0
"""

# KEYS: the tweet's flags hash; ARGV: user id, ttl, +1 (begin) or -1 (end).
# The count of writes in flight never goes below zero: an end whose begin did
# not reach Redis (or was wiped with it) must not let stores through early.
_WRITE = """
local u = ARGV[1]
redis.call('HSET', KEYS[1], u, '?')
redis.call('HINCRBY', KEYS[1], u .. ':v', 1)
redis.call('HINCRBY', KEYS[1], '_v', 1)
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
        found = {tweet_id: reply.value[3 * k : 3 * k + 3] for k, tweet_id in enumerate(ids)}
        flags = {i: found[i][0] for i in wanted if found[i][0] >= 0}
        loaded = _load({i: found[i][2] for i in wanted if found[i][0] == -3})
        flags.update({i: engaged.get(user_id, 0) for i, engaged in loaded.items()})
        missing = [i for i in wanted if i not in flags]
        if missing:
            liked, shared = flags_from_facts(user_id=user_id, tweet_ids=missing)
            fresh = {i: (LIKED if i in liked else 0) | (RETWEETED if i in shared else 0) for i in missing}
            flags.update(fresh)
            _fill(user_id, {i: (found[i][1], fresh[i]) for i in missing if found[i][0] != -2})
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


def tweet_facts(tweet_ids: list[int], *, limit: int) -> list[tuple[int, int, int]]:
    """(tweet id, user id, LIKED or RETWEETED) of every like and retweet of
    these tweets, at most `limit` of them."""
    placeholders = ", ".join(["%s"] * len(tweet_ids))
    with connection.cursor() as cursor:
        cursor.execute(TWEET_FACTS_SQL.format(placeholders=placeholders), [*tweet_ids, *tweet_ids, limit])
        return cursor.fetchall()


def _load(versions: dict[int, int]) -> dict[int, dict[int, int]]:
    """Every user's flags on these tweets, from their facts (one query), stored
    as each tweet's whole answer where still safe (module docstring). {} when
    they have more than LOAD_MAX_FACTS facts: their pairs are read one by one."""
    if not versions:
        return {}
    ids = list(versions)
    rows = tweet_facts(ids, limit=LOAD_MAX_FACTS + 1)
    if len(rows) > LOAD_MAX_FACTS:
        if len(ids) == 1:  # that tweet's readers go pair by pair from now on (until the hash expires)
            with contextlib.suppress(RedisError):
                counters.redis_client().eval(_TOO_MANY, 1, _hash_key(ids[0]), FLAGS_TTL)
        return {}
    engaged: dict[int, dict[int, int]] = {i: {} for i in ids}
    for tweet_id, user_id, kind in rows:
        engaged[tweet_id][user_id] = engaged[tweet_id].get(user_id, 0) | kind
    try:
        pipe = counters.redis_client().pipeline(transaction=False)
        for tweet_id, users in engaged.items():
            pairs = [x for user_id, flags in users.items() for x in (user_id, flags)]
            pipe.eval(_LOAD, 1, _hash_key(tweet_id), versions[tweet_id], FLAGS_TTL, *pairs)
        pipe.execute()
    except RedisError as exc:
        counters.redis_failed(exc, "flags not loaded")
    return engaged


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
