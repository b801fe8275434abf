from django.urls import path, re_path

from analytics import api

urlpatterns = [
    # Before the tag route: a tag literally named "trending" is asked for as "%23trending".
    path("hashtags/trending", api.HashtagTrendingView.as_view(), name="hashtags-trending"),
    # Any characters (a malformed tag gets a 400 with a reason, not a routing 404).
    re_path(r"^hashtags/(?P<tag>.+)$", api.HashtagView.as_view(), name="hashtag"),
]
