"""Write side of tweets: every change happens here, in one transaction with its
outbox event and its history record. What the change means to other apps
(counts on its parent, hashtag counts) is the caller's `TweetEffects`
(tweets.effects; api.effects wires the real ones). A published tweet's
lifecycle needs no row of its own: the lifecycle finds due moves through the
tiers' due indexes (tweets.tiering)."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.utils import timezone

from media.services import media_check_attachable, media_reinstate, media_withdraw
from nexus.db import prepared_cursor
from nexus.errors import Conflict, NotFound, PermissionDenied, PreconditionFailed, Unprocessable, ValidationFailed
from nexus.redis_batch import redis_batch
from tweets import cache as tweet_cache
from tweets.effects import TweetEffects
from tweets.models import (
    EventType,
    IdempotencyKey,
    ModerationAction,
    ModerationKind,
    Tier,
    Tweet,
    TweetContent,
    TweetHashtag,
    TweetState,
    TweetVersion,
    edit_deadline,
)
from tweets.outbox import event_record
from tweets.selectors import tweet_cache_fill
from tweets.text import TextError, content_hash, hashtags_extract, text_normalize

SEARCH_CONFIG = "simple"  # language-neutral: tweets come in every language


# --- helpers ------------------------------------------------------------------------
CONTENT_INSERT_SQL = (
    "INSERT INTO tweets_tweetcontent (hash, text, created_at) VALUES (%s, %s, %s) "
    "ON CONFLICT (hash) DO NOTHING RETURNING hash"
)
# The lifecycle releases content rows nothing references any more; FOR KEY
# SHARE on an existing row makes that DELETE wait until our reference commits
# (it does not block other writers taking the same shared lock).
CONTENT_PIN_SQL = "SELECT 1 FROM tweets_tweetcontent WHERE hash = %s FOR KEY SHARE"


def content_store(*, text: str) -> TweetContent:
    """Store `text` once per hash; a second identical text stores nothing.
    Call inside the transaction that will reference the row."""
    content = TweetContent(hash=content_hash(text), text=text, created_at=timezone.now())
    if connection.vendor != "postgresql":
        # SQLite serialises writers, so nothing can release the row between
        # this insert and our reference.
        TweetContent.objects.bulk_create([content], ignore_conflicts=True)
        return content
    with connection.cursor() as cursor:
        for _attempt in range(3):
            cursor.execute(CONTENT_INSERT_SQL, [content.hash, content.text, content.created_at])
            if cursor.fetchone() is not None:
                return content  # inserted by us
            cursor.execute(CONTENT_PIN_SQL, [content.hash])
            if cursor.fetchone() is not None:
                return content  # existing row, now pinned until we commit
            # Released between our two statements: insert it again.
    raise Conflict("The tweet's content could not be stored; retry the request.")


def _search_vector(text: str):
    if connection.vendor != "postgresql":
        return None
    return SearchVector(Value(text), config=SEARCH_CONFIG)


def _validated_text(text: str, *, has_media: bool) -> str:
    try:
        return text_normalize(text, has_media=has_media)
    except TextError as exc:
        raise ValidationFailed({"text": [str(exc)]}) from None


def _check_parent(field: str, parent_id: int | None) -> None:
    if parent_id is not None and not Tweet.objects.published().filter(pk=parent_id).exists():
        raise ValidationFailed({field: [f"Tweet {parent_id} does not exist or is not visible."]})


def _hashtags_sync(tweet: Tweet, text: str | None, effects: TweetEffects) -> tuple[list[str], list[str]]:
    """Make the tweet's tag rows match `text` (none for drafts or text=None).
    Returns (added, removed) tags."""
    current = list(TweetHashtag.objects.filter(tweet=tweet).values_list("tag", flat=True))
    wanted = [] if text is None or tweet.state == TweetState.DRAFT else hashtags_extract(text)
    added = [t for t in wanted if t not in current]
    removed = [t for t in current if t not in wanted]
    used_at = tweet.published_at or timezone.now()
    if removed:
        TweetHashtag.objects.filter(tweet=tweet, tag__in=removed).delete()
    if added:
        TweetHashtag.objects.bulk_create(
            [TweetHashtag(tweet=tweet, tag=tag, created_at=used_at) for tag in added], ignore_conflicts=True
        )
    if added or removed:
        effects.hashtags_changed(added=added, removed=removed, at=used_at)
    return added, removed


def tweet_lock(tweet_id: int) -> Tweet | None:
    """The tweet row (gone or not) locked for the rest of the transaction, with
    its author and content: the one way this app locks a tweet. One row per
    call, so no lock-order question arises."""
    # of=self: lock only the tweet row, not the joined author/content rows
    # (content rows are shared by every tweet with the same text).
    return Tweet.objects.select_for_update(of=("self",)).select_related("author", "content").filter(pk=tweet_id).first()


def _lock_tweet(tweet_id: int, *, actor) -> Tweet:
    """The author's tweet, locked; 404 when the actor may not see it, 403 when
    it is not theirs."""
    tweet = tweet_lock(tweet_id)
    if tweet is not None and (tweet.deleted_at is not None or tweet.removed_at is not None):
        tweet = None
    if tweet is None or (tweet.state == TweetState.DRAFT and tweet.author_id != actor.pk):
        raise NotFound("No such tweet.")
    if tweet.author_id != actor.pk:
        raise PermissionDenied("Only the author may change this tweet.")
    return tweet


def _save(tweet: Tweet, *, actor, fields: list[str], reason: str | None = None) -> None:
    # simple-history records who made the change; DRF's token auth is not
    # visible to its middleware, so the service says it explicitly.
    tweet._history_user = actor
    if reason:
        tweet._change_reason = reason
    tweet.save(update_fields=fields)


def _invalidate_after_commit(tweet_id: int) -> None:
    # Now, so this request's own response is fresh; and again after commit,
    # because a concurrent reader may re-cache the old row before we commit.
    tweet_cache.tweet_cache_delete(tweet_id)
    transaction.on_commit(lambda: tweet_cache.tweet_cache_delete(tweet_id))


# --- create -------------------------------------------------------------------------
def tweet_create(
    *,
    author,
    text: str,
    media_ids: list[int] | None = None,
    in_reply_to_id: int | None = None,
    quote_of_id: int | None = None,
    draft: bool = False,
    idempotency_key: str | None = None,
    effects: TweetEffects,
) -> tuple[Tweet, bool]:
    """Create a tweet (or a draft). Returns (tweet, created); created is False
    when `idempotency_key` repeats an earlier request of the same author."""
    media_ids = list(media_ids or [])
    request_hash = request_fingerprint(
        text=text, media_ids=media_ids, in_reply_to_id=in_reply_to_id, quote_of_id=quote_of_id, draft=draft
    )
    if idempotency_key:
        earlier = _idempotent_replay(author_id=author.pk, key=idempotency_key, request_hash=request_hash)
        if earlier is not None:
            return earlier, False
    text = _validated_text(text, has_media=bool(media_ids))
    media_check_attachable(owner_id=author.pk, media_ids=media_ids)
    _check_parent("in_reply_to_id", in_reply_to_id)
    _check_parent("quote_of_id", quote_of_id)

    for _attempt in range(3):
        try:
            return _tweet_insert(
                author=author,
                text=text,
                media_ids=media_ids,
                in_reply_to_id=in_reply_to_id,
                quote_of_id=quote_of_id,
                draft=draft,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                effects=effects,
            ), True
        except IntegrityError:
            if not idempotency_key:
                raise
            # A concurrent request with the same key committed first (on
            # PostgreSQL our INSERT waited for it): answer with its tweet.
            earlier = _idempotent_replay(author_id=author.pk, key=idempotency_key, request_hash=request_hash)
            if earlier is not None:
                return earlier, False
    raise Conflict("Could not settle the Idempotency-Key; retry the request.")


def request_fingerprint(
    *, text: str, media_ids: list[int], in_reply_to_id: int | None, quote_of_id: int | None, draft: bool
) -> str:
    """What makes two create requests "the same" for an Idempotency-Key."""
    canonical = json.dumps(
        [unicodedata.normalize("NFC", text), [int(m) for m in media_ids], in_reply_to_id, quote_of_id, bool(draft)]
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _idempotent_replay(*, author_id: int, key: str, request_hash: str) -> Tweet | None:
    row = IdempotencyKey.objects.filter(user_id=author_id, key=key).select_related("tweet").first()
    if row is None:
        return None
    ttl = timedelta(seconds=settings.NEXUS_IDEMPOTENCY_TTL_SECONDS)
    if row.created_at < timezone.now() - ttl or row.tweet is None:
        # Expired: the key may be used again. Conditional on created_at so two
        # concurrent requests cannot both delete a fresh row.
        IdempotencyKey.objects.filter(pk=row.pk, created_at=row.created_at).delete()
        return None
    if row.request_hash and row.request_hash != request_hash:
        # IETF draft-ietf-httpapi-idempotency-key-header: a key reused with
        # another payload is a client error, not a replay.
        raise Unprocessable(
            "This Idempotency-Key was used with a different request body.", code="idempotency_key_reused"
        )
    return row.tweet


# A new tweet on PostgreSQL is one statement: its content (stored once per
# hash, or pinned when it exists, see CONTENT_PIN_SQL), the row, its creation
# history record, version 1, the outbox event, its hashtags, its
# Idempotency-Key, and what the caller's effects append (api.effects: the
# hashtag counts of analytics). Every
# write after the tweet's is driven by the tweet CTE's RETURNING, so all or
# none of them happen, and alone it is its own transaction. When the
# content row can be neither inserted nor pinned (a concurrent insert of the
# same text committed after our snapshot), nothing is written and we retry.
# Writes the same rows as the ORM path below it (tests compare the two).
TWEET_CREATE_SQL = """
WITH new_content AS (
    INSERT INTO tweets_tweetcontent (hash, text, created_at) VALUES (%(hash)s, %(text)s, %(now)s)
    ON CONFLICT (hash) DO NOTHING RETURNING hash
), pinned_content AS (
    SELECT hash FROM tweets_tweetcontent WHERE hash = %(hash)s FOR KEY SHARE
), tweet AS (
    INSERT INTO tweets_tweet (
        id, author_id, content_hash, media_ids, state, version, published_version, created_at,
        published_at, in_reply_to_id, quote_of_id, tier, removed_reason, search_vector
    )
    SELECT %(id)s, %(author_id)s, %(hash)s, %(media_ids)s::jsonb, %(state)s, 1, %(published_version)s::integer,
        %(now)s, %(published_at)s::timestamptz, %(in_reply_to_id)s::bigint, %(quote_of_id)s::bigint, 'hot', '',
        to_tsvector('simple', %(text)s)
    WHERE EXISTS (SELECT 1 FROM new_content) OR EXISTS (SELECT 1 FROM pinned_content)
    RETURNING id
), history AS (
    INSERT INTO tweets_historicaltweet (
        id, author_id, content_hash, media_ids, state, version, published_version, created_at,
        published_at, in_reply_to_id, quote_of_id, tier, removed_reason,
        history_date, history_type, history_user_id
    )
    SELECT id, %(author_id)s, %(hash)s, %(media_ids)s::jsonb, %(state)s, 1, %(published_version)s::integer,
        %(now)s, %(published_at)s::timestamptz, %(in_reply_to_id)s::bigint, %(quote_of_id)s::bigint, 'hot', '',
        %(now)s, '+', %(author_id)s
    FROM tweet
), first_version AS (
    INSERT INTO tweets_tweetversion (tweet_id, version, content_hash, media_ids, created_at, created_by_id)
    SELECT id, 1, %(hash)s, %(media_ids)s::jsonb, %(now)s, %(author_id)s FROM tweet
), event AS (
    INSERT INTO tweets_outboxevent (txid, type, tweet_id, author_id, version, at, data)
    SELECT pg_current_xact_id()::text::bigint, %(event_type)s, id, %(author_id)s, 1, %(now)s, '{{}}'::jsonb FROM tweet
), tags AS (
    INSERT INTO tweets_tweethashtag (tweet_id, tag, created_at)
    SELECT id, tag, %(now)s FROM tweet, unnest(string_to_array(%(tags)s, ' ')) AS tag
    ON CONFLICT DO NOTHING
), idempotency AS (
    INSERT INTO tweets_idempotencykey (user_id, key, tweet_id, request_hash, created_at)
    SELECT %(author_id)s, %(idempotency_key)s::varchar, id, %(request_hash)s, %(now)s FROM tweet
    WHERE %(idempotency_key)s::varchar IS NOT NULL
), tag_change AS (
    SELECT tag, 1 AS delta FROM tweet, unnest(string_to_array(%(tags)s, ' ')) AS tag
), {effects_ctes}
SELECT id FROM tweet
"""


def _tweet_insert(
    *,
    author,
    text,
    media_ids,
    in_reply_to_id,
    quote_of_id,
    draft,
    idempotency_key,
    request_hash: str = "",
    effects: TweetEffects,
) -> Tweet:
    now = timezone.now()
    content = TweetContent(hash=content_hash(text), text=text, created_at=now)
    tweet = Tweet(
        author=author,
        content=content,
        media_ids=media_ids,
        state=TweetState.DRAFT if draft else TweetState.PUBLISHED,
        version=1,
        published_version=None if draft else 1,
        created_at=now,
        published_at=None if draft else now,
        in_reply_to_id=in_reply_to_id,
        quote_of_id=quote_of_id,
    )
    tags = [] if draft else hashtags_extract(text)
    one_statement = connection.vendor == "postgresql"
    # Alone, the one statement is its own transaction: no BEGIN and COMMIT
    # round trips. A reply or quote also counts on its parent, which must
    # commit with it; inside a caller's transaction a savepoint lets a lost
    # Idempotency-Key race be answered; the ORM path is many statements.
    needs_transaction = (
        not one_statement or connection.in_atomic_block or in_reply_to_id is not None or quote_of_id is not None
    )
    # After the commit come two Redis writes (counters started, record cached):
    # one round trip for both.
    with redis_batch(), transaction.atomic() if needs_transaction else nullcontext():
        if one_statement:
            _tweet_insert_one_statement(
                tweet, tags=tags, idempotency_key=idempotency_key, request_hash=request_hash, effects=effects
            )
        else:
            _tweet_insert_orm(
                tweet, tags=tags, idempotency_key=idempotency_key, request_hash=request_hash, effects=effects
            )
        if not draft:
            # A tweet created just now has no counts yet: engagement need not look them up.
            effects.visibility_changed(tweet=tweet, delta=+1, is_new=True)
        # Write-through: a new tweet is about to be read by every follower's timeline.
        transaction.on_commit(lambda: tweet_cache_fill(tweet))
    return tweet


def _tweet_insert_one_statement(
    tweet: Tweet, *, tags: list[str], idempotency_key: str | None, request_hash: str = "", effects: TweetEffects
) -> None:
    params = {
        "id": tweet.id,
        "author_id": tweet.author_id,
        "hash": tweet.content.hash,
        "text": tweet.content.text,
        "now": tweet.created_at,
        "media_ids": json.dumps(tweet.media_ids),
        "state": tweet.state,
        "published_version": tweet.published_version,
        "published_at": tweet.published_at,
        "in_reply_to_id": tweet.in_reply_to_id,
        "quote_of_id": tweet.quote_of_id,
        "event_type": EventType.CREATED.value,
        # One text, split in SQL: psycopg dumps a Python list element by
        # element, and a tag never contains a space (hashtags_extract).
        "tags": " ".join(tags),
        "idempotency_key": idempotency_key,
        "request_hash": request_hash,
    }
    effects_sql, effects_params = effects.create_statement_ctes(tweet=tweet, tweet_cte="tweet", tags_cte="tag_change")
    sql = TWEET_CREATE_SQL.format(effects_ctes=effects_sql)
    with prepared_cursor() as cursor:
        for _attempt in range(3):
            cursor.execute(sql, params | effects_params)
            if cursor.fetchone() is not None:
                return
    raise Conflict("The tweet's content could not be stored; retry the request.")


def _tweet_insert_orm(
    tweet: Tweet, *, tags: list[str], idempotency_key: str | None, request_hash: str = "", effects: TweetEffects
) -> None:
    """The same rows as TWEET_CREATE_SQL, one ORM write at a time (SQLite)."""
    content_store(text=tweet.content.text)
    tweet._history_user = tweet.author
    tweet.save(force_insert=True)
    if idempotency_key:
        # The unique (user, key) constraint arbitrates concurrent repeats: the
        # loser's INSERT fails and its whole transaction (tweet too) rolls back.
        IdempotencyKey.objects.create(
            user=tweet.author, key=idempotency_key, tweet=tweet, request_hash=request_hash, created_at=tweet.created_at
        )
    TweetVersion.objects.create(
        tweet=tweet,
        version=1,
        content=tweet.content,
        media_ids=tweet.media_ids,
        created_at=tweet.created_at,
        created_by=tweet.author,
    )
    event_record(type=EventType.CREATED, tweet=tweet)
    TweetHashtag.objects.bulk_create(
        [TweetHashtag(tweet=tweet, tag=tag, created_at=tweet.created_at) for tag in tags], ignore_conflicts=True
    )
    effects.created(tweet=tweet, tags=tags)


def _on_published(tweet: Tweet, text: str, effects: TweetEffects) -> None:
    """A draft went public: its tags, its parent's count."""
    _hashtags_sync(tweet, text, effects)
    effects.visibility_changed(tweet=tweet, delta=+1)


