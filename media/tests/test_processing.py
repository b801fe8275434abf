"""The variants (eager Celery): sizes, formats, metadata stripped, orientation,
dedup by bytes, and the URLs served by the app for local files."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from media import services
from media.images import variants_render
from media.models import Media, MediaBlob
from media.selectors import media_thumbnail_urls
from media.tests import factories
from media.tests.support import stored_files

pytestmark = pytest.mark.django_db

EXPECTED = {"thumb": 150, "small": 480, "medium": 1024, "large": 2048}


def _fetch(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content) if response.streaming else response.content


def _assert_no_metadata(data: bytes) -> None:
    img = Image.open(io.BytesIO(data))
    assert len(img.getexif()) == 0
    assert "exif" not in img.info and "xmp" not in img.info
    assert b"Exif" not in data and b"NexusCam" not in data  # no EXIF block, GPS IFD included


def test_variants_of_a_12mp_photo(upload, media_root, anon_client):
    response = upload(factories.jpeg_bytes(4000, 3000, orientation=1))
    body = anon_client.get(f"/api/v1/media/{response.json()['id']}").json()

    assert body["status"] == "ready"
    sizes = {name: (v["width"], v["height"]) for name, v in body["variants"].items()}
    assert sizes == {"thumb": (150, 150), "small": (480, 360), "medium": (1024, 768), "large": (2048, 1536)}
    for name, variant in body["variants"].items():
        jpeg = _fetch(anon_client, variant["jpeg"])
        webp = _fetch(anon_client, variant["webp"])
        for data, fmt in ((jpeg, "JPEG"), (webp, "WEBP")):
            img = Image.open(io.BytesIO(data))
            assert img.format == fmt
            assert img.size == (variant["width"], variant["height"]), name
            _assert_no_metadata(data)
        assert Image.open(io.BytesIO(jpeg)).info.get("progressive") == 1, name


def test_exif_and_gps_removed_from_every_variant_of_every_format():
    assert b"NexusCam" in factories.jpeg_bytes()  # the factory really writes EXIF with GPS
    for data in (factories.jpeg_bytes(orientation=3), factories.webp_bytes(), factories.png_bytes()):
        for v in variants_render(data):
            _assert_no_metadata(v.jpeg)
            _assert_no_metadata(v.webp)


def test_orientation_is_applied():
    # orientation 6: stored landscape, displayed portrait rotated 90° clockwise;
    # the red marker stored top-left must end up top-right.
    variants = {v.name: v for v in variants_render(factories.jpeg_bytes(800, 600, orientation=6))}
    medium = Image.open(io.BytesIO(variants["medium"].jpeg)).convert("RGB")

    assert medium.size == (600, 800)
    r, g, b = medium.getpixel((medium.width - 10, 10))
    assert r > 200 and g < 60 and b < 60
    r, g, b = medium.getpixel((10, 10))
    assert not (r > 200 and g < 60)


def test_small_images_are_never_upscaled():
    variants = {v.name: (v.width, v.height) for v in variants_render(factories.png_bytes(300, 100))}

    assert variants == {"large": (300, 100), "medium": (300, 100), "small": (300, 100), "thumb": (100, 100)}


def test_gif_uses_its_first_frame_and_png_alpha_is_kept_in_webp():
    gif = variants_render(factories.gif_bytes(320, 240, frames=3))
    assert all(getattr(Image.open(io.BytesIO(v.webp)), "n_frames", 1) == 1 for v in gif)

    png = {v.name: v for v in variants_render(factories.png_bytes(200, 200, alpha=True))}
    assert Image.open(io.BytesIO(png["small"].webp)).mode == "RGBA"
    assert Image.open(io.BytesIO(png["small"].jpeg)).mode == "RGB"


def test_objects_live_under_keys_derived_from_the_sha256(upload, media_root):
    body = upload(factories.jpeg_bytes()).json()
    sha = body["sha256"]

    prefix = f"media/{sha[:2]}/{sha[2:4]}/{sha}/"
    original = f"private/originals/{sha[:2]}/{sha[2:4]}/{sha}/original.jpg"
    files = stored_files(media_root)
    assert sorted(files) == sorted([original] + [f"{prefix}{n}.{ext}" for n in EXPECTED for ext in ("jpg", "webp")])
    blob = MediaBlob.objects.get(sha256=sha)
    assert blob.original_bytes + blob.variant_bytes == sum(files.values())


def test_same_bytes_are_stored_and_processed_once(upload, media_root, client_bob, anon_client):
    data = factories.jpeg_bytes(1200, 900)
    first = upload(data).json()
    files_before = stored_files(media_root)
    mtimes = {p: p.stat().st_mtime_ns for p in media_root.rglob("*") if p.is_file()}

    second = upload(data, name="other-name.jpg", client=client_bob)

    assert second.status_code == 202
    body = second.json()
    assert body["id"] != first["id"] and body["sha256"] == first["sha256"]
    assert body["status"] == "ready"  # reuses the ready variants at once
    assert body["variants"] == anon_client.get(f"/api/v1/media/{first['id']}").json()["variants"]
    assert stored_files(media_root) == files_before
    assert {p: p.stat().st_mtime_ns for p in media_root.rglob("*") if p.is_file()} == mtimes
    blob = MediaBlob.objects.get(sha256=first["sha256"])
    assert blob.attempts == 1  # processed once
    assert Media.objects.filter(sha256=blob.sha256).count() == 2


def test_processing_twice_is_a_no_op(upload, media_root):
    sha = upload(factories.jpeg_bytes()).json()["sha256"]

    assert services.media_blob_process(sha256=sha) is False
    assert MediaBlob.objects.get(sha256=sha).attempts == 1


def test_undecodable_original_fails_without_retry(media_root, user, django_capture_on_commit_callbacks):
    # Valid header and data that passes upload checks cannot be forged cheaply,
    # so corrupt the stored original behind the pipeline's back.
    data = factories.jpeg_bytes()
    with django_capture_on_commit_callbacks(execute=False):
        media = services.media_upload(owner=user, file=io.BytesIO(data))
    blob = MediaBlob.objects.get(sha256=media.sha256)
    (media_root / blob.original_key).write_bytes(data[: len(data) // 3])

    services.media_blob_process(sha256=media.sha256)

    media.refresh_from_db()
    assert media.status == "failed"
    assert "truncated" in media.error
    assert media.variants == {}


def test_thumbnail_urls_helper(upload, media_root, user, anon_client, django_capture_on_commit_callbacks):
    ready = upload(factories.jpeg_bytes()).json()
    with django_capture_on_commit_callbacks(execute=False):
        pending = services.media_upload(owner=user, file=io.BytesIO(factories.png_bytes()))

    urls = media_thumbnail_urls([int(ready["id"]), pending.id])

    thumb = anon_client.get(f"/api/v1/media/{ready['id']}").json()["variants"]["thumb"]["jpeg"]
    assert urls[int(ready["id"])] == thumb
    assert thumb.endswith(f"/{ready['sha256']}/thumb.jpg")
    assert urls[pending.id] is None


def test_local_files_are_served_by_the_app_with_debug_off(upload, media_root, anon_client, settings):
    settings.DEBUG = False
    body = upload(factories.jpeg_bytes()).json()
    url = anon_client.get(f"/api/v1/media/{body['id']}").json()["variants"]["small"]["webp"]

    response = anon_client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response["Cache-Control"].startswith("public")
    assert anon_client.get(url.replace("small.webp", "nothing.webp")).status_code == 404
