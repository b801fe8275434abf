"""Schema-only serializers shared by every app's OpenAPI annotations."""

from rest_framework import serializers


class ErrorOutput(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)
