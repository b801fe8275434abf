"""Bearer/Token authentication and its token → user cache: a cached request does
no authentication query, and every revocation takes effect on the next request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from nexus.auth import BearerTokenAuthentication

pytestmark = pytest.mark.django_db


def _token_queries(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "authtoken_token" in q["sql"]]


def _post(client, text: str = "hello"):
    return client.post("/api/v1/tweets", {"text": text}, format="json")


def test_bearer_and_token_schemes_authenticate(client_alice, make_client, user):
    key = Token.objects.get(user=user).key
    token_client = make_client()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert _post(client_alice).status_code == 201
    assert _post(token_client).json()["author"]["username"] == "alice"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer", "expected '<scheme> <token>'"),
        ("Bearer a b", "expected '<scheme> <token>'"),
        ("Bearer nosuchtoken", "Invalid token"),
    ],
)
def test_bad_headers_are_401_with_a_reason(anon_client, header, message):
    anon_client.credentials(HTTP_AUTHORIZATION=header)

    response = _post(anon_client)

    assert response.status_code == 401
    assert message in response.json()["detail"]
    assert response["WWW-Authenticate"] == "Bearer"


def test_second_request_does_not_query_the_token(client_alice):
    assert _post(client_alice, "first").status_code == 201

    with CaptureQueriesContext(connection) as queries:
        assert _post(client_alice, "second").status_code == 201

    assert _token_queries(queries) == []


def test_cached_hot_read_needs_no_query(client_alice, django_assert_max_num_queries):
    tweet_id = _post(client_alice, "cached read").json()["id"]
    assert client_alice.get(f"/api/v1/tweets/{tweet_id}").status_code == 200  # fills the tweet cache

    # Token and tweet both come from the cache; one query of slack is left for
    # the metrics, which other parts of the read path may take from the database.
    with django_assert_max_num_queries(1), CaptureQueriesContext(connection) as queries:
        response = client_alice.get(f"/api/v1/tweets/{tweet_id}")

    assert response.status_code == 200 and response.json()["id"] == tweet_id
    assert _token_queries(queries) == []
    assert not [q for q in queries.captured_queries if '"tweets_tweet"' in q["sql"]]


def test_deleted_token_is_refused_at_once(client_alice, user):
    assert _post(client_alice).status_code == 201  # now cached

    Token.objects.filter(user=user).delete()

    assert _post(client_alice).status_code == 401


def test_deactivated_user_is_refused_at_once(client_alice, user):
    assert _post(client_alice).status_code == 201

    user.is_active = False
    user.save()

    response = _post(client_alice)
    assert response.status_code == 401
    assert "inactive" in response.json()["detail"].lower()


def test_renamed_user_is_seen_at_once(client_alice, user):
    assert _post(client_alice).status_code == 201

    user.username = "alice2"
    user.save()

    assert _post(client_alice).json()["author"]["username"] == "alice2"


def test_cached_user_cannot_overwrite_other_fields(user):
    user.set_password("s3cret-pass")
    user.email = "alice@example.com"
    user.save()
    key = Token.objects.create(user=user).key
    auth = BearerTokenAuthentication()
    auth.authenticate_credentials(key)  # fills the cache

    cached_user, token = auth.authenticate_credentials(key)
    cached_user.is_staff = True
    cached_user.save()

    user.refresh_from_db()
    assert token.key == key and token.user_id == user.pk
    assert user.is_staff is True
    assert user.check_password("s3cret-pass")
    assert user.email == "alice@example.com"


def test_cache_off_still_authenticates(client_alice, settings):
    settings.NEXUS_AUTH_CACHE_SECONDS = 0
    assert _post(client_alice, "one").status_code == 201

    with CaptureQueriesContext(connection) as queries:
        assert _post(client_alice, "two").status_code == 201

    assert len(_token_queries(queries)) == 1
