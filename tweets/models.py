from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from nexus.snowflake import next_id


class TweetContent(models.Model):
    """Content-addressed text: one row per distinct NFC-normalised text."""

    hash = models.CharField(primary_key=True, max_length=71)  # "sha256:" + 64 hex
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.hash


def _content_reference() -> models.ForeignKey:
    """A tweet's or version's text. Null once the tweet leaves the hot tier:
    the archive holds the content. No plain FK index: warm and cold rows hold
    NULL here, so a partial index (in each Meta) serves the lifecycle's "is
    this content still used?" for a fraction of the bytes, and no
    varchar_pattern_ops twin is built."""
    return models.ForeignKey(
        TweetContent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_column="content_hash",
        db_index=False,
        related_name="+",
    )


class TweetState(models.TextChoices):
    DRAFT = "draft"
    PUBLISHED = "published"
    EDITED = "edited"
    ARCHIVED = "archived"


class Tier(models.TextChoices):
    HOT = "hot"
    WARM = "warm"
    COLD = "cold"


def edit_deadline(published_at: datetime | None) -> datetime | None:
    """The end of a tweet's edit window (None for a draft): the one home of the
    NEXUS_EDIT_WINDOW_SECONDS rule."""
    if published_at is None:
        return None
    return published_at + timedelta(seconds=settings.NEXUS_EDIT_WINDOW_SECONDS)


# --- visibility: one rule, in the three forms its readers need -------------------------
# A tweet is visible to a user when it is neither deleted nor removed, and is
# published or is the user's own draft. TweetQuerySet.visible_to (ORM),
# record_visible_to (a cached record) and VISIBLE_TWEET_SQL (a statement that
# must check and write at once, engagement's like) say the same thing.
def record_visible_to(record: dict, user) -> bool:
    """For a record of a tweet that is not gone (tweets.selectors only builds those)."""
    if record["state"] != TweetState.DRAFT:
        return True
    return user is not None and user.is_authenticated and record["author_id"] == user.pk


# The id of tweet %(tweet_id)s when the authenticated user %(user_id)s may see it.
VISIBLE_TWEET_SQL = (
    "SELECT id FROM tweets_tweet WHERE id = %(tweet_id)s AND deleted_at IS NULL AND removed_at IS NULL "
    "AND (state <> 'draft' OR author_id = %(user_id)s)"
)


def _published_sql(alias: str) -> str:
    """The row `alias` is published and not gone (one %s: the draft state)."""
    return f"{alias}.state <> %s AND {alias}.deleted_at IS NULL AND {alias}.removed_at IS NULL"


def published_join_sql(*, alias: str, id_expr: str, tiers: list[str]) -> tuple[str, list]:
    """`LEFT JOIN` of the tweet row `id_expr` names, as `alias`, when it is
    published, not gone and in one of `tiers` (alias.id is NULL otherwise):
    for another app's statement that must filter its rows by this rule."""
    placeholders = ", ".join(["%s"] * len(tiers))
    sql = (
        f"LEFT JOIN tweets_tweet {alias} ON {alias}.id = {id_expr} AND {alias}.tier IN ({placeholders}) "
        f"AND {_published_sql(alias)}"
    )
    return sql, [*tiers, TweetState.DRAFT.value]


def warm_engagement_lateral_sql(*, alias: str, key_expr: str, exclude_id: int, limit: int) -> tuple[str, list]:
    """`LEFT JOIN LATERAL` of at most `limit` published warm tweets other than
    `exclude_id` whose engagement key is `key_expr`, as `alias`(id) (one row
    with a NULL id when there is none), through the tweet_warm_engagement index."""
    sql = (
        f"LEFT JOIN LATERAL (SELECT {alias}.id FROM tweets_tweet {alias} "
        f"WHERE {alias}.engagement_key = {key_expr} AND {alias}.tier = %s AND {_published_sql(alias)} "
        f"AND {alias}.id <> %s LIMIT %s) {alias} ON true"
    )
    return sql, [Tier.WARM.value, TweetState.DRAFT.value, exclude_id, limit]


def warm_engagement_key_used_sql(*, key_expr: str) -> str:
    """True when a warm row still carries the engagement key `key_expr`."""
    return f"EXISTS (SELECT 1 FROM tweets_tweet w WHERE w.engagement_key = {key_expr} AND w.tier = '{Tier.WARM.value}')"


