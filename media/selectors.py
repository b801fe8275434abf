from __future__ import annotations

from collections.abc import Iterable

from media.models import Media


def media_render(media: Media) -> dict:
    return {
        "id": str(media.id),
        "status": media.status,
        "sha256": media.sha256,
        "width": media.width,
        "height": media.height,
        "alt_text": media.alt_text,
        "error": media.error or None,
        "variants": media.variants,
    }


def media_render_many(media_ids: Iterable[int]) -> dict[int, dict]:
    """Media JSON by id, one query for all of them."""
    ids = list(set(media_ids))
    if not ids:
        return {}
    return {m.id: media_render(m) for m in Media.objects.filter(id__in=ids)}
