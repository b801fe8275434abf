import shutil
import uuid

import pytest
from django.core.files.storage import default_storage

from media.tests.conftest import s3_server  # noqa: F401 (the loopback S3 server fixture)


@pytest.fixture(autouse=True)
def _archive_prefix(settings):
    # Each test gets its own legacy archive folder so object counts are exact
    # (the segment storage is per test already: the root conftest's fixture).
    prefix = f"archive-test/{uuid.uuid4().hex}"
    settings.NEXUS_ARCHIVE_PREFIX = prefix
    yield
    if not hasattr(default_storage, "bucket"):  # local files: leave nothing behind
        shutil.rmtree(default_storage.path(prefix), ignore_errors=True)
