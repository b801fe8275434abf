"""The simple-history audit trail of aged tweets lives in their archive object:
moved at the warm (and cold) step, merged with later rows when shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.services import tweet_edit, tweet_remove
from lifecycle import services
from lifecycle.models import LifecycleTask
from lifecycle.selectors import archive_document, tweet_history
from tweets.models import Tweet
from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mod_client(moderator) -> Client:
    client = Client()
    client.force_login(moderator)
    return client


def _aged_edited_tweet(user, days: float) -> Tweet:
    tweet = make_tweet(user, "history words one")
    tweet_edit(tweet_id=tweet.pk, actor=user, text="history words two")
    moment = timezone.now() - timedelta(days=days)
    Tweet.objects.filter(pk=tweet.pk).update(created_at=moment, published_at=moment)
    LifecycleTask.objects.filter(tweet_id=tweet.pk).delete()
    services.lifecycle_schedule(tweet_id=tweet.pk, published_at=moment)
    return tweet


def _audit(rows) -> list[tuple]:
    """What an auditor reads from a history row, newest first."""
    return [
        (r.history_id, r.history_type, r.history_user_id, r.history_date, r.history_change_reason, r.state, r.version)
        for r in rows
    ]


def _pg_history(tweet_id: int) -> list:
    return list(Tweet.history.filter(id=tweet_id).order_by("-history_date", "-history_id"))


def _history_table(page: str) -> str:
    return page.split('id="history"', 1)[1].split("</table>", 1)[0]


def test_warm_move_archives_the_history_and_the_admin_still_shows_all_of_it(user, moderator, mod_client):
    tweet = _aged_edited_tweet(user, days=10)
    before = _audit(_pg_history(tweet.pk))
    assert [row[1] for row in before] == ["~", "+"] and before[0][2] == user.pk

    assert services.lifecycle_run_due() == {"migrated": 1}
    row = Tweet.objects.get(pk=tweet.pk)
    assert row.tier == "warm"
    assert _pg_history(tweet.pk) == []  # gone from PostgreSQL ...
    archived = archive_document(row)["history"]  # ... and in the archive, every column
    assert {item["history_id"] for item in archived} == {r[0] for r in before}
    assert {"history_user_id", "history_date", "history_change_reason", "history_type"} <= set(archived[0])
    assert _audit(tweet_history(row)) == before
    assert all(r.history_user == user for r in tweet_history(row))

    # A later change is written to PostgreSQL and merged in front of the archived rows.
    tweet_remove(tweet_id=tweet.pk, moderator=moderator, reason="spam found late")
    row = Tweet.objects.get(pk=tweet.pk)
    merged = tweet_history(row)
    assert len(_pg_history(tweet.pk)) == 1
    assert _audit(merged)[1:] == before
    assert (merged[0].history_user, merged[0].history_change_reason) == (moderator, "removed: spam found late")

    page = mod_client.get(reverse("admin:tweets_tweet_versions", args=[tweet.pk])).content.decode()
    table = _history_table(page)
    assert table.count("<tr>") == 1 + 3  # header + creation, edit, removal
    assert "removed: spam found late" in table and user.username in table and moderator.username in table
    # simple-history's own page would show only the PostgreSQL part: it leads to the full one.
    response = mod_client.get(reverse("admin:tweets_tweet_history", args=[tweet.pk]))
    assert response.status_code == 302
    assert response["Location"].endswith(f"{reverse('admin:tweets_tweet_versions', args=[tweet.pk])}#history")


def test_cold_move_takes_the_later_rows_into_the_archive_too(user, moderator, mod_client):
    tweet = _aged_edited_tweet(user, days=10)
    services.lifecycle_run_due()
    tweet_remove(tweet_id=tweet.pk, moderator=moderator, reason="abuse")
    full = _audit(tweet_history(Tweet.objects.get(pk=tweet.pk)))
    assert len(full) == 3

    assert services.tweet_migrate(tweet_id=tweet.pk, target="cold") == "migrated"
    row = Tweet.objects.get(pk=tweet.pk)
    assert row.tier == "cold" and _pg_history(tweet.pk) == []
    assert _audit(tweet_history(row)) == full
    table = _history_table(mod_client.get(reverse("admin:tweets_tweet_versions", args=[tweet.pk])).content.decode())
    assert table.count("<tr>") == 4 and "removed: abuse" in table


def test_a_hot_tweet_shows_its_history_from_postgresql(user, mod_client):
    tweet = make_tweet(user, "still hot")
    assert _audit(tweet_history(tweet)) == _audit(_pg_history(tweet.pk))
    assert mod_client.get(reverse("admin:tweets_tweet_history", args=[tweet.pk])).status_code == 200


def test_a_crash_after_the_archive_write_loses_no_history(user):
    tweet = _aged_edited_tweet(user, days=10)
    before = _audit(_pg_history(tweet.pk))
    claimed = services.lifecycle_claim(limit=10)
    with pytest.raises(RuntimeError), transaction.atomic():
        row = Tweet.objects.select_for_update().get(pk=tweet.pk)
        services.tweet_archive_warm(tweet=row)
        raise RuntimeError("worker killed")
    # The archive object exists but nothing points at it; PostgreSQL still has every row.
    assert _audit(_pg_history(tweet.pk)) == before
    assert _audit(tweet_history(Tweet.objects.get(pk=tweet.pk))) == before

    LifecycleTask.objects.filter(pk__in=claimed).update(due_at=timezone.now())
    assert services.lifecycle_run_due() == {"migrated": 1}
    assert services.lifecycle_run_due() == {}
    row = Tweet.objects.get(pk=tweet.pk)
    assert row.tier == "warm" and _pg_history(tweet.pk) == []
    assert _audit(tweet_history(row)) == before
