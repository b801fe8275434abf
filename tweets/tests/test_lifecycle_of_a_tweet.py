"""Drafts, publishing, deletion and moderation."""

import pytest

from api.services import tweet_remove, tweet_restore
from tweets.models import OutboxEvent, Tweet
from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.django_db


def test_a_draft_is_listed_for_its_author_only_and_can_be_published(client_alice, client_bob, user):
    created = client_alice.post("/api/v1/tweets", {"text": "later", "draft": True}, format="json")
    assert created.status_code == 201 and created.json()["state"] == "draft"
    assert created.json()["editable_until"] is None
    draft_id = created.json()["id"]

    assert [t["id"] for t in client_alice.get("/api/v1/drafts").json()["results"]] == [draft_id]
    assert client_bob.get("/api/v1/drafts").json()["results"] == []
    assert client_bob.post(f"/api/v1/tweets/{draft_id}/publish").status_code == 404

    published = client_alice.post(f"/api/v1/tweets/{draft_id}/publish")

    assert published.status_code == 200 and published.json()["state"] == "published"
    assert client_bob.get(f"/api/v1/tweets/{draft_id}").status_code == 200
    assert client_alice.get("/api/v1/drafts").json()["results"] == []
    types = list(OutboxEvent.objects.filter(tweet_id=int(draft_id)).order_by("id").values_list("type", flat=True))
    assert types == ["tweet.created", "tweet.published"]


def test_publishing_twice_is_409(client_alice, user):
    tweet = make_tweet(user, "already out")
    response = client_alice.post(f"/api/v1/tweets/{tweet.id}/publish")
    assert response.status_code == 409 and response.json()["code"] == "not_a_draft"


def test_drafts_need_a_token(anon_client):
    assert anon_client.get("/api/v1/drafts").status_code == 401


def test_delete_by_the_author_then_404_for_everyone_with_history_kept(client_alice, client_bob, user):
    tweet = make_tweet(user, "bye")
    assert client_bob.delete(f"/api/v1/tweets/{tweet.id}").status_code == 403

    assert client_alice.delete(f"/api/v1/tweets/{tweet.id}").status_code == 204

    assert client_alice.get(f"/api/v1/tweets/{tweet.id}").status_code == 404
    assert client_alice.delete(f"/api/v1/tweets/{tweet.id}").status_code == 404
    row = Tweet.objects.get(pk=tweet.id)
    assert row.deleted_at is not None and row.history.count() == 2
    assert OutboxEvent.objects.filter(tweet_id=tweet.id, type="tweet.deleted").exists()


def test_moderator_remove_and_restore_are_audited_events(anon_client, user, moderator):
    tweet = make_tweet(user, "borderline")

    tweet_remove(tweet_id=tweet.id, moderator=moderator, reason="spam")
    assert anon_client.get(f"/api/v1/tweets/{tweet.id}").status_code == 404
    tweet_restore(tweet_id=tweet.id, moderator=moderator, reason="appeal granted")
    assert anon_client.get(f"/api/v1/tweets/{tweet.id}").status_code == 200

    latest = Tweet.objects.get(pk=tweet.id).history.order_by("-history_id")[:2]
    assert [h.history_change_reason for h in latest] == ["restored: appeal granted", "removed: spam"]
    assert all(h.history_user == moderator for h in latest)
    types = set(OutboxEvent.objects.filter(tweet_id=tweet.id).values_list("type", flat=True))
    assert {"tweet.removed", "tweet.restored"} <= types


def test_removal_needs_a_reason(user, moderator):
    from nexus.errors import ValidationFailed

    tweet = make_tweet(user, "x")
    with pytest.raises(ValidationFailed):
        tweet_remove(tweet_id=tweet.id, moderator=moderator, reason="  ")


def test_restoring_a_warm_tweet_brings_its_hashtags_back_from_the_archive(anon_client, user, moderator):
    from datetime import timedelta

    from django.utils import timezone

    from lifecycle.services import tweet_migrate

    tweet = make_tweet(user, "aged #vintage")
    moment = timezone.now() - timedelta(days=8)
    Tweet.objects.filter(pk=tweet.id).update(created_at=moment, published_at=moment)
    assert tweet_migrate(tweet_id=tweet.id, target="warm") == "migrated"

    tweet_remove(tweet_id=tweet.id, moderator=moderator, reason="mistake")
    assert anon_client.get("/api/v1/search", {"q": "#vintage"}).json()["results"] == []
    tweet_restore(tweet_id=tweet.id, moderator=moderator, reason="appeal")

    results = anon_client.get("/api/v1/search", {"q": "#vintage"}).json()["results"]
    assert [(t["id"], t["tier"]) for t in results] == [(str(tweet.id), "warm")]
