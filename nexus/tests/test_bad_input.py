"""Malformed, oversized and hostile requests get the JSON error shape with the
right status, never a 500 or an HTML page (issue 14 items 3 and 6)."""

import json

import pytest

pytestmark = pytest.mark.django_db


def _is_json_error(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    if code is not None:
        assert body["code"] == code


def test_nul_in_a_path_is_400_json(anon_client):
    _is_json_error(anon_client.get("/api/v1/users/%00/tweets"), 400, "nul_character")


def test_nul_in_a_query_is_400_json_not_a_length_message(anon_client):
    response = anon_client.get("/api/v1/search?q=a%00b")
    _is_json_error(response, 400, "nul_character")
    assert "NUL" in response.json()["detail"]


def test_json_nested_deeper_than_the_recursion_limit_is_400_json(client_alice):
    body = '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client_alice.post("/api/v1/tweets", body, content_type="application/json")
    _is_json_error(response, 400)


def test_an_oversized_json_body_is_413_json(client_alice, settings):
    body = json.dumps({"text": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    _is_json_error(client_alice.post("/api/v1/tweets", body, content_type="application/json"), 413)


def test_an_oversized_upload_is_413_json_before_it_is_read(client_alice, settings):
    body = b"x" * (settings.NEXUS_MEDIA_MAX_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client_alice.post("/api/v1/media", body, content_type="multipart/form-data; boundary=zz")
    _is_json_error(response, 413, "too_large")


def test_a_request_line_over_4_kb_is_414_json(anon_client):
    ids = ",".join(["1234567890123456789"] * 250)  # ~5 KB
    _is_json_error(anon_client.get(f"/api/v1/tweets?ids={ids}"), 414, "uri_too_long")


def test_invalid_utf8_in_form_data_is_400_not_stored_as_replacement_characters(client_alice):
    response = client_alice.post(
        "/api/v1/tweets", b"text=caf%E9%FF", content_type="application/x-www-form-urlencoded; charset=utf-8"
    )
    _is_json_error(response, 400)


def test_valid_form_data_still_posts(client_alice):
    response = client_alice.post("/api/v1/tweets", b"text=caf%C3%A9", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201, response.content
    assert response.json()["text"] == "café"
