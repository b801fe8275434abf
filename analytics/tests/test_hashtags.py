"""Hashtag counting through the real tweet write paths, the per-tag endpoint
and trending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from analytics import selectors, services
from analytics.models import HashtagHour, HashtagStat
from api.services import tweet_remove, tweet_restore

pytestmark = pytest.mark.django_db


def _post(client, text: str, **extra) -> str:
    response = client.post("/api/v1/tweets", {"text": text, **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _tag(client, tag: str) -> dict:
    response = client.get(f"/api/v1/hashtags/{tag}")
    assert response.status_code == 200, response.content
    return response.json()


def test_create_counts_each_tag_once_in_the_current_hour(client_alice, anon_client):
    _post(client_alice, "Learning #Python and #django, #python again")
    _post(client_alice, "more #python")

    body = _tag(anon_client, "python")
    assert body["tag"] == "python"
    assert body["tweets"] == 2
    assert len(body["per_hour"]) == 24
    assert body["per_hour"][-1] == 2 and sum(body["per_hour"]) == 2
    assert body["last_used_at"] is not None
    assert _tag(anon_client, "django")["tweets"] == 1


def test_edit_that_removes_a_tag_uncounts_it_and_an_added_tag_counts(client_alice, anon_client):
    tweet_id = _post(client_alice, "#keep and #drop")

    response = client_alice.patch(f"/api/v1/tweets/{tweet_id}", {"text": "#keep and #new"}, format="json")
    assert response.status_code == 200, response.content

    assert _tag(anon_client, "drop")["tweets"] == 0
    assert _tag(anon_client, "drop")["per_hour"][-1] == 0
    assert _tag(anon_client, "keep")["tweets"] == 1
    assert _tag(anon_client, "keep")["per_hour"][-1] == 1  # unchanged tags are not counted twice
    assert _tag(anon_client, "new")["tweets"] == 1


def test_delete_uncounts(client_alice, anon_client):
    tweet_id = _post(client_alice, "bye #gone")
    _post(client_alice, "stay #gone")

    assert client_alice.delete(f"/api/v1/tweets/{tweet_id}").status_code == 204

    body = _tag(anon_client, "gone")
    assert body["tweets"] == 1 and body["per_hour"][-1] == 1


def test_draft_counts_only_once_published(client_alice, anon_client):
    tweet_id = _post(client_alice, "secret #later", draft=True)
    assert anon_client.get("/api/v1/hashtags/later").status_code == 404

    assert client_alice.post(f"/api/v1/tweets/{tweet_id}/publish").status_code == 200

    assert _tag(anon_client, "later")["tweets"] == 1


def test_moderator_removal_uncounts_and_restore_recounts(client_alice, anon_client, moderator):
    tweet_id = int(_post(client_alice, "spam #moderated"))

    tweet_remove(tweet_id=tweet_id, moderator=moderator, reason="spam")
    assert _tag(anon_client, "moderated")["tweets"] == 0

    tweet_restore(tweet_id=tweet_id, moderator=moderator, reason="appeal")
    assert _tag(anon_client, "moderated")["tweets"] == 1


def test_unicode_tags_are_case_folded(client_alice, anon_client):
    _post(client_alice, "grüße #Straße und #ÜBER")

    assert _tag(anon_client, "strasse")["tweets"] == 1
    assert _tag(anon_client, "%23Stra%C3%9Fe")["tag"] == "strasse"  # URL-encoded '#Straße'
    assert _tag(anon_client, "über")["tweets"] == 1


def test_tag_accepted_with_or_without_hash_and_in_any_case(client_alice, anon_client):
    _post(client_alice, "#Nexus")

    for spelling in ("nexus", "NEXUS", "%23nexus", "%23NeXuS"):
        assert _tag(anon_client, spelling)["tag"] == "nexus"


@pytest.mark.parametrize("raw", ["py%20thon", "two%20%23tags", "a%23b", "%23", "%23%23x", "__", "caf%C3%A9!", "x/y"])
def test_malformed_tag_is_400(anon_client, raw):
    response = anon_client.get(f"/api/v1/hashtags/{raw}")

    assert response.status_code == 400, response.content
    assert "Not a hashtag" in response.json()["detail"]


def test_tag_longer_than_the_parser_allows_is_400(anon_client):
    response = anon_client.get("/api/v1/hashtags/" + "a" * 101)

    assert response.status_code == 400


def test_never_used_tag_is_404(anon_client):
    response = anon_client.get("/api/v1/hashtags/neverused")

    assert response.status_code == 404
    assert response.json()["detail"]


def test_per_hour_places_uses_in_their_publication_hour_oldest_first():
    now = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    for hours_ago, times in ((0, 1), (3, 2), (23, 4), (24, 8), (30, 16)):
        for _ in range(times):
            services.hashtag_uses_changed(added=["clock"], removed=[], at=now - timedelta(hours=hours_ago))

    body = selectors.hashtag_get(tag="clock", now=now)

    expected = [0] * 24
    expected[-1], expected[-4], expected[0] = 1, 2, 4  # 24 h and 30 h ago fall outside the window
    assert body["per_hour"] == expected
    assert body["tweets"] == 31
    assert body["last_used_at"].startswith("2026-03-01T12:30:00")


def test_counts_roll_back_with_the_tweet_transaction():
    at = timezone.now()

    with pytest.raises(RuntimeError), transaction.atomic():
        services.hashtag_uses_changed(added=["rolledback"], removed=[], at=at)
        raise RuntimeError("the tweet's transaction fails after the hook")

    assert not HashtagStat.objects.filter(tag="rolledback").exists()
    assert not HashtagHour.objects.filter(tag="rolledback").exists()


def test_uncounting_what_never_counted_stays_at_zero():
    services.hashtag_uses_changed(added=[], removed=["legacy"], at=timezone.now())

    assert HashtagStat.objects.get(tag="legacy").tweets == 0
    assert HashtagHour.objects.get(tag="legacy").uses == 0


def test_prune_drops_only_old_hours():
    now = timezone.now()
    services.hashtag_uses_changed(added=["old"], removed=[], at=now - timedelta(days=30))
    services.hashtag_uses_changed(added=["old"], removed=[], at=now - timedelta(hours=2))

    assert services.hashtag_hours_prune(now=now) == 1
    assert list(HashtagHour.objects.filter(tag="old").values_list("uses", flat=True)) == [1]
    assert HashtagStat.objects.get(tag="old").tweets == 2  # totals are not hourly rows


# --- trending -------------------------------------------------------------------------------
def _uses(tag: str, at: datetime, n: int) -> None:
    for _ in range(n):
        services.hashtag_uses_changed(added=[tag], removed=[], at=at)


def test_trending_score_at_an_hour_boundary_is_exact():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # the current bucket has just begun
    _uses("riser", now - timedelta(minutes=30), 20)  # previous bucket, fully inside the last 60 min
    _uses("steady", now - timedelta(minutes=30), 5)
    for hours_ago in range(2, 26):  # the 24 buckets before the window
        _uses("steady", now - timedelta(hours=hours_ago), 5)
    _uses("riser", now - timedelta(hours=5), 24)

    results = selectors.hashtags_trending_compute(now=now)

    assert [r["tag"] for r in results] == ["riser", "steady"]
    riser, steady = results
    assert riser["last_hour"] == 20 and riser["previous_day_hourly_avg"] == 1
    assert riser["score"] == pytest.approx(21 / 2 * 3.0445, rel=1e-3)
    assert steady["last_hour"] == 5 and steady["previous_day_hourly_avg"] == 5
    assert steady["score"] == pytest.approx(1 * 1.7918, rel=1e-3)


def test_trending_ranks_growth_over_volume_and_leaves_out_quiet_tags(anon_client):
    now = timezone.now()
    # At any minute of the hour: breaking 40..80 uses in the last 60 min from
    # nothing; huge ~200/h all day (ratio ≈ 1); small 1 use from nothing.
    _uses("breaking", now, 40)
    _uses("breaking", now - timedelta(hours=1), 40)
    for hours_ago in range(0, 27):
        _uses("huge", now - timedelta(hours=hours_ago), 200)
    _uses("small", now, 1)
    _uses("yesterday", now - timedelta(hours=10), 50)

    response = anon_client.get("/api/v1/hashtags/trending?limit=10")

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["tag"] for r in results] == ["breaking", "huge", "small"]
    assert set(results[0]) == {"tag", "last_hour", "previous_day_hourly_avg", "score"}
    assert results[0]["score"] > results[1]["score"] > results[2]["score"]


def test_trending_limit_and_its_400(anon_client):
    now = timezone.now()
    for i in range(5):
        _uses(f"tag{i}", now, i + 1)

    assert len(anon_client.get("/api/v1/hashtags/trending?limit=2").json()["results"]) == 2
    for bad in ("0", "101", "x"):
        assert anon_client.get(f"/api/v1/hashtags/trending?limit={bad}").status_code == 400


def test_a_tag_named_trending_is_reachable_with_its_hash(client_alice, anon_client):
    _post(client_alice, "what is #trending")

    assert _tag(anon_client, "%23trending")["tweets"] == 1
