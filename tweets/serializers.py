"""Input serializers validate shapes; the services own the rules. Output
serializers exist for the OpenAPI schema: responses are rendered by
tweets.selectors without serializer overhead."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from media.serializers import MediaOutput
from nexus.serializers import PrebuiltFieldsSerializer
from nexus.snowflake import id_parse


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


class TweetCreateInput(PrebuiltFieldsSerializer):
    text = serializers.CharField(trim_whitespace=False, allow_blank=True, max_length=4000)
    media_ids = serializers.ListField(child=SnowflakeField(), required=False, max_length=4)
    in_reply_to_id = SnowflakeField(required=False, allow_null=True)
    quote_of_id = SnowflakeField(required=False, allow_null=True)
    draft = serializers.BooleanField(required=False, default=False)


class TweetEditInput(serializers.Serializer):
    text = serializers.CharField(trim_whitespace=False, allow_blank=True, max_length=4000, required=False)
    media_ids = serializers.ListField(child=SnowflakeField(), required=False, max_length=4)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Send text and/or media_ids.")
        return attrs


class RollbackInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=1_000_000)


# --- output (schema only) ---------------------------------------------------------------
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


class TweetListOutput(serializers.Serializer):
    results = TweetOutput(many=True)


class TweetPageOutput(serializers.Serializer):
    results = TweetOutput(many=True)
    next = serializers.URLField(allow_null=True)


class VersionOutput(serializers.Serializer):
    version = serializers.IntegerField()
    text = serializers.CharField()
    content_hash = serializers.CharField()
    media_ids = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()


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
