"""One error shape, {"detail", "code", "fields"?}, for every error the API
produces: raised by a service, by DRF, by Django, or at the URL level."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404
from django.test import override_settings
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework import exceptions as drf

from nexus import errors

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) <= {"detail", "code", "fields"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["code"]
    if "fields" in body:
        assert all(isinstance(m, list) and all(isinstance(s, str) for s in m) for m in body["fields"].values())
    if code is not None:
        assert body["code"] == code, body
    return body


# --- through the API -------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_unknown_api_paths_are_the_json_404(anon_client, method):
    response = getattr(anon_client, method)("/api/v1/no/such/thing")
    assert_error_shape(response, 404, "not_found")
    assert_error_shape(anon_client.get("/api/v2/tweets"), 404, "not_found")
    assert_error_shape(anon_client.get("/api/v1/tweets/not-an-id"), 404, "not_found")


def test_unknown_pages_outside_the_api_stay_html(anon_client):
    response = anon_client.get("/no/such/page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_method_the_endpoint_lacks_is_405_in_the_shape(client_alice):
    assert_error_shape(client_alice.put("/api/v1/tweets", {}, format="json"), 405, "method_not_allowed")


def test_a_write_without_a_token_is_401_in_the_shape(anon_client):
    response = anon_client.post("/api/v1/tweets", {"text": "hi"}, format="json")
    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"]


def test_a_bad_token_is_401_in_the_shape(make_client):
    client = make_client()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_error_shape(client.get("/api/v1/search?q=x"), 401, "authentication_failed")


def test_invalid_fields_are_400_with_per_field_messages(client_alice):
    response = client_alice.post("/api/v1/tweets", {"text": "x" * 281, "draft": "maybe"}, format="json")
    body = assert_error_shape(response, 400, "invalid")
    assert set(body["fields"]) == {"text", "draft"}
    assert body["detail"].startswith("text: ")


def test_a_whole_body_error_is_400_with_its_message_as_detail(client_alice, user):
    from tweets.tests.factories import make_tweet

    tweet = make_tweet(user, "hi")
    body = assert_error_shape(client_alice.patch(f"/api/v1/tweets/{tweet.id}", {}, format="json"), 400, "invalid")
    assert body["detail"] == "Send text and/or media_ids."
    assert body["fields"] == {"non_field_errors": ["Send text and/or media_ids."]}


def test_nested_field_errors_sit_under_their_field_named_by_their_place(client_alice):
    response = client_alice.post("/api/v1/views", {"tweet_ids": ["1", "x"]}, format="json")
    body = assert_error_shape(response, 400, "invalid")
    assert body["fields"] == {"tweet_ids": ["1: Must be a tweet/media id: a string of digits."]}


def test_malformed_json_is_400_in_the_shape(client_alice):
    response = client_alice.post("/api/v1/tweets", data="{bad", content_type="application/json")
    assert_error_shape(response, 400, "parse_error")


def test_a_body_that_is_neither_json_nor_form_is_415_in_the_shape(client_alice):
    response = client_alice.post("/api/v1/tweets", data="hello", content_type="text/plain")
    assert_error_shape(response, 415, "unsupported_media_type")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_an_oversized_json_body_is_413_in_the_shape(client_alice):
    response = client_alice.post(
        "/api/v1/tweets", data='{"text": "' + "x" * 4096 + '"}', content_type="application/json"
    )
    assert_error_shape(response, 413, "too_large")


def test_a_service_error_keeps_its_specific_code(client_alice, user):
    from tweets.tests.factories import make_tweet

    tweet = make_tweet(user, "published already")
    assert_error_shape(client_alice.post(f"/api/v1/tweets/{tweet.id}/publish"), 409, "not_a_draft")


def test_someone_elses_tweet_is_403_in_the_shape(client_bob, user):
    from tweets.tests.factories import make_tweet

    tweet = make_tweet(user, "alice's")
    response = client_bob.patch(f"/api/v1/tweets/{tweet.id}", {"text": "mine now"}, format="json")
    assert_error_shape(response, 403, "permission_denied")


@override_settings(NEXUS_WRITE_RATE="1/min")
def test_throttled_writes_are_429_in_the_shape_with_retry_after(client_alice):
    assert client_alice.post("/api/v1/tweets", {"text": "one"}, format="json").status_code == 201
    response = client_alice.post("/api/v1/tweets", {"text": "two"}, format="json")
    assert_error_shape(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1


# --- the handler's mapping, exception by exception --------------------------------------------------
@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (errors.ValidationFailed({"text": "Too long."}), 400, "invalid"),
        (errors.NotAuthenticated(), 401, "not_authenticated"),
        (errors.PermissionDenied(), 403, "permission_denied"),
        (errors.NotFound("No such tweet."), 404, "not_found"),
        (errors.Conflict("Closed.", code="edit_window_closed"), 409, "edit_window_closed"),
        (errors.PreconditionFailed(), 412, "precondition_failed"),
        (errors.PayloadTooLarge(), 413, "too_large"),
        (errors.Unprocessable("Same key, other body.", code="idempotency_key_reused"), 422, "idempotency_key_reused"),
        (errors.ServiceUnavailable(retry_after=7), 503, "unavailable"),
        (drf.ValidationError({"limit": ["Bad."]}), 400, "invalid"),
        (drf.NotFound(), 404, "not_found"),
        (drf.Throttled(wait=3), 429, "throttled"),
        (Http404("gone"), 404, "not_found"),
        (DjangoPermissionDenied(), 403, "permission_denied"),
        (DjangoValidationError({"reason": ["Required."]}), 400, "invalid"),
        (OperationalError("connection refused"), 503, "database_unavailable"),
        (RedisConnectionError("connection refused"), 503, "cache_unavailable"),
    ],
)
def test_the_handler_maps_every_error_to_the_shape(exc, status, code):
    response = errors.exception_handler(exc, {})
    assert response.status_code == status
    assert response.data["code"] == code and response.data["detail"]
    assert set(response.data) <= {"detail", "code", "fields"}
    if status in (429, 503):
        assert int(response["Retry-After"]) >= 1


def test_the_handler_leaves_programming_errors_to_the_500_handler():
    assert errors.exception_handler(KeyError("x"), {}) is None


def test_domain_errors_are_not_drf_exceptions():
    for cls in errors.NexusError.__subclasses__():
        assert not issubclass(cls, drf.APIException), cls


def test_error_response_is_the_same_shape_outside_drf():
    response = errors.error_response(
        status=429, code="throttled", detail="Slow down.", fields={"x": ["y"]}, headers={"Retry-After": "3"}
    )
    assert response.status_code == 429 and response["Retry-After"] == "3"
    assert response.content == b'{"detail": "Slow down.", "code": "throttled", "fields": {"x": ["y"]}}'


def test_a_disallowed_host_on_an_api_path_is_400_in_the_shape(anon_client):
    assert_error_shape(anon_client.get("/api/v1/search?q=x", HTTP_HOST="evil.example"), 400, "bad_request")


def test_the_500_handler_answers_api_paths_in_the_shape_and_pages_in_html(rf):
    response = errors.server_error(rf.get("/api/v1/tweets/1"))
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"detail": "Internal server error.", "code": "server_error"}
    page = errors.server_error(rf.get("/ops/"))
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
