from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from tweets.models import Tweet, TweetVersion
from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.django_db


def _patch(client, tweet_id, payload, **headers):
    return client.patch(f"/api/v1/tweets/{tweet_id}", payload, format="json", **headers)


def test_edit_makes_a_new_version(client_alice, anon_client, user):
    tweet = make_tweet(user, "v1 #old")
    anon_client.get(f"/api/v1/tweets/{tweet.id}")  # cached before the edit

    response = _patch(client_alice, tweet.id, {"text": "v2 #new"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 2 and body["state"] == "edited" and body["edited_at"]
    assert anon_client.get(f"/api/v1/tweets/{tweet.id}").json()["text"] == "v2 #new"  # cache invalidated
    assert list(Tweet.objects.get(pk=tweet.id).hashtags.values_list("tag", flat=True)) == ["new"]
    history = list(Tweet.objects.get(pk=tweet.id).history.order_by("history_id"))
    assert [h.version for h in history] == [1, 2] and history[-1].history_user == user


def test_an_edit_without_a_change_makes_no_version(client_alice, user):
    tweet = make_tweet(user, "same")
    response = _patch(client_alice, tweet.id, {"text": "same"})
    assert response.status_code == 200 and response.json()["version"] == 1
    assert TweetVersion.objects.filter(tweet=tweet).count() == 1


def test_only_the_author_may_edit(client_bob, anon_client, user):
    tweet = make_tweet(user, "mine")
    assert _patch(client_bob, tweet.id, {"text": "theirs"}).status_code == 403
    assert _patch(anon_client, tweet.id, {"text": "theirs"}).status_code == 401
    assert Tweet.objects.get(pk=tweet.id).version == 1


def test_edit_of_unknown_tweet_is_404(client_alice):
    assert _patch(client_alice, 12345, {"text": "x"}).status_code == 404


def test_edit_with_empty_body_or_bad_text_is_400(client_alice, user):
    tweet = make_tweet(user, "ok")
    assert _patch(client_alice, tweet.id, {}).status_code == 400
    assert "text" in _patch(client_alice, tweet.id, {"text": "y" * 281}).json()["fields"]


def test_edit_after_the_window_is_409_edit_window_closed(client_alice, user):
    tweet = make_tweet(user, "old")
    Tweet.objects.filter(pk=tweet.id).update(published_at=timezone.now() - timedelta(seconds=1801))

    response = _patch(client_alice, tweet.id, {"text": "too late"})

    assert response.status_code == 409
    assert response.json()["code"] == "edit_window_closed"


@override_settings(NEXUS_MAX_EDITS=2)
def test_edit_past_the_limit_is_409_edit_limit_reached(client_alice, user):
    tweet = make_tweet(user, "e0")
    assert _patch(client_alice, tweet.id, {"text": "e1"}).status_code == 200
    assert _patch(client_alice, tweet.id, {"text": "e2"}).status_code == 200

    response = _patch(client_alice, tweet.id, {"text": "e3"})

    assert response.status_code == 409 and response.json()["code"] == "edit_limit_reached"
    assert Tweet.objects.get(pk=tweet.id).version == 3


def test_if_match_with_a_stale_etag_is_412_and_changes_nothing(client_alice, user):
    tweet = make_tweet(user, "base")
    etag = client_alice.get(f"/api/v1/tweets/{tweet.id}")["ETag"]
    fresh = _patch(client_alice, tweet.id, {"text": "first"}, HTTP_IF_MATCH=etag)
    assert fresh.status_code == 200

    stale = _patch(client_alice, tweet.id, {"text": "second"}, HTTP_IF_MATCH=etag)

    assert stale.status_code == 412
    assert Tweet.objects.get(pk=tweet.id).content.text == "first"
    assert _patch(client_alice, tweet.id, {"text": "third"}, HTTP_IF_MATCH=fresh["ETag"]).status_code == 200


def test_versions_are_complete_and_oldest_first(client_alice, anon_client, user):
    tweet = make_tweet(user, "one")
    _patch(client_alice, tweet.id, {"text": "two"})

    response = anon_client.get(f"/api/v1/tweets/{tweet.id}/versions")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(v["version"], v["text"]) for v in results] == [(1, "one"), (2, "two")]
    assert set(results[0]) == {"version", "text", "content_hash", "media_ids", "created_at"}


def test_versions_of_unknown_or_invisible_tweet_are_404(anon_client, user):
    draft = make_tweet(user, "d", draft=True)
    assert anon_client.get("/api/v1/tweets/42/versions").status_code == 404
    assert anon_client.get(f"/api/v1/tweets/{draft.id}/versions").status_code == 404


def test_rollback_makes_a_new_version_equal_to_the_old_one(client_alice, user):
    tweet = make_tweet(user, "original")
    _patch(client_alice, tweet.id, {"text": "changed"})

    response = client_alice.post(f"/api/v1/tweets/{tweet.id}/rollback", {"version": 1}, format="json")

    assert response.status_code == 200
    assert response.json()["version"] == 3 and response.json()["text"] == "original"
    versions = TweetVersion.objects.filter(tweet=tweet).order_by("version")
    assert versions[0].content_id == versions[2].content_id  # history kept, not rewritten


def test_rollback_errors(client_alice, client_bob, user):
    tweet = make_tweet(user, "x")
    assert client_alice.post(f"/api/v1/tweets/{tweet.id}/rollback", {"version": 9}, format="json").status_code == 400
    assert client_alice.post(f"/api/v1/tweets/{tweet.id}/rollback", {"version": "a"}, format="json").status_code == 400
    assert client_bob.post(f"/api/v1/tweets/{tweet.id}/rollback", {"version": 1}, format="json").status_code == 403
    Tweet.objects.filter(pk=tweet.id).update(published_at=timezone.now() - timedelta(hours=1))
    _patch_ok = client_alice.post(f"/api/v1/tweets/{tweet.id}/rollback", {"version": 1}, format="json")
    assert _patch_ok.status_code == 200  # same content: no new version, nothing to refuse


def _make_warm(tweet):
    from lifecycle.services import tweet_migrate

    moment = timezone.now() - timedelta(days=8)
    Tweet.objects.filter(pk=tweet.id).update(created_at=moment, published_at=moment)
    assert tweet_migrate(tweet_id=tweet.id, target="warm") == "migrated"


@pytest.mark.parametrize("payload", [{"text": "new"}, {"media_ids": []}])
def test_editing_an_aged_tweet_is_409_not_a_crash(client_alice, user, payload):
    tweet = make_tweet(user, "aged")
    _make_warm(tweet)

    response = _patch(client_alice, tweet.id, payload)

    assert response.status_code == 409 and response.json()["code"] == "edit_window_closed"
    rollback = client_alice.post(f"/api/v1/tweets/{tweet.id}/rollback", {"version": 1}, format="json")
    assert rollback.status_code == 409 and rollback.json()["code"] == "edit_window_closed"