def published_per_author_sql(*, placeholders: str) -> str:
    """`SELECT author_id, statuses, last_at`: the count and the latest
    publication of the published tweets of the authors in `placeholders`."""
    return (
        "SELECT author_id, COUNT(*) AS statuses, MAX(published_at) AS last_at FROM tweets_tweet "
        f"WHERE author_id IN ({placeholders}) AND deleted_at IS NULL AND removed_at IS NULL "
        f"AND state <> '{TweetState.DRAFT.value}' GROUP BY author_id"
    )


def published_children_count_sql(*, parent_column: str, placeholders: str) -> str:
    """`SELECT parent, COUNT(*)` of the published replies (parent_column
    "in_reply_to_id") or quotes ("quote_of_id") of the parents in
    `placeholders`, for engagement's exact counts in one statement."""
    if parent_column not in ("in_reply_to_id", "quote_of_id"):
        raise ValueError(parent_column)
    return (
        f"SELECT {parent_column}, COUNT(*) FROM tweets_tweet WHERE {parent_column} IN ({placeholders}) "
        f"AND deleted_at IS NULL AND removed_at IS NULL AND state <> '{TweetState.DRAFT.value}' "
        f"GROUP BY {parent_column}"
    )


class TweetQuerySet(models.QuerySet):
    def not_gone(self) -> TweetQuerySet:
        """Neither deleted by its author nor removed by a moderator."""
        return self.filter(deleted_at__isnull=True, removed_at__isnull=True)

    def published(self) -> TweetQuerySet:
        return self.not_gone().exclude(state=TweetState.DRAFT)

    def visible_to(self, user) -> TweetQuerySet:
        """Published tweets, plus the user's own drafts."""
        if user is not None and user.is_authenticated:
            return self.not_gone().filter(~Q(state=TweetState.DRAFT) | Q(author_id=user.pk))
        return self.published()


