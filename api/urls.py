"""The URL map of the JSON API (/api/v1) and the operator dashboard, read top
to bottom. Routes of one app's own resources come from that app's urls;
everything that returns tweets is served by api.views."""

from django.conf import settings
from django.urls import include, path, re_path

from api import dashboard, views
from media import views as media_views

api_v1 = [
    path("tweets", views.TweetCollectionView.as_view(), name="tweet-collection"),
    path("tweets/<snowflake:tweet_id>", views.TweetDetailView.as_view(), name="tweet-detail"),
    path("tweets/<snowflake:tweet_id>/versions", views.TweetVersionsView.as_view(), name="tweet-versions"),
    path("tweets/<snowflake:tweet_id>/rollback", views.TweetRollbackView.as_view(), name="tweet-rollback"),
    path("tweets/<snowflake:tweet_id>/publish", views.TweetPublishView.as_view(), name="tweet-publish"),
    path("tweets/<snowflake:tweet_id>/similar", views.SimilarView.as_view(), name="tweet-similar"),
    path("drafts", views.DraftListView.as_view(), name="draft-list"),
    path("users/<str:username>/tweets", views.UserTimelineView.as_view(), name="user-timeline"),
    path("search", views.SearchView.as_view(), name="search"),
    path("events", views.EventFeedView.as_view(), name="event-feed"),
    path("trending", views.TrendingView.as_view(), name="trending"),
    path("", include("engagement.urls")),
    path("", include("media.urls")),
    path("", include("analytics.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("ops/", dashboard.dashboard, name="ops-dashboard"),
]

if settings.SERVE_LOCAL_MEDIA:
    # With local files the app serves media variants itself, DEBUG or not
    # (media.views.local_file: nothing else under the storage root).
    urlpatterns.append(
        re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$", media_views.local_file, name="media-file")
    )