# --- edit, rollback, publish ----------------------------------------------------------
def _check_edit_allowed(tweet: Tweet) -> None:
    if tweet.state == TweetState.DRAFT:
        return  # drafts are freely editable until published
    if tweet.tier != Tier.HOT or timezone.now() > edit_deadline(tweet.published_at):
        raise Conflict("The edit window of this tweet has closed.", code="edit_window_closed")
    if tweet.version - (tweet.published_version or 1) >= settings.NEXUS_MAX_EDITS:
        raise Conflict(f"This tweet was already edited {settings.NEXUS_MAX_EDITS} times.", code="edit_limit_reached")


def _check_still_hot(tweet: Tweet) -> None:
    # Aged tweets keep their content in the archive; their window closed long ago.
    if tweet.tier != Tier.HOT:
        raise Conflict("The edit window of this tweet has closed.", code="edit_window_closed")


def _check_if_match(tweet: Tweet, if_match_version: int | None) -> None:
    if if_match_version is not None and if_match_version != tweet.version:
        raise PreconditionFailed()


@transaction.atomic
def tweet_edit(
    *,
    tweet_id: int,
    actor,
    text: str | None = None,
    media_ids: list[int] | None = None,
    if_match_version: int | None = None,
    effects: TweetEffects,
) -> tuple[Tweet, bool]:
    """Apply a new version of text and/or media. Returns (tweet, changed)."""
    tweet = _lock_tweet(tweet_id, actor=actor)
    _check_if_match(tweet, if_match_version)
    _check_still_hot(tweet)
    new_media = list(tweet.media_ids) if media_ids is None else list(media_ids)
    new_text = tweet.content.text if text is None else text
    new_text = _validated_text(new_text, has_media=bool(new_media))
    if media_ids is not None and new_media != tweet.media_ids:
        media_check_attachable(owner_id=actor.pk, media_ids=new_media)
    return _new_version(tweet, actor=actor, text=new_text, media_ids=new_media, effects=effects)


