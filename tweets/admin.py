from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from tweets.models import Tweet, TweetVersion


class TweetVersionInline(admin.TabularInline):
    model = TweetVersion
    fields = ("version", "content", "media_ids", "created_at", "created_by")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Tweet)
class TweetAdmin(SimpleHistoryAdmin):
    list_display = (
        "id",
        "author",
        "state",
        "tier",
        "version",
        "created_at",
        "published_at",
        "deleted_at",
        "removed_at",
    )
    list_filter = ("state", "tier", ("created_at", admin.DateFieldListFilter), "author")
    search_fields = ("=id", "author__username", "content__text")
    list_select_related = ("author",)
    show_full_result_count = False
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Tweet._meta.fields if f.name != "search_vector"]
    exclude = ("search_vector",)
    inlines = [TweetVersionInline]
    history_list_display = ("state", "version", "content", "removed_reason")
