"""Bound the search index's pending list (PostgreSQL only).

GIN's fast update appends new entries to a pending list that every search
scans in full until the list is merged (when it outgrows gin_pending_list_limit,
or at vacuum). At the server default of 4 MB, a search over ~40k tweets took
4.6 ms with a full list and 0.44 ms right after it was merged: search latency
swung with the list's fill level. 256 kB keeps that scan short; the insert that
overflows the list pays a smaller merge more often."""

from django.db import migrations

PENDING_LIST_KB = 256


def set_limit(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER INDEX IF EXISTS tweet_search_vector_gin SET (gin_pending_list_limit = {PENDING_LIST_KB})"
        )


def reset_limit(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER INDEX IF EXISTS tweet_search_vector_gin RESET (gin_pending_list_limit)")


class Migration(migrations.Migration):
    dependencies = [("tweets", "0005_slimmer_indexes")]
    operations = [migrations.RunPython(set_limit, reset_limit)]
