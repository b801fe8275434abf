"""Backdated synthetic tweets (with edits, replies, hashtags, history, outbox
events) for measuring the lifecycle."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from analytics.models import EngagementVector
from analytics.services import engagement_vector
from nexus.snowflake import MAX_SEQUENCE, id_for_time
from tweets.models import EventType, OutboxEvent, Tweet, TweetContent, TweetHashtag, TweetState, TweetVersion
from tweets.text import content_hash, hashtags_extract

_WORD_TEXT = (
    "the a of to and in is it you that he was for on are with as I his they be at one have this from or had by "
    "hot word but what some we can out other were all there when up use your how said an each she which do their "
    "time if will way about many then them write would like so these her long make thing see him two has look "
    "more day could go come did number sound no most people my over know water than call first who may down side "
    "been now find any new work part take get place made live where after back little only round man year came "
    "show every good me give our under name very through just form sentence great think say help low line differ "
    "release deploy coffee music football election weather launch rust python django storage archive tweet"
)
WORDS = _WORD_TEXT.split()
TAGS = ("nexus", "python", "django", "news", "music", "sports", "tech", "weather", "ai", "food", "travel", "art")
EDIT_RATE = 0.10
REPLY_RATE = 0.08
BATCH = 2000


class Command(BaseCommand):
    help = (
        "Make backdated synthetic tweets: --days D of history ending now, --per-day N tweets a day, by --users U "
        "users. About 10%% are edited once or twice within the edit window (extra versions), 8%% are replies; "
        "each gets hashtags, simple-history rows, outbox events (those younger than NEXUS_OUTBOX_RETENTION_HOURS: "
        "a running system's retention job has purged the older ones), engagement counters (when the engagement app's "
        "TweetCounters table exists) and its lifecycle queue row, written with bulk inserts. Run "
        "`lifecycle_run` afterwards to migrate what is due."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, required=True)
        parser.add_argument("--per-day", type=int, required=True)
        parser.add_argument("--users", type=int, default=100)
        parser.add_argument("--seed", type=int, default=None, help="Random seed (repeatable data sets).")

    def handle(self, *args, days: int, per_day: int, users: int, seed: int | None, **options):
        if days < 1 or per_day < 1 or users < 1:
            raise CommandError("--days, --per-day and --users must be positive.")
        rng = random.Random(seed)
        authors = self._users(users)
        now = timezone.now()
        start = now - timedelta(days=days)
        moments = sorted(start + timedelta(seconds=rng.uniform(0, days * 86400 - 3600)) for _ in range(days * per_day))
        worker = rng.randrange(512, 1024)  # away from live pids' worker ids
        counters = self._counters_model()
        made = 0
        recent: list[int] = []
        with tqdm(total=len(moments), unit="tweet", desc="seeding") as bar:
            for offset in range(0, len(moments), BATCH):
                chunk = moments[offset : offset + BATCH]
                made += self._batch(chunk, offset, worker, authors, rng, recent, counters)
                bar.update(len(chunk))
        if connection.vendor == "postgresql":
            # Planner statistics now, not whenever autovacuum gets to them: a
            # `lifecycle_run` straight after a 10^6 seed moved ~300 tweets/s
            # without them and ~1,300/s once ANALYZE had run (same load).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.stdout.write(f"seeded {made} tweets over {days} days ({per_day}/day, {len(authors)} users)")

    def _users(self, count: int) -> list:
        user_model = get_user_model()
        names = [f"synth-{i}" for i in range(1, count + 1)]
        user_model.objects.bulk_create([user_model(username=n) for n in names], ignore_conflicts=True)
        return list(user_model.objects.filter(username__in=names))

    def _counters_model(self):
        try:
            model = apps.get_model("engagement", "TweetCounters")
        except LookupError:
            return None
        return model if model._meta.db_table in connection.introspection.table_names() else None

    @transaction.atomic
    def _batch(self, moments, offset, worker, authors, rng, recent, counters_model) -> int:
        window = timedelta(seconds=settings.NEXUS_EDIT_WINDOW_SECONDS)
        outbox_kept_from = timezone.now() - timedelta(hours=settings.NEXUS_OUTBOX_RETENTION_HOURS)
        history_model = Tweet.history.model
        contents: dict[str, TweetContent] = {}
        tweets, versions, tags, history, events, counters = [], [], [], [], [], []
        txid = self._txid()
        for index, created in enumerate(moments):
            author = rng.choice(authors)
            tweet_id = id_for_time(created, worker_id=worker, sequence=(offset + index) & MAX_SEQUENCE)
            texts = [self._text(rng)]
            if rng.random() < EDIT_RATE:
                texts += [self._text(rng) for _ in range(rng.choice((1, 1, 2)))]
            edit_times = sorted(created + window * rng.uniform(0.05, 0.95) for _ in texts[1:])
            for text in texts:
                contents.setdefault(
                    content_hash(text), TweetContent(hash=content_hash(text), text=text, created_at=created)
                )
            last = texts[-1]
            reply_to = rng.choice(recent) if recent and rng.random() < REPLY_RATE else None
            tweet = Tweet(
                id=tweet_id,
                author_id=author.pk,
                content_id=content_hash(last),
                state=TweetState.EDITED if len(texts) > 1 else TweetState.PUBLISHED,
                version=len(texts),
                published_version=1,
                created_at=created,
                published_at=created,
                edited_at=edit_times[-1] if edit_times else None,
                in_reply_to_id=reply_to,
            )
            tweets.append(tweet)
            for number, (text, at) in enumerate(zip(texts, [created, *edit_times], strict=True), start=1):
                versions.append(
                    TweetVersion(
                        tweet_id=tweet_id,
                        version=number,
                        content_id=content_hash(text),
                        created_at=at,
                        created_by_id=author.pk,
                    )
                )
                history.append(self._history(history_model, tweet, text, number, at, author.pk))
                if at < outbox_kept_from:
                    continue  # the outbox retention job would have purged it by now
                events.append(
                    OutboxEvent(
                        txid=txid,
                        type=EventType.CREATED if number == 1 else EventType.EDITED,
                        tweet_id=tweet_id,
                        author_id=author.pk,
                        version=number,
                        at=at,
                    )
                )
            tags += [TweetHashtag(tweet_id=tweet_id, tag=tag, created_at=created) for tag in hashtags_extract(last)]
            if counters_model is not None:
                counters.append(self._counters(counters_model, tweet_id, rng))
            recent.append(tweet_id)
        del recent[:-500]
        TweetContent.objects.bulk_create(list(contents.values()), ignore_conflicts=True, batch_size=1000)
        Tweet.objects.bulk_create(tweets, batch_size=1000)
        TweetVersion.objects.bulk_create(versions, batch_size=1000)
        TweetHashtag.objects.bulk_create(tags, batch_size=1000, ignore_conflicts=True)
        history_model.objects.bulk_create(history, batch_size=1000)
        OutboxEvent.objects.bulk_create(events, batch_size=1000)
        if counters:
            counters_model.objects.bulk_create(counters, batch_size=1000, ignore_conflicts=True)
            # What the vector sync job keeps for every published hot and warm
            # tweet: its engagement vector (similarity candidates), from the counts.
            EngagementVector.objects.bulk_create(
                [EngagementVector(tweet_id=c.tweet_id, **engagement_vector(c.as_dict())) for c in counters],
                batch_size=1000,
                ignore_conflicts=True,
            )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE tweets_tweet t SET search_vector = to_tsvector('simple', c.text) "
                    "FROM tweets_tweetcontent c WHERE c.hash = t.content_hash AND t.id = ANY(%s)",
                    [[t.id for t in tweets]],
                )
        return len(tweets)

    @staticmethod
    def _txid() -> int:
        if connection.vendor != "postgresql":
            return 0
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            return cursor.fetchone()[0]

    @staticmethod
    def _text(rng: random.Random) -> str:
        words = rng.choices(WORDS, k=rng.randint(6, 30))
        tags = [f"#{t}" for t in rng.sample(TAGS, rng.choice((0, 1, 1, 2)))]
        return " ".join(words + tags)[:280]

    @staticmethod
    def _history(model, tweet: Tweet, text: str, number: int, at: datetime, user_id: int):
        return model(
            id=tweet.id,
            author_id=tweet.author_id,
            content_id=content_hash(text),
            state=TweetState.PUBLISHED if number == 1 else TweetState.EDITED,
            version=number,
            published_version=1,
            created_at=tweet.created_at,
            published_at=tweet.published_at,
            edited_at=None if number == 1 else at,
            in_reply_to_id=tweet.in_reply_to_id,
            history_date=at,
            history_type="+" if number == 1 else "~",
            history_user_id=user_id,
        )

    @staticmethod
    def _counters(model, tweet_id: int, rng: random.Random):
        # Heavy-tailed like real engagement: most tweets get little, a few get a lot.
        likes = int(rng.paretovariate(1.2)) - 1
        return model(
            tweet_id=tweet_id,
            likes=likes,
            retweets=likes // 4,
            replies=likes // 8,
            quotes=likes // 20,
            views=likes * 30 + rng.randint(0, 50),
            updated_at=datetime.now(UTC),
        )
