"""Live engagement counters: a state-based CRDT (a PN-counter per writer slot).

Merge rule
----------
For every (tweet, metric, slot) the state is a pair (P, N) of counters that
only ever grow: an increment adds to P, a decrement (un-like, a reply deleted)
adds to N. The value of a metric is  Σ over slots (P − N).  Two states merge
by taking, per slot and column, max(P) and max(N). max() is idempotent,
commutative and associative, so merging the same state twice, in any order, or
from two flushes at once never adds a delta twice.

Slots
-----
Redis backend: the slot is the Redis *generation* `r<snowflake>`, minted with
SET NX the first time a Redis without one is used. After a restart or FLUSHALL
the new Redis writes a new slot and the old generation's rows in PostgreSQL
stay final. Within a generation Redis is the only writer and HINCRBY is atomic,
so more web processes need no more slots. Per tweet Redis holds the hash
`eng:c:<id>`: `_g` (the generation it was loaded in), `<m>:o` (Σ(P−N) of every
other slot, a constant), `<m>:p` and `<m>:n` (this generation's P and N).
Database backend (no REDIS_URL): the slot "db" row of CounterSlot *is* the
live state, incremented in the same transaction as the fact.

Flush (beat, every NEXUS_COUNTER_FLUSH_SECONDS)
-----------------------------------------------
For a batch of tweets in the `eng:dirty` sorted set: read this generation's
(P, N); in one transaction holding the TweetCounters row locks (primary-key
order) upsert CounterSlot with GREATEST(old, new) per column and recompute
TweetCounters as the sum of the tweet's slots; after the commit remove each
tweet from `eng:dirty` only if its score did not change meanwhile. A crash
between the commit and that removal means the next flush merges the same state
again, which max() makes a no-op.

Rebuild
-------
A tweet whose hash is missing or from an older generation is loaded from
PostgreSQL on first use: o = Σ(P−N) of the other slots, (P, N) of this
generation's row, and for the fact-backed metrics (likes, retweets, replies,
quotes) a correction c = facts − (o + P − N) added to P (c > 0) or N (c < 0):
an ordinary monotone update that merges like any other. A like or retweet
makes sure its tweet is loaded *before* writing its fact (`event_prepare`), so
a load can never count a fact whose counter update is still on its way (which
would count it twice) or miss one whose update already found nothing loaded
(which would lose it): the first load to install wins and every later event
finds it installed. Views have no facts:
views counted after the last flush are lost with a wiped Redis (202, best
effort); every like, retweet, reply and quote is recounted from its fact.

Drift
-----
An event whose fact committed but whose counter update did not land (process
killed in between, Redis down, a like racing a rebuild) is found by
`drift_check`: live counts are compared with the facts twice, a short pause
apart, so events in flight are not mistaken for drift, and the difference is
applied as a monotone correction (compare-and-set on the value seen).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, FloatField, Sum
from django.db.models.functions import Cast
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from engagement.models import METRICS, CounterRepair, CounterSlot, EngagementBucket, Like, Retweet, TweetCounters
from engagement.signals import counts_refreshed
from nexus.metrics import REDIS_BREAKER_TRIPS
from nexus.redis_batch import redis_read, redis_write
from nexus.snowflake import next_id
from tweets.models import published_children_count_sql

logger = logging.getLogger(__name__)

FACT_METRICS = tuple(m for m in METRICS if m != "views")  # views have no per-user fact rows
PN_COLUMNS = tuple(f"{m}_{s}" for m in METRICS for s in ("p", "n"))
DB_SLOT = "db"
SERIES_MINUTES = 60
BUCKET_TTL = (SERIES_MINUTES + 3) * 60
HASH_TTL = 7 * 24 * 3600
# Trending ranks by weighted events per minute: sharing and replying say more
# than a like, a view much less.
TREND_WEIGHTS = {"likes": 1.0, "retweets": 2.0, "replies": 2.0, "quotes": 2.0, "views": 0.1}
HASH_FIELDS = tuple(f"{m}:{part}" for m in METRICS for part in ("o", "p", "n"))

Counts = dict[str, int]


def uses_redis() -> bool:
    return bool(settings.REDIS_URL)


def now_minute() -> int:
    return int(time.time()) // 60


def zero_counts() -> Counts:
    return dict.fromkeys(METRICS, 0)


# --- Redis keys and scripts ------------------------------------------------------------
def _key(suffix: str) -> str:
    # The cache's prefix keeps test runs (and deployments sharing a Redis) apart.
    return cache.make_key(f"eng:{suffix}")


def _gen_key() -> str:
    return _key("gen")


def _hash_key(tweet_id: int) -> str:
    return _key(f"c:{tweet_id}")


def _dirty_key() -> str:
    return _key("dirty")


def _verify_key() -> str:
    return _key("verify")


def _bucket_key(tweet_id: int, minute: int) -> str:
    return _key(f"v:{tweet_id}:{minute}")


def _trend_key(minute: int) -> str:
    return _key(f"t:{minute}")


class RedisSkipped(RedisError):
    """Redis failed moments ago: not tried again yet (see _redis)."""


# After a failure this process goes straight to the PostgreSQL fallback for a
# moment instead of paying the socket timeout on every call of every request.
REDIS_RETRY_SECONDS = 2.0
_redis_down_until = 0.0


def _redis():
    if time.monotonic() < _redis_down_until:
        raise RedisSkipped("Redis failed recently")
    return get_redis_connection("default")


def _redis_failed(exc: RedisError, consequence: str) -> None:
    global _redis_down_until
    if isinstance(exc, RedisSkipped):
        return
    _redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
    REDIS_BREAKER_TRIPS.labels("engagement_counters").inc()
    logger.warning("engagement counters: Redis unavailable (%s); %s", exc, consequence)


def redis_breaker_open() -> bool:
    """True while this process skips Redis after a failure (/metrics)."""
    return time.monotonic() < _redis_down_until


def redis_breaker_reset() -> None:
    """Try Redis again on the next call (tests, and after an operator fixed it)."""
    global _redis_down_until
    _redis_down_until = 0.0


_LUA_VALUES = """
local function state(h)
  local f = {{}}
  for _, m in ipairs({{{metrics}}}) do
    table.insert(f, m .. ':o'); table.insert(f, m .. ':p'); table.insert(f, m .. ':n')
  end
  local v = redis.call('HMGET', h, unpack(f))
  for i = 1, #v do v[i] = tonumber(v[i] or '0') end
  return v
