"""The PostgreSQL backend skips the per-request ping only for a connection that
finished a request cleanly within DB_HEALTH_CHECK_BYPASS_SECONDS, and still
replaces a dead connection once that window has passed."""

from __future__ import annotations

import psycopg
import pytest
from django.db import ProgrammingError, connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pings(monkeypatch):
    """Counts the backend's health checks (the real SELECT 1 still runs)."""
    calls = []
    real = connection.is_usable

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(connection, "is_usable", counting)
    return calls


def request(sql: str = "SELECT 1") -> int:
    """What a request does to the connection: the request_started and
    request_finished handlers around one query."""
    connection.close_if_unusable_or_obsolete()
    with connection.cursor() as cursor:
        cursor.execute(sql)
        value = cursor.fetchone()[0]
    connection.close_if_unusable_or_obsolete()
    return value


def test_a_connection_that_just_finished_a_request_is_not_pinged(settings, pings):
    settings.DB_HEALTH_CHECK_BYPASS_SECONDS = 60
    connection.close()
    request()  # a new connection: healthy by construction
    request()
    request()
    assert pings == []


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(settings, pings):
    settings.DB_HEALTH_CHECK_BYPASS_SECONDS = 0
    connection.close()
    first_pid = request("SELECT pg_backend_pid()")
    request()
    assert len(pings) == 1
    # Another session kills our backend between two requests.
    dsn = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in dsn.items() if k not in ("cursor_factory", "context")}) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (first_pid,))
    assert request("SELECT pg_backend_pid()") != first_pid  # pinged, found dead, reconnected
    assert len(pings) == 2


def test_a_request_that_failed_proves_its_connection_only_by_a_ping(settings, pings):
    settings.DB_HEALTH_CHECK_BYPASS_SECONDS = 60
    connection.close()
    request()
    connection.close_if_unusable_or_obsolete()
    with pytest.raises(ProgrammingError), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    assert pings == []
    connection.close_if_unusable_or_obsolete()  # the request ends with an error: pinged now
    assert len(pings) == 1
    request()
    assert len(pings) == 1  # that ping was the proof: not pinged again inside the window
