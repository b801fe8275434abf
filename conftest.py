"""Fixtures shared by every app's tests. The servers are real: PostgreSQL and
Redis tests are skipped (with the reason) only where those are not configured."""

from __future__ import annotations

import itertools

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from lifecycle import segments
from mastodon_api.entities import accounts_forget_here
from nexus.breaker import breakers_reset

_usernames = itertools.count(1)


def pytest_collection_modifyitems(config, items):
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://...")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not settings.REDIS_URL:
            item.add_marker(skip_redis)


def cache_clear() -> None:
    """Clear this run's keys only (other runs may share the Redis database),
    and what the process keeps beside them."""
    accounts_forget_here()
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _clean_cache():
    breakers_reset()  # a test that took a dependency down must not fail the next one fast
    cache_clear()
    yield
    breakers_reset()
    cache_clear()


@pytest.fixture(autouse=True)
def _archive_storage(settings, tmp_path):
    """Each test's archive segments in its own folder (local files), so object
    counts are exact and nothing is left behind; a test may point it at S3."""
    if settings.STORAGES["archive"]["BACKEND"].endswith("FileSystemStorage"):
        settings.STORAGES = {
            **settings.STORAGES,
            "archive": {**settings.STORAGES["archive"], "OPTIONS": {"location": tmp_path / "archive"}},
        }
    segments.footer_cache_clear()
    yield
    segments.footer_cache_clear()


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def make_user(db):
    from django.contrib.auth import get_user_model

    def _make(username: str | None = None, **fields):
        name = username or f"user{next(_usernames)}"
        return get_user_model().objects.create(username=name, **fields)

    return _make


@pytest.fixture
def user(make_user):
    return make_user("alice")


@pytest.fixture
def other_user(make_user):
    return make_user("bob")


@pytest.fixture
def make_client():
    def _client(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
        return client

    return _client


@pytest.fixture
def anon_client(make_client) -> APIClient:
    return make_client()


@pytest.fixture
def client_alice(make_client, user) -> APIClient:
    return make_client(user)


@pytest.fixture
def client_bob(make_client, other_user) -> APIClient:
    return make_client(other_user)


@pytest.fixture
def moderator(make_user):
    from django.contrib.auth.models import Group

    from nexus.roles import MODERATORS, roles_ensure

    roles_ensure()
    mod = make_user("mod", is_staff=True)
    mod.groups.add(Group.objects.get(name=MODERATORS))
    return mod


# --- browser tests (Debian's chromium + chromedriver, driven by selenium) --------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture
def browser(tmp_path):
    """A headless Chromium; the test is skipped (with the reason) where the
    browser, its driver or selenium is not installed. Never downloads a browser."""
    import os
    import shutil

    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (os.path.exists(p) or shutil.which(p))]
    if missing:
        pytest.skip(f"needs Debian's chromium and chromium-driver ({', '.join(missing)} missing)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (requirements-dev.txt)")
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # selenium-manager must not fetch anything
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """For tests that call the real WSGI handler (schemathesis' from_wsgi): it
    closes connections after each request, and the test transaction must
    survive, as Django's own test client arranges."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def redis_round_trips(monkeypatch) -> list:
    """Records every payload redis-py sends to the real server from now on:
    one entry per round trip (a pipeline is sent as one)."""
    from redis.connection import AbstractConnection

    sends: list = []
    send = AbstractConnection.send_packed_command

    def counting_send(self, command, check_health=True):
        sends.append(command)
        return send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting_send)
    return sends
