"""Media on tweets (SPEC 3): only the caller's own, at most 4, not failed; a
tweet carrying pending or failed media stays readable and shows each status."""

from __future__ import annotations

import io

import pytest

from media import services
from media.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending_media(media_root, django_capture_on_commit_callbacks):
    """Media whose processing has not run (its task was never enqueued)."""

    def _make(owner, *, width: int = 64):
        with django_capture_on_commit_callbacks(execute=False):
            return services.media_upload(owner=owner, file=io.BytesIO(factories.png_bytes(width, 32)))

    return _make


def _post(client, media_ids, text="look"):
    return client.post("/api/v1/tweets", {"text": text, "media_ids": [str(m) for m in media_ids]}, format="json")


def test_tweet_with_ready_media_shows_it(upload, client_alice, anon_client, media_root):
    media = upload(factories.jpeg_bytes(), alt_text="sunset").json()

    created = _post(client_alice, [media["id"]])

    assert created.status_code == 201, created.content
    tweet = anon_client.get(f"/api/v1/tweets/{created.json()['id']}").json()
    [shown] = tweet["media"]
    assert shown["id"] == media["id"] and shown["status"] == "ready" and shown["alt_text"] == "sunset"
    assert set(shown["variants"]) == {"thumb", "small", "medium", "large"}


def test_media_only_tweet_may_have_blank_text(upload, client_alice, media_root):
    media = upload(factories.jpeg_bytes()).json()

    assert _post(client_alice, [media["id"]], text="   ").status_code == 201


def test_tweet_with_pending_media_is_readable_and_shows_its_status(pending_media, user, client_alice, anon_client):
    media = pending_media(user)

    created = _post(client_alice, [media.id])

    assert created.status_code == 201
    tweet = anon_client.get(f"/api/v1/tweets/{created.json()['id']}")
    assert tweet.status_code == 200
    [shown] = tweet.json()["media"]
    assert shown["status"] == "pending" and shown["variants"] == {}


def test_tweet_whose_media_failed_later_stays_readable(pending_media, user, client_alice, anon_client):
    media = pending_media(user)
    created = _post(client_alice, [media.id]).json()

    services.media_blob_fail(sha256=media.sha256, error="Object store failed after 7 attempts: boom")

    tweet = anon_client.get(f"/api/v1/tweets/{created['id']}")
    assert tweet.status_code == 200
    [shown] = tweet.json()["media"]
    assert shown["status"] == "failed"
    assert "Object store failed" in shown["error"]
    batch = anon_client.get(f"/api/v1/tweets?ids={created['id']}").json()["results"]
    assert batch[0]["media"][0]["status"] == "failed"


def test_failed_media_cannot_be_attached(pending_media, user, client_alice):
    media = pending_media(user)
    services.media_blob_fail(sha256=media.sha256, error="broken")

    response = _post(client_alice, [media.id])

    assert response.status_code == 400
    assert "failed" in str(response.json()["fields"]["media_ids"])


def test_someone_elses_media_cannot_be_attached(pending_media, other_user, client_alice):
    media = pending_media(other_user)

    response = _post(client_alice, [media.id])

    assert response.status_code == 400
    assert "not yours" in str(response.json()["fields"]["media_ids"])


def test_unknown_media_cannot_be_attached(client_alice):
    response = _post(client_alice, [123456789])

    assert response.status_code == 400
    assert "media_ids" in response.json()["fields"]


def test_at_most_four_media(pending_media, user, client_alice):
    media = [pending_media(user, width=60 + i) for i in range(5)]

    too_many = _post(client_alice, [m.id for m in media])
    four = _post(client_alice, [m.id for m in media[:4]])

    assert too_many.status_code == 400 and "media_ids" in too_many.json()["fields"]
    assert four.status_code == 201
    assert [m["id"] for m in four.json()["media"]] == [str(m.id) for m in media[:4]]


def test_edit_cannot_attach_failed_media(pending_media, user, client_alice):
    ok, bad = pending_media(user, width=70), pending_media(user, width=71)
    services.media_blob_fail(sha256=bad.sha256, error="broken")
    tweet = _post(client_alice, [ok.id]).json()

    response = client_alice.patch(f"/api/v1/tweets/{tweet['id']}", {"media_ids": [str(bad.id)]}, format="json")

    assert response.status_code == 400
    assert "media_ids" in response.json()["fields"]
