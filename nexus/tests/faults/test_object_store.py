"""The object store hanging (its proxy SIGSTOPped: connections accepted, never
answered) and refusing (proxy stopped): reads that need it answer 503 JSON with
Retry-After within the request deadline, an unrelated hot read is unaffected,
/readyz answers within 2 s, and all heals when the store is back (issue 14 item 2)."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from media.tests import factories
from nexus.tests.faults.harness import bearer, is_json_error, proxy_restart, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

NO_CACHES = {
    # Every tweet is due to go warm at once, and nothing is answered from a
    # cache: each warm read needs the object store.
    "NEXUS_HOT_DAYS": "0",
    "NEXUS_EDIT_WINDOW_SECONDS": "0",
    "NEXUS_ARCHIVE_CACHE_SECONDS": "0",
    "NEXUS_HOT_CACHE_SECONDS": "0",
}


def _round(stack, auth, warm_ids: list[str], hot_id: str) -> dict[str, list[tuple[int, float, requests.Response]]]:
    """Concurrent reads of warm tweets and their versions, an upload, then an
    unrelated hot read and /readyz while those are in flight."""

    def timed(label, call):
        started = time.monotonic()
        response = call()
        return label, response.status_code, time.monotonic() - started, response

    jobs = [("warm", lambda i=i: requests.get(f"{stack.url}/api/v1/tweets/{i}", timeout=30)) for i in warm_ids]
    jobs += [
        ("versions", lambda i=i: requests.get(f"{stack.url}/api/v1/tweets/{i}/versions", timeout=30))
        for i in warm_ids[:2]
    ]
    jobs.append(
        (
            "upload",
            lambda: requests.post(
                f"{stack.url}/api/v1/media",
                files={"file": ("a.jpg", factories.jpeg_bytes(64, 48), "image/jpeg")},
                headers=auth,
                timeout=30,
            ),
        )
    )
    results: dict[str, list] = {}
    with ThreadPoolExecutor(len(jobs) + 2) as pool:
        futures = [pool.submit(timed, label, call) for label, call in jobs]
        time.sleep(0.5)  # the store calls above are now hanging
        hot = pool.submit(timed, "hot", lambda: requests.get(f"{stack.url}/api/v1/tweets/{hot_id}", timeout=30))
        ready = pool.submit(timed, "readyz", lambda: requests.get(f"{stack.url}/readyz", timeout=2))
        for future in [*futures, hot, ready]:
            label, status, seconds, response = future.result()
            results.setdefault(label, []).append((status, round(seconds, 2), response))
    return results


def _summary(results) -> dict[str, list[tuple[int, float]]]:
    return {label: [(status, seconds) for status, seconds, _ in items] for label, items in results.items()}


def _assert_degraded(results) -> None:
    for label, items in results.items():
        for status, _seconds, response in items:
            if label == "hot":
                assert status == 200, response.text[:300]
            elif label == "readyz":
                assert status == 503 and response.json()["checks"]["storage"] == {"ok": False}
                assert response.json()["checks"]["database"] == {"ok": True}
            else:
                assert status == 503, (label, status, response.text[:300])
                assert is_json_error(response) and int(response.headers["Retry-After"]) >= 1


def test_a_hanging_then_refusing_object_store(make_stack, tokens):
    stack = make_stack(s3=True, env=NO_CACHES)
    stack.start_web()
    auth = bearer(tokens["alice"])
    post = lambda text: requests.post(f"{stack.url}/api/v1/tweets", json={"text": text}, headers=auth, timeout=10)  # noqa: E731
    warm_ids = [post(f"old tweet {i}").json()["id"] for i in range(6)]
    stack.manage("lifecycle_run")
    assert {requests.get(f"{stack.url}/api/v1/tweets/{i}", timeout=10).json()["tier"] for i in warm_ids} == {"warm"}
    hot_id = post("fresh tweet").json()["id"]

    stack.s3_proxy.signal(signal.SIGSTOP)  # hanging: the kernel accepts, nobody answers
    hanging = _round(stack, auth, warm_ids, hot_id)
    stack.s3_proxy.signal(signal.SIGCONT)
    stack.s3_proxy.stop()  # refusing
    refusing = _round(stack, auth, warm_ids, hot_id)
    print("\nobject store hanging:", _summary(hanging))
    print("object store refusing:", _summary(refusing))
    _assert_degraded(hanging)
    _assert_degraded(refusing)

    stack.s3_proxy = proxy_restart(stack.procs, stack.s3_proxy)
    started = time.monotonic()
    assert wait_for(lambda: requests.get(f"{stack.url}/api/v1/tweets/{warm_ids[0]}", timeout=10).ok, 60)
    recovered = time.monotonic() - started
    assert all(requests.get(f"{stack.url}/api/v1/tweets/{i}", timeout=10).ok for i in warm_ids)
    assert requests.get(f"{stack.url}/readyz", timeout=2).status_code == 200
    print(f"object store back: warm reads 200 again after {recovered:.1f} s")
