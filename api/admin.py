"""The moderators' admin for tweets (SPEC section 8).

Everything that changes a tweet goes through api.services (the same
use-cases the API uses): remove / restore / revert are audited there with a
simple-history reason, an outbox event and a ModerationAction row. The admin
only renders forms, calls a service and reports with message_user.

Lists stay cheap on a big table: list_select_related, no per-row queries,
no full COUNT(*), and filters that map onto indexed columns."""

from __future__ import annotations

import difflib
import re
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchQuery
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from simple_history.admin import SimpleHistoryAdmin

from api import services
from api.templatetags.nexus_admin import as_datetime, local_time
from engagement.selectors import metrics_for_many
from lifecycle.selectors import archive_document, tweet_history
from media.admin import thumbnail_html
from media.selectors import media_thumbnail_urls
from nexus.errors import NexusError
from tweets.models import ModerationAction, Tier, Tweet, TweetVersion
from tweets.services import SEARCH_CONFIG

TEXT_PREVIEW_CHARS = 80


# --- reads the admin pages need (removed tweets included: moderators see everything) -----------
def tweet_admin_record(tweet: Tweet) -> dict:
    """Text and media ids of a tweet in any tier (warm/cold from the archive)."""
    if tweet.tier == Tier.HOT:
        return {"text": tweet.content.text if tweet.content_id else "", "media_ids": list(tweet.media_ids)}
    try:
        record = archive_document(tweet)["record"]
    except Exception as exc:  # an unreachable store must not break the moderator's page
        return {"text": f"(archive not readable: {exc})", "media_ids": []}
    return {"text": record.get("text", ""), "media_ids": [int(m) for m in record.get("media_ids", [])]}


def tweet_admin_versions(tweet: Tweet) -> list[dict]:
    """Every content version oldest first: {version, text, media_ids, created_at, created_by}."""
    if tweet.tier == Tier.HOT:
        rows = TweetVersion.objects.filter(tweet=tweet).select_related("content", "created_by").order_by("version")
        return [
            {
                "version": v.version,
                "text": v.content.text if v.content_id else "",
                "media_ids": [str(m) for m in v.media_ids],
                "created_at": v.created_at,
                "created_by": v.created_by.username if v.created_by else "",
            }
            for v in rows
        ]
    document = archive_document(tweet)
    authors = document.get("version_authors", {})
    # The archive keeps user ids: one query turns them into the names moderators know.
    ids = {int(a) for a in authors.values() if a is not None}
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username")) if ids else {}
    versions = []
    for v in document["versions"]:
        author_id = authors.get(str(v["version"]))
        name = names.get(int(author_id)) if author_id is not None else None
        created_by = name or (f"deleted user #{author_id}" if author_id is not None else "")
        versions.append({**v, "created_at": as_datetime(v.get("created_at")), "created_by": created_by})
    return versions


_WORDS = re.compile(r"\s+|[^\s]+")


def text_diff_html(old: str, new: str, *, old_label: str, new_label: str) -> SafeString:
    """Word-level difference of two texts, inline: removed words struck out,
    added words highlighted; it wraps like the text does (no wide table)."""
    before, after = _WORDS.findall(old), _WORDS.findall(new)
    parts: list[str] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(conditional_escape("".join(before[i1:i2])))
            continue
        if i2 > i1:
            parts.append(format_html("<del>{}</del>", "".join(before[i1:i2])))
        if j2 > j1:
            parts.append(format_html("<ins>{}</ins>", "".join(after[j1:j2])))
    return format_html(
        '<p class="diff-legend"><del>{}</del> → <ins>{}</ins></p><div class="word-diff">{}</div>',
        old_label,
        new_label,
        mark_safe("".join(parts)),  # noqa: S308 - every part was escaped above
    )