end
""".format(metrics=", ".join(f"'{m}'" for m in METRICS))

# KEYS: gen, counters hash, dirty zset, minute bucket hash, minute trend zset
# ARGV: tweet id, bucket ttl, hash ttl, trend score, with buckets (1/0), then metric/delta pairs.
# Returns the tweet's state, or false when its hash is not loaded in this
# generation (the caller rebuilds it from PostgreSQL, which has the fact).
_APPLY = (
    _LUA_VALUES
    + """
if ARGV[5] == '1' then
  for i = 6, #ARGV, 2 do
    local d = tonumber(ARGV[i + 1])
    if d > 0 then redis.call('HINCRBY', KEYS[4], ARGV[i], d) end
  end
  redis.call('EXPIRE', KEYS[4], ARGV[2])
  if tonumber(ARGV[4]) > 0 then
    redis.call('ZINCRBY', KEYS[5], ARGV[4], ARGV[1])
    redis.call('EXPIRE', KEYS[5], ARGV[2])
  end
end
local gen = redis.call('GET', KEYS[1])
if (not gen) or redis.call('HGET', KEYS[2], '_g') ~= gen then return false end
for i = 6, #ARGV, 2 do
  local d = tonumber(ARGV[i + 1])
  if d > 0 then redis.call('HINCRBY', KEYS[2], ARGV[i] .. ':p', d)
  elseif d < 0 then redis.call('HINCRBY', KEYS[2], ARGV[i] .. ':n', -d) end
end
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('ZINCRBY', KEYS[3], 1, ARGV[1])
return state(KEYS[2])
"""
)

# KEYS: gen, counters hash, dirty zset, verify zset
# ARGV: generation, tweet id, hash ttl, corrected (1/0), now, then field/value pairs.
# Loads the hash unless another process loaded it in this generation first;
# returns {status, state...}: 1 loaded, 0 already loaded, -1 generation changed.
# A load can race an event whose fact committed but whose counter update has
# not landed yet (counted by the load and then by the update, or by neither):
# every load queues the tweet in the verify set for the next drift check.
_LOAD = (
    _LUA_VALUES
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
local status = 0
if redis.call('HGET', KEYS[2], '_g') ~= ARGV[1] then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], '_g', ARGV[1], unpack(ARGV, 6))
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  if ARGV[4] == '1' then redis.call('ZINCRBY', KEYS[3], 1, ARGV[2]) end
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[2])
  status = 1
end
local v = state(KEYS[2])
table.insert(v, 1, status)
return v
"""
)

# KEYS: gen, then one counters hash per tweet. Returns, per tweet, 1 and its
# values (o + p - n, in METRICS order) when loaded in this generation, or 0
# and zeros. Summed in Redis: one small reply instead of 16 fields per
# tweet, which for a batch of 100 was most of the request's CPU.
_COUNTS = (
    """
local gen = redis.call('GET', KEYS[1])
local out = {}
for i = 2, #KEYS do
  local v = redis.call('HMGET', KEYS[i], '_g', """
    + ", ".join(f"'{field}'" for field in HASH_FIELDS)
    + f""")
  local loaded = gen and v[1] == gen
  table.insert(out, loaded and 1 or 0)
  for m = 0, {len(METRICS) - 1} do
    if loaded then
      table.insert(out, tonumber(v[2 + 3 * m] or '0') + tonumber(v[3 + 3 * m] or '0') - tonumber(v[4 + 3 * m] or '0'))
    else
      table.insert(out, 0)
    end
  end
end
return out
"""
)

