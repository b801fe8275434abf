"""JSON logs and the request id: in and out of HTTP, and across the broker
into a real Celery worker's log lines."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.http import HttpResponse
from django.test import RequestFactory

from nexus.logs import JsonFormatter, RequestIdFilter, RequestIdMiddleware, request_id_get

PROBE_LOGGER = "nexus.tests.probe"


@pytest.fixture
def log_lines():
    """JSON lines written through the project's formatter and filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    loggers = [logging.getLogger(name) for name in (PROBE_LOGGER, "nexus.request", "django.request")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    for logger in loggers:
        logger.removeHandler(handler)


def test_api_answers_with_the_clients_request_id_and_logs_it(anon_client, log_lines):
    response = anon_client.get("/healthz", HTTP_X_REQUEST_ID="trace-123.abc")
    assert response["X-Request-ID"] == "trace-123.abc"
    access = [line for line in log_lines() if line["logger"] == "nexus.request"]
    assert access[-1]["request_id"] == "trace-123.abc"
    assert (access[-1]["path"], access[-1]["status"], access[-1]["method"]) == ("/healthz", 200, "GET")
    assert isinstance(access[-1]["duration_ms"], float)


def test_djangos_own_request_warnings_carry_the_request_id(anon_client, admin_client, log_lines):
    """django.request logs 4xx after the middleware chain returned: the id is
    set for the whole request (request_started … request_finished), not only
    inside the middleware."""
    anon_client.get("/no/such/page", HTTP_X_REQUEST_ID="lost-404")
    anon_client.get("/api/v1/tweets/1/like")  # 401/405 from DRF
    admin_client.get("/admin/no-such-app/", HTTP_X_REQUEST_ID="admin-miss")
    warnings = [line for line in log_lines() if line["logger"] == "django.request"]
    assert len(warnings) == 3, warnings
    assert warnings[0]["request_id"] == "lost-404"
    assert warnings[1]["request_id"] and len(warnings[1]["request_id"]) == 32
    assert warnings[2]["request_id"] == "admin-miss"
    assert request_id_get() is None  # and nothing leaks past the response


@pytest.mark.parametrize("sent", [None, "", "a" * 129, "bad id\nwith newline", '{"json": 1}'])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_fresh_one(anon_client, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    first = anon_client.get("/healthz", **headers)["X-Request-ID"]
    second = anon_client.get("/healthz", **headers)["X-Request-ID"]
    assert first != sent and len(first) == 32 and first != second


def test_json_lines_carry_extras_and_exceptions(log_lines):
    logger = logging.getLogger(PROBE_LOGGER)
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed %s", "here", extra={"tweet_id": 7})
    line = log_lines()[-1]
    assert (line["level"], line["message"], line["tweet_id"]) == ("ERROR", "failed here", 7)
    assert "ValueError: boom" in line["exc_info"] and line["request_id"] is None


# --- Celery: the id rides in the task's message headers --------------------------------------------
@pytest.fixture
def probe_app():
    """A Celery app on kombu's in-memory broker with one task that logs, run by
    a real worker thread (its own context: nothing leaks from the test thread)."""
    app = Celery("nexus-log-probe", broker="memory://", backend="cache+memory://")
    app.conf.task_always_eager = False
    done = threading.Event()

    @app.task(name="probe.log")
    def probe(n: int) -> str | None:
        logging.getLogger(PROBE_LOGGER).info("probe %s ran", n)
        done.set()
        return request_id_get()

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield probe, done


@pytest.mark.worker
def test_a_task_started_by_a_request_logs_that_requests_id(probe_app, log_lines):
    probe, done = probe_app
    results = []

    def view(request):
        results.append(probe.delay(1))
        return HttpResponse("queued")

    request = RequestFactory().get("/anything", HTTP_X_REQUEST_ID="req-from-client-42")
    response = RequestIdMiddleware(view)(request)
    assert response["X-Request-ID"] == "req-from-client-42"
    assert request_id_get() is None  # the middleware reset it after the request

    assert results[0].get(timeout=30) == "req-from-client-42"  # what the task saw
    assert done.wait(timeout=30)
    task_lines = [line for line in log_lines() if line["message"] == "probe 1 ran"]
    assert len(task_lines) == 1
    assert task_lines[0]["request_id"] == "req-from-client-42"
    assert task_lines[0]["task_id"] == results[0].id and task_lines[0]["task_name"] == "probe.log"


@pytest.mark.worker
def test_a_task_started_outside_a_request_has_no_request_id(probe_app, log_lines):
    probe, done = probe_app
    assert probe.delay(2).get(timeout=30) is None
    assert [line["request_id"] for line in log_lines() if line["message"] == "probe 2 ran"] == [None]


def test_an_eager_task_keeps_the_request_id_of_the_request_around_it(log_lines, settings):
    from nexus.celery import app

    @app.task(name="probe.eager")
    def eager_probe() -> str | None:
        logging.getLogger(PROBE_LOGGER).info("eager ran")
        return request_id_get()

    seen = []

    def view(request):
        seen.append(eager_probe.delay().get())
        logging.getLogger(PROBE_LOGGER).info("after the task")
        return HttpResponse("ok")

    RequestIdMiddleware(view)(RequestFactory().get("/", HTTP_X_REQUEST_ID="eager-1"))
    assert seen == ["eager-1"]
    ids = {line["message"]: line["request_id"] for line in log_lines()}
    assert ids["eager ran"] == "eager-1" and ids["after the task"] == "eager-1"
