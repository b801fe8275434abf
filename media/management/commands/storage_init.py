"""Create the object store's bucket (or the local media directory) when missing.

Idempotent: safe on every deploy (docker-compose runs it after `migrate`, before
web, worker and beat start). An existing bucket is left as it is."""

from pathlib import Path

from botocore.exceptions import ClientError
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create the storage bucket (S3/MinIO) or media directory if missing; does nothing when it exists."

    def handle(self, *args, **options) -> None:
        bucket_name = getattr(default_storage, "bucket_name", None)
        if bucket_name is None:
            location = getattr(default_storage, "location", None)
            if location is None:
                raise CommandError(f"do not know how to initialise {type(default_storage).__name__}")
            Path(location).mkdir(parents=True, exist_ok=True)
            self.stdout.write(f"media directory {location} ready")
            return
        client = default_storage.connection.meta.client
        try:
            client.head_bucket(Bucket=bucket_name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket", "NotFound"}:
                raise CommandError(f"bucket {bucket_name}: {exc}") from exc
            client.create_bucket(Bucket=bucket_name)
            self.stdout.write(f"bucket {bucket_name} created")
            return
        self.stdout.write(f"bucket {bucket_name} exists")
