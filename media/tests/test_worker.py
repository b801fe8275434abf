"""With a real Celery worker: processing through the broker, and the failure
path when the S3 server is stopped mid-run."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from media.models import Media, MediaBlob
from media.tests import factories
from media.tests.conftest import wait_for
from media.tests.support import S3_BUCKET, S3_CREDENTIALS

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _post(client, data: bytes):
    body = {"file": SimpleUploadedFile("p.jpg", data, content_type="image/jpeg")}
    return client.post("/api/v1/media", body, format="multipart")


def _status(media_id: str) -> str:
    return Media.objects.get(id=int(media_id)).status


def test_worker_makes_the_variants(celery_worker_process, media_root, client_alice, anon_client, tmp_path):
    celery_worker_process({"NEXUS_MEDIA_ROOT": str(media_root)}, tmp_path / "worker.log")

    response = _post(client_alice, factories.jpeg_bytes(4000, 3000, orientation=6))

    assert response.status_code == 202 and response.json()["status"] == "pending"
    media_id = response.json()["id"]
    assert wait_for(lambda: _status(media_id) == "ready"), (tmp_path / "worker.log").read_text()
    body = anon_client.get(f"/api/v1/media/{media_id}").json()
    assert body["variants"]["large"]["width"] == 1536 and body["variants"]["large"]["height"] == 2048
    assert anon_client.get(body["variants"]["thumb"]["webp"]).status_code == 200


def test_store_down_mid_run_retries_then_fails_and_tweet_stays_readable(
    celery_worker_process, s3_storage, client_alice, anon_client, tmp_path
):
    server, endpoint, _ = s3_storage
    # The upload stored its original; then the store goes away before the
    # worker runs, so every attempt to process fails.
    with_store = _post(client_alice, factories.jpeg_bytes(800, 600))
    assert with_store.status_code == 202
    media_id = with_store.json()["id"]
    tweet = client_alice.post("/api/v1/tweets", {"text": "pic", "media_ids": [media_id]}, format="json")
    assert tweet.status_code == 201
    server.stop()

    log = tmp_path / "worker.log"
    celery_worker_process(
        {
            "STORAGE_BUCKET_NAME": S3_BUCKET,
            "STORAGE_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": S3_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": S3_CREDENTIALS["aws_secret_access_key"],
            "STORAGE_CONNECT_TIMEOUT": "1",
            "STORAGE_MAX_ATTEMPTS": "1",
            "NEXUS_MEDIA_MAX_RETRIES": "3",
            "NEXUS_MEDIA_RETRY_BACKOFF_SECONDS": "0.2",
            "NEXUS_MEDIA_RETRY_BACKOFF_MAX_SECONDS": "1",
        },
        log,
    )

    assert wait_for(lambda: _status(media_id) == "failed"), log.read_text()
    media = Media.objects.get(id=int(media_id))
    assert "Object store failed after 4 attempts" in media.error
    assert media.variants == {}
    blob = MediaBlob.objects.get(sha256=media.sha256)
    assert blob.status == "failed" and blob.attempts == 4  # first try + 3 retries
    # One record per retry from Celery's tracer (a JSON line may quote the
    # message twice, in "message" and in its retry details: count records).
    lines = log.read_text().splitlines()
    retries = [line for line in lines if '"logger": "celery.app.trace"' in line and "Retry in" in line]
    assert len(retries) == 3, "\n".join(lines[-20:])

    shown = anon_client.get(f"/api/v1/tweets/{tweet.json()['id']}")
    assert shown.status_code == 200
    assert shown.json()["media"][0]["status"] == "failed"
    assert "Object store failed" in shown.json()["media"][0]["error"]
    # The client learns why, not where: no endpoint, port or bucket (issue 14 item 7).
    port = endpoint.rsplit(":", 1)[1]
    for internal in (endpoint, "127.0.0.1", port, S3_BUCKET):
        assert internal not in shown.json()["media"][0]["error"]
        assert internal not in media.error
