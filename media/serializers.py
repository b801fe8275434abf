from rest_framework import serializers

from media.models import Media, MediaStatus
from media.services import MAX_ALT_TEXT
from media.storage import object_url


class MediaUploadInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False)
    alt_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_ALT_TEXT)


class MediaVariantOutput(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    jpeg = serializers.CharField()
    webp = serializers.CharField()


class MediaOutput(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "processing", "ready", "failed"])
    sha256 = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    alt_text = serializers.CharField()
    error = serializers.CharField(allow_null=True)
    variants = serializers.DictField(child=MediaVariantOutput())

    def to_representation(self, instance: Media) -> dict:
        return {
            "id": str(instance.id),
            "status": instance.status,
            "sha256": instance.sha256,
            "width": instance.width,
            "height": instance.height,
            "alt_text": instance.alt_text,
            "error": instance.error or None,
            # Variants are published only with status ready (in one transaction),
            # so no half-written variant is ever listed; a withdrawn upload (its
            # tweets are gone) lists none.
            "variants": _variants_render(instance.variants)
            if instance.status == MediaStatus.READY and not instance.withdrawn
            else {},
        }


def _variants_render(variants: dict) -> dict:
    """Storage keys -> URLs for the configured backend (made per read: S3
    presigned URLs expire, local URLs follow MEDIA_URL)."""
    return {
        name: {"width": v["width"], "height": v["height"], "jpeg": object_url(v["jpeg"]), "webp": object_url(v["webp"])}
        for name, v in variants.items()
    }
