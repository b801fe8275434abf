"""The JSON API runs without the browser middleware; pages keep it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_api_answers_without_session_messages_or_user_middleware(client_alice):
    response = client_alice.post("/api/v1/tweets", {"text": "no session here"}, format="json")
    assert response.status_code == 201
    assert "sessionid" not in response.cookies and "messages" not in response.cookies
    assert not hasattr(response.wsgi_request, "session") and not hasattr(response.wsgi_request, "_messages")


def test_pages_keep_their_middleware(client, make_user):
    client.force_login(make_user("operator", is_staff=True))
    page = client.get("/ops/")
    assert page.status_code == 200
    assert page["X-Frame-Options"] == "DENY"
    assert page.wsgi_request.user.username == "operator"


def test_a_browser_session_does_not_authenticate_the_api(client, make_user):
    client.force_login(make_user("cookie-only"))
    assert client.post("/api/v1/tweets", {"text": "by cookie"}, content_type="application/json").status_code == 401
