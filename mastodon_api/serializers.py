"""Schema-only serializer for the one route both APIs serve (GET /api/v1/media/:id):
its body is the native media JSON plus Mastodon's MediaAttachment fields, and
/api/schema says so."""

from rest_framework import serializers

from media.serializers import MediaOutput


class MediaSupersetOutput(MediaOutput):
    type = serializers.ChoiceField(choices=["image", "unknown"], help_text="Mastodon: the attachment's kind")
    url = serializers.CharField(allow_null=True, help_text="Mastodon: the largest variant (JPEG); null until ready")
    preview_url = serializers.CharField(allow_null=True, help_text="Mastodon: the small variant (JPEG)")
    remote_url = serializers.CharField(allow_null=True)
    preview_remote_url = serializers.CharField(allow_null=True)
    text_url = serializers.CharField(allow_null=True)
    meta = serializers.DictField(help_text="Mastodon: original and small sizes")
    description = serializers.CharField(allow_null=True, help_text="Mastodon: the alt text")
    blurhash = serializers.CharField(allow_null=True)
