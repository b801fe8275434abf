"""`manage.py storage_init` creates the bucket once and is safe to run again."""

from __future__ import annotations

from io import StringIO

import boto3
from django.core.management import call_command

from media.tests.support import s3_storage_options


def _run() -> str:
    out = StringIO()
    call_command("storage_init", stdout=out)
    return out.getvalue().strip()


def test_creates_the_bucket_once_on_a_real_s3_api(s3_server, settings):
    _, endpoint = s3_server
    options = {**s3_storage_options(endpoint), "bucket_name": "nexus-init-test"}
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
    }
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    assert "nexus-init-test" not in [b["Name"] for b in client.list_buckets()["Buckets"]]

    assert _run() == "bucket nexus-init-test created"
    client.put_object(Bucket="nexus-init-test", Key="kept", Body=b"1")
    assert _run() == "bucket nexus-init-test exists"
    assert client.get_object(Bucket="nexus-init-test", Key="kept")["Body"].read() == b"1"


def test_local_files_get_their_directory(tmp_path, settings):
    location = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": location}},
    }
    assert _run() == f"media directory {location} ready"
    assert location.is_dir()
    assert _run() == f"media directory {location} ready"
