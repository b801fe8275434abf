"""Input serializers validate shapes; the services own the rules.

Output serializers are both the schema and the renderer: drf-spectacular reads
their declared fields, and the JSON the API sends is built by their
`to_representation` (a plain dict, no per-field machinery: the read path is
hot). The schema forbids undeclared keys in responses, and the conformance
tests (nexus/tests/test_schema_conformance.py) check every response against
it, so the two cannot drift apart."""

import unicodedata

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from media.serializers import MediaOutput
from nexus.serializers import PrebuiltFieldsSerializer
from nexus.snowflake import id_parse
from nexus.timefmt import format_timestamp
from tweets.text import MAX_TEXT_LENGTH


@extend_schema_field({"type": "string", "pattern": "^[0-9]{1,19}$"})
class SnowflakeField(serializers.Field):
    """An id given as a string of digits (or a JSON integer) within int64."""

    default_error_messages = {"invalid": "Must be a tweet/media id: a string of digits."}

    def to_internal_value(self, data):
        value = id_parse(data)
        if value is None:
            self.fail("invalid")
        return value

    def to_representation(self, value):
        return str(value)


class TweetTextField(serializers.CharField):
    """Tweet text, NFC-normalised before its length is checked: the limit is
    280 code points after normalisation (tweets.text), as the schema says."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", MAX_TEXT_LENGTH)
        super().__init__(trim_whitespace=False, allow_blank=True, **kwargs)

    def to_internal_value(self, data):
        return unicodedata.normalize("NFC", super().to_internal_value(data))


class TweetCreateInput(PrebuiltFieldsSerializer):
    text = TweetTextField(help_text="1–280 characters after NFC normalisation; whitespace-only only with media")
    media_ids = serializers.ListField(child=SnowflakeField(), required=False, max_length=4)
    in_reply_to_id = SnowflakeField(required=False, allow_null=True)
    quote_of_id = SnowflakeField(required=False, allow_null=True)
    draft = serializers.BooleanField(required=False, default=False)


class TweetEditInput(serializers.Serializer):
    text = TweetTextField(required=False)
    media_ids = serializers.ListField(child=SnowflakeField(), required=False, max_length=4)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Send text and/or media_ids.")
        return attrs


class RollbackInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=1_000_000)


# --- output: schema and renderer ---------------------------------------------------------
class AuthorOutput(serializers.Serializer):
    id = serializers.CharField()
    username = serializers.CharField()


class MetricsOutput(serializers.Serializer):
    likes = serializers.IntegerField()
    retweets = serializers.IntegerField()
    replies = serializers.IntegerField()
    quotes = serializers.IntegerField()
    views = serializers.IntegerField()


class TweetOutput(serializers.Serializer):
    id = serializers.CharField()
    author = AuthorOutput()
    text = serializers.CharField()
    content_hash = serializers.CharField()
    state = serializers.ChoiceField(choices=["draft", "published", "edited", "archived"])
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    editable_until = serializers.DateTimeField(allow_null=True)
    in_reply_to_id = serializers.CharField(allow_null=True)
    quote_of_id = serializers.CharField(allow_null=True)
    media = MediaOutput(many=True)
    metrics = MetricsOutput()
    tier = serializers.ChoiceField(choices=["hot", "warm", "cold"])

    def to_representation(self, instance: tuple[dict, dict, dict[int, dict]]) -> dict:
        """(tweet record, its live metrics, rendered media by id) -> tweet JSON."""
        record, metrics, media = instance
        return {
            "id": str(record["id"]),
            "author": {"id": str(record["author_id"]), "username": record["username"]},
            "text": record["text"],
            "content_hash": record["content_hash"],
            "state": record["state"],
            "version": record["version"],
            "created_at": record["created_at"],
            "edited_at": record["edited_at"],
            "editable_until": record["editable_until"],
            "in_reply_to_id": _str_or_none(record["in_reply_to_id"]),
            "quote_of_id": _str_or_none(record["quote_of_id"]),
            "media": [media[m] for m in record["media_ids"] if m in media],
            "metrics": metrics,
            "tier": record["tier"],
        }


def _str_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)


class TweetListOutput(serializers.Serializer):
    results = TweetOutput(many=True)


class TweetPageOutput(serializers.Serializer):
    results = TweetOutput(many=True)
    next = serializers.URLField(allow_null=True)


class VersionOutput(serializers.Serializer):
    version = serializers.IntegerField()
    text = serializers.CharField()
    content_hash = serializers.CharField()
    media_ids = serializers.ListField(child=SnowflakeField())
    created_at = serializers.DateTimeField()

    def to_representation(self, instance: tuple) -> dict:
        """(version, text, content_hash, media ids, created_at) -> version JSON."""
        version, text, content_hash, media_ids, created_at = instance
        return {
            "version": version,
            "text": text,
            "content_hash": content_hash,
            "media_ids": [str(m) for m in media_ids],
            "created_at": created_at if isinstance(created_at, str) else format_timestamp(created_at),
        }


class VersionListOutput(serializers.Serializer):
    results = VersionOutput(many=True)


class EventOutput(serializers.Serializer):
    cursor = serializers.CharField()
    type = serializers.CharField()
    tweet_id = serializers.CharField()
    author_id = serializers.CharField()
    version = serializers.IntegerField()
    at = serializers.DateTimeField()


class EventPageOutput(serializers.Serializer):
    results = EventOutput(many=True)
    next_cursor = serializers.CharField(allow_null=True)
