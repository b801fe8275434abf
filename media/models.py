from django.conf import settings
from django.db import models
from django.utils import timezone

from nexus.snowflake import next_id


class MediaStatus(models.TextChoices):
    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class MediaBlob(models.Model):
    """One stored original and its variants, addressed by the original's SHA-256.

    Many Media rows (one per upload) may point at one blob: identical bytes are
    stored and processed once. `variants` holds storage keys, not URLs: the
    URL depends on the configured backend and is made at read time."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    status = models.CharField(max_length=10, choices=MediaStatus.choices, default=MediaStatus.PENDING)
    format = models.CharField(max_length=8)
    original_key = models.CharField(max_length=255)
    original_bytes = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    variants = models.JSONField(default=dict, blank=True)
    variant_bytes = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    processing_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The claim lease and the stale-work sweep find blobs by (status, updated_at);
        # every state change sets updated_at explicitly (QuerySet.update skips auto_now).
        indexes = [models.Index(fields=["status", "updated_at"], name="media_blob_status_updated")]

    def __str__(self) -> str:
        return self.sha256


class Media(models.Model):
    """One upload. status/width/height/variants/error mirror the blob; they are
    written in the same transaction as the blob's, so one query renders media."""

    id = models.BigIntegerField(primary_key=True, default=next_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="media")
    status = models.CharField(max_length=10, choices=MediaStatus.choices, default=MediaStatus.PENDING)
    sha256 = models.CharField(max_length=64, db_index=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    alt_text = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    variants = models.JSONField(default=dict, blank=True)
    # Set when the last visible tweet carrying this upload went away (deleted
    # or removed), cleared when one comes back. A blob is served while any of
    # its uploads is not withdrawn: an upload never attached stays served to
    # let its owner use it.
    withdrawn = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "media"
        indexes = [models.Index(fields=["status", "created_at"], name="media_status_created")]

    def __str__(self) -> str:
        return str(self.id)
