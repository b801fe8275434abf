from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import IO

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from media import storage
from media.images import ImageRejected, image_inspect, variants_render
from media.models import Media, MediaBlob, MediaStatus
from nexus.broker import dispatch, dispatch_on_commit
from nexus.errors import NotFound, PayloadTooLarge, ServiceUnavailable, ValidationFailed

logger = logging.getLogger(__name__)

MAX_MEDIA_PER_TWEET = 4
MAX_ALT_TEXT = 1000
_CHUNK = 64 * 1024


class MediaTooLarge(PayloadTooLarge):
    code = "media_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The file is larger than the limit of {limit:,} bytes.")


class StorageUnavailable(ServiceUnavailable):
    default_detail = "The object store is unavailable; try again shortly."
    code = "storage_unavailable"


def media_check_attachable(*, owner_id: int, media_ids: list[int]) -> None:
    """Raise a field error unless every id is the owner's own, not failed media (≤ 4)."""
    if len(media_ids) > MAX_MEDIA_PER_TWEET:
        raise ValidationFailed({"media_ids": [f"At most {MAX_MEDIA_PER_TWEET} media per tweet."]})
    if len(set(media_ids)) != len(media_ids):
        raise ValidationFailed({"media_ids": ["The same media is attached twice."]})
    if not media_ids:
        return
    found = dict(Media.objects.filter(id__in=media_ids, owner_id=owner_id).values_list("id", "status"))
    missing = [str(i) for i in media_ids if i not in found]
    if missing:
        raise ValidationFailed({"media_ids": [f"Unknown media (or not yours): {', '.join(missing)}."]})
    failed = [str(i) for i in media_ids if found[i] == MediaStatus.FAILED]
    if failed:
        raise ValidationFailed({"media_ids": [f"Media failed processing and cannot be attached: {', '.join(failed)}."]})
    # Attached again (its earlier tweets were deleted): served again.
    media_reinstate(media_ids=media_ids)


def media_withdraw(*, media_ids: list[int]) -> int:
    """Stop serving these uploads: no visible tweet carries them any more (the
    caller, which knows the tweets, decided that). Their blob stays served
    while another upload of the same bytes is not withdrawn."""
    if not media_ids:
        return 0
    return Media.objects.filter(id__in=media_ids, withdrawn=False).update(withdrawn=True, updated_at=timezone.now())


def media_reinstate(*, media_ids: list[int]) -> int:
    """Serve these uploads again (a tweet carrying them is visible again)."""
    if not media_ids:
        return 0
    return Media.objects.filter(id__in=media_ids, withdrawn=True).update(withdrawn=False, updated_at=timezone.now())


def _read_limited(file: IO[bytes], limit: int) -> bytes:
    """Read at most `limit` bytes; one byte more means 413 (for callers that did
    not stream through media.uploads.SizeLimitUploadHandler)."""
    size = getattr(file, "size", None)
    if size is not None and size > limit:
        raise MediaTooLarge(limit)
    if hasattr(file, "seek"):
        file.seek(0)
    parts: list[bytes] = []
    total = 0
    while chunk := file.read(_CHUNK):
        total += len(chunk)
        if total > limit:
            raise MediaTooLarge(limit)
        parts.append(chunk)
    return b"".join(parts)


def _alt_text_check(alt_text: str) -> None:
    if len(alt_text) > MAX_ALT_TEXT:
        raise ValidationFailed({"alt_text": [f"Ensure this field has no more than {MAX_ALT_TEXT} characters."]})


def media_describe(*, media_id: int, owner, alt_text: str) -> None:
    """Set the alt text of the owner's own media (404 for anyone else's)."""
    _alt_text_check(alt_text)
    if not Media.objects.filter(id=media_id, owner_id=owner.pk).update(alt_text=alt_text, updated_at=timezone.now()):
        raise NotFound("No such media.")