@transaction.atomic
def tweet_rollback(
    *, tweet_id: int, actor, version: int, if_match_version: int | None = None, effects: TweetEffects
) -> tuple[Tweet, bool]:
    """A new version whose content equals `version` (history is never rewritten)."""
    tweet = _lock_tweet(tweet_id, actor=actor)
    _check_if_match(tweet, if_match_version)
    _check_still_hot(tweet)
    target = TweetVersion.objects.filter(tweet=tweet, version=version).select_related("content").first()
    if target is None:
        raise ValidationFailed({"version": [f"Tweet has no version {version}."]})
    return _new_version(tweet, actor=actor, text=target.content.text, media_ids=list(target.media_ids), effects=effects)


def _new_version(
    tweet: Tweet,
    *,
    actor,
    text: str,
    media_ids: list[int],
    effects: TweetEffects,
    check_window: bool = True,
    reason: str | None = None,
) -> tuple[Tweet, bool]:
    new_hash = content_hash(text)
    if new_hash == tweet.content_id and media_ids == list(tweet.media_ids):
        return tweet, False
    if check_window:  # off for a moderator's revert: the author's edit rules do not bind moderation
        _check_edit_allowed(tweet)
    now = timezone.now()
    content = content_store(text=text)
    tweet.content = content
    tweet.media_ids = media_ids
    tweet.version += 1
    tweet.search_vector = _search_vector(text)
    fields = ["content", "media_ids", "version", "search_vector"]
    if tweet.state != TweetState.DRAFT:
        tweet.state = TweetState.EDITED
        tweet.edited_at = now
        fields += ["state", "edited_at"]
    _save(tweet, actor=actor, fields=fields, reason=reason)
    TweetVersion.objects.create(
        tweet=tweet, version=tweet.version, content=content, media_ids=media_ids, created_at=now, created_by=actor
    )
    if tweet.state != TweetState.DRAFT:
        _hashtags_sync(tweet, text, effects)
        event_record(type=EventType.EDITED, tweet=tweet)
    _invalidate_after_commit(tweet.id)
    return tweet, True