def tweet_status_html(tweet: Tweet) -> SafeString:
    """What a moderator must see first: removed and deleted before the row's state."""
    if tweet.removed_at:
        return format_html('<span class="tweet-status tweet-status-removed">{}</span>', "Removed")
    if tweet.deleted_at:
        return format_html('<span class="tweet-status tweet-status-deleted">{}</span>', "Deleted by author")
    return format_html('<span class="tweet-status tweet-status-{}">{}</span>', tweet.state, tweet.get_state_display())


def _error_text(exc: NexusError) -> str:
    if exc.fields:
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in exc.fields.items())
    return exc.detail


def _local_time_field(name: str, label: str):
    """A read-only admin column showing the model's `name` datetime in the reader's time zone."""

    @admin.display(description=label, ordering=name)
    def show(self, obj: Tweet) -> str:
        value = getattr(obj, name)
        return local_time(value) if value else "—"

    show.__name__ = f"{name}_local"
    return show


# --- list filters ---------------------------------------------------------------------------------
class VisibilityFilter(admin.SimpleListFilter):
    title = "visibility"
    parameter_name = "visibility"

    def lookups(self, request, model_admin):
        return [("visible", "visible"), ("removed", "removed by a moderator"), ("deleted", "deleted by the author")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "visible":
            return queryset.not_gone()
        if value == "removed":
            return queryset.filter(removed_at__isnull=False)
        if value == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class HasMediaFilter(admin.SimpleListFilter):
    """Media ids live on hot rows (warm/cold rows keep them in the archive)."""

    title = "has media"
    parameter_name = "has_media"

    def lookups(self, request, model_admin):
        return [("yes", "with media"), ("no", "without media")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.exclude(media_ids=[])
        if self.value() == "no":
            return queryset.filter(media_ids=[])
        return queryset


class AuthorFilter(admin.SimpleListFilter):
    """By username, typed in: a list of every author would not fit on the page."""

    title = "author"
    parameter_name = "author"
    template = "admin/tweets/input_filter.html"

    def lookups(self, request, model_admin):
        return [(self.value(), self.value())] if self.value() else [("", "")]

    def choices(self, changelist):
        # One "choice" for the template: the typed value, the other filters to
        # keep as hidden fields, and the link that clears this one.
        yield {
            "value": self.value() or "",
            "hidden": [(k, v) for k, v in changelist.params.items() if k != self.parameter_name],
            "clear": changelist.get_query_string(remove=[self.parameter_name]),
            "selected": bool(self.value()),
        }

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(author__username=self.value().strip().lstrip("@"))
        return queryset


# --- forms ------------------------------------------------------------------------------------------
class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Required. Recorded in the audit log and in the tweet's history.",
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required.")
        return reason


class RevertForm(ReasonForm):
    version = forms.IntegerField(min_value=1)


# --- admin ---------------------------------------------------------------------------------------
class ModerationActionInline(admin.TabularInline):
    model = ModerationAction
    fields = ("at", "kind", "moderator", "reason", "from_version", "to_version")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "moderation log"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Tweet)
class TweetAdmin(SimpleHistoryAdmin):
    # Status next to the id: removed/deleted must be seen first, at any window width.
    # (Media: the "has media" filter and the change page's thumbnails.)
    list_display = ("id", "status", "author_link", "text_preview", "tier", "version", "created_at")
    list_filter = (
        VisibilityFilter,
        "state",
        "tier",
        AuthorFilter,
        ("created_at", admin.DateFieldListFilter),
        HasMediaFilter,
    )
    search_fields = ("=id", "author__username", "content__text")
    search_help_text = "A tweet id, @username, or words of the text."
    list_select_related = ("author", "content")
    show_full_result_count = False
    list_per_page = 50
    ordering = ("-id",)
    actions = ("remove_tweets", "restore_tweets")
    fields = (
        "id",
        "status",
        "author_link",
        "text",
        "media_thumbnails",
        "engagement",
        "publication_state",
        "tier",
        "version",
        "created_at_local",
        "published_at_local",
        "edited_at_local",
        "deleted_at_local",
        "removed_at_local",
        "removed_reason",
        "in_reply_to_id",
        "quote_of_id",
        "archive_key",
        "moderation_links",
    )
    readonly_fields = fields
    inlines = [ModerationActionInline]
    history_list_display = ("state", "version", "removed_reason")
    change_form_template = "admin/tweets/tweet_change_form.html"

    class Media:
        css = {"all": ("api/admin.css",)}
        js = ("api/local-time.js",)

    # --- list columns (no queries: everything comes from the joined row) ---
    @admin.display(description="text")
    def text_preview(self, obj: Tweet) -> str:
        if obj.content_id is None:
            return f"({obj.tier}: in the archive)"
        text = obj.content.text
        return text if len(text) <= TEXT_PREVIEW_CHARS else text[: TEXT_PREVIEW_CHARS - 1] + "…"

    @admin.display(description="status", ordering="state")
    def status(self, obj: Tweet) -> str:
        return tweet_status_html(obj)

    @admin.display(description="publication state")
    def publication_state(self, obj: Tweet) -> str:
        # The row keeps its state under a removal or deletion (a restore returns to it).
        state = obj.get_state_display()
        if obj.removed_at:
            return f"{state} (hidden: removed by a moderator)"
        if obj.deleted_at:
            return f"{state} (hidden: deleted by the author)"
        return state

    # The change page's times in the reader's zone, as the versions page shows them.
    created_at_local = _local_time_field("created_at", "created at")
    published_at_local = _local_time_field("published_at", "published at")
    edited_at_local = _local_time_field("edited_at", "edited at")
    deleted_at_local = _local_time_field("deleted_at", "deleted by the author at")
    removed_at_local = _local_time_field("removed_at", "removed by a moderator at")

    @admin.display(description="author", ordering="author__username")
    def author_link(self, obj: Tweet) -> str:
        # The author's tweets, not the user admin (moderators may not see users).
        url = reverse("admin:tweets_tweet_changelist") + "?" + urlencode({"author": obj.author.username})
        return format_html(
            '<a href="{}" title="Only tweets by {}">{}</a>', url, obj.author.username, obj.author.username
        )

    # --- change page ---
    @admin.display(description="text")
    def text(self, obj: Tweet) -> str:
        return tweet_admin_record(obj)["text"]

    @admin.display(description="media")
    def media_thumbnails(self, obj: Tweet) -> str:
        media_ids = tweet_admin_record(obj)["media_ids"]
        if not media_ids:
            return "—"
        urls = media_thumbnail_urls(media_ids)
        return format_html_join(
            " ",
            '<a href="{}">{}</a>',
            ((reverse("admin:media_media_change", args=[m]), thumbnail_html(urls.get(m), size=96)) for m in media_ids),
        )

    @admin.display(description="engagement")
    def engagement(self, obj: Tweet) -> str:
        try:
            counts = metrics_for_many([obj.id]).get(obj.id)
        except Exception as exc:  # Redis down: the page still renders
            return f"not available ({exc.__class__.__name__})"
        if not counts:
            return "not available"
        return format_html_join(" · ", "{}: <b>{}</b>", counts.items())

    @admin.display(description="moderation")
    def moderation_links(self, obj: Tweet) -> str:
        links = [("versions and diff", reverse("admin:tweets_tweet_versions", args=[obj.pk]))]
        action = "restore" if obj.removed_at else "remove"
        links.append((f"{action} with a reason", reverse(f"admin:tweets_tweet_{action}", args=[obj.pk])))
        links.append(("history (who, when, why)", reverse("admin:tweets_tweet_history", args=[obj.pk])))
        return format_html_join(" · ", '<a href="{}">{}</a>', ((url, label) for label, url in links))

    # --- search: id, @username, or the text (full-text on PostgreSQL) ---
    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(pk=int(term)), False
        if term.startswith("@") or term.startswith("from:"):
            return queryset.filter(author__username=term.split(":", 1)[-1].lstrip("@")), False
        if connection.vendor == "postgresql":
            # The GIN-indexed search vector instead of a LIKE scan over every row.
            return queryset.filter(search_vector=SearchQuery(term, config=SEARCH_CONFIG)), False
        return queryset.filter(content__text__icontains=term), False

    # --- permissions: rows are never added or deleted here; history is read-only ---
    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def revert_disabled(self, request, obj=None) -> bool:
        return True  # simple-history's revert would save() past the services; ours is "revert" below

    def history_view(self, request, object_id, extra_context=None):
        # simple-history's page lists only the rows still in PostgreSQL; an
        # archived tweet's older rows live in its archive, so its full history
        # is shown on the versions page (merged through the lifecycle selector).
        tweet = Tweet.objects.filter(pk=_int_or(str(object_id), 0)).only("tier").first()
        if tweet is not None and tweet.tier != Tier.HOT:  # archived (its key derives from id and tier)
            return HttpResponseRedirect(reverse("admin:tweets_tweet_versions", args=[tweet.pk]) + "#history")
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # --- URLs of the moderation pages ---
    def get_urls(self):
        wrap = self.admin_site.admin_view
        own = [
            path("<int:object_id>/remove/", wrap(self.remove_view), name="tweets_tweet_remove"),
            path("<int:object_id>/restore/", wrap(self.restore_view), name="tweets_tweet_restore"),
            path("<int:object_id>/versions/", wrap(self.versions_view), name="tweets_tweet_versions"),
        ]
        return own + super().get_urls()

    def _moderated_tweet(self, request: HttpRequest, object_id: int) -> Tweet:
        tweet = get_object_or_404(Tweet.objects.select_related("author", "content"), pk=object_id)
        if not self.has_change_permission(request, tweet):
            raise PermissionDenied
        return tweet

    def _page(self, request: HttpRequest, template: str, title: str, **context: Any) -> TemplateResponse:
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "media": self.media,
                **context,
            },
        )

    def _change_url(self, tweet_id: int) -> str:
        return reverse("admin:tweets_tweet_change", args=[tweet_id])

    # --- remove / restore: one tweet (change page) or many (list actions) ---
    def _moderate(self, request: HttpRequest, tweet_ids: list[int], *, action: str, reason: str) -> int:
        service = services.tweet_remove if action == "remove" else services.tweet_restore
        done = 0
        for tweet_id in tweet_ids:
            try:
                service(tweet_id=tweet_id, moderator=request.user, reason=reason)
                done += 1
            except NexusError as exc:
                self.message_user(request, f"Tweet {tweet_id}: {_error_text(exc)}", messages.ERROR)
        return done

    def _moderation_view(self, request: HttpRequest, object_id: int, *, action: str) -> HttpResponse:
        tweet = self._moderated_tweet(request, object_id)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if self._moderate(request, [tweet.pk], action=action, reason=form.cleaned_data["reason"]):
                self.message_user(request, f"Tweet {tweet.pk}: {action}d.", messages.SUCCESS)
            return HttpResponseRedirect(self._change_url(tweet.pk))
        return self._page(
            request,
            "admin/tweets/moderate.html",
            f"{action.capitalize()} tweet {tweet.pk}",
            form=form,
            action=action,
            tweets=[tweet],
        )

    def remove_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return self._moderation_view(request, object_id, action="remove")

    def restore_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return self._moderation_view(request, object_id, action="restore")

    def _bulk_action(self, request: HttpRequest, queryset: QuerySet, *, action: str) -> HttpResponse | None:
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            ids = list(queryset.values_list("pk", flat=True))
            done = self._moderate(request, ids, action=action, reason=form.cleaned_data["reason"])
            self.message_user(request, f"{done} of {len(ids)} tweet(s) {action}d.", messages.SUCCESS)
            return None  # back to the list
        return self._page(
            request,
            "admin/tweets/moderate.html",
            f"{action.capitalize()} {queryset.count()} tweet(s)",
            form=form,
            action=action,
            tweets=list(queryset.select_related("author", "content")[:100]),
            bulk_action=f"{action}_tweets",
            selected=request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        )

    @admin.action(description="Remove selected tweets (with a reason)", permissions=["change"])
    def remove_tweets(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._bulk_action(request, queryset, action="remove")

    @admin.action(description="Restore selected tweets (with a reason)", permissions=["change"])
    def restore_tweets(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._bulk_action(request, queryset, action="restore")

    # --- versions, diff between any two, revert ---
    def versions_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        tweet = get_object_or_404(Tweet.objects.select_related("author", "content"), pk=object_id)
        if not self.has_view_permission(request, tweet):
            raise PermissionDenied
        can_revert = self.has_change_permission(request, tweet) and tweet.tier == Tier.HOT
        revert_form = RevertForm(request.POST or None)
        if request.method == "POST":
            if not can_revert:
                raise PermissionDenied
            if revert_form.is_valid():
                return self._revert(request, tweet, **revert_form.cleaned_data)
        versions = tweet_admin_versions(tweet)
        by_number = {v["version"]: v for v in versions}
        diff_html, a, b = "", None, None
        if versions:
            a = _int_or(request.GET.get("a"), versions[-2]["version"] if len(versions) > 1 else versions[0]["version"])
            b = _int_or(request.GET.get("b"), versions[-1]["version"])
            if a in by_number and b in by_number:
                diff_html = text_diff_html(
                    by_number[a]["text"], by_number[b]["text"], old_label=f"version {a}", new_label=f"version {b}"
                )
            else:
                self.message_user(request, "Pick two versions that exist.", messages.WARNING)
        return self._page(
            request,
            "admin/tweets/versions.html",
            f"Versions of tweet {tweet.pk}",
            tweet=tweet,
            versions=versions,
            a=a,
            b=b,
            diff_html=diff_html,
            revert_form=revert_form,
            can_revert=can_revert,
            change_url=self._change_url(tweet.pk),
            history=_history(tweet),
        )

    def _revert(self, request: HttpRequest, tweet: Tweet, *, version: int, reason: str) -> HttpResponse:
        try:
            reverted, changed = services.tweet_revert(
                tweet_id=tweet.pk, moderator=request.user, version=version, reason=reason
            )
        except NexusError as exc:
            self.message_user(request, f"Not reverted: {_error_text(exc)}", messages.ERROR)
        else:
            if changed:
                self.message_user(
                    request, f"Reverted to version {version}: now version {reverted.version}.", messages.SUCCESS
                )
            else:
                self.message_user(request, f"Version {version} is already the current content.", messages.INFO)
        return HttpResponseRedirect(reverse("admin:tweets_tweet_versions", args=[tweet.pk]))


def _history(tweet: Tweet) -> list:
    """Newest 50 history rows; an archived tweet's older rows come from its archive."""
    return tweet_history(tweet, limit=50)


def _int_or(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    """The audit log, read-only for everyone: it is written by the services."""

    list_display = ("at", "kind", "tweet_link", "moderator", "reason", "from_version", "to_version")
    list_filter = ("kind", ("at", admin.DateFieldListFilter))
    search_fields = ("=tweet__id", "moderator__username")
    list_select_related = ("moderator",)
    show_full_result_count = False

    @admin.display(description="tweet")
    def tweet_link(self, obj: ModerationAction) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:tweets_tweet_change", args=[obj.tweet_id]), obj.tweet_id
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# The admin is the moderators' and operators' home. Its header links staff to
# the operator dashboard (templates/admin/base_site.html); no "view site" link:
# the site is a JSON API.
admin.site.site_header = "Nexus moderation"
admin.site.site_title = "Nexus admin"
admin.site.site_url = None
