"""GIN index on the search vector, on PostgreSQL only (SQLite has no GIN)."""

from django.db import migrations


def create_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS tweet_search_vector_gin ON tweets_tweet USING gin (search_vector)"
        )


def drop_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS tweet_search_vector_gin")


class Migration(migrations.Migration):
    dependencies = [("tweets", "0001_initial")]
    operations = [migrations.RunPython(create_gin, drop_gin)]
