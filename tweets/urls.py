from django.urls import path

from tweets import api

urlpatterns = [
    path("tweets", api.TweetCollectionView.as_view(), name="tweet-collection"),
    path("tweets/<str:tweet_id>", api.TweetDetailView.as_view(), name="tweet-detail"),
    path("tweets/<str:tweet_id>/versions", api.TweetVersionsView.as_view(), name="tweet-versions"),
    path("tweets/<str:tweet_id>/rollback", api.TweetRollbackView.as_view(), name="tweet-rollback"),
    path("tweets/<str:tweet_id>/publish", api.TweetPublishView.as_view(), name="tweet-publish"),
    path("drafts", api.DraftListView.as_view(), name="draft-list"),
    path("users/<str:username>/tweets", api.UserTimelineView.as_view(), name="user-timeline"),
    path("search", api.SearchView.as_view(), name="search"),
    path("events", api.EventFeedView.as_view(), name="event-feed"),
]
