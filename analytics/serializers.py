"""Input serializers validate query strings; output serializers exist for the
OpenAPI schema (responses are plain dicts from the selectors)."""

from rest_framework import serializers

from analytics.selectors import PER_HOUR_BUCKETS, TRENDING_MAX
from tweets.serializers import TweetOutput

MAX_SIMILAR_LIMIT = 100


class SimilarQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_SIMILAR_LIMIT, default=20)


class TrendingHashtagsQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=TRENDING_MAX, default=20)


class SimilarItemOutput(serializers.Serializer):
    tweet = TweetOutput()
    distance = serializers.FloatField(help_text="Euclidean distance between ln(1 + count) vectors")


class SimilarOutput(serializers.Serializer):
    results = SimilarItemOutput(many=True)


class HashtagOutput(serializers.Serializer):
    tag = serializers.CharField(help_text="Case-folded, without '#'")
    tweets = serializers.IntegerField(help_text="Published tweets carrying the tag now")
    last_used_at = serializers.DateTimeField()
    per_hour = serializers.ListField(
        child=serializers.IntegerField(),
        min_length=PER_HOUR_BUCKETS,
        max_length=PER_HOUR_BUCKETS,
        help_text="Uses per hour of the last 24 h, oldest first; the last is the current hour so far",
    )


class TrendingHashtagOutput(serializers.Serializer):
    tag = serializers.CharField()
    last_hour = serializers.FloatField(help_text="Uses in the trailing 60 minutes (sliding-window estimate)")
    previous_day_hourly_avg = serializers.FloatField()
    score = serializers.FloatField(help_text="(last_hour + 1) / (previous_day_hourly_avg + 1) × ln(1 + last_hour)")


class TrendingHashtagsOutput(serializers.Serializer):
    results = TrendingHashtagOutput(many=True)