@transaction.atomic
def tweet_publish(*, tweet_id: int, actor, effects: TweetEffects) -> Tweet:
    tweet = _lock_tweet(tweet_id, actor=actor)
    if tweet.state != TweetState.DRAFT:
        raise Conflict("Only a draft can be published.", code="not_a_draft")
    now = timezone.now()
    tweet.state = TweetState.PUBLISHED
    tweet.published_at = now
    tweet.published_version = tweet.version
    _save(tweet, actor=actor, fields=["state", "published_at", "published_version"])
    event_record(type=EventType.PUBLISHED, tweet=tweet)
    _on_published(tweet, tweet.content.text, effects)
    _invalidate_after_commit(tweet.id)
    return tweet


# --- delete and moderation ---------------------------------------------------------------
def _media_of(tweet: Tweet) -> set[int]:
    """Every media id the tweet shows in any of its versions (they all stay readable)."""
    ids = set(tweet.media_ids)
    for media_ids in (
        TweetVersion.objects.filter(tweet_id=tweet.id).exclude(media_ids=[]).values_list("media_ids", flat=True)
    ):
        ids.update(media_ids)
    return {int(i) for i in ids}


def _media_release(tweet: Tweet) -> None:
    """Withdraw the tweet's media that no other visible tweet shows. Media can
    only be attached by its owner, so the other references are among the
    author's own tweets that are neither deleted nor removed."""
    candidates = _media_of(tweet)
    if not candidates:
        return
    others = Tweet.objects.not_gone().filter(author_id=tweet.author_id).exclude(pk=tweet.pk)
    still_shown: set[int] = set()
    for media_ids in others.exclude(media_ids=[]).values_list("media_ids", flat=True):
        still_shown.update(int(i) for i in media_ids)
    versions = TweetVersion.objects.filter(tweet__in=others).exclude(media_ids=[])
    for media_ids in versions.values_list("media_ids", flat=True):
        still_shown.update(int(i) for i in media_ids)
    media_withdraw(media_ids=sorted(candidates - still_shown))