# KEYS: gen, counters hash, verify zset; ARGV: candidate generation, tweet id, hash ttl, now.
# A tweet created just now: mint the generation if this Redis has none and
# install the tweet at zero (nothing in PostgreSQL can count for it yet),
# unless a like's rebuild got there first. One round trip, no SQL.
_START = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
local gen = redis.call('GET', KEYS[1])
if redis.call('HGET', KEYS[2], '_g') ~= gen then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], '_g', gen)
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
end
return gen
"""

# KEYS: gen, counters hash, dirty zset; ARGV: generation, tweet id, metric, expected value, delta.
# Compare-and-set: corrects only if the value is still the one the check saw.
_REPAIR = (
    _LUA_VALUES
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('HGET', KEYS[2], '_g') ~= ARGV[1] then return 0 end
local m = ARGV[3]
local v = redis.call('HMGET', KEYS[2], m .. ':o', m .. ':p', m .. ':n')
local value = tonumber(v[1] or '0') + tonumber(v[2] or '0') - tonumber(v[3] or '0')
if value ~= tonumber(ARGV[4]) then return 0 end
local d = tonumber(ARGV[5])
if d > 0 then redis.call('HINCRBY', KEYS[2], m .. ':p', d) else redis.call('HINCRBY', KEYS[2], m .. ':n', -d) end
redis.call('ZINCRBY', KEYS[3], 1, ARGV[2])
return 1
"""
)

# KEYS: dirty zset; ARGV: member/score pairs. Removes a tweet only if no event
# arrived since the flush read it (its score would have grown).
_DIRTY_CLEAR = """
local n = 0
for i = 1, #ARGV, 2 do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s and tonumber(s) == tonumber(ARGV[i + 1]) then n = n + redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return n
"""

_scripts: dict[tuple[int, str], object] = {}


def _script(client, source: str):
    key = (id(client), source)
    if key not in _scripts:
        _scripts[key] = client.register_script(source)
    return _scripts[key]


def _parse_state(values: list) -> dict[str, tuple[int, int, int]]:
    nums = [int(v or 0) for v in values]
    return {m: (nums[3 * i], nums[3 * i + 1], nums[3 * i + 2]) for i, m in enumerate(METRICS)}


def _state_counts(state: dict[str, tuple[int, int, int]]) -> Counts:
    return {m: o + p - n for m, (o, p, n) in state.items()}


