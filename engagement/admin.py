"""Read-only engagement views for moderators (counts are derived state: they
change through the API and the flush, never by hand)."""

from django.contrib import admin

from engagement.models import CounterSlot, Like, Retweet, TweetCounters


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TweetCounters)
class TweetCountersAdmin(ReadOnlyAdmin):
    list_display = ("tweet_id", "likes", "retweets", "replies", "quotes", "views", "updated_at")
    search_fields = ("=tweet_id",)
    ordering = ("-updated_at",)


@admin.register(CounterSlot)
class CounterSlotAdmin(ReadOnlyAdmin):
    list_display = ("tweet_id", "slot", "likes_p", "likes_n", "retweets_p", "retweets_n", "views_p", "updated_at")
    search_fields = ("=tweet_id", "slot")


@admin.register(Like, Retweet)
class FactAdmin(ReadOnlyAdmin):
    list_display = ("tweet_id", "user", "created_at")
    list_select_related = ("user",)
    search_fields = ("=tweet__id", "user__username")
    raw_id_fields = ("user", "tweet")
