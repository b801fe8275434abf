"""Helpers for media tests (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
from pathlib import Path


def stored_files(root: Path) -> dict[str, int]:
    """Every stored object and its size (empty when nothing was stored)."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


S3_BUCKET = "nexus-media-test"
S3_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def s3_storage_options(endpoint: str) -> dict:
    from botocore.config import Config

    return {
        "bucket_name": S3_BUCKET,
        "endpoint_url": endpoint,
        "access_key": "testing",
        "secret_key": "testing",
        "region_name": "us-east-1",
        "addressing_style": "path",
        "signature_version": "s3v4",
        "default_acl": None,
        "file_overwrite": True,
        "client_config": Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1}),
    }


def s3_keys(client) -> dict[str, int]:
    found = client.list_objects_v2(Bucket=S3_BUCKET).get("Contents", [])
    return {o["Key"]: o["Size"] for o in found}
