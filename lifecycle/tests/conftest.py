import shutil
import uuid

import pytest
from django.core.files.storage import default_storage


@pytest.fixture(autouse=True)
def _archive_prefix(settings):
    # Each test gets its own legacy archive folder so object counts are exact
    # (the segment storage is per test already: the root conftest's fixture).
    prefix = f"archive-test/{uuid.uuid4().hex}"
    settings.NEXUS_ARCHIVE_PREFIX = prefix
    yield
    if not hasattr(default_storage, "bucket"):  # local files: leave nothing behind
        shutil.rmtree(default_storage.path(prefix), ignore_errors=True)


@pytest.fixture
def s3_server():
    """A real S3 API on loopback (moto's server mode); yields (server, endpoint)."""
    from moto.server import ThreadedMotoServer

    from media.tests.support import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.stop()
