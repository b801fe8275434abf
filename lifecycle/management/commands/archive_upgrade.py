from __future__ import annotations

import re

from django.conf import settings
from django.core.management.base import BaseCommand
from tqdm import tqdm

from lifecycle.services import legacy_repack
from lifecycle.storage import legacy_object_entries

LEGACY_NAME = re.compile(r"/(\d+)\.(warm|cold)\.json\.zst$")


class Command(BaseCommand):
    help = (
        "Repack the archive's legacy per-tweet objects (archive/<id % 1000>/<id>.<tier>.json.zst in the default "
        "storage) into segments, one per tier per batch, and delete the old objects once their segment is in "
        "the catalog. Idempotent: a re-run (or a run after a crash) skips tweets already repacked. Reads work "
        "in both formats until it has run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None)

    def handle(self, *args, batch_size: int | None = None, **options):
        batch_size = batch_size or settings.NEXUS_LIFECYCLE_BATCH_SIZE
        keys: dict[int, str] = {}
        for name, _size in legacy_object_entries(settings.NEXUS_ARCHIVE_PREFIX):
            match = LEGACY_NAME.search(name)
            if match:
                tweet_id, tier = int(match.group(1)), match.group(2)
                # A cold object supersedes a warm one of the same tweet.
                if tweet_id not in keys or tier == "cold":
                    if tweet_id in keys:
                        legacy_repack(keys_by_id={tweet_id: keys[tweet_id]})  # stale warm copy: deleted
                    keys[tweet_id] = name
        ids = sorted(keys)
        repacked = 0
        with tqdm(total=len(ids), unit="tweet", desc="upgrade") as bar:
            for start in range(0, len(ids), batch_size):
                chunk = {i: keys[i] for i in ids[start : start + batch_size]}
                repacked += legacy_repack(keys_by_id=chunk)
                bar.update(len(chunk))
        self.stdout.write(f"archive_upgrade: {repacked} tweets repacked from {len(ids)} legacy objects")
