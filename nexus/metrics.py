"""Prometheus metrics: /metrics on the web, and the Celery worker's own port.

Two kinds of numbers:

- Recorded by the process that does the work, into prometheus-client's
  multiprocess files when PROMETHEUS_MULTIPROC_DIR is set (gunicorn workers,
  Celery pool processes): request latency by route and status, Celery task
  durations, Redis breaker trips. gunicorn.conf.py empties the directory when
  the master starts and marks a dead worker's files.
- Read when scraped, from the owning apps (they register a function here in
  their AppConfig.ready: the kernel imports no app): Celery queue depth, the
  lifecycle lag, the counter-flush lag, media failures, the breaker state.
  A source that fails reports `nexus_metrics_source_up{source=…} 0` and the
  others still answer.

Celery task durations are recorded in the worker's processes, which a web
container cannot read: the worker serves them on NEXUS_METRICS_WORKER_PORT
(the same access rule as /metrics).

Access: from NEXUS_METRICS_ALLOWED_NETWORKS (loopback by default), or with
`Authorization: Bearer NEXUS_METRICS_TOKEN` from anywhere. Behind a reverse
proxy every request comes from the proxy's address: keep the proxy's network
out of the list (or do not route /metrics through it) and scrape with the token.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0)

HTTP_REQUEST_SECONDS = Histogram(
    "nexus_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL route (the pattern, not the path) and status.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
CELERY_TASK_SECONDS = Histogram(
    "nexus_celery_task_duration_seconds",
    "Time a Celery task ran, by task name and final state.",
    ["task", "state"],
    buckets=TASK_BUCKETS,
)
REDIS_BREAKER_TRIPS = Counter(
    "nexus_redis_breaker_trips",
    "Times a process's Redis breaker opened (it then uses PostgreSQL for a moment).",
    ["component"],
)


# --- read-at-scrape sources: each app registers its own -----------------------------------------
@dataclass(frozen=True)
class Gauge:
    name: str
    doc: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


_sources: dict[str, Callable[[], Iterable[Gauge]]] = {}


def source_register(name: str, function: Callable[[], Iterable[Gauge]]) -> None:
    """`function` returns the gauges of one subsystem, read when /metrics is scraped."""
    _sources[name] = function


class _SourcesCollector:
    def collect(self):
        families: dict[str, GaugeMetricFamily] = {}
        up = GaugeMetricFamily("nexus_metrics_source_up", "1 when the source answered this scrape.", labels=["source"])
        for source, function in sorted(_sources.items()):
            try:
                gauges = list(function())
            except Exception as exc:  # one failing subsystem must not hide the others
                logger.warning("metrics source %s failed: %s: %s", source, type(exc).__name__, exc)
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            for gauge in gauges:
                family = families.get(gauge.name)
                if family is None:
                    family = families[gauge.name] = GaugeMetricFamily(
                        gauge.name, gauge.doc, labels=sorted(gauge.labels)
                    )
                family.add_metric([gauge.labels[k] for k in sorted(gauge.labels)], gauge.value)
        yield from families.values()
        yield up


def celery_queue_gauges(app) -> Iterable[Gauge]:
    """Messages waiting in each queue the workers consume (the broker's own
    count); nexus/celery.py registers it with its app."""
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        channel = conn.default_channel
        for queue in sorted({app.conf.task_default_queue, *settings.NEXUS_METRICS_CELERY_QUEUES}):
            try:
                depth = channel.queue_declare(queue=queue, passive=True).message_count
            except conn.channel_errors:  # the queue was never declared: nothing waiting
                depth = 0
            yield Gauge("nexus_celery_queue_depth", "Messages waiting in a Celery queue.", depth, {"queue": queue})


# --- recording ---------------------------------------------------------------------------------
class RequestMetricsMiddleware:
    """Observes every request's duration under its URL pattern: bounded
    cardinality (api/v1/tweets/<int:tweet_id>, not one series per tweet)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        route = (match.route or match.view_name or "") if match is not None else ""
        HTTP_REQUEST_SECONDS.labels(request.method, route or "<unmatched>", str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response


def _task_prerun(task=None, **kwargs) -> None:
    if task is not None:
        task.request.nexus_started = time.perf_counter()


def _task_postrun(task=None, state=None, **kwargs) -> None:
    started = getattr(task.request, "nexus_started", None) if task is not None else None
    if started is not None:
        CELERY_TASK_SECONDS.labels(task.name, state or "UNKNOWN").observe(time.perf_counter() - started)
        task.request.nexus_started = None


def _worker_init(**kwargs) -> None:
    if settings.PROMETHEUS_MULTIPROC_DIR:
        # Before the pool forks: a previous run's files would be summed in.
        for stale in Path(settings.PROMETHEUS_MULTIPROC_DIR).glob("*.db"):
            stale.unlink()
    port = settings.NEXUS_METRICS_WORKER_PORT
    if port:
        worker_exporter_start(host=settings.NEXUS_METRICS_WORKER_HOST, port=port)


def _worker_process_shutdown(pid=None, **kwargs) -> None:
    if settings.PROMETHEUS_MULTIPROC_DIR:
        multiprocess.mark_process_dead(pid or os.getpid())


def celery_signals_connect() -> None:
    from celery.signals import task_postrun, task_prerun, worker_init, worker_process_shutdown

    task_prerun.connect(_task_prerun, weak=False, dispatch_uid="nexus-metrics-prerun")
    task_postrun.connect(_task_postrun, weak=False, dispatch_uid="nexus-metrics-postrun")
    worker_init.connect(_worker_init, weak=False, dispatch_uid="nexus-metrics-exporter")
    worker_process_shutdown.connect(_worker_process_shutdown, weak=False, dispatch_uid="nexus-metrics-dead")


# --- exposition --------------------------------------------------------------------------------
def _networks() -> tuple:
    # A handful of networks, parsed per scrape: cheap, and follows the settings.
    return tuple(ipaddress.ip_network(n, strict=False) for n in settings.NEXUS_METRICS_ALLOWED_NETWORKS)


def metrics_access_allowed(*, remote_addr: str | None, authorization: str | None) -> bool:
    token = settings.NEXUS_METRICS_TOKEN
    if token and authorization:
        scheme, _, sent = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode()):
            return True
    try:
        address = ipaddress.ip_address((remote_addr or "").split("%")[0])
    except ValueError:
        return False
    return any(address in network for network in _networks())


