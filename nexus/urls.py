"""The root URL map: the process's own endpoints, the schema, the admin, and
the composition layer (api.urls) and the Mastodon client API above it
(mastodon_api.urls), reached by name so the kernel imports no app."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from nexus import errors, health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    # The one path both APIs share (GET /api/v1/media/<id>, one response for
    # both clients), Mastodon's statuses behind a prefix that consumes nothing
    # (they resolve at once; any other path fails its one check), then the
    # native API, then the rest of the Mastodon client API: native requests
    # resolve without walking Mastodon's hundred-odd patterns.
    path("", include("mastodon_api.urls_shared")),
    re_path(r"^(?=api/v1/statuses(?:/|$))", include("mastodon_api.urls_statuses")),
    path("", include("api.urls")),
    path("", include("mastodon_api.urls")),
    # Unmatched /api/ paths answer with the API's JSON 404, never an HTML page.
    re_path(r"^api/", errors.api_not_found),
]

# Errors raised outside a DRF view: JSON under /api/, Django's pages elsewhere.
handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error
