import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import override_settings

pytestmark = pytest.mark.django_db

CLOSED_PORT_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:6390/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


def test_readyz_is_503_with_detail_for_a_service_token_when_redis_is_down(anon_client):
    with override_settings(CACHES=CLOSED_PORT_REDIS, NEXUS_OPS_TOKEN="ops-secret"):
        response = anon_client.get("/readyz", HTTP_AUTHORIZATION="Bearer ops-secret")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["cache"]["ok"] is False and "Connection" in checks["cache"]["error"]
    assert checks["database"]["ok"] is True


def test_readyz_shows_no_internal_address_to_anonymous_callers(anon_client):
    with override_settings(CACHES=CLOSED_PORT_REDIS, NEXUS_OPS_TOKEN="ops-secret"):
        anonymous = anon_client.get("/readyz")
        wrong_token = anon_client.get("/readyz", HTTP_AUTHORIZATION="Bearer not-it")

    for response in (anonymous, wrong_token):
        assert response.status_code == 503
        assert response.json()["checks"]["cache"] == {"ok": False}
        assert b"6390" not in response.content and b"127.0.0.1" not in response.content


def test_readyz_is_503_with_detail_when_the_database_is_down(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nexus.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5999/nowhere",
        "NEXUS_VAR_DIR": str(tmp_path),
    }
    env.pop("REDIS_URL", None)
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/readyz', HTTP_HOST='localhost');"
        "print(r.status_code, json.dumps(r.json()['checks']['database']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    status, detail = result.stdout.strip().split(" ", 1)
    assert status == "503" and '"ok": false' in detail