class _LoadedTweets:
    """Tweets this process saw loaded in Redis, so a like on a hot tweet
    skips the check. A stale entry (Redis wiped since) costs only the apply
    script's not-loaded fallback."""

    def __init__(self, size: int = 50_000) -> None:
        self._ids: OrderedDict[int, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def __contains__(self, tweet_id: int) -> bool:
        with self._lock:
            return tweet_id in self._ids

    def add(self, tweet_ids: Iterable[int]) -> None:
        with self._lock:
            for tweet_id in tweet_ids:
                self._ids[tweet_id] = None
                self._ids.move_to_end(tweet_id)
            while len(self._ids) > self._size:
                self._ids.popitem(last=False)

    def discard(self, tweet_id: int) -> None:
        with self._lock:
            self._ids.pop(tweet_id, None)


_loaded = _LoadedTweets()


def _generation(r) -> str:
    pipe = r.pipeline(transaction=False)
    pipe.set(_gen_key(), f"r{next_id()}", nx=True)
    pipe.get(_gen_key())
    return pipe.execute()[1].decode()


# --- facts ---------------------------------------------------------------------------------
def fact_counts(tweet_ids: Iterable[int]) -> dict[int, Counts]:
    """The true counts of the fact-backed metrics: one query (a UNION ALL of
    one index-backed GROUP BY per metric).

    Plain SQL, not four ORM querysets: this runs on every counter load, i.e.
    on the first read of every warm or cold tweet, and compiling the ORM
    union cost ~3 ms of Python per call, most of such a read."""
    ids = list(tweet_ids)
    out = {i: dict.fromkeys(FACT_METRICS, 0) for i in ids}
    if not ids:
        return out
    with connection.cursor() as cursor:
        cursor.execute(_fact_counts_sql(len(ids)), ids * len(FACT_METRICS))
        for kind, tweet_id, n in cursor.fetchall():
            out[tweet_id][FACT_METRICS[kind]] = n
    return out


def _fact_counts_sql(n: int) -> str:
    placeholders = ", ".join(["%s"] * n)
    replies = published_children_count_sql(parent_column="in_reply_to_id", placeholders=placeholders)
    quotes = published_children_count_sql(parent_column="quote_of_id", placeholders=placeholders)
    parts = [
        f"SELECT 0, tweet_id, COUNT(*) FROM {Like._meta.db_table} WHERE tweet_id IN ({placeholders}) GROUP BY tweet_id",
        f"SELECT 1, tweet_id, COUNT(*) FROM {Retweet._meta.db_table} WHERE tweet_id IN ({placeholders}) "
        "GROUP BY tweet_id",
        f"SELECT 2, * FROM ({replies}) replies",
        f"SELECT 3, * FROM ({quotes}) quotes",
    ]
    return " UNION ALL ".join(parts)


# --- Redis backend -------------------------------------------------------------------------
def _redis_load(r, tweet_ids: list[int]) -> dict[int, Counts]:
    """Rebuild the hashes of `tweet_ids` from PostgreSQL (module docstring)."""
    for _attempt in range(3):
        gen = _generation(r)
        states = {i: {m: [0, 0, 0] for m in METRICS} for i in tweet_ids}
        slot_rows = CounterSlot.objects.filter(tweet_id__in=tweet_ids).values_list("tweet_id", "slot", *PN_COLUMNS)
        for row in slot_rows:
            tweet_id, slot, values = row[0], row[1], row[2:]
            for i, m in enumerate(METRICS):
                p, n = values[2 * i], values[2 * i + 1]
                if slot == gen:
                    states[tweet_id][m][1], states[tweet_id][m][2] = p, n
                else:
                    states[tweet_id][m][0] += p - n
        truth = fact_counts(tweet_ids)
        pipe = r.pipeline(transaction=False)
        load = _script(r, _LOAD)
        for tweet_id in tweet_ids:
            corrected = False
            for m in FACT_METRICS:
                o, p, n = states[tweet_id][m]
                correction = truth[tweet_id][m] - (o + p - n)
                if correction > 0:
                    states[tweet_id][m][1] += correction
                elif correction < 0:
                    states[tweet_id][m][2] -= correction
                corrected = corrected or correction != 0
            pairs = [
                x
                for m in METRICS
                for part, v in zip("opn", states[tweet_id][m], strict=True)
                for x in (f"{m}:{part}", v)
            ]
            load(
                keys=[_gen_key(), _hash_key(tweet_id), _dirty_key(), _verify_key()],
                args=[gen, tweet_id, HASH_TTL, int(corrected), time.time(), *pairs],
                client=pipe,
            )
        results = pipe.execute()
        if any(res[0] == -1 for res in results):
            continue  # Redis was wiped while we read PostgreSQL: start over in the new generation
        _loaded.add(tweet_ids)
        return {
            tweet_id: _state_counts(_parse_state(res[1:])) for tweet_id, res in zip(tweet_ids, results, strict=True)
        }
    raise RedisError("the Redis generation kept changing during a rebuild")


def _redis_counts_many(r, tweet_ids: list[int]) -> dict[int, Counts]:
    flat = _script(r, _COUNTS)(keys=[_gen_key(), *[_hash_key(i) for i in tweet_ids]])
    return _counts_complete(r, tweet_ids, flat, tweet_ids)


def _counts_complete(r, read_ids: list[int], flat: list[int], wanted: list[int]) -> dict[int, Counts]:
    """The counts of `wanted` from _COUNTS's reply for `read_ids`; tweets not
    loaded in Redis are rebuilt (only wanted ones: an id read speculatively
    never gets counters)."""
    out: dict[int, Counts] = {}
    width = 1 + len(METRICS)
    for k, tweet_id in enumerate(read_ids):
        row = flat[k * width : (k + 1) * width]
        if row[0] == 1:
            out[tweet_id] = dict(zip(METRICS, row[1:], strict=True))
    missing = [tweet_id for tweet_id in wanted if tweet_id not in out]
    if missing:
        out.update(_redis_load(r, missing))
    return {tweet_id: out[tweet_id] for tweet_id in wanted}


def _redis_apply(r, tweet_id: int, deltas: Counts, *, buckets: bool = True) -> Counts:
    minute = now_minute()
    score = sum(TREND_WEIGHTS[m] * d for m, d in deltas.items() if d > 0) if buckets else 0
    result = _script(r, _APPLY)(
        keys=[_gen_key(), _hash_key(tweet_id), _dirty_key(), _bucket_key(tweet_id, minute), _trend_key(minute)],
        args=[tweet_id, BUCKET_TTL, HASH_TTL, score, int(buckets), *[x for m, d in deltas.items() for x in (m, d)]],
    )
    if result:
        return _state_counts(_parse_state(result))
    # Not loaded in this generation (Redis wiped or evicted since
    # event_prepare): the rebuild counts the facts, which already include
    # this event; only fact-less metrics must be re-applied.
    _loaded.discard(tweet_id)
    counts = _redis_load(r, [tweet_id])[tweet_id]
    factless = {m: d for m, d in deltas.items() if m not in FACT_METRICS}
    if factless:
        return _redis_apply(r, tweet_id, factless, buckets=False)
    return counts


def _redis_flush(batch: int, offset: int) -> tuple[int, int]:
    """Flush one batch of dirty tweets; returns (read, still dirty)."""
    r = _redis()
    gen = r.get(_gen_key())
    items = r.zrange(_dirty_key(), offset, offset + batch - 1, withscores=True)
    if not items:
        return 0, 0
    tweet_ids = sorted(int(member) for member, _ in items)
    if gen is not None:
        pipe = r.pipeline(transaction=False)
        pn_fields = [f"{m}:{part}" for m in METRICS for part in ("p", "n")]
        for tweet_id in tweet_ids:
            pipe.hmget(_hash_key(tweet_id), ["_g", *pn_fields])
        rows = [
            (tweet_id, gen.decode(), *[int(v or 0) for v in row[1:]])
            for tweet_id, row in zip(tweet_ids, pipe.execute(), strict=True)
            if row[0] == gen
        ]
        with transaction.atomic():
            _lock_counters(tweet_ids)
            _slots_merge(rows)
            _counters_refresh(tweet_ids)
    removed = _dirty_clear(r, items)
    r.set(_key("flushed_at"), time.time())
    return len(items), len(items) - removed


def _dirty_clear(r, items: list[tuple[bytes, float]]) -> int:
    args = [x for member, score in items for x in (member, repr(score))]
    return int(_script(r, _DIRTY_CLEAR)(keys=[_dirty_key()], args=args))


def _slots_merge(rows: list[tuple]) -> None:
    """Upsert slot states, merging each column with max() (the CRDT join)."""
    if not rows:
        return
    table = CounterSlot._meta.db_table
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    columns = ["tweet_id", "slot", *PN_COLUMNS, "updated_at"]
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    now = timezone.now()
    updates = ", ".join(f"{c} = {greatest}({table}.{c}, excluded.{c})" for c in PN_COLUMNS)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}, dirty) VALUES "
        + ", ".join([placeholders[:-1] + ", false)"] * len(rows))
        + f" ON CONFLICT (tweet_id, slot) DO UPDATE SET {updates}, updated_at = excluded.updated_at"
    )
    params = [v for row in sorted(rows) for v in (*row, now)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _redis_velocity(r, tweet_id: int, minutes: list[int]) -> dict[int, Counts]:
    pipe = r.pipeline(transaction=False)
    for minute in minutes:
        pipe.hmget(_bucket_key(tweet_id, minute), list(METRICS))
    return {
        minute: {m: int(v or 0) for m, v in zip(METRICS, row, strict=True)}
        for minute, row in zip(minutes, pipe.execute(), strict=True)
    }


def _redis_trending(r, minutes: list[int], limit: int) -> list[tuple[int, float]]:
    tmp = _key(f"tmp:{uuid.uuid4().hex}")
    pipe = r.pipeline(transaction=True)
    pipe.zunionstore(tmp, [_trend_key(m) for m in minutes])
    pipe.zrevrange(tmp, 0, limit - 1, withscores=True)
    pipe.delete(tmp)
    _, top, _ = pipe.execute()
    return [(int(member), score) for member, score in top]


# --- database backend ----------------------------------------------------------------------
def _db_apply(tweet_id: int, deltas: Counts, *, buckets: bool = True) -> None:
    """Add to the "db" slot (and this minute's bucket) in the caller's transaction."""
    values = dict.fromkeys(PN_COLUMNS, 0)
    for m, d in deltas.items():
        values[f"{m}_p" if d > 0 else f"{m}_n"] += abs(d)
    table = CounterSlot._meta.db_table
    adds = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in PN_COLUMNS)
    sql = (
        f"INSERT INTO {table} (tweet_id, slot, {', '.join(PN_COLUMNS)}, dirty, updated_at) "
        f"VALUES (%s, %s, {', '.join(['%s'] * len(PN_COLUMNS))}, %s, %s) "
        f"ON CONFLICT (tweet_id, slot) DO UPDATE SET {adds}, dirty = excluded.dirty, updated_at = excluded.updated_at"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [tweet_id, DB_SLOT, *values.values(), True, timezone.now()])
        positive = {m: d for m, d in deltas.items() if d > 0}
        if buckets and positive:
            btable = EngagementBucket._meta.db_table
            cols = list(METRICS)
            badds = ", ".join(f"{c} = {btable}.{c} + excluded.{c}" for c in cols)
            cursor.execute(
                f"INSERT INTO {btable} (tweet_id, minute, {', '.join(cols)}) "
                f"VALUES (%s, %s, {', '.join(['%s'] * len(cols))}) "
                f"ON CONFLICT (tweet_id, minute) DO UPDATE SET {badds}",
                [tweet_id, now_minute(), *[positive.get(c, 0) for c in cols]],
            )


_SLOT_SUMS = {m: Sum(F(f"{m}_p") - F(f"{m}_n")) for m in METRICS}


def _db_counts_many(tweet_ids: list[int]) -> dict[int, Counts]:
    out = {i: zero_counts() for i in tweet_ids}
    for row in CounterSlot.objects.filter(tweet_id__in=tweet_ids).order_by().values("tweet_id").annotate(**_SLOT_SUMS):
        out[row.pop("tweet_id")] = {m: int(row[m] or 0) for m in METRICS}
    return out


def _db_flush(batch: int, offset: int) -> tuple[int, int]:
    with transaction.atomic():
        # SKIP LOCKED: two flushes share the work instead of waiting; the row
        # locks also make a concurrent like wait until `dirty` is cleared, so
        # its increment marks the row dirty again rather than being lost.
        rows = list(
            CounterSlot.objects.select_for_update(skip_locked=True)
            .filter(dirty=True)
            .order_by("id")
            .values_list("id", "tweet_id")[:batch]
        )
        if not rows:
            return 0, 0
        tweet_ids = sorted({tweet_id for _, tweet_id in rows})
        _lock_counters(tweet_ids)
        _counters_refresh(tweet_ids)
        CounterSlot.objects.filter(id__in=[row_id for row_id, _ in rows]).update(dirty=False)
    return len(rows), 0


