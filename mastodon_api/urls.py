"""Mastodon's paths, mounted beside the native API (nexus/urls.py includes
them after it). No pattern here matches a native route; the one path both
share, `api/v1/media/<id>`, is in mastodon_api.urls_shared (included first),
and the statuses are in mastodon_api.urls_statuses (included first, behind
their prefix)."""

from django.urls import path, re_path
from django.urls.resolvers import RoutePattern

from mastodon_api import api, oauth

ACCOUNT = "api/v1/accounts/<str:account_id>"

empty_lists = [
    "notifications",
    "follow_requests",
    "lists",
    "filters",
    "bookmarks",
    "conversations",
    "mutes",
    "blocks",
    "domain_blocks",
    "endorsements",
    "featured_tags",
    "followed_tags",
    "scheduled_statuses",
    "announcements",
    "suggestions",
]
public_empty_lists = ["custom_emojis", "instance/peers", "instance/rules", "directory"]

urlpatterns = [
    # OAuth 2 (django-oauth-toolkit) and the pages a person sees
    path("oauth/authorize", oauth.AuthorizeView.as_view(), name="mastodon-oauth-authorize"),
    path("oauth/token", oauth.TokenView.as_view(), name="mastodon-oauth-token"),
    path("oauth/revoke", oauth.RevokeView.as_view(), name="mastodon-oauth-revoke"),
    path("auth/sign_in", oauth.SignInView.as_view(), name="mastodon-sign-in"),
    path("api/v1/apps", api.AppsView.as_view(), name="mastodon-apps"),
    path("api/v1/apps/verify_credentials", api.AppVerifyView.as_view()),
    # instance
    path("api/v1/instance", api.InstanceV1View.as_view(), name="mastodon-instance-v1"),
    path("api/v2/instance", api.InstanceV2View.as_view(), name="mastodon-instance-v2"),
    # accounts (the literal ones before <account_id>)
    path("api/v1/accounts/verify_credentials", api.VerifyCredentialsView.as_view()),
    path("api/v1/accounts/lookup", api.AccountLookupView.as_view()),
    path("api/v1/accounts/relationships", api.AccountRelationshipsView.as_view()),
    path("api/v1/accounts/search", api.AccountSearchView.as_view()),
    path(ACCOUNT, api.AccountDetailView.as_view(), name="mastodon-account"),
    path(f"{ACCOUNT}/statuses", api.AccountStatusesView.as_view(), name="mastodon-account-statuses"),
    path(f"{ACCOUNT}/followers", api.PublicEmptyListView.as_view()),
    path(f"{ACCOUNT}/following", api.PublicEmptyListView.as_view()),
    path(f"{ACCOUNT}/featured_tags", api.PublicEmptyListView.as_view()),
    path(f"{ACCOUNT}/lists", api.EmptyListView.as_view()),
    re_path(
        r"^api/v1/accounts/(?P<account_id>[^/]+)/(?P<action>follow|unfollow|block|unblock|mute|unmute|note|pin|unpin)$",
        api.NoFollowsView.as_view(),
    ),
    # media (GET /api/v1/media/<id> is shared with the native API)
    path("api/v2/media", api.MediaV2View.as_view(), name="mastodon-media-v2"),
    # timelines, search, trends
    path("api/v1/timelines/public", api.PublicTimelineView.as_view()),
    path("api/v1/timelines/tag/<str:hashtag>", api.TagTimelineView.as_view()),
    path("api/v1/timelines/home", api.HomeTimelineView.as_view()),
    path("api/v1/favourites", api.FavouritesView.as_view()),
    path("api/v2/search", api.SearchV2View.as_view()),
    path("api/v1/trends/statuses", api.TrendingStatusesView.as_view()),
    path("api/v1/trends/tags", api.TrendingTagsView.as_view()),
    path("api/v1/trends", api.TrendingTagsView.as_view()),
    # what Nexus does not have
    *(path(f"api/v1/{name}", api.EmptyListView.as_view()) for name in empty_lists),
    path("api/v2/filters", api.EmptyListView.as_view()),
    path("api/v2/suggestions", api.EmptyListView.as_view()),
    *(path(f"api/v1/{name}", api.PublicEmptyListView.as_view()) for name in public_empty_lists),
    path("api/v1/preferences", api.PreferencesView.as_view()),
    path("api/v1/markers", api.MarkersView.as_view()),
    re_path(r"^api/v1/streaming(?:/.*)?$", api.NotAvailableView.as_view(), {"feature": "streaming API"}),
    re_path(r"^api/v1/timelines/list/.*$", api.NotAvailableView.as_view(), {"feature": "lists"}),
    re_path(r"^api/v1/notifications/.+$", api.NotAvailableView.as_view(), {"feature": "notifications"}),
    re_path(r"^api/v1/polls/.*$", api.NotAvailableView.as_view(), {"feature": "polls"}),
]


def slash_tolerant(patterns: list) -> list:
    """Clients are not consistent about a trailing slash (Mastodon.py asks for
    /api/v1/instance/, toot for /oauth/authorize/): both spellings resolve."""
    patterns = patterns + [
        path(f"{p.pattern}/", p.callback, p.default_args) for p in patterns if isinstance(p.pattern, RoutePattern)
    ]
    return [
        re_path(p.pattern.regex.pattern.replace("$", "/?$"), p.callback, p.default_args)
        if not isinstance(p.pattern, RoutePattern) and p.pattern.regex.pattern.endswith("$")
        else p
        for p in patterns
    ]


urlpatterns = slash_tolerant(urlpatterns)
