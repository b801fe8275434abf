from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from media.tests.support import S3_BUCKET, free_port, s3_storage_options


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    """Local-file storage in a fresh folder (setting STORAGES resets default_storage)."""
    root = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root, "base_url": "/media/", "allow_overwrite": True},
        },
    }
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def upload(client_alice, django_capture_on_commit_callbacks):
    """POST /api/v1/media as alice; returns the response. On-commit callbacks
    (the processing task, eager in the test settings) run as on a real commit."""

    def _upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg", client=None, **fields):
        body = {"file": SimpleUploadedFile(name, data, content_type=content_type), **fields}
        with django_capture_on_commit_callbacks(execute=True):
            return (client or client_alice).post("/api/v1/media", body, format="multipart")

    return _upload


@pytest.fixture
def s3_server():
    """A real S3 API on loopback (moto's server mode); yields (server, endpoint)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(Exception):  # a test may have stopped it already
            server.stop()


@pytest.fixture
def s3_storage(settings, s3_server):
    """default_storage on the loopback S3 server, with its bucket created."""
    import boto3

    server, endpoint = s3_server
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=S3_BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_storage_options(endpoint)},
    }
    return server, endpoint, client


@pytest.fixture
def celery_worker_process(transactional_db, settings):
    """Start a real `celery worker` on the test database; yields start(env) -> Popen.

    The test process stops running tasks eagerly, so `delay_on_commit` really
    goes through the broker to the worker."""
    import os
    import subprocess
    import sys
    import time

    from django.db import connection

    from nexus.celery import app as celery_app

    db = connection.settings_dict
    if connection.vendor == "postgresql":
        host, port, user = db["HOST"] or "127.0.0.1", db["PORT"] or 5432, db["USER"] or "postgres"
        database_url = f"postgres://{user}@{host}:{port}/{db['NAME']}"
    else:
        database_url = f"sqlite:///{db['NAME']}"
    folder = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}).get("data_folder_in")
    queue_dir = Path(folder) if folder else None
    if queue_dir and queue_dir.exists():
        for stale in queue_dir.iterdir():  # this area's own embedded broker: drop leftovers
            stale.unlink()
    was_eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    procs: list[subprocess.Popen] = []

    def start(extra_env: dict[str, str], log_path: Path) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "nexus.settings",
            "DATABASE_URL": database_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            **extra_env,
        }
        log = open(log_path, "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "nexus", "worker", "--pool=solo", "-l", "INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        procs.append(proc)
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        return proc

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    celery_app.conf.task_always_eager = was_eager


def wait_for(predicate, *, timeout: float = 120.0, interval: float = 0.2):
    """Poll until predicate() is truthy (a deadline for a background worker, not a timing assertion)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
