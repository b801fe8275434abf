from django.urls import path

from media import api

urlpatterns = [
    path("media", api.MediaUploadView.as_view(), name="media-upload"),
    path("media/<snowflake:media_id>", api.MediaDetailView.as_view(), name="media-detail"),
]
