from django.urls import path

from engagement import api

urlpatterns = [
    path("tweets/<snowflake:tweet_id>/like", api.LikeView.as_view(), name="tweet-like"),
    path("tweets/<snowflake:tweet_id>/retweet", api.RetweetView.as_view(), name="tweet-retweet"),
    path("tweets/<snowflake:tweet_id>/engagement", api.EngagementView.as_view(), name="tweet-engagement"),
    path("tweets/<snowflake:tweet_id>/liked_by", api.LikedByView.as_view(), name="tweet-liked-by"),
    path("views", api.ViewsView.as_view(), name="views"),
]
