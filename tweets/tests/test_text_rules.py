"""Invisible-only text and bidi overrides (issue 14 item 8)."""

import pytest

from tweets.models import Tweet

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "text",
    ["\u200b", "\u200b\u200c\u200d\u2060\ufeff", "\u3164\u3164", "\u2800", "\u00ad"],
    ids=["zwsp", "zero-width-mix", "hangul-filler", "braille-blank", "soft-hyphen"],
)
def test_text_of_invisible_characters_only_is_400(client_alice, text):
    response = client_alice.post("/api/v1/tweets", {"text": text}, format="json")

    assert response.status_code == 400
    assert "invisible" in str(response.json()).lower()
    assert Tweet.objects.count() == 0


def test_whitespace_and_invisible_characters_count_as_whitespace_only(client_alice):
    response = client_alice.post("/api/v1/tweets", {"text": " \u200b "}, format="json")

    assert response.status_code == 400


@pytest.mark.parametrize("override", ["\u202e", "\u202d", "\u202a", "\u202b", "\u202c"])
def test_bidi_embeddings_and_overrides_are_400(client_alice, override):
    response = client_alice.post("/api/v1/tweets", {"text": f"invoice {override}fdp.exe"}, format="json")

    assert response.status_code == 400
    assert Tweet.objects.count() == 0


def test_balanced_bidi_isolates_are_accepted_and_unbalanced_ones_are_not(client_alice):
    ok = client_alice.post("/api/v1/tweets", {"text": "quote: \u2067שלום\u2069 end"}, format="json")
    unbalanced = client_alice.post("/api/v1/tweets", {"text": "quote: \u2067שלום end"}, format="json")

    assert ok.status_code == 201 and ok.json()["text"] == "quote: \u2067שלום\u2069 end"
    assert unbalanced.status_code == 400


def test_visible_text_with_a_zero_width_joiner_is_accepted(client_alice):
    response = client_alice.post("/api/v1/tweets", {"text": "family 👨\u200d👩\u200d👧"}, format="json")

    assert response.status_code == 201
