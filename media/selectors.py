from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from media.models import Media, MediaBlob, MediaStatus
from media.serializers import MediaOutput
from media.storage import object_url

MEDIA_OUTPUT = MediaOutput()  # renders the media JSON (and is the schema's source)
_RENDER_FIELDS = ("id", "status", "sha256", "width", "height", "alt_text", "error", "variants", "withdrawn")


def media_render(media: Media) -> dict:
    return MEDIA_OUTPUT.to_representation(media)


def media_render_many(media_ids: Iterable[int]) -> dict[int, dict]:
    """Media JSON by id, one query for all of them."""
    ids = list(set(media_ids))
    if not ids:
        return {}
    return {m.id: media_render(m) for m in Media.objects.filter(id__in=ids).only(*_RENDER_FIELDS)}


def media_get(*, media_id: int) -> dict | None:
    return media_render_many([media_id]).get(media_id)


def media_blob_servable(*, sha256: str) -> bool:
    """Whether a blob's variants may be served: ready, and at least one of its
    uploads is not withdrawn (content is shared, so this is its reference count)."""
    return Media.objects.filter(sha256=sha256, status=MediaStatus.READY, withdrawn=False).exists()


def media_thumbnail_urls(media_ids: Iterable[int]) -> dict[int, str | None]:
    """Thumbnail (JPEG) URL by media id, None while not ready; one query. For
    admin lists: collect every row's media ids, call once, look up per row."""
    ids = list(set(media_ids))
    if not ids:
        return {}
    rows = Media.objects.filter(id__in=ids).values_list("id", "status", "variants")
    return {
        mid: object_url(variants["thumb"]["jpeg"]) if status == MediaStatus.READY and "thumb" in variants else None
        for mid, status, variants in rows
    }


def media_failures_since(*, since: datetime) -> dict[str, int | str | None]:
    """Originals whose processing failed since `since` (operator dashboard),
    found through the (status, updated_at) index."""
    failed = MediaBlob.objects.filter(status=MediaStatus.FAILED, updated_at__gte=since)
    latest = failed.order_by("-updated_at").values_list("error", flat=True).first()
    return {"failed originals": failed.count(), "latest error": (latest or "")[:200] or None}
