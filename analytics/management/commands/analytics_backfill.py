"""Rebuild analytics state from the source tables: after deploying the app on
an existing database, or after bulk seeding that bypassed the services."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from analytics import services
from tweets.models import OutboxEvent
from tweets.outbox import Cursor


class Command(BaseCommand):
    help = (
        "Recount hashtags from TweetHashtag rows, write an engagement vector for every published hot/warm tweet "
        "from its flushed counters, and move the vector feed's cursor to the newest outbox event."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--skip-hashtags", action="store_true")
        parser.add_argument("--skip-vectors", action="store_true")

    def handle(self, *args, skip_hashtags: bool = False, skip_vectors: bool = False, **options) -> None:
        if not skip_hashtags:
            tags = services.hashtags_rebuild()
            self.stdout.write(f"hashtags: {tags} tags recounted")
        if not skip_vectors:
            # Cursor first: events after it are replayed by the feed job, which
            # is idempotent, so nothing between the two steps is missed.
            newest = OutboxEvent.objects.order_by("-txid", "-id").values_list("txid", "id").first()
            if newest is not None:
                services.feed_cursor_set(name=services.VECTOR_FEED, cursor=Cursor(*newest).encode())
            rows = services.engagement_vectors_rebuild()
            self.stdout.write(f"engagement vectors: {rows} rows written")
