"""POST /api/v1/media and GET /api/v1/media/{id}: the happy path, then every
rejection, each of which must leave nothing stored."""

from __future__ import annotations

import pytest
from django.core.files.uploadhandler import MemoryFileUploadHandler

from media.models import Media, MediaBlob
from media.services import MediaTooLarge
from media.tests import factories
from media.tests.support import stored_files
from media.uploads import SizeLimitUploadHandler

pytestmark = pytest.mark.django_db

MEDIA_KEYS = {"id", "status", "sha256", "width", "height", "alt_text", "error", "variants"}


@pytest.mark.parametrize(
    ("data", "name", "size"),
    [
        (factories.jpeg_bytes(640, 480), "a.jpg", (640, 480)),
        (factories.jpeg_bytes(640, 480, orientation=6), "rotated.jpg", (480, 640)),
        (factories.png_bytes(300, 200, alpha=True), "a.png", (300, 200)),
        (factories.gif_bytes(320, 240), "a.gif", (320, 240)),
        (factories.webp_bytes(640, 480), "a.webp", (480, 640)),  # orientation 6 in its EXIF
    ],
)
def test_upload_accepts_each_format_and_returns_202(upload, media_root, data, name, size):
    # eager Celery (test settings): the variants are made on commit
    response = upload(data, name=name, alt_text="a cat")

    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) == MEDIA_KEYS
    assert (body["width"], body["height"]) == size
    assert body["alt_text"] == "a cat"
    assert body["error"] is None
    media = Media.objects.get(id=int(body["id"]))
    assert media.owner.username == "alice"
    assert media.status == "ready"
    assert sorted(media.variants) == ["large", "medium", "small", "thumb"]


def test_get_media_returns_the_same_json_to_anyone(upload, media_root, anon_client):
    created = upload(factories.jpeg_bytes()).json()

    got = anon_client.get(f"/api/v1/media/{created['id']}")

    assert got.status_code == 200
    body = got.json()
    assert body["id"] == created["id"] and body["sha256"] == created["sha256"]
    assert body["status"] == "ready"
    assert set(body["variants"]) == {"thumb", "small", "medium", "large"}
    for variant in body["variants"].values():
        assert set(variant) == {"width", "height", "jpeg", "webp"}


@pytest.mark.parametrize("media_id", ["12345", "abc", "9" * 30])
def test_get_unknown_media_is_404(anon_client, media_id):
    assert anon_client.get(f"/api/v1/media/{media_id}").status_code == 404


def test_upload_needs_a_token(anon_client, media_root, upload):
    response = upload(factories.jpeg_bytes(), client=anon_client)

    assert response.status_code == 401
    assert stored_files(media_root) == {}
    assert not Media.objects.exists()


def test_upload_without_a_file_is_400(client_alice, media_root):
    response = client_alice.post("/api/v1/media", {"alt_text": "x"}, format="multipart")

    assert response.status_code == 400
    assert "file" in response.json()["fields"]


def test_upload_as_json_is_415(client_alice):
    assert client_alice.post("/api/v1/media", {"file": "x"}, format="json").status_code == 415


