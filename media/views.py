from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.views.static import serve

from media.selectors import media_blob_servable
from media.storage import variant_key_sha256
from nexus.errors import error_response

# Keys are content-addressed (the bytes under a key never change), but a blob
# stops being served when the last tweet showing it goes away: caches may keep
# it for this long, not forever.
CACHE_CONTROL = "public, max-age=300"


def local_file(request: HttpRequest, path: str) -> HttpResponse:
    """Serve a public media variant from local storage (DEBUG or not). Nothing
    else under the storage root is ever served: not originals (they keep their
    EXIF), not archives, not a variant whose every upload is withdrawn."""
    sha256 = variant_key_sha256(path)
    if sha256 is None or not media_blob_servable(sha256=sha256):
        return error_response(status=404, code="not_found", detail="No such file.")
    response = serve(request, path, document_root=default_storage.location)
    response["Cache-Control"] = CACHE_CONTROL
    return response
