"""Schema-only serializers for the one route both APIs serve (GET /api/v1/media/:id):
its body is the native media JSON plus Mastodon's MediaAttachment fields, its
errors the native error plus Mastodon's `error` key, and /api/schema says so."""

from rest_framework import serializers

from media.serializers import MediaOutput
from nexus.schema import ErrorSerializer


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


class SupersetErrorOutput(ErrorSerializer):
    error = serializers.CharField(help_text="The same message under Mastodon's key")
