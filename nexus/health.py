"""/healthz: the process is up. /readyz: its dependencies answer.

/readyz answers within NEXUS_READYZ_TIMEOUT_SECONDS in every fault: the checks
run in parallel on a small pool of threads and a check still running at the
deadline counts as failed ("timeout"); a dependency whose circuit breaker is
open is reported failed without being called. Anonymous callers get each
check's status only; errors (which name hosts, ports, buckets) are shown to
staff and to callers presenting NEXUS_OPS_TOKEN.
"""

from __future__ import annotations

import hmac
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse

from nexus.breaker import DependencyUnavailable, breaker
from nexus.celery import app as celery_app

# A hung check keeps its thread until its own timeouts end it; a few threads
# are enough for four checks, and a pile-up of hung ones cannot grow the pool.
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readyz")


def _check_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()  # the pool thread's own connection; not kept


def _check_cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", 5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was just written")
    cache.delete(key)


def _check_broker() -> None:
    with breaker("broker").guard(), celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=1)


def _check_storage() -> None:
    name = default_storage.save("readyz/probe.txt", ContentFile(b"ok"))
    default_storage.delete(name)


CHECKS = {
    "database": _check_database,
    "cache": _check_cache,
    "broker": _check_broker,
    "storage": _check_storage,
}
# Checks whose dependency has a breaker: while it is open, report without calling.
BREAKERS = {"cache": "redis", "broker": "broker", "storage": "storage"}


def _may_see_details(request) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    token = settings.NEXUS_OPS_TOKEN
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(presented.strip(), token)


def _timed(check) -> tuple[float, str | None]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure of a dependency is "not ready", with detail
        return time.perf_counter() - started, f"{type(exc).__name__}: {exc}"[:500]
    return time.perf_counter() - started, None


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    deadline = time.monotonic() + settings.NEXUS_READYZ_TIMEOUT_SECONDS
    futures = {}
    results: dict[str, dict] = {}
    for name, check in CHECKS.items():
        dependency = BREAKERS.get(name)
        if dependency and breaker(dependency).is_open:
            results[name] = {"ok": False, "error": str(DependencyUnavailable(dependency, retry_after=1)), "ms": 0.0}
            continue
        futures[name] = _pool.submit(_timed, check)
    for name, future in futures.items():
        try:
            seconds, error = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            results[name] = {"ok": False, "error": "timeout", "ms": None}
            continue
        results[name] = {"ok": error is None, "ms": round(seconds * 1000, 1)}
        if error is not None:
            results[name]["error"] = error
    healthy = all(item["ok"] for item in results.values())
    if not _may_see_details(request):
        results = {name: {"ok": item["ok"]} for name, item in results.items()}
    body = {"status": "ok" if healthy else "unavailable", "checks": {name: results[name] for name in CHECKS}}
    return JsonResponse(body, status=200 if healthy else 503, headers={"Cache-Control": "no-store"})