def _went_away(tweet: Tweet, effects: TweetEffects) -> None:
    _hashtags_sync(tweet, None, effects)
    _media_release(tweet)
    if tweet.state != TweetState.DRAFT:
        effects.visibility_changed(tweet=tweet, delta=-1)
    _invalidate_after_commit(tweet.id)


@transaction.atomic
def tweet_delete(*, tweet_id: int, actor, effects: TweetEffects) -> None:
    """Soft delete by the author: 404 for everyone after, row and history kept."""
    tweet = _lock_tweet(tweet_id, actor=actor)
    tweet.deleted_at = timezone.now()
    _save(tweet, actor=actor, fields=["deleted_at"], reason="deleted by author")
    event_record(type=EventType.DELETED, tweet=tweet)
    _went_away(tweet, effects)


def _lock_for_moderation(tweet_id: int) -> Tweet:
    tweet = tweet_lock(tweet_id)
    if tweet is None:
        raise NotFound("No such tweet.")
    return tweet


def _moderation_record(tweet: Tweet, *, moderator, kind: str, reason: str, **versions: int) -> ModerationAction:
    """The explicit audit entry (who, when, why); call inside the change's transaction."""
    return ModerationAction.objects.create(tweet=tweet, moderator=moderator, kind=kind, reason=reason, **versions)


