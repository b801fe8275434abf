"""Input serializers validate shapes; output serializers exist for the OpenAPI
schema (responses are plain dicts from the selectors)."""

from rest_framework import serializers

from tweets.serializers import MetricsOutput, SnowflakeField, TweetOutput

MAX_VIEW_IDS = 100
MAX_TRENDING_WINDOW = 3600
MAX_TRENDING_LIMIT = 100


class ViewsInput(serializers.Serializer):
    tweet_ids = serializers.ListField(child=SnowflakeField(), allow_empty=False, max_length=MAX_VIEW_IDS)


class TrendingQuery(serializers.Serializer):
    window = serializers.IntegerField(min_value=60, max_value=MAX_TRENDING_WINDOW, default=300)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_TRENDING_LIMIT, default=20)


class LikeOutput(serializers.Serializer):
    liked = serializers.BooleanField()
    likes = serializers.IntegerField()


class RetweetOutput(serializers.Serializer):
    retweeted = serializers.BooleanField()
    retweets = serializers.IntegerField()


class ViewsOutput(serializers.Serializer):
    counted = serializers.IntegerField()


class VelocityOutput(serializers.Serializer):
    per_minute_5m = serializers.FloatField()
    per_minute_1h = serializers.FloatField()


class SeriesPointOutput(MetricsOutput):
    minute = serializers.DateTimeField()


class EngagementOutput(MetricsOutput):
    velocity = serializers.DictField(child=VelocityOutput())
    series = SeriesPointOutput(many=True)


class TrendingItemOutput(serializers.Serializer):
    tweet = TweetOutput()
    score = serializers.FloatField()


class TrendingOutput(serializers.Serializer):
    results = TrendingItemOutput(many=True)


class UserRefOutput(serializers.Serializer):
    id = serializers.CharField()
    username = serializers.CharField()


class LikedByPageOutput(serializers.Serializer):
    results = UserRefOutput(many=True)
    next = serializers.URLField(allow_null=True)
