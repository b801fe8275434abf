"""Content-addressed keys and the few object-store calls media needs, all
through django-storages' default_storage (local files or S3)."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

# The public prefix: variants only (EXIF-free renders). Originals keep their
# metadata (GPS included), so they live under the private prefix with the
# archives; README "Object storage" lists what may be public.
KEY_ROOT = settings.NEXUS_PUBLIC_PREFIX
ORIGINALS_ROOT = f"{settings.NEXUS_PRIVATE_PREFIX}/originals"
VARIANT_NAMES = ("thumb", "small", "medium", "large")
VARIANT_KEY_RE = re.compile(
    rf"^{KEY_ROOT}/[0-9a-f]{{2}}/[0-9a-f]{{2}}/(?P<sha256>[0-9a-f]{{64}})/(?:{'|'.join(VARIANT_NAMES)})\.(?:jpg|webp)$"
)


class StoreError(Exception):
    """The object store failed or is unreachable; worth retrying."""


def blob_prefix(sha256: str, root: str = KEY_ROOT) -> str:
    # Two levels of fan-out keep local directories small; S3 does not care.
    return f"{root}/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def original_key(sha256: str, extension: str) -> str:
    return f"{blob_prefix(sha256, ORIGINALS_ROOT)}/original.{extension}"


def variant_key_sha256(key: str) -> str | None:
    """The blob a public variant key belongs to; None for any other key."""
    match = VARIANT_KEY_RE.match(key)
    return match["sha256"] if match else None


def variant_key(sha256: str, name: str, extension: str) -> str:
    return f"{blob_prefix(sha256)}/{name}.{extension}"


def object_put(key: str, data: bytes) -> None:
    """Write one object under exactly `key` (the same key always holds the same
    bytes, so overwriting is safe and makes a retry after a crash repair a
    partial write)."""
    try:
        name = default_storage.save(key, ContentFile(data))
    except Exception as exc:  # botocore, socket and OS errors alike
        raise StoreError(f"Could not write {key}: {exc}") from exc
    if name != key:
        # A storage that renames on collision would break content addressing.
        raise RuntimeError(f"Storage saved {key!r} as {name!r}: enable overwriting (allow_overwrite/file_overwrite).")


def object_get(key: str) -> bytes:
    try:
        with default_storage.open(key, "rb") as fh:
            return fh.read()
    except Exception as exc:
        raise StoreError(f"Could not read {key}: {exc}") from exc


def object_url(key: str) -> str:
    return default_storage.url(key)