def _assert_rejected(response, media_root, status: int, fragment: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    message = " ".join(body["file"]) if "file" in body else body["detail"]
    assert fragment.lower() in message.lower(), message
    assert stored_files(media_root) == {}
    assert not Media.objects.exists() and not MediaBlob.objects.exists()


def test_wrong_type_is_400_and_nothing_stored(upload, media_root):
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"

    response = upload(pdf, name="doc.pdf", content_type="application/pdf")

    _assert_rejected(response, media_root, 400, "Unsupported file type")


def test_renamed_text_file_is_400_whatever_its_name_and_content_type(upload, media_root):
    response = upload(b"hello, I am plain text\n" * 20, name="photo.jpg", content_type="image/jpeg")

    _assert_rejected(response, media_root, 400, "Unsupported file type")


def test_other_image_formats_are_refused(upload, media_root):
    from io import BytesIO

    from PIL import Image

    bmp = BytesIO()
    Image.new("RGB", (10, 10)).save(bmp, format="BMP")

    response = upload(bmp.getvalue(), name="a.jpg")

    _assert_rejected(response, media_root, 400, "Unsupported file type")


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_jpeg_is_400(upload, media_root, keep):
    data = factories.jpeg_bytes(800, 600)

    response = upload(data[: int(len(data) * keep)])

    _assert_rejected(response, media_root, 400, "truncated")


def test_truncated_png_is_400(upload, media_root):
    data = factories.png_bytes()

    response = upload(data[:-40], name="a.png", content_type="image/png")

    _assert_rejected(response, media_root, 400, "Corrupt")


def test_corrupt_jpeg_header_is_400(upload, media_root):
    data = b"\xff\xd8\xff\xe0" + b"\x00" * 500

    response = upload(data)

    _assert_rejected(response, media_root, 400, "Corrupt")


def test_file_above_the_byte_limit_is_413(upload, media_root, settings):
    data = factories.jpeg_bytes(800, 600)
    settings.NEXUS_MEDIA_MAX_BYTES = len(data) - 1

    response = upload(data)

    _assert_rejected(response, media_root, 413, f"limit of {len(data) - 1:,} bytes")


def test_file_at_the_byte_limit_is_accepted(upload, media_root, settings):
    data = factories.jpeg_bytes(800, 600)
    settings.NEXUS_MEDIA_MAX_BYTES = len(data)

    assert upload(data).status_code == 202


def test_size_limit_is_enforced_while_streaming():
    """The handler raises on the chunk that crosses the limit, before the rest
    of the body is read, and hands earlier chunks on unchanged."""
    handler = SizeLimitUploadHandler(limit=100)
    handler.new_file("file", "a.jpg", "image/jpeg", None)

    assert handler.receive_data_chunk(b"x" * 60, 0) == b"x" * 60
    with pytest.raises(MediaTooLarge):
        handler.receive_data_chunk(b"x" * 60, 60)


def test_content_length_above_the_limit_is_refused_before_reading():
    handler = SizeLimitUploadHandler(limit=1000)

    with pytest.raises(MediaTooLarge):
        handler.handle_raw_input(None, {}, 10_000_000, b"boundary")
    assert handler.handle_raw_input(None, {}, 2000, b"boundary") is None


def test_upload_view_streams_through_the_size_limit_handler_first(rf, settings):
    from media.api import MediaUploadView

    request = rf.post("/api/v1/media")
    view = MediaUploadView()
    view.initialize_request(request)

    assert isinstance(request.upload_handlers[0], SizeLimitUploadHandler)
    assert any(isinstance(h, MemoryFileUploadHandler) for h in request.upload_handlers[1:])


def test_decompression_bomb_is_400(upload, media_root):
    # 12 kB on disk, 100 million pixels: above our 40M limit, below Pillow's own error threshold
    response = upload(factories.png_bomb(10_000, 10_000), name="bomb.png", content_type="image/png")

    _assert_rejected(response, media_root, 400, "decompression bomb")


def test_huge_decompression_bomb_is_400(upload, media_root):
    # 400 million pixels: above Pillow's own limit too
    response = upload(factories.png_bomb(20_000, 20_000), name="bomb.png", content_type="image/png")

    _assert_rejected(response, media_root, 400, "too many pixels")


def test_pixel_limit_follows_the_setting(upload, media_root, settings):
    settings.NEXUS_MEDIA_MAX_PIXELS = 640 * 480 - 1

    response = upload(factories.jpeg_bytes(640, 480))

    _assert_rejected(response, media_root, 400, "limit is 307,199")


def test_alt_text_too_long_is_400(upload, media_root):
    response = upload(factories.jpeg_bytes(), alt_text="x" * 1001)

    assert response.status_code == 400
    assert "alt_text" in response.json()["fields"]
    assert stored_files(media_root) == {}


def test_media_failures_since_counts_recent_failed_originals(db):
    from datetime import timedelta

    from django.utils import timezone

    from media.models import MediaBlob, MediaStatus
    from media.selectors import media_failures_since

    common = {"format": "jpeg", "original_key": "k", "original_bytes": 1, "width": 1, "height": 1}
    MediaBlob.objects.create(sha256="a" * 64, status=MediaStatus.FAILED, error="store down", **common)
    MediaBlob.objects.create(sha256="b" * 64, status=MediaStatus.READY, **common)
    old = MediaBlob.objects.create(sha256="c" * 64, status=MediaStatus.FAILED, error="old", **common)
    MediaBlob.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=2))

    result = media_failures_since(since=timezone.now() - timedelta(hours=24))

    assert result == {"failed originals": 1, "latest error": "store down"}