class Tweet(models.Model):
    id = models.BigIntegerField(primary_key=True, default=next_id, editable=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tweets")
    content = _content_reference()
    media_ids = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=10, choices=TweetState.choices, default=TweetState.PUBLISHED)
    version = models.PositiveIntegerField(default=1)
    # The version current at publication; edits allowed = NEXUS_MAX_EDITS past it.
    published_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    in_reply_to_id = models.BigIntegerField(null=True, blank=True)
    quote_of_id = models.BigIntegerField(null=True, blank=True)
    tier = models.CharField(max_length=4, choices=Tier.choices, default=Tier.HOT)
    deleted_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_reason = models.TextField(blank=True, default="")
    # PostgreSQL tsvector (GIN-indexed by migration on PostgreSQL only).
    search_vector = SearchVectorField(null=True, blank=True, editable=False)
    # Warm rows only (SPEC section 7: the warm row keeps its engagement vector):
    # the vector quantised and packed into one integer, opaque to this app. The
    # analytics app defines it, writes it through tweets.tiering and finds the
    # warm tweets of a vector through `tweet_warm_engagement`; 8 B and a
    # deduplicated index entry instead of a vector row and a GiST entry each.
    engagement_key = models.BigIntegerField(null=True, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["search_vector", "engagement_key"], cascade_delete_history=False)
    objects = TweetQuerySet.as_manager()

    class Meta:
        indexes = [
            # Author timeline: newest published first, keyset-paginated.
            models.Index(
                fields=["author", "-published_at", "-id"],
                name="tweet_author_timeline",
                condition=Q(published_at__isnull=False),
            ),
            models.Index(fields=["author", "-id"], name="tweet_author_drafts", condition=Q(state="draft")),
            models.Index(
                fields=["in_reply_to_id"], name="tweet_in_reply_to", condition=Q(in_reply_to_id__isnull=False)
            ),
            models.Index(fields=["quote_of_id"], name="tweet_quote_of", condition=Q(quote_of_id__isnull=False)),
            # Search's newest-first order; search covers hot and warm tweets only,
            # so cold rows (the bulk of a long-lived table) stay out of it. Also
            # the warm tier's due queue: its oldest entries are the oldest warm
            # rows (hot rows are younger), so the warm claim reads it backwards.
            models.Index(
                fields=["-published_at", "-id"],
                name="tweet_published_recent",
                condition=Q(tier__in=["hot", "warm"]),
            ),
            models.Index(fields=["content"], name="tweet_content_used", condition=Q(content__isnull=False)),
            # The lifecycle's due queue (SPEC section 7): the next hot→warm moves
            # are the oldest rows of this partial index, the next warm→cold
            # moves the oldest rows of tweet_published_recent (tweets.tiering).
            # Cold rows, the bulk of a long-lived table, are in neither. A
            # separate warm index (tweet_warm_due) cost 24 B per warm tweet.
            models.Index(
                fields=["published_at"],
                name="tweet_hot_due",
                condition=Q(tier="hot", published_at__isnull=False),
            ),
            # Warm tweets by engagement vector (see engagement_key).
            models.Index(
                fields=["engagement_key"],
                name="tweet_warm_engagement",
                condition=Q(tier="warm", engagement_key__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)

    @property
    def editable_until(self) -> datetime | None:
        return edit_deadline(self.published_at)

    @property
    def content_hash(self) -> str | None:
        return self.content_id

    @property
    def is_gone(self) -> bool:
        return self.deleted_at is not None or self.removed_at is not None


class TweetVersion(models.Model):
    """One immutable row per version of a tweet's content (text + media)."""

    tweet = models.ForeignKey(Tweet, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    content = _content_reference()
    media_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tweet", "version"], name="tweet_version_unique")]
        indexes = [
            models.Index(fields=["content"], name="tweetversion_content_used", condition=Q(content__isnull=False))
        ]
        ordering = ["tweet", "version"]

    def __str__(self) -> str:
        return f"{self.tweet_id} v{self.version}"


class IdempotencyKey(models.Model):
    """(user, key) is unique: the database, not a check-then-insert, decides
    which of two concurrent repeats creates the tweet."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    tweet = models.ForeignKey(Tweet, on_delete=models.CASCADE, null=True, related_name="+")
    # SHA-256 of the first request (tweets.services.request_fingerprint): a
    # repeat with another body is refused (422), not answered with this tweet.
    request_hash = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique")]

    def __str__(self) -> str:
        return self.key


class EventType(models.TextChoices):
    CREATED = "tweet.created"
    PUBLISHED = "tweet.published"
    EDITED = "tweet.edited"
    DELETED = "tweet.deleted"
    REMOVED = "tweet.removed"
    RESTORED = "tweet.restored"
    TIER_CHANGED = "tweet.tier_changed"


class OutboxEvent(models.Model):
    """Transactional outbox: written in the same transaction as the change.

    `txid` is the writing transaction's PostgreSQL xid8 (0 on SQLite, whose
    writers are serialised). The feed orders by (txid, id) and only returns
    events of transactions older than every one still in flight, so a reader
    never skips an event that commits later with a smaller id.

    A batch row (`events` > 1, tweets.outbox.event_batch_record) holds one
    change to many tweets, a lifecycle move: the columns name its first tweet
    and `data` holds every tweet's (tweet_id, author_id, version) as parallel
    arrays; the feed expands it into one event per tweet."""

    id = models.BigAutoField(primary_key=True)
    txid = models.BigIntegerField(default=0)
    type = models.CharField(max_length=32, choices=EventType.choices)
    tweet_id = models.BigIntegerField()
    author_id = models.BigIntegerField()
    version = models.PositiveIntegerField(default=1)
    at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, blank=True)
    # How many events the row holds: 1, or a batch row's tweets (tweets.outbox).
    # A smallint, the last column: it fits in the tuple's alignment padding.
    events = models.PositiveSmallIntegerField(default=1, db_default=1)

    class Meta:
        indexes = [
            models.Index(fields=["txid", "id"], name="outbox_cursor"),
            # Retention (tweets.outbox.outbox_purge) deletes the oldest events through it.
            models.Index(fields=["at"], name="outbox_at"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.tweet_id}"


class TweetHashtag(models.Model):
    """A tag a published tweet carries now; rewritten on edit. Search and
    hashtag analytics read it through its (tag, tweet) index."""

    tweet = models.ForeignKey(Tweet, on_delete=models.CASCADE, related_name="hashtags")
    tag = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tag", "tweet"], name="tweet_hashtag_unique")]

    def __str__(self) -> str:
        return f"#{self.tag}"


class ModerationKind(models.TextChoices):
    REMOVED = "removed"
    RESTORED = "restored"
    REVERTED = "reverted"


class ModerationAction(models.Model):
    """The moderators' audit log: who did what to which tweet, when, and why.

    Written by the moderation services in the transaction that makes the change
    (beside the simple-history record and the outbox event), never edited."""

    tweet = models.ForeignKey(Tweet, on_delete=models.PROTECT, related_name="moderation_actions")
    moderator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=ModerationKind.choices)
    reason = models.TextField()
    # For a revert: the version reverted to and the version it produced.
    from_version = models.PositiveIntegerField(null=True, blank=True)
    to_version = models.PositiveIntegerField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tweet", "-at"], name="moderation_tweet_recent")]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.tweet_id} by {self.moderator_id}"
