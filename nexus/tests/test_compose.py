"""docker-compose.yml comes up healthy. There is no Docker engine here, so the
file is run as data: its one-shot `migrate`, then each long-running app
service's own command with that service's own environment, and each
healthcheck command is required to pass.

What stands in for the containers: the service names postgres, redis and minio
are mapped to the machine's PostgreSQL (a scratch database), the machine's
Redis (the test run's database number) and a moto S3 server on loopback; the
services' own ports to free loopback ports; their container paths (volumes,
/tmp/nexus-metrics) to temporary directories; the image's ENV (Dockerfile) is
applied; HOSTNAME is set as Docker sets it. Everything else (secrets, hosts,
SSL redirect, NEXUS_PRODUCTION, the commands, the healthchecks) is the file's.

Also checked with Debian's docker-compose (`config -q`: schema and
interpolation) where installed."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import boto3
import psycopg
import pytest
import redis
import yaml
from django.conf import settings
from django.db import connection
from moto.server import ThreadedMotoServer
from prometheus_client.parser import text_string_to_metric_families

COMPOSE = Path(settings.BASE_DIR) / "docker-compose.yml"
DOCKERFILE = Path(settings.BASE_DIR) / "Dockerfile"
REQUIRED_ENV = {"SECRET_KEY": "x", "POSTGRES_PASSWORD": "x", "MINIO_ROOT_PASSWORD": "x"}
INFRA = {"postgres", "redis", "minio"}  # stood in for by the machine's servers and moto
APP_SERVICES = ("web", "worker", "beat")
LONG_RUNNING = INFRA | set(APP_SERVICES)
ONE_SHOTS = ("migrate",)
# Bounds: the whole live test gives up (and says why) after these.
MIGRATE_TIMEOUT = 300
HEALTHY_WITHIN = 150
FIRST_TASK_WITHIN = 90


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_every_long_running_service_is_there_with_a_healthcheck(compose):
    services = compose["services"]
    assert set(services) >= LONG_RUNNING
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"


def test_the_app_waits_for_migrate_which_also_creates_the_bucket(compose):
    services = compose["services"]
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        for infra in INFRA:
            assert services[name]["depends_on"][infra] == {"condition": "service_healthy"}, (name, infra)
    migrate = " ".join(services["migrate"]["command"])
    assert services["migrate"]["restart"] == "no"
    assert "manage.py migrate" in migrate and "manage.py storage_init" in migrate


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


# --- the live run ---------------------------------------------------------------------------------
_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(value, env: dict[str, str]):
    """Compose's variable substitution: ${X}, ${X:-default}, ${X-default},
    ${X:?error}, ${X?error}, $X and $$ (a literal $)."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3)
        current = env.get(name)
        missing = current is None or (current == "" and operator and operator.startswith(":"))
        if operator and operator.endswith("?") and missing:
            raise AssertionError(f"compose refuses to start: {name}: {argument}")
        if operator and operator.endswith("-") and missing:
            return argument
        return current or ""

    return _VARIABLE.sub(substitute, value)


def _dockerfile_env() -> dict[str, str]:
    """The image's ENV lines (KEY=VALUE pairs)."""
    env: dict[str, str] = {}
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stand:
    """Maps one service's container world onto this machine."""

    def __init__(self, *, database_url: str, redis_url: str, s3_endpoint: str, root: Path) -> None:
        self.database_url = database_url
        self.redis = urllib.parse.urlsplit(redis_url)
        self.s3_endpoint = s3_endpoint
        self.root = root

    def url(self, value: str) -> str:
        """A URL naming postgres, redis or minio, pointed at the stand-ins."""
        parts = urllib.parse.urlsplit(value)
        if parts.hostname == "postgres":
            return self.database_url
        if parts.hostname == "redis":
            return self.redis._replace(path=self.redis.path or "/0").geturl()
        if parts.hostname == "minio":
            return self.s3_endpoint
        return value

    def service(self, name: str, spec: dict) -> tuple[list[str], dict[str, str], list[str], dict[str, int]]:
        """(command, environment, healthcheck, port map) with hosts, ports and paths mapped."""
        paths = {"/var/lib/nexus": self.root / name / "var", "/tmp/nexus-metrics": self.root / name / "metrics"}
        for mount in spec.get("volumes", []):
            volume, _, target = str(mount).partition(":")
            paths[target] = self.root / "volumes" / volume
        for local in paths.values():
            local.mkdir(parents=True, exist_ok=True)
        container_ports = {str(p).split(":")[-1] for p in spec.get("ports", [])} | {
            str(p) for p in spec.get("expose", [])
        }
        ports = {port: _free_port() for port in container_ports}

        def local(text: str) -> str:
            for target, path in sorted(paths.items(), key=lambda item: -len(item[0])):
                text = text.replace(target, str(path))
            for container, free in ports.items():
                text = re.sub(rf"(?<=:){container}\b", str(free), text)
                text = text if text != container else str(free)
            return text.replace("0.0.0.0", "127.0.0.1")  # never listen beyond loopback here

        env = {**_dockerfile_env(), **spec.get("environment", {})}
        env = {key: local(self.url(str(value)) if "://" in str(value) else str(value)) for key, value in env.items()}
        command = [local(part) for part in spec["command"]]
        check = spec.get("healthcheck", {}).get("test", [])
        if check and check[0] == "CMD-SHELL":
            check = ["sh", "-c", local(check[1])]
        elif check and check[0] == "CMD":
            check = [local(part) for part in check[1:]]
        return command, env, check, ports


