"""docker-compose.yml keeps the production shape (SPEC section 1). There is no
Docker engine here, so the file is checked as data, and with Debian's
docker-compose (`config -q`: schema and variable interpolation) where installed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

COMPOSE = Path(settings.BASE_DIR) / "docker-compose.yml"
REQUIRED_ENV = {"SECRET_KEY": "x", "POSTGRES_PASSWORD": "x", "MINIO_ROOT_PASSWORD": "x"}
LONG_RUNNING = {"postgres", "redis", "minio", "web", "worker", "beat"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_every_long_running_service_is_there_with_a_healthcheck(compose):
    services = compose["services"]
    assert set(services) >= LONG_RUNNING
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"


def test_processes_run_the_operator_commands(compose):
    services = compose["services"]
    assert services["web"]["command"][0] == "gunicorn"
    assert services["worker"]["command"][:4] == ["celery", "-A", "nexus", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "nexus", "beat"]


def test_configuration_is_environment_and_data_lives_in_volumes(compose):
    services = compose["services"]
    env = services["web"]["environment"]
    for key in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "STORAGE_BUCKET_NAME", "SECRET_KEY"):
        assert key in env, f"web gets no {key}"
    assert env["NEXUS_PRODUCTION"] == "true"
    assert "${SECRET_KEY" in env["SECRET_KEY"]  # from the environment, never a literal secret
    for name in ("postgres", "redis", "minio"):
        mounts = services[name].get("volumes", [])
        assert any(str(m).split(":")[0] in compose["volumes"] for m in mounts), f"{name} keeps no data volume"


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="needs Debian's docker-compose (.ci/run installs it)")
def test_docker_compose_validates_the_file():
    env = {**os.environ, **REQUIRED_ENV}
    ok = subprocess.run(["docker-compose", "-f", str(COMPOSE), "config", "-q"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    # A missing secret is refused with its message, not silently empty.
    env.pop("SECRET_KEY")
    refused = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"], env=env, capture_output=True, text=True
    )
    assert refused.returncode != 0 and "SECRET_KEY" in refused.stderr