# --- shared by both backends ----------------------------------------------------------------
def _lock_counters(tweet_ids: list[int]) -> None:
    """Lock the TweetCounters rows in primary-key order (creating missing ones)
    so concurrent flushes of the same tweets serialise instead of deadlocking."""
    TweetCounters.objects.bulk_create([TweetCounters(tweet_id=i) for i in sorted(tweet_ids)], ignore_conflicts=True)
    list(
        TweetCounters.objects.select_for_update().filter(tweet_id__in=tweet_ids).order_by("tweet_id").values_list("pk")
    )


def _counters_refresh(tweet_ids: list[int]) -> None:
    sums = _db_counts_many(tweet_ids)
    now = timezone.now()
    TweetCounters.objects.bulk_update(
        [TweetCounters(tweet_id=i, updated_at=now, **counts) for i, counts in sums.items()],
        [*METRICS, "updated_at"],
    )
    counts_refreshed.send(sender=TweetCounters, counts=sums)  # analytics keeps its similarity index current


def _pg_fallback_counts(tweet_ids: list[int]) -> dict[int, Counts]:
    """Redis unreachable: facts for what has facts, the flushed slots for views
    (their sum, not the TweetCounters row: a cold tweet has none, see
    engagement.lifecycle)."""
    out = _db_counts_many(tweet_ids)
    for tweet_id, counts in fact_counts(tweet_ids).items():
        out[tweet_id].update(counts)
    return out


def _repair_enqueue(tweet_id: int) -> None:
    CounterRepair.objects.bulk_create([CounterRepair(tweet_id=tweet_id)], ignore_conflicts=True)


def repairs_queued(tweet_ids: list[int]) -> list[int]:
    """Which of `tweet_ids` are queued for repair."""
    return list(CounterRepair.objects.filter(tweet_id__in=tweet_ids).values_list("tweet_id", flat=True))


# The app's one Redis key space, breaker and repair queue, shared with engagement.flags.
redis_key = _key
redis_client = _redis
redis_failed = _redis_failed
repair_enqueue = _repair_enqueue


# --- public API ---------------------------------------------------------------------------------
def counts_get_many(tweet_ids: Iterable[int]) -> dict[int, Counts]:
    """Live counts: one Redis round trip (plus a batched rebuild for tweets not
    loaded yet), or one query on the database backend / when Redis is down."""
    ids = list(dict.fromkeys(tweet_ids))
    if not ids:
        return {}
    if not uses_redis():
        return _db_counts_many(ids)
    try:
        return _redis_counts_many(_redis(), ids)
    except RedisError as exc:
        _redis_failed(exc, "reading PostgreSQL")
        return _pg_fallback_counts(ids)


def counts_read_many(tweet_ids: Iterable[int]) -> Callable[[Iterable[int]], dict[int, Counts]]:
    """`counts_get_many`, read with the caller's `redis_batch` if any. Call the
    returned function once the batch has been sent, with the ids whose counts
    are wanted after all (a subset: say, those found to exist)."""
    ids = list(dict.fromkeys(tweet_ids))
    if not ids or not uses_redis() or time.monotonic() < _redis_down_until:
        return counts_get_many
    # EVAL, not EVALSHA: in a batch a NOSCRIPT could not be retried.
    reply = redis_read("EVAL", _COUNTS, 1 + len(ids), _gen_key(), *[_hash_key(i) for i in ids])

    def complete(wanted: Iterable[int]) -> dict[int, Counts]:
        wanted = list(dict.fromkeys(wanted))
        if not wanted:
            return {}
        try:
            if reply.error is not None:
                raise reply.error
            return _counts_complete(_redis(), ids, reply.value, wanted)
        except RedisError as exc:
            _redis_failed(exc, "reading PostgreSQL")
            return _pg_fallback_counts(wanted)

    return complete


def loaded_here(tweet_id: int) -> bool:
    """True when this process saw the tweet's counters loaded in Redis, so a
    like needs no event_prepare (a stale entry is caught by the apply script)."""
    return uses_redis() and tweet_id in _loaded


