"""Refuse an oversized upload while it streams in, before it is buffered."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler

from media.services import MediaTooLarge

# Room for the multipart boundaries, part headers and the alt_text field.
MULTIPART_OVERHEAD = 64 * 1024


class SizeLimitUploadHandler(FileUploadHandler):
    """First in the handler chain: counts every file byte and raises 413 the
    moment the limit is passed; the chunk is otherwise handed on unchanged to
    Django's memory / temporary-file handlers."""

    def __init__(self, request=None, limit: int | None = None) -> None:
        super().__init__(request)
        self.limit = settings.NEXUS_MEDIA_MAX_BYTES if limit is None else limit
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # An honest Content-Length already says too much: refuse without reading.
        if content_length and content_length > self.limit + MULTIPART_OVERHEAD:
            raise MediaTooLarge(self.limit)
        return None

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            raise MediaTooLarge(self.limit)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the file object
