"""Fixtures of the fault suite (`pytest -m faults`): each test builds the
stack it needs from real processes and everything is stopped afterwards."""

from __future__ import annotations

import os
import secrets

import pytest

from nexus.tests.faults.harness import S3_BUCKET, S3_KEYS, Processes, Stack, moto_s3, redis_server, tcp_proxy


@pytest.fixture
def procs(tmp_path):
    processes = Processes(tmp_path)
    try:
        yield processes
    finally:
        processes.stop_all()


@pytest.fixture
def database(transactional_db):
    """The test database's host, port, user and name (committed rows are seen by
    the processes; transactional_db empties the tables afterwards)."""
    from django.db import connection

    db = connection.settings_dict
    return {"host": db["HOST"] or "127.0.0.1", "port": int(db["PORT"] or 5432), "user": db["USER"], "name": db["NAME"]}


@pytest.fixture
def tokens(database):
    """Bearer tokens of two users, committed."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    made = {}
    for name in ("alice", "bob"):
        user = get_user_model().objects.create_user(username=name, password=secrets.token_hex(8))
        made[name] = Token.objects.create(user=user).key
    return made


@pytest.fixture
def make_stack(procs, database, tmp_path):
    """make_stack(s3=..., db_proxy=..., env=...) -> Stack with its own Redis
    (cache), its own Redis as broker, optionally moto S3 behind a proxy and
    PostgreSQL behind a proxy. Web and workers are started by the test."""

    def _make(*, s3: bool = False, db_proxy: bool = False, env: dict[str, str] | None = None) -> Stack:
        cache = redis_server(procs, "redis-cache")
        broker = redis_server(procs, "redis-broker")
        db_port = database["port"]
        extra: dict[str, object] = {"cache": cache, "broker": broker}
        if db_proxy:
            extra["db_proxy"] = proxy = tcp_proxy(procs, "db-proxy", database["port"])
            db_port = proxy.port  # type: ignore[attr-defined]
        var = tmp_path / "var"
        var.mkdir(exist_ok=True)
        stack_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("STORAGE_", "AWS_", "NEXUS_"))},
            "DJANGO_SETTINGS_MODULE": "nexus.settings",
            "DATABASE_URL": f"postgres://{database['user']}@{database['host']}:{db_port}/{database['name']}",
            "REDIS_URL": f"redis://127.0.0.1:{cache.port}/0",  # type: ignore[attr-defined]
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{broker.port}/0",  # type: ignore[attr-defined]
            "NEXUS_VAR_DIR": str(var),
            "SECRET_KEY": "faults-" + secrets.token_hex(16),
            "NEXUS_WRITE_RATE": "1000000/min",
            "NEXUS_AUTH_CACHE_SECONDS": "0",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        if s3:
            extra["moto"] = moto = moto_s3(procs)
            extra["s3_proxy"] = s3_proxy = tcp_proxy(procs, "s3-proxy", moto.port)  # type: ignore[attr-defined]
            stack_env |= {
                "STORAGE_BUCKET_NAME": S3_BUCKET,
                "STORAGE_ENDPOINT_URL": f"http://127.0.0.1:{s3_proxy.port}",  # type: ignore[attr-defined]
                **S3_KEYS,
            }
        stack_env |= env or {}
        stack = Stack(procs=procs, env=stack_env)
        for name, value in extra.items():
            setattr(stack, name, value)
        return stack

    return _make
