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
