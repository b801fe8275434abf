from __future__ import annotations

from rest_framework.exceptions import ValidationError

from media.models import Media, MediaStatus

MAX_MEDIA_PER_TWEET = 4


def media_check_attachable(*, owner_id: int, media_ids: list[int]) -> None:
    """Raise a field error unless every id is the owner's own, not failed media (≤ 4)."""
    if len(media_ids) > MAX_MEDIA_PER_TWEET:
        raise ValidationError({"media_ids": [f"At most {MAX_MEDIA_PER_TWEET} media per tweet."]})
    if len(set(media_ids)) != len(media_ids):
        raise ValidationError({"media_ids": ["The same media is attached twice."]})
    if not media_ids:
        return
    found = dict(Media.objects.filter(id__in=media_ids, owner_id=owner_id).values_list("id", "status"))
    missing = [str(i) for i in media_ids if i not in found]
    if missing:
        raise ValidationError({"media_ids": [f"Unknown media (or not yours): {', '.join(missing)}."]})
    failed = [str(i) for i in media_ids if found[i] == MediaStatus.FAILED]
    if failed:
        raise ValidationError({"media_ids": [f"Media failed processing and cannot be attached: {', '.join(failed)}."]})
