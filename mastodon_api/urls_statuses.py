"""Mastodon's statuses, its busiest paths. nexus/urls.py includes them before
the native API behind a prefix that consumes nothing (a lookahead), so a
status request resolves without walking the native patterns, and a native
request passes them all at one failed prefix check."""

from django.urls import path, re_path

from mastodon_api import api
from mastodon_api.urls import slash_tolerant

STATUS = "api/v1/statuses/<str:status_id>"

urlpatterns = slash_tolerant(
    [
        path("api/v1/statuses", api.StatusCreateView.as_view(), name="mastodon-statuses"),
        path(STATUS, api.StatusDetailView.as_view(), name="mastodon-status"),
        path(f"{STATUS}/source", api.StatusSourceView.as_view()),
        path(f"{STATUS}/history", api.StatusHistoryView.as_view()),
        path(f"{STATUS}/context", api.StatusContextView.as_view()),
        re_path(
            r"^api/v1/statuses/(?P<status_id>[^/]+)/(?P<action>favourite|unfavourite)$", api.FavouriteView.as_view()
        ),
        re_path(r"^api/v1/statuses/(?P<status_id>[^/]+)/(?P<action>reblog|unreblog)$", api.ReblogView.as_view()),
        re_path(
            r"^api/v1/statuses/(?P<status_id>[^/]+)/(?P<kind>favourited_by|reblogged_by)$", api.EngagedByView.as_view()
        ),
        re_path(
            r"^api/v1/statuses/(?P<status_id>[^/]+)/(?P<action>bookmark|unbookmark|pin|unpin|mute|unmute)$",
            api.NotAvailableStatusActionView.as_view(),
        ),
    ]
)
