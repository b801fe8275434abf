from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.views.static import serve

# Keys are content-addressed: the bytes under a key never change.
IMMUTABLE = "public, max-age=31536000, immutable"


def local_file(request: HttpRequest, path: str) -> HttpResponse:
    """Serve a local-storage object (DEBUG or not). The root is read per request
    from default_storage, so it always matches where objects are written."""
    response = serve(request, path, document_root=default_storage.location)
    response["Cache-Control"] = IMMUTABLE
    return response
