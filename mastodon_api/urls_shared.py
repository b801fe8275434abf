"""The path the native and the Mastodon API share: GET /api/v1/media/<id>
answers both clients with one superset body (mastodon_api.api.MediaDetailView).
nexus/urls.py includes this before both APIs."""

from django.urls import path

from mastodon_api import api

urlpatterns = [
    path("api/v1/media/<str:media_id>", api.MediaDetailView.as_view(), name="media-detail"),
]