def event_prepare(*, tweet_id: int, is_new: bool = False) -> None:
    """Call before writing a like/retweet fact: loads the tweet's counters if
    this Redis does not have them yet (module docstring, Rebuild). A tweet
    that was just published starts at zero without reading PostgreSQL."""
    if not uses_redis() or tweet_id in _loaded:
        return
    try:
        if is_new:
            _redis()  # the breaker: while Redis is failing, do not even queue the start
            # EVAL, not EVALSHA: it may travel in a batch (nexus.redis_batch),
            # where a NOSCRIPT after a Redis restart could not be retried.
            redis_write(
                "EVAL",
                _START,
                3,
                _gen_key(),
                _hash_key(tweet_id),
                _verify_key(),
                f"r{next_id()}",
                tweet_id,
                HASH_TTL,
                time.time(),
                on_reply=lambda reply: _started(tweet_id, reply),
            )
            return
        r = _redis()
        pipe = r.pipeline(transaction=False)
        pipe.get(_gen_key())
        pipe.hget(_hash_key(tweet_id), "_g")
        gen, loaded_in = pipe.execute()
        if gen is not None and gen == loaded_in:
            _loaded.add([tweet_id])
        else:
            _redis_load(r, [tweet_id])
    except RedisError as exc:
        _redis_failed(exc, "counters not preloaded")


def _started(tweet_id: int, reply) -> None:
    if isinstance(reply, RedisError):
        _redis_failed(reply, "counters not started")
    else:
        _loaded.add([tweet_id])


def event_in_transaction(*, tweet_id: int, deltas: Counts) -> None:
    """Call in the transaction that writes the event's fact. The database
    backend counts it there; Redis counts it after the commit."""
    if not uses_redis():
        _db_apply(tweet_id, deltas)


def event_after_commit(*, tweet_id: int, deltas: Counts) -> Counts | None:
    """Call after the fact committed: Redis counts it and returns the tweet's
    counts (None on the database backend, or when Redis is unreachable — then
    the tweet is queued for the drift job, which recounts it from its facts)."""
    if not uses_redis():
        return None
    try:
        return _redis_apply(_redis(), tweet_id, deltas)
    except RedisError as exc:
        _redis_failed(exc, "queueing tweets for repair")
        _repair_enqueue(tweet_id)
        return None


def views_record(tweet_ids: list[int]) -> None:
    """One view each. Views have no facts: best effort while Redis is down."""
    if not uses_redis():
        with transaction.atomic():
            for tweet_id in sorted(tweet_ids):  # one lock order for concurrent batches
                _db_apply(tweet_id, {"views": 1})
        return
    try:
        r = _redis()
        apply = _script(r, _APPLY)
        minute = now_minute()
        pipe = r.pipeline(transaction=False)
        for tweet_id in tweet_ids:
            apply(
                keys=[_gen_key(), _hash_key(tweet_id), _dirty_key(), _bucket_key(tweet_id, minute), _trend_key(minute)],
                args=[tweet_id, BUCKET_TTL, HASH_TTL, TREND_WEIGHTS["views"], 1, "views", 1],
                client=pipe,
            )
        results = pipe.execute()
        not_loaded = [tweet_id for tweet_id, res in zip(tweet_ids, results, strict=True) if not res]
        if not_loaded:
            _redis_load(r, not_loaded)
            for tweet_id in not_loaded:
                _redis_apply(r, tweet_id, {"views": 1}, buckets=False)
    except RedisError as exc:
        _redis_failed(exc, "views dropped")


def counters_flush(*, batch: int = 500, max_batches: int = 20) -> int:
    """Merge live counters into PostgreSQL; returns how many tweets were flushed.
    Bounded work per call; the next beat tick continues."""
    flush = _redis_flush if uses_redis() else _db_flush
    total = offset = 0
    for _ in range(max_batches):
        done, still_dirty = flush(batch, offset)
        total += done
        if done < batch:
            break
        # Tweets that got new events while being flushed stay in the set;
        # step past them so a few busy tweets cannot starve the rest.
        offset += still_dirty
    if not uses_redis():
        EngagementBucket.objects.filter(minute__lt=now_minute() - SERIES_MINUTES - 1).delete()
    return total


def flush_lag() -> dict[str, float | int]:
    """How far PostgreSQL's counters trail the live ones: tweets waiting for
    the flush, and the age of the oldest unflushed change (approximately, on
    Redis: the time since the last flush that did some work)."""
    if uses_redis():
        r = _redis()
        pipe = r.pipeline(transaction=False)
        pipe.zcard(_dirty_key())
        pipe.get(_key("flushed_at"))
        pending, flushed_at = pipe.execute()
        lag = time.time() - float(flushed_at) if pending and flushed_at else 0.0
        return {"pending_tweets": int(pending), "lag_seconds": round(max(lag, 0.0), 1)}
    dirty = CounterSlot.objects.filter(dirty=True)
    oldest = dirty.order_by("updated_at").values_list("updated_at", flat=True).first()
    lag = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return {"pending_tweets": dirty.count(), "lag_seconds": round(lag, 1)}


def velocity_series(tweet_id: int) -> dict[int, Counts]:
    """Per-minute event counts (positive events) of the last hour, by minute."""
    current = now_minute()
    minutes = list(range(current - SERIES_MINUTES + 1, current + 1))
    if uses_redis():
        try:
            return _redis_velocity(_redis(), tweet_id, minutes)
        except RedisError as exc:
            _redis_failed(exc, "no velocity")
            return {m: zero_counts() for m in minutes}
    series = {m: zero_counts() for m in minutes}
    for row in EngagementBucket.objects.filter(tweet_id=tweet_id, minute__gte=minutes[0]).values("minute", *METRICS):
        series[row.pop("minute")] = row
    return series


