"""What local file serving may serve (issue 14 item 1): public media variants
only — never an archive, an original or anything else under the storage root —
and a variant only while some visible tweet, or a fresh upload, shows it."""

from __future__ import annotations

import pytest

from api import services as tweet_services
from media.tests import factories

pytestmark = pytest.mark.django_db


def _url(anon_client, media_id: str, name: str = "small", fmt: str = "webp") -> str:
    return anon_client.get(f"/api/v1/media/{media_id}").json()["variants"][name][fmt]


def _post(client, media_ids, text="look"):
    response = client.post("/api/v1/tweets", {"text": text, "media_ids": media_ids}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.mark.parametrize(
    "key",
    [
        "archive/123/7231490823098449123.warm.json.zst",  # the layout the issue exploited
        "private/archive/123/7231490823098449123.warm.json.zst",
        "private/archive/segments/2026/11/seg-0001.parquet",
        "readyz/probe.txt",
        ".secret",
    ],
)
def test_nothing_but_media_variants_is_served(media_root, anon_client, key):
    path = media_root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'{"text": "deleted tweet text"}')

    response = anon_client.get(f"/media/{key}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert b"deleted tweet text" not in response.content


def test_originals_are_stored_privately_and_not_served(upload, media_root, anon_client):
    body = upload(factories.jpeg_bytes(orientation=6)).json()
    sha = body["sha256"]
    original = f"private/originals/{sha[:2]}/{sha[2:4]}/{sha}/original.jpg"
    assert (media_root / original).exists()

    assert anon_client.get(f"/media/{original}").status_code == 404
    assert anon_client.get(f"/media/media/{sha[:2]}/{sha[2:4]}/{sha}/original.jpg").status_code == 404
    assert anon_client.get(_url(anon_client, body["id"])).status_code == 200


def test_media_of_a_deleted_tweet_stop_being_served(upload, client_alice, anon_client, user):
    media = upload(factories.jpeg_bytes()).json()
    url = _url(anon_client, media["id"])
    tweet_id = _post(client_alice, [media["id"]])
    assert anon_client.get(url).status_code == 200

    assert client_alice.delete(f"/api/v1/tweets/{tweet_id}").status_code == 204

    assert anon_client.get(url).status_code == 404
    assert anon_client.get(f"/api/v1/media/{media['id']}").json()["variants"] == {}


def test_media_still_shown_by_another_visible_tweet_stay_served(upload, client_alice, anon_client):
    media = upload(factories.jpeg_bytes()).json()
    url = _url(anon_client, media["id"])
    first = _post(client_alice, [media["id"]])
    _post(client_alice, [media["id"]], text="again")

    assert client_alice.delete(f"/api/v1/tweets/{first}").status_code == 204

    assert anon_client.get(url).status_code == 200


def test_the_same_bytes_uploaded_by_someone_else_stay_served(upload, client_alice, client_bob, anon_client):
    data = factories.jpeg_bytes()
    alices = upload(data).json()
    upload(data, client=client_bob)  # bob's own upload of the same content, not on any tweet
    url = _url(anon_client, alices["id"])
    tweet_id = _post(client_alice, [alices["id"]])

    assert client_alice.delete(f"/api/v1/tweets/{tweet_id}").status_code == 204

    assert anon_client.get(url).status_code == 200  # content-addressed: bob's reference keeps it


def test_moderator_removal_withdraws_and_restore_brings_back(upload, client_alice, anon_client, moderator):
    media = upload(factories.jpeg_bytes()).json()
    url = _url(anon_client, media["id"])
    tweet_id = int(_post(client_alice, [media["id"]]))

    tweet_services.tweet_remove(tweet_id=tweet_id, moderator=moderator, reason="spam")
    assert anon_client.get(url).status_code == 404

    tweet_services.tweet_restore(tweet_id=tweet_id, moderator=moderator, reason="appeal")
    assert anon_client.get(url).status_code == 200