def metrics_text(*, with_sources: bool) -> bytes:
    """The exposition text: every process's recorded metrics (multiprocess mode)
    or this process's, plus the read-at-scrape sources when asked."""
    if settings.PROMETHEUS_MULTIPROC_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    text = generate_latest(registry)
    if with_sources:
        sources = CollectorRegistry()
        sources.register(_SourcesCollector())
        text += generate_latest(sources)
    return text


def metrics_view(request: HttpRequest) -> HttpResponse:
    allowed = metrics_access_allowed(
        remote_addr=request.META.get("REMOTE_ADDR"), authorization=request.headers.get("Authorization")
    )
    if not allowed:
        return JsonResponse(
            {"detail": "Metrics are served to the configured networks or with the metrics token.", "code": "forbidden"},
            status=403,
        )
    return HttpResponse(metrics_text(with_sources=True), content_type=CONTENT_TYPE_LATEST)


def _exporter_app(environ, start_response):
    allowed = metrics_access_allowed(
        remote_addr=environ.get("REMOTE_ADDR"), authorization=environ.get("HTTP_AUTHORIZATION")
    )
    if not allowed:
        start_response("403 Forbidden", [("Content-Type", "text/plain")])
        return [b"forbidden\n"]
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [metrics_text(with_sources=False)]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


def worker_exporter_start(*, host: str, port: int):
    """The Celery worker's metrics (its pool processes' task durations) on
    host:port, served by a daemon thread of the worker's main process."""
    server = make_server(host, port, _exporter_app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="nexus-metrics-exporter", daemon=True)
    thread.start()
    logger.info("worker metrics on %s:%s", host, server.server_port)
    return server