def _process_env(service_env: dict[str, str]) -> dict[str, str]:
    """What a container has: the image's PATH (here: this virtualenv's bin
    first), HOSTNAME as Docker sets it, and the service's environment only."""
    path = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    return {"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), "HOSTNAME": socket.gethostname(), **service_env}


def _until(deadline: float, attempt, what: str, logs) -> None:
    last = None
    while time.monotonic() < deadline:
        ok, last = attempt()
        if ok:
            return
        time.sleep(1.0)
    pytest.fail(f"{what} did not succeed in time; last: {last}\n{logs()}")


@pytest.fixture
def scratch_database():
    """A fresh database on the machine's PostgreSQL for the compose services."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://... (the compose services run on it)")
    base = urllib.parse.urlsplit(settings.DATABASE_URL)
    name = f"{base.path.lstrip('/') or 'nexus'}_compose"
    admin = base._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base._replace(path=f"/{name}").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def scratch_redis():
    """The run's Redis database; the broker keys the services leave are removed after."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL=redis://... (the compose services run on it)")
    yield settings.REDIS_URL
    client = redis.Redis.from_url(settings.REDIS_URL)
    for pattern in ("celery*", "_kombu*", "unacked*", "nexus:*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
def moto_server():
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker
def test_the_compose_services_come_up_healthy(compose, scratch_database, scratch_redis, moto_server, tmp_path):
    token = secrets.token_urlsafe(24)
    variables = {
        **REQUIRED_ENV,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "NEXUS_METRICS_TOKEN": token,
        "WEB_WORKERS": "2",
        "WORKER_CONCURRENCY": "2",
    }
    services = interpolate(compose["services"], variables)
    stand = Stand(database_url=scratch_database, redis_url=scratch_redis, s3_endpoint=moto_server, root=tmp_path)
    running: dict[str, subprocess.Popen] = {}
    log_files: dict[str, Path] = {}

    def logs() -> str:
        return "\n".join(f"--- {name} ---\n{path.read_text()[-3000:]}" for name, path in log_files.items())

    def start(name: str) -> tuple[list[str], dict[str, str], list[str], dict[str, int]]:
        command, env, check, ports = stand.service(name, services[name])
        log_files[name] = tmp_path / f"{name}.log"
        running[name] = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=_process_env(env),
            stdout=log_files[name].open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return command, env, check, ports

    try:
        # 1. The one-shot runs to completion first (depends_on: service_completed_successfully).
        for name in ONE_SHOTS:
            start(name)
            try:
                code = running[name].wait(timeout=MIGRATE_TIMEOUT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"{name} still running after {MIGRATE_TIMEOUT}s\n{logs()}")
            assert code == 0, f"{name} exited {code}\n{logs()}"
        s3 = boto3.client(
            "s3", endpoint_url=moto_server, aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
        )
        assert services["web"]["environment"]["STORAGE_BUCKET_NAME"] in [
            b["Name"] for b in s3.list_buckets()["Buckets"]
        ], logs()

        # 2. Each long-running service with its own environment; its healthcheck must pass.
        started = {name: start(name) for name in APP_SERVICES}
        deadline = time.monotonic() + HEALTHY_WITHIN
        for name, (_, env, check, _) in started.items():
            timeout = float(str(services[name]["healthcheck"].get("timeout", "10s")).rstrip("s"))

            def healthy(name=name, env=env, check=check, timeout=timeout):
                if running[name].poll() is not None:
                    pytest.fail(f"{name} exited {running[name].returncode}\n{logs()}")
                try:
                    result = subprocess.run(
                        check, env=_process_env(env), capture_output=True, text=True, timeout=timeout + 5
                    )
                except subprocess.TimeoutExpired:
                    return False, "healthcheck timed out"
                return result.returncode == 0, (result.returncode, result.stdout[-500:], result.stderr[-500:])

            _until(deadline, healthy, f"{name}'s healthcheck {check}", logs)

        # 3. What an operator scrapes: gunicorn's workers summed (multiprocess mode),
        #    and a task sent by beat, run by the worker, on the worker's port.
        web_port = started["web"][3]["8000"]
        scrape = urllib.request.Request(
            f"http://127.0.0.1:{web_port}/metrics", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(scrape, timeout=10) as response:
            families = {f.name: f for f in text_string_to_metric_families(response.read().decode())}
        health_hits = [
            s
            for s in families["nexus_http_request_duration_seconds"].samples
            if s.name.endswith("_count") and s.labels["route"] == "healthz"
        ]
        assert health_hits and health_hits[0].value >= 1, logs()
        assert {s.labels["source"]: s.value for s in families["nexus_metrics_source_up"].samples} == {
            "celery": 1,
            "engagement_counters": 1,
            "lifecycle": 1,
            "media": 1,
            "redis_breaker": 1,
        }
        assert list((tmp_path / "web" / "metrics").glob("histogram_*.db")), "gunicorn wrote no multiprocess files"

        worker_port = started["worker"][3]["9808"]

        def task_recorded():
            request = urllib.request.Request(
                f"http://127.0.0.1:{worker_port}/metrics", headers={"Authorization": f"Bearer {token}"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                text = response.read().decode()
            counts = [
                s
                for f in text_string_to_metric_families(text)
                for s in f.samples
                if s.name == "nexus_celery_task_duration_seconds_count" and s.value >= 1
            ]
            return bool(counts), [s.labels for s in counts]

        _until(time.monotonic() + FIRST_TASK_WITHIN, task_recorded, "a beat-sent task on the worker's metrics", logs)
    finally:
        for process in running.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in running.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
