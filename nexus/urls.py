from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from media import views as media_views
from nexus import dashboard, health, metrics

api_v1 = [
    path("", include("tweets.urls")),
    path("", include("engagement.urls")),
    path("", include("media.urls")),
    path("", include("lifecycle.urls")),
    path("", include("analytics.urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include(api_v1)),
    path("ops/", dashboard.dashboard, name="ops-dashboard"),
    path("admin/", admin.site.urls),
]

if settings.SERVE_LOCAL_MEDIA:
    # With local files the app serves media itself, DEBUG or not; objects are
    # content-addressed and immutable, so they can be cached forever.
    urlpatterns.append(
        re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$", media_views.local_file, name="media-file")
    )