def _reason_required(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": ["A reason is required."]})
    return reason


@transaction.atomic
def tweet_remove(*, tweet_id: int, moderator, reason: str, effects: TweetEffects) -> Tweet:
    """Moderator removal: 404 in the API at once; audited with the reason."""
    reason = _reason_required(reason)
    tweet = _lock_for_moderation(tweet_id)
    if tweet.removed_at is not None:
        return tweet
    was_visible = tweet.deleted_at is None
    tweet.removed_at = timezone.now()
    tweet.removed_reason = reason
    _save(tweet, actor=moderator, fields=["removed_at", "removed_reason"], reason=f"removed: {reason}")
    event_record(type=EventType.REMOVED, tweet=tweet, data={"reason": reason, "moderator_id": moderator.pk})
    _moderation_record(tweet, moderator=moderator, kind=ModerationKind.REMOVED, reason=reason)
    if was_visible:
        _went_away(tweet, effects)
    return tweet


@transaction.atomic
def tweet_restore(*, tweet_id: int, moderator, reason: str, effects: TweetEffects) -> Tweet:
    reason = _reason_required(reason)
    tweet = _lock_for_moderation(tweet_id)
    if tweet.removed_at is None:
        return tweet
    tweet.removed_at = None
    tweet.removed_reason = ""
    _save(tweet, actor=moderator, fields=["removed_at", "removed_reason"], reason=f"restored: {reason}")
    event_record(type=EventType.RESTORED, tweet=tweet, data={"reason": reason, "moderator_id": moderator.pk})
    _moderation_record(tweet, moderator=moderator, kind=ModerationKind.RESTORED, reason=reason)
    if tweet.deleted_at is None:
        media_reinstate(media_ids=sorted(_media_of(tweet)))
    if tweet.deleted_at is None and tweet.state != TweetState.DRAFT:
        if tweet.tier == Tier.HOT:
            _hashtags_sync(tweet, tweet.content.text, effects)
        # A warm tweet's tags are lexemes of its search vector (tweets.tiering): nothing to restore.
        effects.visibility_changed(tweet=tweet, delta=+1)
    _invalidate_after_commit(tweet.id)
    return tweet


def idempotency_keys_purge() -> int:
    """Delete keys older than the replay window; returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.NEXUS_IDEMPOTENCY_TTL_SECONDS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@transaction.atomic
def tweet_revert(*, tweet_id: int, moderator, version: int, reason: str, effects: TweetEffects) -> tuple[Tweet, bool]:
    """A moderator's revert: a new version whose content equals `version`, like
    the author's rollback but not bound by the edit window or limit. Audited
    (history reason, outbox `tweet.edited`, ModerationAction). Returns
    (tweet, changed); nothing is written when the content is already that."""
    reason = _reason_required(reason)
    tweet = _lock_for_moderation(tweet_id)
    if tweet.tier != Tier.HOT:
        # Warm and cold rows hold no content: their versions live in the archive.
        raise Conflict("Only a hot tweet can be reverted; this one is archived.", code="not_hot")
    target = TweetVersion.objects.filter(tweet=tweet, version=version).select_related("content").first()
    if target is None:
        raise ValidationFailed({"version": [f"Tweet has no version {version}."]})
    tweet, changed = _new_version(
        tweet,
        actor=moderator,
        text=target.content.text,
        media_ids=list(target.media_ids),
        effects=effects,
        check_window=False,
        reason=f"reverted to v{version}: {reason}",
    )
    if changed:
        _moderation_record(
            tweet,
            moderator=moderator,
            kind=ModerationKind.REVERTED,
            reason=reason,
            from_version=version,
            to_version=tweet.version,
        )
    return tweet, changed
