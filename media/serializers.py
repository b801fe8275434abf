from rest_framework import serializers

from media.services import MAX_ALT_TEXT


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
