"""Redis shut down (then hanging: SIGSTOP) in the middle of a like storm and brought back: every like
is answered 200 or 503 JSON with Retry-After (never a 500), /readyz answers
within 2 s, and once clients retry their 503s the counts are exact: as many
likes as users, nothing lost or counted twice."""

from __future__ import annotations

import secrets
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from nexus.tests.faults.harness import bearer, is_json_error, redis_server, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

USERS = 150


def _make_tokens(n: int) -> list[str]:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"fan-{i}", password="!") for i in range(n)])
    tokens = Token.objects.bulk_create([Token(user=u, key=secrets.token_hex(20)) for u in users])
    return [t.key for t in tokens]


def _storm(stack, fans: list[str], tweet_id: str, fault, heal) -> dict:
    """Every fan likes the tweet (12 at a time); after a third of them the fault
    is injected for 3 s, then healed. Fans answered 503 retry, as a client
    honouring Retry-After does. Returns the figures."""
    statuses: Counter = Counter()
    bad: list[str] = []
    outage = threading.Event()
    lock = threading.Lock()

    def like(token: str) -> int:
        response = requests.post(f"{stack.url}/api/v1/tweets/{tweet_id}/like", headers=bearer(token), timeout=30)
        with lock:
            statuses[f"{'during' if outage.is_set() else 'outside'} {response.status_code}"] += 1
            if response.status_code != 200 and not (
                response.status_code == 503 and is_json_error(response) and int(response.headers["Retry-After"]) >= 1
            ):
                bad.append(f"{response.status_code} {response.text[:200]}")
        time.sleep(0.02)
        return response.status_code

    with ThreadPoolExecutor(12) as pool:
        first = list(pool.map(like, fans[: len(fans) // 3]))
        futures = [pool.submit(like, token) for token in fans[len(fans) // 3 :]]
        outage.set()
        fault()
        down = time.monotonic()
        ready = requests.get(f"{stack.url}/readyz", timeout=2)  # within 2 s or raises
        time.sleep(3)
        heal()
        outage.clear()
        back = time.monotonic()
        rest = [f.result() for f in futures]
    to_retry = [token for token, status in zip(fans, first + rest, strict=True) if status != 200]
    for token in to_retry:
        assert wait_for(lambda token=token: like(token) == 200, 30), bad[-3:]
    assert not bad, bad[:5]
    assert ready.status_code == 503 and ready.json()["checks"]["cache"] == {"ok": False}
    return {"outage_s": round(back - down, 1), "statuses": dict(statuses), "retried": len(to_retry), "back": back}


def test_redis_shut_down_or_hanging_mid_like_storm_loses_and_double_counts_nothing(make_stack, tokens):
    from engagement.models import Like

    stack = make_stack()
    stack.start_web()
    stack.start_worker()  # flushes counters, checks drift
    post = lambda text: requests.post(  # noqa: E731
        f"{stack.url}/api/v1/tweets", json={"text": text}, headers=bearer(tokens["alice"]), timeout=10
    ).json()["id"]
    fans = _make_tokens(USERS)

    def restart() -> None:
        stack.cache = redis_server(stack.procs, "redis-cache", port=stack.cache.port)

    shut_down = _storm(stack, fans, (first := post("like me")), stack.cache.stop, restart)
    hanging = _storm(
        stack,
        fans,
        (second := post("like me too")),
        lambda: stack.cache.signal(signal.SIGSTOP),
        lambda: stack.cache.signal(signal.SIGCONT),
    )

    for tweet_id, figures, fault in ((first, shut_down, "shut down"), (second, hanging, "hanging")):
        assert Like.objects.filter(tweet_id=int(tweet_id)).count() == USERS
        likes = lambda tweet_id=tweet_id: requests.get(f"{stack.url}/api/v1/tweets/{tweet_id}", timeout=10).json()[  # noqa: E731
            "metrics"
        ]["likes"]
        converged = wait_for(lambda likes=likes: likes() == USERS, 90, interval=1)
        print(
            f"\nredis {fault} for {figures['outage_s']} s under {USERS} likes: statuses {figures['statuses']}; "
            f"{figures['retried']} retried; count {likes()} == {USERS} "
            f"{time.monotonic() - figures['back']:.1f} s after Redis came back"
        )
        assert converged, likes()
