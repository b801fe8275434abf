"""PostgreSQL only: the kNN index over an expression instead of a stored copy.

Migration 0002 stored the cube twice: a generated `vec` column in every heap
row (48 B a row, measured) and again in the GiST index. The index alone is
enough: a GiST index on the expression `cube(ARRAY[likes, retweets, replies,
quotes, views])` answers `ORDER BY <that expression> <-> cube(...)` nearest
first the same way (analytics.selectors.similar_sql orders by that same
expression, so the planner matches it to the index). The index keeps its
name. SQLite has neither (see analytics.selectors).

Reverse: the generated column and its index come back exactly as 0002 made them."""

from django.db import migrations

EXPRESSION = "cube(ARRAY[likes, retweets, replies, quotes, views])"

FORWARD = [
    "DROP INDEX IF EXISTS analytics_engagementvector_vec_gist",
    "ALTER TABLE analytics_engagementvector DROP COLUMN IF EXISTS vec",
    f"CREATE INDEX analytics_engagementvector_vec_gist ON analytics_engagementvector USING gist (({EXPRESSION}))",
]
BACKWARD = [
    "DROP INDEX IF EXISTS analytics_engagementvector_vec_gist",
    f"ALTER TABLE analytics_engagementvector ADD COLUMN vec cube GENERATED ALWAYS AS ({EXPRESSION}) STORED",
    "CREATE INDEX analytics_engagementvector_vec_gist ON analytics_engagementvector USING gist (vec)",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_engagement_vector_cube")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