def media_upload(*, owner, file: IO[bytes], alt_text: str = "") -> Media:
    """Validate an image upload, store its original once per content, and queue
    the variants. Nothing is stored unless every check passed."""
    _alt_text_check(alt_text)
    data = _read_limited(file, settings.NEXUS_MEDIA_MAX_BYTES)
    if not data:
        raise ValidationFailed({"file": ["The submitted file is empty."]})
    try:
        info = image_inspect(data, max_pixels=settings.NEXUS_MEDIA_MAX_PIXELS)
    except ImageRejected as exc:
        raise ValidationFailed({"file": [str(exc)]}) from exc
    sha256 = hashlib.sha256(data).hexdigest()
    key = storage.original_key(sha256, info.extension)

    # The blob row is committed only after its original is fully written, so
    # an existing row means the original is there: the same bytes are never
    # stored twice. Two concurrent first uploads both write the same key with
    # the same bytes (harmless) and then meet at the primary key below.
    if not MediaBlob.objects.filter(sha256=sha256).exists():
        try:
            storage.object_put(key, data)
        except storage.StoreError as exc:
            logger.warning("media upload: %s", exc)
            raise StorageUnavailable(retry_after=round(settings.NEXUS_BREAKER_RESET_SECONDS)) from exc

    with transaction.atomic():
        blob, created = MediaBlob.objects.get_or_create(
            sha256=sha256,
            defaults={
                "format": info.format,
                "original_key": key,
                "original_bytes": len(data),
                "width": info.width,
                "height": info.height,
            },
        )
        if not created and blob.status == MediaStatus.FAILED:
            # A new upload of content that failed before gets another chance.
            MediaBlob.objects.filter(sha256=sha256, status=MediaStatus.FAILED).update(
                status=MediaStatus.PENDING, error="", attempts=0, updated_at=timezone.now()
            )
            blob.refresh_from_db()
        ready = blob.status == MediaStatus.READY
        media = Media.objects.create(
            owner=owner,
            sha256=sha256,
            width=blob.width,
            height=blob.height,
            alt_text=alt_text,
            status=blob.status,
            variants=blob.variants if ready else {},
        )
        if not ready:
            from media.tasks import media_process  # tasks import services

            # A broker that is down does not fail the upload (its row is
            # committed): the sweep dispatches pending blobs again.
            dispatch_on_commit(media_process, sha256)
    return media


def _mirror(sha256: str, **fields) -> None:
    """Copy the blob's state onto every upload of it (same transaction)."""
    Media.objects.filter(sha256=sha256).update(**fields, updated_at=timezone.now())


