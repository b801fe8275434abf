"""/metrics: scraped and parsed as Prometheus would (its text format), the
access rule, and the Celery worker's own port. gunicorn's multiprocess mode is
scraped for real in test_compose.py."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from nexus import metrics
from tweets.tests.factories import make_tweet

pytestmark = pytest.mark.django_db
TOKEN = "scrape-token-0123456789"


def _parse(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} for every sample of the exposition."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return _parse(response.content.decode())


def _count(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_request_latency_is_counted_by_route_and_status(client):
    route = {"method": "GET", "route": "healthz", "status": "200"}
    before = _count(_scrape(client), "nexus_http_request_duration_seconds_count", **route)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no/such/page")
    after = _scrape(client)

    assert _count(after, "nexus_http_request_duration_seconds_count", **route) == before + 2
    assert _count(after, "nexus_http_request_duration_seconds_bucket", le="+Inf", **route) == before + 2
    assert _count(after, "nexus_http_request_duration_seconds_count", method="GET", route="<unmatched>", status="404")
    # Routes are URL patterns, not paths: one series per view, never per tweet id.
    assert not any("no/such" in dict(labels).get("route", "") for _, labels in after)


def test_operator_gauges_come_from_the_apps(client, user, settings):
    from media.models import MediaBlob, MediaStatus
    from tweets.models import Tweet

    tweet = make_tweet(user, "due for the warm tier")
    # Due for the warm tier for 10 minutes: the due queue is the hot tier's due index (issue 15).
    due_since = timezone.now() - timedelta(days=settings.NEXUS_HOT_DAYS, minutes=10)
    Tweet.objects.filter(pk=tweet.id).update(published_at=due_since)
    MediaBlob.objects.create(
        sha256="f" * 64,
        status=MediaStatus.FAILED,
        format="jpeg",
        original_key="x",
        original_bytes=1,
        width=1,
        height=1,
        error="cannot identify image file",
    )

    samples = _scrape(client)

    for source in ("celery", "lifecycle", "engagement_counters", "media", "redis_breaker"):
        assert _count(samples, "nexus_metrics_source_up", source=source) == 1, source
    assert _count(samples, "nexus_lifecycle_oldest_due_age_seconds") >= 600
    assert _count(samples, "nexus_lifecycle_due_moves") == 1
    assert _count(samples, "nexus_media_failed_originals_24h") == 1
    assert ("nexus_celery_queue_depth", (("queue", "celery"),)) in samples
    assert ("nexus_counters_flush_lag_seconds", ()) in samples
    assert _count(samples, "nexus_redis_breaker_open", component="engagement_counters") == 0


def test_a_failing_source_is_reported_down_and_the_others_still_answer(client, monkeypatch):
    def broken():
        raise ConnectionError("store unreachable")

    monkeypatch.setitem(metrics._sources, "probe", broken)
    samples = _scrape(client)
    assert _count(samples, "nexus_metrics_source_up", source="probe") == 0
    assert _count(samples, "nexus_metrics_source_up", source="lifecycle") == 1


def test_the_breaker_is_visible(client):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from engagement import counters

    before = _count(_scrape(client), "nexus_redis_breaker_trips_total", component="engagement_counters")
    # The breaker's own failure path, as a call that met a dead Redis takes it.
    counters._redis_failed(RedisConnectionError("connection refused"), "metrics test")
    try:
        samples = _scrape(client)
    finally:
        counters.redis_breaker_reset()
    assert _count(samples, "nexus_redis_breaker_open", component="engagement_counters") == 1
    assert _count(samples, "nexus_redis_breaker_trips_total", component="engagement_counters") == before + 1


def test_celery_task_durations_are_recorded(client):
    from tweets import tasks

    labels = {"task": "tweets.tasks.purge_idempotency_keys", "state": "SUCCESS"}
    before = _count(_scrape(client), "nexus_celery_task_duration_seconds_count", **labels)
    tasks.purge_idempotency_keys.apply()
    assert _count(_scrape(client), "nexus_celery_task_duration_seconds_count", **labels) == before + 1


def test_outside_the_networks_only_the_token_opens_it(client, settings):
    settings.NEXUS_METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    settings.NEXUS_METRICS_TOKEN = TOKEN
    refused = client.get("/metrics", REMOTE_ADDR="203.0.113.5")
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", REMOTE_ADDR="203.0.113.5").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    # Loopback is not special once the operator configured the networks.
    assert client.get("/metrics").status_code == 403


def test_no_token_configured_means_no_token_accepted(client, settings):
    settings.NEXUS_METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    settings.NEXUS_METRICS_TOKEN = None
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer None").status_code == 403


def test_the_worker_port_serves_its_processes_metrics_under_the_same_rule(settings):
    server = metrics.worker_exporter_start(host="127.0.0.1", port=0)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        from tweets import tasks

        tasks.purge_idempotency_keys.apply()
        with urllib.request.urlopen(url, timeout=5) as response:
            samples = _parse(response.read().decode())
        task = {"task": "tweets.tasks.purge_idempotency_keys", "state": "SUCCESS"}
        assert _count(samples, "nexus_celery_task_duration_seconds_count", **task) >= 1
        # The worker serves what its processes recorded, not the web's read-at-scrape gauges.
        assert not any(name == "nexus_metrics_source_up" for name, _ in samples)

        settings.NEXUS_METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
        settings.NEXUS_METRICS_TOKEN = TOKEN
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=5)
        assert refused.value.code == 403
        authorised = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(authorised, timeout=5) as response:
            assert response.status == 200
    finally:
        server.shutdown()
        server.server_close()


def test_the_grafana_dashboard_reads_only_metrics_that_exist(client):
    import json
    import re
    from pathlib import Path

    from django.conf import settings

    dashboard = json.loads((Path(settings.BASE_DIR) / "docs" / "grafana-dashboard.json").read_text())
    exposed = set()
    for family in text_string_to_metric_families(client.get("/metrics").content.decode()):
        exposed |= {family.name + suffix for suffix in ("", "_bucket", "_count", "_sum", "_total")}
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bnexus_[a-z0-9_]+", target["expr"])
    }
    assert used and used <= exposed, used - exposed