def trending(*, window_seconds: int, limit: int) -> list[tuple[int, float]]:
    """(tweet id, weighted events per minute) over the window, best first:
    a union of the window's per-minute sorted sets, never a scan of tweets."""
    span = max(1, -(-window_seconds // 60))
    current = now_minute()
    minutes = list(range(current - span + 1, current + 1))
    if uses_redis():
        try:
            top = _redis_trending(_redis(), minutes, limit)
        except RedisError as exc:
            _redis_failed(exc, "no trending")
            return []
    else:
        score = sum(Cast(m, FloatField()) * w for m, w in TREND_WEIGHTS.items())
        top = list(
            EngagementBucket.objects.filter(minute__gte=minutes[0])
            .values("tweet_id")
            .annotate(score=Sum(score))
            .order_by("-score", "-tweet_id")
            .values_list("tweet_id", "score")[:limit]
        )
    return [(tweet_id, float(score) / span) for tweet_id, score in top]


# --- drift ---------------------------------------------------------------------------------------
@dataclass
class DriftReport:
    checked: int = 0
    drift: list[dict] = field(default_factory=list)
    repaired: int = 0

    def as_dict(self) -> dict:
        return {"checked": self.checked, "drifted": len(self.drift), "repaired": self.repaired, "drift": self.drift}


def _live_counts(tweet_ids: list[int]) -> dict[int, Counts]:
    """Live counts without the Redis-down fallback (a check must see Redis)."""
    if uses_redis():
        return _redis_counts_many(_redis(), tweet_ids)
    return _db_counts_many(tweet_ids)


def _repair(tweet_id: int, metric: str, expected: int, delta: int) -> bool:
    if not uses_redis():
        with transaction.atomic():
            _db_apply(tweet_id, {metric: delta}, buckets=False)
        return True
    r = _redis()
    gen = r.get(_gen_key())
    if gen is None:
        return False
    done = _script(r, _REPAIR)(
        keys=[_gen_key(), _hash_key(tweet_id), _dirty_key()], args=[gen, tweet_id, metric, expected, delta]
    )
    return bool(done)


def drift_sample(size: int) -> list[int]:
    """Tweets queued for repair first (and, on Redis, those rebuilt at least a
    second ago), then the most recently flushed ones."""
    queued = list(CounterRepair.objects.order_by("created_at").values_list("tweet_id", flat=True)[:size])
    if uses_redis():
        try:
            rebuilt = _redis().zrangebyscore(_verify_key(), "-inf", time.time() - 1, start=0, num=size)
            queued += [int(member) for member in rebuilt]
        except RedisError as exc:
            _redis_failed(exc, "rebuilt tweets not sampled")
    recent = TweetCounters.objects.order_by("-updated_at").values_list("tweet_id", flat=True)[
        : max(0, size - len(queued))
    ]
    return list(dict.fromkeys([*queued, *recent]))


def drift_check(*, tweet_ids: list[int], repair: bool = True, pause: float = 0.2) -> DriftReport:
    """Compare live counts with the facts and correct the difference.

    Read twice, `pause` apart: an event whose fact committed but whose counter
    update is still on its way looks like drift once; only a difference seen
    both times with nothing moving in between is drift."""
    report = DriftReport(checked=len(tweet_ids))
    if not tweet_ids:
        return report
    started = timezone.now()
    live1, facts1 = _live_counts(tweet_ids), fact_counts(tweet_ids)
    time.sleep(pause)
    live2, facts2 = _live_counts(tweet_ids), fact_counts(tweet_ids)
    for tweet_id in tweet_ids:
        for m in FACT_METRICS:
            seen, truth = live2[tweet_id][m], facts2[tweet_id][m]
            stable = live1[tweet_id][m] == seen and facts1[tweet_id][m] == truth
            if not stable or seen == truth:
                continue
            entry = {"tweet_id": tweet_id, "metric": m, "live": seen, "facts": truth, "repaired": False}
            if repair and _repair(tweet_id, m, seen, truth - seen):
                entry["repaired"] = True
                report.repaired += 1
            report.drift.append(entry)
    CounterRepair.objects.filter(tweet_id__in=tweet_ids, created_at__lte=started).delete()
    if uses_redis():
        _verify_done(tweet_ids, started.timestamp())
    return report


# KEYS: verify zset; ARGV: checked-since time, then tweet ids. Removes the ids
# that were not rebuilt again after the check started.
_VERIFY_DONE = """
for i = 2, #ARGV do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s and tonumber(s) <= tonumber(ARGV[1]) then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return 0
"""


def _verify_done(tweet_ids: list[int], since: float) -> None:
    r = _redis()
    _script(r, _VERIFY_DONE)(keys=[_verify_key()], args=[since, *tweet_ids])