def media_blob_claim(*, sha256: str) -> bool:
    """Take the blob for processing. A conditional UPDATE, so of two workers
    handed the same blob (redelivery, duplicate enqueue) only one proceeds; a
    claim older than the lease belongs to a worker that died and is retaken."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.NEXUS_MEDIA_LEASE_SECONDS)
    with transaction.atomic():
        claimed = MediaBlob.objects.filter(
            Q(status=MediaStatus.PENDING) | Q(status=MediaStatus.PROCESSING, updated_at__lt=stale),
            sha256=sha256,
        ).update(status=MediaStatus.PROCESSING, updated_at=now, attempts=F("attempts") + 1)
        if claimed:
            _mirror(sha256, status=MediaStatus.PROCESSING, error="")
    return bool(claimed)


def media_blob_release(*, sha256: str) -> None:
    """Give the claim back (before a retry), so the retried task can take it."""
    with transaction.atomic():
        if MediaBlob.objects.filter(sha256=sha256, status=MediaStatus.PROCESSING).update(
            status=MediaStatus.PENDING, updated_at=timezone.now()
        ):
            _mirror(sha256, status=MediaStatus.PENDING)


def media_blob_fail(*, sha256: str, error: str, detail: str = "") -> None:
    """Mark the blob and its uploads failed. `error` is shown to clients;
    `detail` (which may name hosts, ports, buckets) is kept on the blob for
    operators and the log only."""
    internal = f"{error} ({detail})" if detail else error
    with transaction.atomic():
        MediaBlob.objects.filter(sha256=sha256).exclude(status=MediaStatus.READY).update(
            status=MediaStatus.FAILED, error=internal, updated_at=timezone.now()
        )
        Media.objects.filter(sha256=sha256).exclude(status=MediaStatus.READY).update(
            status=MediaStatus.FAILED, error=error, updated_at=timezone.now()
        )
    logger.warning("media %s failed: %s", sha256, internal)


@contextmanager
def _lease_heartbeat(sha256: str) -> Iterator[None]:
    """Renew the processing claim every third of the lease while the work runs,
    so the lease can be short: a killed worker's claim expires within
    NEXUS_MEDIA_LEASE_SECONDS and the sweep gives the blob to another worker,
    while a slow but live worker keeps its claim."""
    stop = threading.Event()
    interval = settings.NEXUS_MEDIA_LEASE_SECONDS / 3

    def beat() -> None:
        try:
            while not stop.wait(interval):
                MediaBlob.objects.filter(sha256=sha256, status=MediaStatus.PROCESSING).update(updated_at=timezone.now())
        except Exception:  # a missed beat only risks a duplicate render of the same bytes
            logger.warning("media %s: lease heartbeat failed", sha256, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"lease-{sha256[:12]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def media_blob_process(*, sha256: str) -> bool:
    """Render and store every variant, then publish them all at once.

    Returns False when there was nothing to do (already ready, or another worker
    holds it). Raises storage.StoreError for the task to retry; an image that
    cannot be decoded fails at once (retrying would not help)."""
    if not media_blob_claim(sha256=sha256):
        return False
    blob = MediaBlob.objects.get(sha256=sha256)
    started = time.monotonic()
    with _lease_heartbeat(sha256):
        return _render_and_publish(blob, started)


def _render_and_publish(blob: MediaBlob, started: float) -> bool:
    sha256 = blob.sha256
    try:
        data = storage.object_get(blob.original_key)
        rendered = variants_render(data)
        variants: dict[str, dict] = {}
        written = 0
        for v in rendered:
            jpeg_key = storage.variant_key(sha256, v.name, "jpg")
            webp_key = storage.variant_key(sha256, v.name, "webp")
            storage.object_put(jpeg_key, v.jpeg)
            storage.object_put(webp_key, v.webp)
            written += len(v.jpeg) + len(v.webp)
            variants[v.name] = {"width": v.width, "height": v.height, "jpeg": jpeg_key, "webp": webp_key}
    except ImageRejected as exc:
        media_blob_fail(sha256=sha256, error=str(exc))
        return True
    except storage.StoreError:
        media_blob_release(sha256=sha256)
        raise
    elapsed_ms = round((time.monotonic() - started) * 1000)
    # Every object is written: only now do the variants become visible, for
    # the blob and all its uploads in one transaction.
    with transaction.atomic():
        MediaBlob.objects.filter(sha256=sha256).update(
            status=MediaStatus.READY,
            variants=variants,
            variant_bytes=written,
            error="",
            processing_ms=elapsed_ms,
            updated_at=timezone.now(),
        )
        _mirror(sha256, status=MediaStatus.READY, variants=variants, error="")
    logger.info("media %s ready: %d variants, %d bytes, %d ms", sha256, len(variants), written, elapsed_ms)
    return True


def media_requeue_stale(*, limit: int = 100) -> int:
    """Re-enqueue blobs whose worker died (claim not renewed for a lease) or
    whose dispatch failed or was lost (pending past the dispatch grace).
    Bounded; safe to run concurrently since processing claims each blob with a
    conditional UPDATE. A re-dispatched pending blob's clock restarts, so a
    long queue is not flooded with copies of the same task."""
    from media.tasks import media_process

    now = timezone.now()
    lease_expired = now - timedelta(seconds=settings.NEXUS_MEDIA_LEASE_SECONDS)
    not_dispatched = now - timedelta(seconds=settings.NEXUS_MEDIA_DISPATCH_GRACE_SECONDS)
    shas = list(
        MediaBlob.objects.filter(
            Q(status=MediaStatus.PENDING, updated_at__lt=not_dispatched)
            | Q(status=MediaStatus.PROCESSING, updated_at__lt=lease_expired)
        )
        .order_by("updated_at")
        .values_list("sha256", flat=True)[:limit]
    )
    dispatched = [sha for sha in shas if dispatch(media_process, sha)]
    MediaBlob.objects.filter(sha256__in=dispatched, status=MediaStatus.PENDING).update(updated_at=now)
    return len(dispatched)
