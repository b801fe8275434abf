from django.contrib import admin
from django.utils.html import format_html

from media.models import Media, MediaBlob, MediaStatus
from media.storage import object_url


def thumbnail_html(url: str | None, *, size: int = 64) -> str:
    """An <img> for admin lists (used by the tweets admin too, with
    media.selectors.media_thumbnail_urls)."""
    if not url:
        return "—"
    return format_html('<img src="{}" width="{}" height="{}" style="object-fit:cover" alt="">', url, size, size)


@admin.register(Media)
class MediaAdmin(admin.ModelAdmin):
    list_display = ("id", "thumbnail", "owner", "status", "width", "height", "created_at", "error")
    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=id", "=sha256", "owner__username")
    list_select_related = ("owner",)
    show_full_result_count = False
    # Moderators may edit alt text (e.g. remove abuse); everything else is the pipeline's.
    readonly_fields = ("id", "thumbnail", "owner", "status", "sha256", "width", "height", "error", "variants")
    fields = readonly_fields[:3] + ("alt_text",) + readonly_fields[3:]

    @admin.display(description="thumbnail")
    def thumbnail(self, obj: Media) -> str:
        ready = obj.status == MediaStatus.READY and "thumb" in obj.variants
        return thumbnail_html(object_url(obj.variants["thumb"]["jpeg"]) if ready else None)

    def has_add_permission(self, request) -> bool:
        return False  # uploads go through the API (validation, dedup, processing)


@admin.register(MediaBlob)
class MediaBlobAdmin(admin.ModelAdmin):
    list_display = ("sha256", "status", "format", "width", "height", "original_bytes", "variant_bytes", "processing_ms")
    list_filter = ("status", "format")
    search_fields = ("=sha256",)
    show_full_result_count = False
    readonly_fields = [f.name for f in MediaBlob._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
