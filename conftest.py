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
    """Clear this run's keys only (other runs may share the Redis database)."""
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _clean_cache():
    cache_clear()
    yield
    cache_clear()


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
