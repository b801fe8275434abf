import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.test import override_settings

pytestmark = pytest.mark.django_db


@override_settings(NEXUS_WRITE_RATE="2/min")
def test_writes_past_the_rate_are_429_with_retry_after(client_alice, anon_client):
    statuses = [client_alice.post("/api/v1/tweets", {"text": f"t{i}"}, format="json").status_code for i in range(3)]

    assert statuses == [201, 201, 429]
    response = client_alice.post("/api/v1/tweets", {"text": "again"}, format="json")
    assert 0 < int(response["Retry-After"]) <= 60
    assert anon_client.get("/api/v1/users/alice/tweets").status_code == 200  # reads are not throttled


@override_settings(NEXUS_WRITE_RATE="2/sec")
def test_the_window_reopens_after_the_period_and_counts_each_user_apart(client_alice, client_bob):
    def post(client, text):
        return client.post("/api/v1/tweets", {"text": text}, format="json").status_code

    assert [post(client_alice, f"a{i}") for i in range(3)] == [201, 201, 429]
    assert post(client_bob, "bob is not alice") == 201
    time.sleep(1.1)  # the one-second window has closed
    assert post(client_alice, "a again") == 201


def test_openapi_schema_and_docs_are_served(anon_client):
    schema = anon_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/tweets/{tweet_id}" in schema.json()["paths"]
    assert anon_client.get("/api/docs").status_code == 200


def test_deploy_check_is_clean_for_a_production_like_environment(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nexus.settings",
        "NEXUS_PRODUCTION": "true",
        "SECRET_KEY": "x" * 64 + "-not-a-real-secret-0123456789",
        "DATABASE_URL": f"sqlite:///{tmp_path}/deploy.sqlite3",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "ALLOWED_HOSTS": "nexus.example.com",
        "NEXUS_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_development_defaults(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}}
    env |= {"DJANGO_SETTINGS_MODULE": "nexus.settings", "NEXUS_PRODUCTION": "true", "NEXUS_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr
