"""Mastodon.py (its default settings, nothing patched) against a live Nexus:
app registration, the authorization-code flow through the consent page, then
the calls a client makes, each checked against what the native API says."""

from __future__ import annotations

import io

import pytest
from mastodon import Mastodon, MastodonAPIError, MastodonNotFoundError
from PIL import Image

from mastodon_api.tests.conftest import consent

pytestmark = pytest.mark.django_db(transaction=True)


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 60)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def client(base_url, nexus_user) -> Mastodon:
    user, api_token = nexus_user
    client_id, client_secret = Mastodon.create_app("nexus-tests", api_base_url=base_url)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base_url)
    code = consent(api.auth_request_url(), username=user.username, secret=api_token)
    api.log_in(code=code)
    return api


def test_the_whole_client_flow(client, native, nexus_user):
    user, _ = nexus_user
    me = client.account_verify_credentials()
    assert me.username == user.username
    assert str(me.id) == str(user.pk)

    media = client.media_post(png_bytes(), mime_type="image/png", description="a red square", synchronous=True)
    assert media.url and media.description == "a red square"
    native_media = native("GET", f"/api/v1/media/{media.id}").json()
    assert native_media["status"] == "ready" and native_media["alt_text"] == "a red square"

    posted = client.status_post("hello from Mastodon.py #nexus", media_ids=[media])
    tweet = native("GET", f"/api/v1/tweets/{posted.id}").json()
    assert tweet["text"] == "hello from Mastodon.py #nexus"
    assert [m["id"] for m in tweet["media"]] == [str(media.id)]
    assert [a.id for a in posted.media_attachments] == [media.id]

    fetched = client.status(posted.id)
    assert fetched.id == posted.id and "#<span>nexus</span>" in fetched.content

    edited = client.status_update(posted.id, status="edited from Mastodon.py #nexus")
    tweet = native("GET", f"/api/v1/tweets/{posted.id}").json()
    assert tweet["version"] == 2 and tweet["state"] == "edited"
    assert edited.edited_at is not None

    history = client.status_history(posted.id)
    versions = native("GET", f"/api/v1/tweets/{posted.id}/versions").json()["results"]
    assert len(history) == len(versions) == 2
    assert "hello from Mastodon.py" in history[0].content and "edited from" in history[1].content

    assert client.status_source(posted.id).text == tweet["text"]

    favourited = client.status_favourite(posted.id)
    assert favourited.favourited is True
    assert favourited.favourites_count == native("GET", f"/api/v1/tweets/{posted.id}/engagement").json()["likes"] == 1
    assert [str(a.id) for a in client.status_favourited_by(posted.id)] == [str(user.pk)]
    unfavourited = client.status_unfavourite(posted.id)
    assert unfavourited.favourited is False and unfavourited.favourites_count == 0

    reblog = client.status_reblog(posted.id)
    assert reblog.reblog.id == posted.id and reblog.reblog.reblogs_count == 1
    assert native("GET", f"/api/v1/tweets/{posted.id}").json()["metrics"]["retweets"] == 1

    reply = client.status_post("a reply", in_reply_to_id=posted.id)
    assert reply.in_reply_to_id == posted.id
    assert (
        client.status(posted.id).replies_count
        == native("GET", f"/api/v1/tweets/{posted.id}").json()["metrics"]["replies"]
        == 1
    )

    # account_statuses, following the Link header through every page
    for n in range(5):
        client.status_post(f"page filler {n}")
    page = client.account_statuses(me.id, limit=3)
    seen = []
    while page:
        seen.extend(s.id for s in page)
        page = client.fetch_next(page)
    native_ids = []
    url = f"/api/v1/users/{user.username}/tweets?limit=100"
    native_ids = [int(t["id"]) for t in native("GET", url).json()["results"]]
    assert [int(i) for i in seen] == native_ids and len(seen) == 7

    tagged = client.timeline_hashtag("nexus")
    assert [s.id for s in tagged] == [posted.id]

    found = client.search_v2("#nexus", result_type="statuses")
    assert [s.id for s in found.statuses] == [posted.id]
    native_found = native("GET", "/api/v1/search", params={"q": "#nexus"}).json()["results"]
    assert [int(t["id"]) for t in native_found] == [int(posted.id)]

    trending = client.trending_statuses()
    native_trending = native("GET", "/api/v1/trending", params={"window": 3600}).json()["results"]
    assert [int(s.id) for s in trending] == [int(e["tweet"]["id"]) for e in native_trending][: len(trending)]
    assert int(posted.id) in [int(s.id) for s in trending]

    with pytest.raises(MastodonAPIError) as rejected:
        client.status_post("x" * 281)
    assert rejected.value.args[1] == 422

    deleted = client.status_delete(reply.id)
    assert deleted.text == "a reply"
    assert native("GET", f"/api/v1/tweets/{reply.id}").status_code == 404
    with pytest.raises(MastodonNotFoundError):
        client.status(reply.id)
    assert native("GET", f"/api/v1/tweets/{posted.id}").json()["metrics"]["replies"] == 0
