"""Warm tweets leave the per-tweet vector table: each keeps its vector,
quantised, as a packed key in its own row (tweets 0012), and the kNN walk goes
through one GiST entry per distinct point (EngagementPoint) instead of one per
tweet. On PostgreSQL this creates the points' GiST index and converts the warm
tweets' existing vector rows (the same packing as analytics.services.engagement_key:
ln(1 + count) × 32, rounded, capped at 4095, 12 bits per metric, likes first).
`manage.py analytics_backfill` rebuilds the same from the counts."""

from django.db import migrations, models

# analytics.selectors._point_box (each point as a box of side 1/1024, so that
# cube's picksplit sees volumes), frozen as created here.
EXPRESSION = (
    "cube(ARRAY[likes, retweets, replies, quotes, views], ARRAY[likes + 0.0009765625, retweets + 0.0009765625, "
    "replies + 0.0009765625, quotes + 0.0009765625, views + 0.0009765625])"
)
KEY = " | ".join(
    f"(LEAST(4095, round(v.{metric} * 32))::bigint << {12 * (4 - i)})"
    for i, metric in enumerate(["likes", "retweets", "replies", "quotes", "views"])
)
FORWARD = [
    f"CREATE INDEX analytics_engagementpoint_gist ON analytics_engagementpoint USING gist (({EXPRESSION}))",
    f"CREATE TEMP TABLE warm_keys AS SELECT v.tweet_id, {KEY} AS key FROM analytics_engagementvector v "
    "JOIN tweets_tweet t ON t.id = v.tweet_id AND t.tier = 'warm'",
    "INSERT INTO analytics_engagementpoint (key, likes, retweets, replies, quotes, views) "
    "SELECT DISTINCT key, ((key >> 48) & 4095) / 32.0, ((key >> 36) & 4095) / 32.0, ((key >> 24) & 4095) / 32.0, "
    "((key >> 12) & 4095) / 32.0, (key & 4095) / 32.0 FROM warm_keys",
    "UPDATE tweets_tweet t SET engagement_key = w.key FROM warm_keys w WHERE t.id = w.tweet_id",
    "DELETE FROM analytics_engagementvector v USING warm_keys w WHERE v.tweet_id = w.tweet_id",
    "DROP TABLE warm_keys",
]
BACKWARD = ["DROP INDEX IF EXISTS analytics_engagementpoint_gist"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_engagement_vector_no_updated_at"),
        ("tweets", "0012_tweet_warm_engagement_key"),
    ]

    operations = [
        migrations.CreateModel(
            name="EngagementPoint",
            fields=[
                ("key", models.BigIntegerField(primary_key=True, serialize=False)),
                ("likes", models.FloatField()),
                ("retweets", models.FloatField()),
                ("replies", models.FloatField()),
                ("quotes", models.FloatField()),
                ("views", models.FloatField()),
            ],
        ),
        migrations.RunPython(_run(FORWARD), _run(BACKWARD)),
    ]
