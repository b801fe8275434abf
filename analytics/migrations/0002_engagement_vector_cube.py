"""PostgreSQL only: the `cube` extension, a generated `vec` column on the
engagement vectors and a GiST index for k-nearest-neighbour ordering (`<->`).

`vec` is GENERATED ALWAYS … STORED from the five float columns, so the Django
model stays portable (it never reads or writes `vec`) and the cube can never
disagree with the columns. SQLite gets nothing here (see analytics.selectors)."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS cube",
    "ALTER TABLE analytics_engagementvector ADD COLUMN vec cube "
    "GENERATED ALWAYS AS (cube(ARRAY[likes, retweets, replies, quotes, views])) STORED",
    "CREATE INDEX analytics_engagementvector_vec_gist ON analytics_engagementvector USING gist (vec)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS analytics_engagementvector_vec_gist",
    "ALTER TABLE analytics_engagementvector DROP COLUMN IF EXISTS vec",
    # The extension stays: other objects in the database may use it.
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_initial")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
