"""The S3 path against a real S3 API on loopback (moto's server)."""

from __future__ import annotations

import io
import urllib.request

import pytest
from PIL import Image

from media.models import MediaBlob
from media.tests import factories
from media.tests.support import s3_keys

pytestmark = pytest.mark.django_db


def test_upload_and_variants_go_to_s3_and_urls_work(upload, s3_storage, anon_client):
    server, endpoint, client = s3_storage

    body = upload(factories.jpeg_bytes(1600, 1200, orientation=6)).json()

    sha = body["sha256"]
    prefix = f"media/{sha[:2]}/{sha[2:4]}/{sha}/"
    keys = s3_keys(client)
    assert set(keys) == {f"private/originals/{sha[:2]}/{sha[2:4]}/{sha}/original.jpg"} | {
        f"{prefix}{n}.{ext}" for n in ("thumb", "small", "medium", "large") for ext in ("jpg", "webp")
    }
    blob = MediaBlob.objects.get(sha256=sha)
    assert blob.original_bytes + blob.variant_bytes == sum(keys.values())

    media = anon_client.get(f"/api/v1/media/{body['id']}").json()
    assert media["status"] == "ready"
    large = media["variants"]["large"]
    assert large["jpeg"].startswith(f"{endpoint}/nexus-media-test/{prefix}large.jpg")
    with urllib.request.urlopen(large["webp"], timeout=10) as response:  # a presigned URL on the loopback server
        img = Image.open(io.BytesIO(response.read()))
    assert img.format == "WEBP" and img.size == (large["width"], large["height"]) == (1200, 1600)


def test_same_bytes_are_stored_once_in_s3(upload, s3_storage, client_bob):
    _, _, client = s3_storage
    data = factories.png_bytes(500, 400)
    upload(data, name="a.png", content_type="image/png")
    before = s3_keys(client)

    again = upload(data, name="b.png", content_type="image/png", client=client_bob)

    assert again.status_code == 202 and again.json()["status"] == "ready"
    assert s3_keys(client) == before


def test_upload_while_the_store_is_down_is_503_and_creates_nothing(upload, s3_storage):
    server, _, _ = s3_storage
    server.stop()

    response = upload(factories.jpeg_bytes(320, 240))

    assert response.status_code == 503
    assert "object store" in response.json()["detail"].lower()
    assert response.json()["code"] == "storage_unavailable" and int(response["Retry-After"]) >= 1
    assert not MediaBlob.objects.exists()
