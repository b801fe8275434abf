"""The Mastodon routes through Django's test client: OAuth grants and scopes,
Mastodon's error bodies, rate-limit headers, Link pagination, the shared media
route, and the native routes left where they were."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import resolve
from django.utils import timezone
from django_redis import get_redis_connection
from oauth2_provider.models import AccessToken, Application
from rest_framework.test import APIClient

from mastodon_api.oauth import app_register
from media.models import Media
from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.django_db


@pytest.fixture
def app():
    application, secret = app_register(
        name="test app", redirect_uris=["urn:ietf:wg:oauth:2.0:oob"], scopes="read write follow", website=""
    )
    return application, secret


@pytest.fixture
def oauth_client(app):
    def _client(user, scope: str = "read write") -> APIClient:
        token = f"oauth-{user.pk}-{scope.replace(' ', '-')}"
        AccessToken.objects.create(
            user=user, application=app[0], token=token, scope=scope, expires=timezone.now() + timedelta(days=1)
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return _client


# --- apps and grants ------------------------------------------------------------------------
def test_register_an_app(anon_client):
    response = anon_client.post(
        "/api/v1/apps",
        {"client_name": "Tusky", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write push"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["client_id"] and body["client_secret"] and body["scopes"] == ["read", "write", "push"]
    application = Application.objects.get(client_id=body["client_id"])
    assert application.client_secret != body["client_secret"]  # stored hashed


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}, "client_name"),
        ({"client_name": "x"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "admin:write"}, "scopes"),
    ],
)
def test_register_an_app_rejects_a_bad_field(anon_client, data, field):
    response = anon_client.post("/api/v1/apps", data, format="json")
    assert response.status_code == 422
    assert set(response.json()) == {"error"} and field in response.json()["error"]


def test_client_credentials_token_is_the_app_not_a_user(anon_client, app):
    application, secret = app
    response = anon_client.post(
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": application.client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    assert response.json()["scope"] == "read"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/apps/verify_credentials").json()["name"] == "test app"
    assert client.get("/api/v1/accounts/verify_credentials").status_code in (401, 403)
    assert AccessToken.objects.get(application=application).token == ""  # only its checksum is stored


def test_password_grant_is_off_unless_the_setting_allows_it(anon_client, app, make_user, settings):
    application, secret = app
    user = make_user("pat")
    user.set_password("correct horse")
    user.save()
    data = {
        "grant_type": "password",
        "client_id": application.client_id,
        "client_secret": secret,
        "username": "pat",
        "password": "correct horse",
        "scope": "read write",
    }
    refused = anon_client.post("/oauth/token", data)
    assert refused.status_code in (400, 401) and "access_token" not in refused.json()
    settings.NEXUS_OAUTH_PASSWORD_GRANT = True
    granted = anon_client.post("/oauth/token", data)
    assert granted.status_code == 200, granted.content
    assert granted.json()["scope"] == "read write"


def test_an_app_cannot_ask_for_scopes_it_did_not_register(anon_client, app, make_user, settings):
    settings.NEXUS_OAUTH_PASSWORD_GRANT = True
    application, secret = app
    user = make_user("pat")
    user.set_password("pw")
    user.save()
    response = anon_client.post(
        "/oauth/token",
        {
            "grant_type": "password",
            "client_id": application.client_id,
            "client_secret": secret,
            "username": "pat",
            "password": "pw",
            "scope": "read push",
        },
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_revoke_answers_with_json_and_the_token_stops_working(anon_client, app, user, oauth_client):
    application, secret = app
    client = oauth_client(user)
    assert client.get("/api/v1/accounts/verify_credentials").status_code == 200
    token = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    response = anon_client.post(
        "/oauth/revoke", {"client_id": application.client_id, "client_secret": secret, "token": token}
    )
    assert response.status_code == 200 and response.json() == {}
    assert client.get("/api/v1/accounts/verify_credentials").status_code == 401


# --- tokens and scopes ------------------------------------------------------------------------
def test_nexus_tokens_work_on_the_mastodon_routes(client_alice, user):
    response = client_alice.get("/api/v1/accounts/verify_credentials")
    assert response.status_code == 200 and response.json()["username"] == user.username


def test_a_read_token_may_not_write_on_either_api(oauth_client, user):
    client = oauth_client(user, scope="read")
    assert client.get("/api/v1/accounts/verify_credentials").status_code == 200
    for path, body in (("/api/v1/statuses", {"status": "hi"}), ("/api/v1/tweets", {"text": "hi"})):
        response = client.post(path, body, format="json")
        assert response.status_code == 403, path
    assert client.post("/api/v1/statuses", {"status": "hi"}, format="json").json() == {
        "error": "This action is outside the authorized scopes"
    }


def test_a_write_only_token_may_not_read(oauth_client, user):
    client = oauth_client(user, scope="write")
    assert client.get("/api/v1/accounts/verify_credentials").status_code == 403
    assert client.post("/api/v1/statuses", {"status": "hi"}, format="json").status_code == 200


def test_granular_scopes_count_as_their_family(oauth_client, user):
    client = oauth_client(user, scope="read:accounts write:statuses")
    assert client.get("/api/v1/accounts/verify_credentials").status_code == 200
    assert client.post("/api/v1/statuses", {"status": "hi"}, format="json").status_code == 200


def test_an_unknown_or_expired_token_is_401(anon_client, oauth_client, user):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = anon_client.get("/api/v1/accounts/verify_credentials")
    assert response.status_code == 401 and set(response.json()) == {"error"}
    client = oauth_client(user)
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/accounts/verify_credentials").status_code == 401


# --- statuses: errors in Mastodon's shape, counts equal the native ones ----------------------
def test_status_errors_are_mastodons(client_alice, client_bob, anon_client, user):
    assert anon_client.post("/api/v1/statuses", {"status": "x"}, format="json").status_code == 401
    missing = client_alice.get("/api/v1/statuses/123")
    assert missing.status_code == 404 and missing.json() == {"error": "Record not found"}
    assert client_alice.get("/api/v1/statuses/not-an-id").json() == {"error": "Record not found"}
    too_long = client_alice.post("/api/v1/statuses", {"status": "x" * 281}, format="json")
    assert too_long.status_code == 422 and too_long.json()["error"].startswith("Validation failed")
    tweet = make_tweet(user, "mine")
    forbidden = client_bob.put(f"/api/v1/statuses/{tweet.id}", {"status": "theirs"}, format="json")
    assert forbidden.status_code == 403 and set(forbidden.json()) == {"error"}
    for field, value in (("visibility", "direct"), ("spoiler_text", "cw"), ("scheduled_at", "2030-01-01T00:00:00Z")):
        response = client_alice.post("/api/v1/statuses", {"status": "x", field: value}, format="json")
        assert response.status_code == 422 and field in response.json()["error"]


def test_edit_window_rule_is_the_native_one(client_alice, user, settings):
    settings.NEXUS_MAX_EDITS = 1
    tweet = make_tweet(user, "v1")
    assert client_alice.put(f"/api/v1/statuses/{tweet.id}", {"status": "v2"}, format="json").status_code == 200
    refused = client_alice.put(f"/api/v1/statuses/{tweet.id}", {"status": "v3"}, format="json")
    native = client_alice.patch(f"/api/v1/tweets/{tweet.id}", {"text": "v3"}, format="json")
    assert refused.status_code == native.status_code == 409
    assert refused.json() == {"error": native.json()["detail"]}


def test_idempotency_key_returns_the_first_status(client_alice):
    first = client_alice.post("/api/v1/statuses", {"status": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = client_alice.post("/api/v1/statuses", {"status": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.json()["id"] == again.json()["id"]


@pytest.mark.django_db(transaction=True)  # real commits: a reply counts on its parent after commit
def test_counts_equal_the_native_exact_counts(client_alice, client_bob, make_client, make_user, user):
    tweet = make_tweet(user, "count me")
    others = [make_client(make_user()) for _ in range(3)]
    for client in [client_bob, *others]:
        assert client.post(f"/api/v1/statuses/{tweet.id}/favourite").status_code == 200
    client_bob.post(f"/api/v1/statuses/{tweet.id}/reblog")
    others[0].post(f"/api/v1/tweets/{tweet.id}/retweet")
    client_bob.post("/api/v1/statuses", {"status": "re", "in_reply_to_id": str(tweet.id)}, format="json")
    status = client_alice.get(f"/api/v1/statuses/{tweet.id}").json()
    metrics = client_alice.get(f"/api/v1/tweets/{tweet.id}").json()["metrics"]
    assert (status["favourites_count"], status["reblogs_count"], status["replies_count"]) == (4, 2, 1)
    assert (metrics["likes"], metrics["retweets"], metrics["replies"]) == (4, 2, 1)
    assert client_bob.get(f"/api/v1/statuses/{tweet.id}").json()["favourited"] is True
    assert status["favourited"] is False
    liked_by = client_alice.get(f"/api/v1/statuses/{tweet.id}/favourited_by").json()
    assert len(liked_by) == 4 and all(isinstance(a["id"], str) for a in liked_by)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)  # real commits: a write's after-commit step runs
def test_favourited_and_reblogged_stay_exact_after_undo_and_a_wiped_redis(client_bob, user):
    tweet = make_tweet(user, "flag me")

    def flags() -> tuple[bool, bool]:
        status = client_bob.get(f"/api/v1/statuses/{tweet.id}").json()
        return status["favourited"], status["reblogged"]

    assert flags() == (False, False)
    assert client_bob.post(f"/api/v1/statuses/{tweet.id}/favourite").json()["favourited"] is True
    assert flags() == flags() == (True, False)  # the second read from Redis
    assert client_bob.post(f"/api/v1/statuses/{tweet.id}/unfavourite").json()["favourited"] is False
    assert flags() == (False, False)
    assert client_bob.post(f"/api/v1/statuses/{tweet.id}/reblog").json()["reblogged"] is True
    assert flags() == (False, True)
    get_redis_connection("default").flushdb()  # this run's Redis database (REDIS_URL), ours alone
    assert flags() == flags() == (False, True)
    assert client_bob.get("/api/v1/timelines/public").json()[0]["reblogged"] is True
    assert client_bob.post(f"/api/v1/statuses/{tweet.id}/unreblog").json()["reblogged"] is False
    assert flags() == (False, False)


def test_context_walks_replies_both_ways(client_alice, user, other_user):
    root = make_tweet(user, "root")
    middle = make_tweet(other_user, "middle", in_reply_to_id=root.id)
    leaf = make_tweet(user, "leaf", in_reply_to_id=middle.id)
    context = client_alice.get(f"/api/v1/statuses/{middle.id}/context").json()
    assert [s["id"] for s in context["ancestors"]] == [str(root.id)]
    assert [s["id"] for s in context["descendants"]] == [str(leaf.id)]
    assert client_alice.get(f"/api/v1/statuses/{leaf.id}").json()["in_reply_to_account_id"] == str(other_user.pk)


# --- pagination -----------------------------------------------------------------------------
def test_link_header_pagination(anon_client, user):
    ids = [make_tweet(user, f"t{n}").id for n in range(5)]
    first = anon_client.get("/api/v1/timelines/public?limit=2")
    assert [s["id"] for s in first.json()] == [str(i) for i in ids[::-1][:2]]
    link = first["Link"]
    assert f"max_id={ids[3]}" in link and 'rel="next"' in link and f"min_id={ids[4]}" in link
    second = anon_client.get(f"/api/v1/timelines/public?limit=2&max_id={ids[3]}")
    assert [s["id"] for s in second.json()] == [str(ids[2]), str(ids[1])]
    newer = anon_client.get(f"/api/v1/timelines/public?limit=2&min_id={ids[1]}")
    assert [s["id"] for s in newer.json()] == [str(ids[3]), str(ids[2])]
    since = anon_client.get(f"/api/v1/timelines/public?since_id={ids[2]}")
    assert [s["id"] for s in since.json()] == [str(ids[4]), str(ids[3])]
    last = anon_client.get(f"/api/v1/timelines/public?limit=2&max_id={ids[1]}")
    assert [s["id"] for s in last.json()] == [str(ids[0])] and 'rel="next"' not in last["Link"]


# --- headers, shared route, what Nexus does not have -----------------------------------------
def test_rate_limit_headers_on_every_response(client_alice, anon_client, settings):
    settings.NEXUS_WRITE_RATE = "50/min"
    for response in (
        anon_client.get("/api/v1/instance"),
        anon_client.get("/healthz"),
        anon_client.get("/api/v1/statuses/1"),
        client_alice.get("/api/v1/tweets?ids=1"),
    ):
        assert response["X-RateLimit-Limit"] == "50"
        assert response["X-RateLimit-Remaining"] == "50"
        assert response["X-RateLimit-Reset"].endswith("Z")
    first = client_alice.post("/api/v1/statuses", {"status": "one"}, format="json")
    second = client_alice.post("/api/v1/tweets", {"text": "two"}, format="json")
    assert (first["X-RateLimit-Remaining"], second["X-RateLimit-Remaining"]) == ("49", "48")


def test_media_detail_serves_both_clients(client_alice, anon_client, user):
    media = Media.objects.create(
        owner=user,
        status="ready",
        sha256="a" * 64,
        width=800,
        height=600,
        alt_text="alt",
        variants={
            n: {"width": w, "height": h, "jpeg": f"m/{n}.jpg", "webp": f"m/{n}.webp"}
            for n, w, h in (("thumb", 150, 150), ("small", 480, 360), ("large", 800, 600))
        },
    )
    body = anon_client.get(f"/api/v1/media/{media.id}").json()
    assert (
        body["status"] == "ready" and body["alt_text"] == "alt" and set(body["variants"]) == {"thumb", "small", "large"}
    )
    assert body["type"] == "image" and body["description"] == "alt"
    assert body["url"].endswith("m/large.jpg") and body["preview_url"].endswith("m/small.jpg")
    assert body["meta"]["original"] == {"width": 800, "height": 600, "size": "800x600", "aspect": round(800 / 600, 6)}
    missing = anon_client.get("/api/v1/media/42")
    assert missing.status_code == 404 and missing.json() == {"detail": "No such media.", "code": "not_found"}
    described = client_alice.put(f"/api/v1/media/{media.id}", {"description": "new alt"}, format="json")
    assert described.json()["description"] == described.json()["alt_text"] == "new alt"


def test_what_nexus_does_not_have(client_alice, anon_client, user):
    assert client_alice.get("/api/v1/notifications").json() == []
    assert client_alice.get("/api/v1/lists").json() == []
    streaming = anon_client.get("/api/v1/streaming/user")
    assert streaming.status_code == 404 and "streaming" in streaming.json()["error"]
    follow = client_alice.post(f"/api/v1/accounts/{user.pk}/follow")
    assert follow.status_code == 422
    assert follow.json() == {"error": "Nexus has no follows, blocks or mutes (follow is not available)."}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/search?q=x&offset=x",
        "/api/v1/trends/statuses?offset=-1",
        "/api/v1/timelines/public?max_id=abc",
        "/api/v1/timelines/public?limit=many",
    ],
)
def test_malformed_paging_parameters_are_422_not_500(anon_client, path):
    response = anon_client.get(path)
    assert response.status_code == 422 and set(response.json()) == {"error"}


def test_instance_reports_the_native_limits(anon_client):
    v2 = anon_client.get("/api/v2/instance").json()
    assert v2["configuration"]["statuses"]["max_characters"] == 280
    assert v2["configuration"]["statuses"]["max_media_attachments"] == 4
    assert anon_client.get("/api/v1/instance").json()["configuration"]["statuses"]["max_characters"] == 280


@pytest.mark.parametrize(
    ("path", "module"),
    [
        ("/api/v1/tweets", "api.views"),
        ("/api/v1/tweets/1", "api.views"),
        ("/api/v1/search", "api.views"),
        ("/api/v1/trending", "api.views"),
        ("/api/v1/events", "api.views"),
        ("/api/v1/users/alice/tweets", "api.views"),
        ("/api/v1/views", "engagement.api"),
        ("/api/v1/tweets/1/like", "engagement.api"),
        ("/api/v1/media", "media.api"),
        ("/api/v1/hashtags/python", "analytics.api"),
    ],
)
def test_native_routes_keep_their_views(path, module):
    assert resolve(path).func.__module__ == module
