import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tweets.models import IdempotencyKey, Tweet

pytestmark = pytest.mark.django_db


def _post(client, key, text="once"):
    return client.post("/api/v1/tweets", {"text": text}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_repeat_returns_the_first_tweet_and_creates_nothing(client_alice):
    first = _post(client_alice, "k-1")
    again = _post(client_alice, "k-1")

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Tweet.objects.count() == 1


def test_the_same_key_with_a_different_body_is_422_and_creates_nothing(client_alice):
    first = _post(client_alice, "k-1")
    again = _post(client_alice, "k-1", text="different body, same key")

    assert first.status_code == 201
    assert again.status_code == 422
    assert again.json()["code"] == "idempotency_key_reused"
    assert Tweet.objects.count() == 1


def test_keys_are_per_user(client_alice, client_bob):
    assert _post(client_alice, "shared").json()["id"] != _post(client_bob, "shared").json()["id"]


def test_an_expired_key_may_be_used_again(client_alice):
    first = _post(client_alice, "old")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))

    second = _post(client_alice, "old")

    assert second.status_code == 201 and second.json()["id"] != first.json()["id"]


def test_a_key_longer_than_255_characters_is_400(client_alice):
    response = _post(client_alice, "k" * 256)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_create_exactly_one_tweet(make_client, make_user):
    author = make_user("racer")
    clients = [make_client(author) for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    ids: list[str] = []
    statuses: list[int] = []

    def post(client):
        barrier.wait()
        try:
            response = _post(client, "same-key")
            statuses.append(response.status_code)
            ids.append(response.json()["id"])
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert statuses == [201] * len(clients)
    assert len(set(ids)) == 1
    assert Tweet.objects.count() == 1
