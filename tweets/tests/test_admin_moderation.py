"""The moderators' admin: permissions, the tweet list (filters, search, a
bounded number of queries), remove / restore with a reason, versions, diff,
revert. Every change is checked where it lands: the API, the outbox, the
simple-history record and the ModerationAction audit row."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.services import tweet_delete, tweet_edit, tweet_remove, tweet_revert
from media.tests.factories import jpeg_bytes
from tweets.models import ModerationAction, OutboxEvent, Tweet
from tweets.tests.factories import make_tweet

CHANGELIST = "/admin/tweets/tweet/"


@pytest.fixture
def mod_client(moderator) -> Client:
    client = Client()
    client.force_login(moderator)
    return client


def _ids_listed(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


# --- permissions ------------------------------------------------------------------------------------
def test_moderator_may_use_the_tweet_admin_but_not_users_groups_or_tokens(mod_client, user):
    tweet = make_tweet(user, "moderate me")
    assert mod_client.get(CHANGELIST).status_code == 200
    assert mod_client.get(f"{CHANGELIST}{tweet.pk}/change/").status_code == 200
    assert mod_client.get("/admin/auth/user/").status_code == 403
    assert mod_client.get("/admin/auth/group/").status_code == 403
    assert mod_client.get("/admin/authtoken/tokenproxy/").status_code == 403
    assert mod_client.get(f"/admin/auth/user/{user.pk}/change/").status_code == 403
    index = mod_client.get("/admin/").content.decode()
    assert "Tweets" in index and "/admin/auth/user/" not in index


def test_a_user_without_the_moderator_role_gets_nothing(user, make_user):
    staff = make_user("staffer", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get(CHANGELIST).status_code == 403
    tweet = make_tweet(user, "not yours")
    assert client.post(reverse("admin:tweets_tweet_remove", args=[tweet.pk]), {"reason": "x"}).status_code == 403
    assert Tweet.objects.get(pk=tweet.pk).removed_at is None


def test_nobody_deletes_or_adds_tweets_in_the_admin(mod_client, make_user, user):
    tweet = make_tweet(user, "rows stay for audit")
    admin_user = make_user("root", is_staff=True, is_superuser=True)
    root = Client()
    root.force_login(admin_user)
    assert root.get(f"{CHANGELIST}{tweet.pk}/delete/").status_code == 403
    assert root.get(f"{CHANGELIST}add/").status_code == 403
    assert "delete_selected" not in root.get(CHANGELIST).content.decode()


# --- the list: filters, search, queries ---------------------------------------------------------------
def test_filters_state_tier_author_date_media_and_visibility(mod_client, user, other_user, ready_media):
    media_id = ready_media(user)
    plain = make_tweet(user, "plain words")
    with_media = make_tweet(user, "look at this", media_ids=[media_id])
    by_bob = make_tweet(other_user, "bob speaks")
    draft = make_tweet(user, "unfinished", draft=True)
    old = make_tweet(other_user, "last year")
    Tweet.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400), tier="cold")
    removed = make_tweet(user, "spam spam")
    tweet_remove(tweet_id=removed.pk, moderator=_mod(), reason="spam")

    def listed(query: str) -> set[int]:
        response = mod_client.get(f"{CHANGELIST}?{query}")
        assert response.status_code == 200
        return _ids_listed(response)

    everyone = {plain.pk, with_media.pk, by_bob.pk, draft.pk, old.pk, removed.pk}
    assert listed("") == everyone
    assert listed("state__exact=draft") == {draft.pk}
    assert listed("tier__exact=cold") == {old.pk}
    assert listed("author=bob") == {by_bob.pk, old.pk}
    assert listed("author=%40bob") == {by_bob.pk, old.pk}
    assert listed("has_media=yes") == {with_media.pk}
    assert plain.pk in listed("has_media=no") and with_media.pk not in listed("has_media=no")
    assert listed("visibility=removed") == {removed.pk}
    assert removed.pk not in listed("visibility=visible")
    since = (timezone.now() - timedelta(days=7)).date().isoformat()
    assert old.pk not in listed(f"created_at__gte={since}") and plain.pk in listed(f"created_at__gte={since}")
    # Filters combine, and the author box keeps the others.
    page = mod_client.get(f"{CHANGELIST}?author=alice&state__exact=published").content.decode()
    assert 'name="state__exact" value="published"' in page


def test_search_by_text_id_and_username(mod_client, user, other_user):
    cats = make_tweet(user, "I like cats a lot")
    dogs = make_tweet(other_user, "dogs are fine too")
    assert _ids_listed(mod_client.get(CHANGELIST, {"q": "cats"})) == {cats.pk}
    assert _ids_listed(mod_client.get(CHANGELIST, {"q": str(dogs.pk)})) == {dogs.pk}
    assert _ids_listed(mod_client.get(CHANGELIST, {"q": "@bob"})) == {dogs.pk}
    assert _ids_listed(mod_client.get(CHANGELIST, {"q": "from:alice"})) == {cats.pk}


def test_the_list_costs_the_same_queries_for_3_or_40_tweets(mod_client, user, django_assert_max_num_queries):
    for i in range(3):
        make_tweet(user, f"tweet {i}")
    with django_assert_max_num_queries(12) as small:
        assert mod_client.get(CHANGELIST).status_code == 200
    for i in range(37):
        make_tweet(user, f"more {i}")
    with django_assert_max_num_queries(len(small.captured_queries)) as big:
        response = mod_client.get(CHANGELIST)
    assert len(_ids_listed(response)) == 40
    # show_full_result_count=False: only the paginator's count, no second full-table COUNT(*).
    counts = [q["sql"] for q in big.captured_queries if "COUNT(" in q["sql"].upper() and "tweets_tweet" in q["sql"]]
    assert len(counts) == 1


# --- remove / restore -------------------------------------------------------------------------------------
def test_bulk_remove_needs_a_reason_then_audits_and_hides_the_tweet(mod_client, moderator, user, anon_client):
    tweets = [make_tweet(user, f"bad {i}") for i in range(2)]
    keep = make_tweet(user, "fine")
    ids = [str(t.pk) for t in tweets]
    assert anon_client.get(f"/api/v1/tweets/{ids[0]}").status_code == 200  # cached now

    # The action shows the reason form first; an empty reason changes nothing.
    form = mod_client.post(CHANGELIST, {"action": "remove_tweets", "_selected_action": ids})
    assert form.status_code == 200 and b'name="reason"' in form.content
    blank = mod_client.post(
        CHANGELIST, {"action": "remove_tweets", "_selected_action": ids, "apply": "1", "reason": " "}
    )
    assert blank.status_code == 200 and b"This field is required" in blank.content
    assert Tweet.objects.filter(removed_at__isnull=False).count() == 0

    done = mod_client.post(
        CHANGELIST, {"action": "remove_tweets", "_selected_action": ids, "apply": "1", "reason": "spam wave"}
    )
    assert done.status_code == 302
    for tweet_id in ids:
        assert anon_client.get(f"/api/v1/tweets/{tweet_id}").status_code == 404
        row = Tweet.objects.get(pk=tweet_id)
        assert row.removed_reason == "spam wave"
        assert row.history.latest().history_change_reason == "removed: spam wave"
        assert row.history.latest().history_user == moderator
        assert OutboxEvent.objects.filter(tweet_id=tweet_id, type="tweet.removed").count() == 1
    assert anon_client.get(f"/api/v1/tweets/{keep.pk}").status_code == 200
    audit = list(ModerationAction.objects.order_by("tweet_id").values_list("tweet_id", "kind", "moderator", "reason"))
    assert audit == [(int(i), "removed", moderator.pk, "spam wave") for i in sorted(ids)]


def test_remove_and_restore_one_tweet_from_its_page(mod_client, moderator, user, anon_client):
    tweet = make_tweet(user, "borderline")
    remove_url = reverse("admin:tweets_tweet_remove", args=[tweet.pk])
    assert mod_client.get(remove_url).status_code == 200
    assert mod_client.post(remove_url, {"reason": ""}).status_code == 200  # form again, with the error
    assert anon_client.get(f"/api/v1/tweets/{tweet.pk}").status_code == 200

    assert mod_client.post(remove_url, {"reason": "harassment"}).status_code == 302
    assert anon_client.get(f"/api/v1/tweets/{tweet.pk}").status_code == 404
    page = mod_client.get(f"{CHANGELIST}{tweet.pk}/change/").content.decode()
    assert "harassment" in page and "restore with a reason" in page

    restore_url = reverse("admin:tweets_tweet_restore", args=[tweet.pk])
    assert mod_client.post(restore_url, {"reason": "appeal upheld"}).status_code == 302
    assert anon_client.get(f"/api/v1/tweets/{tweet.pk}").status_code == 200
    assert list(ModerationAction.objects.filter(tweet=tweet).order_by("at", "id").values_list("kind", "reason")) == [
        ("removed", "harassment"),
        ("restored", "appeal upheld"),
    ]
    assert list(OutboxEvent.objects.filter(tweet_id=tweet.pk).values_list("type", flat=True)) == [
        "tweet.created",
        "tweet.removed",
        "tweet.restored",
    ]


def test_unknown_tweet_pages_are_404(mod_client):
    assert mod_client.get(reverse("admin:tweets_tweet_remove", args=[123456789])).status_code == 404
    assert mod_client.get(reverse("admin:tweets_tweet_versions", args=[123456789])).status_code == 404


# --- change page: engagement and media ------------------------------------------------------------------------
def test_change_page_shows_engagement_counts_and_media_thumbnails(mod_client, user, client_bob, ready_media):
    media_id = ready_media(user)
    tweet = make_tweet(user, "with a picture", media_ids=[media_id])
    assert client_bob.post(f"/api/v1/tweets/{tweet.pk}/like").status_code == 200
    page = mod_client.get(f"{CHANGELIST}{tweet.pk}/change/").content.decode()
    assert "likes: <b>1</b>" in page
    assert f'href="/admin/media/media/{media_id}/change/"' in page
    assert "<img src=" in page and "thumb" in page


# --- versions, diff, revert -------------------------------------------------------------------------------------
def test_versions_page_diffs_any_two_versions(mod_client, user):
    tweet = make_tweet(user, "the quick brown fox")
    tweet_edit(tweet_id=tweet.pk, actor=user, text="the quick red fox")
    tweet_edit(tweet_id=tweet.pk, actor=user, text="a slow red fox")
    url = reverse("admin:tweets_tweet_versions", args=[tweet.pk])
    page = mod_client.get(url, {"a": 1, "b": 3}).content.decode()
    assert "version 1" in page and "version 3" in page
    # Word level: the changed words, not whole lines, are marked.
    assert "<del>the</del><ins>a</ins>" in page
    assert "<del>quick</del><ins>slow</ins>" in page and "<del>brown</del><ins>red</ins>" in page
    assert "<del>fox" not in page and "<ins>fox" not in page  # the unchanged word stays plain
    assert 'class="word-diff"' in page and '<table class="diff"' not in page
    assert mod_client.get(url, {"a": 1, "b": 9}).status_code == 200  # a missing version is a message, not a 500
    assert mod_client.get(url, {"a": "x"}).status_code == 200


def test_revert_makes_a_new_version_even_after_the_edit_window(mod_client, moderator, user, anon_client, settings):
    tweet = make_tweet(user, "original words")
    tweet_edit(tweet_id=tweet.pk, actor=user, text="vandalised words")
    Tweet.objects.filter(pk=tweet.pk).update(
        published_at=timezone.now() - timedelta(seconds=settings.NEXUS_EDIT_WINDOW_SECONDS + 60)
    )
    url = reverse("admin:tweets_tweet_versions", args=[tweet.pk])
    assert mod_client.post(url, {"version": 1, "reason": ""}).status_code == 200  # reason required
    assert mod_client.post(url, {"version": 1, "reason": "restore the author's words"}).status_code == 302

    body = anon_client.get(f"/api/v1/tweets/{tweet.pk}").json()
    assert (body["text"], body["version"]) == ("original words", 3)
    versions = anon_client.get(f"/api/v1/tweets/{tweet.pk}/versions").json()["results"]
    assert [v["text"] for v in versions] == ["original words", "vandalised words", "original words"]
    action = ModerationAction.objects.get(tweet=tweet)
    assert (action.kind, action.moderator, action.from_version, action.to_version) == ("reverted", moderator, 1, 3)
    assert Tweet.objects.get(pk=tweet.pk).history.latest().history_change_reason.startswith("reverted to v1")
    assert OutboxEvent.objects.filter(tweet_id=tweet.pk, type="tweet.edited").count() == 2


def test_revert_service_rules(moderator, user):
    tweet = make_tweet(user, "one")
    with pytest.raises(Exception, match="reason"):
        tweet_revert(tweet_id=tweet.pk, moderator=moderator, version=1, reason="  ")
    with pytest.raises(Exception, match="no version 7"):
        tweet_revert(tweet_id=tweet.pk, moderator=moderator, version=7, reason="x")
    same, changed = tweet_revert(tweet_id=tweet.pk, moderator=moderator, version=1, reason="no-op")
    assert (same.version, changed) == (1, False)
    assert not ModerationAction.objects.exists()
    Tweet.objects.filter(pk=tweet.pk).update(tier="warm")
    with pytest.raises(Exception, match="archived"):
        tweet_revert(tweet_id=tweet.pk, moderator=moderator, version=1, reason="x")


def test_simple_history_cannot_save_past_the_services(mod_client, user):
    tweet = make_tweet(user, "history is read-only")
    record = Tweet.objects.get(pk=tweet.pk).history.earliest()
    url = f"{CHANGELIST}{tweet.pk}/history/{record.history_id}/"
    assert mod_client.get(url).status_code == 200
    assert mod_client.post(url, {}).status_code == 403
    assert mod_client.get(f"{CHANGELIST}{tweet.pk}/history/").status_code == 200


def test_the_audit_log_is_read_only(mod_client, moderator, user):
    tweet = make_tweet(user, "x")
    tweet_remove(tweet_id=tweet.pk, moderator=moderator, reason="because")
    action = ModerationAction.objects.get()
    assert b"because" in mod_client.get("/admin/tweets/moderationaction/").content
    assert mod_client.post(f"/admin/tweets/moderationaction/{action.pk}/change/", {"reason": "x"}).status_code == 403
    assert mod_client.post(f"/admin/tweets/moderationaction/{action.pk}/delete/", {"post": "yes"}).status_code == 403


# --- helpers -------------------------------------------------------------------------------------------------------
def _mod():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="mod")


@pytest.fixture
def ready_media(django_capture_on_commit_callbacks):
    """Upload a JPEG as `owner` and let its processing task (eager) run on commit."""

    def _ready(owner) -> int:
        from media.models import MediaStatus
        from media.services import media_upload

        with django_capture_on_commit_callbacks(execute=True):
            media = media_upload(owner=owner, file=io.BytesIO(jpeg_bytes(320, 240)), alt_text="a picture")
        media.refresh_from_db()
        assert media.status == MediaStatus.READY
        return media.pk

    return _ready


def test_an_archived_tweet_shows_its_text_and_versions_from_the_archive(mod_client, user, moderator, anon_client):
    from lifecycle import services as lifecycle_services

    tweet = make_tweet(user, "words before archiving")
    tweet_edit(tweet_id=tweet.pk, actor=user, text="words after an edit")
    moment = timezone.now() - timedelta(days=10)
    Tweet.objects.filter(pk=tweet.pk).update(created_at=moment, published_at=moment)
    lifecycle_services.lifecycle_run_due()
    assert Tweet.objects.get(pk=tweet.pk).tier == "warm"

    listed = mod_client.get(CHANGELIST).content.decode()
    assert "(warm: in the archive)" in listed
    assert "words after an edit" in mod_client.get(f"{CHANGELIST}{tweet.pk}/change/").content.decode()
    page = mod_client.get(reverse("admin:tweets_tweet_versions", args=[tweet.pk]), {"a": 1, "b": 2}).content.decode()
    assert "words before archiving" in page and "read-only" in page
    assert 'id="revert-form"' not in page
    # Removal works in every tier and is 404 in the API at once.
    assert anon_client.get(f"/api/v1/tweets/{tweet.pk}").status_code == 200
    tweet_remove(tweet_id=tweet.pk, moderator=moderator, reason="old abuse found")
    assert anon_client.get(f"/api/v1/tweets/{tweet.pk}").status_code == 404


# --- what a moderator sees: labels, banner, author link, names and times, word diff --------------
def test_text_diff_is_word_level_and_escaped():
    from api.admin import text_diff_html

    html = str(text_diff_html("keep <b>this</b> and that", "keep <b>this</b> or that", old_label="v1", new_label="v2"))
    assert "<del>and</del><ins>or</ins>" in html
    assert "&lt;b&gt;this&lt;/b&gt;" in html and "<b>this</b>" not in html
    assert str(text_diff_html("same", "same", old_label="a", new_label="b")).count("<del>") == 1  # the legend only


def test_removed_and_deleted_tweets_are_labelled_in_the_list_and_on_their_page(mod_client, moderator, user):
    shown = make_tweet(user, "still here")
    removed = make_tweet(user, "removed by us")
    deleted = make_tweet(user, "deleted by alice")
    tweet_remove(tweet_id=removed.pk, moderator=moderator, reason="spam link")
    tweet_delete(tweet_id=deleted.pk, actor=user)

    listed = mod_client.get(CHANGELIST).content.decode()
    assert listed.count('class="tweet-status tweet-status-removed">Removed<') == 1
    assert listed.count('class="tweet-status tweet-status-deleted">Deleted by author<') == 1
    assert "tweet-status-published" in listed

    page = mod_client.get(f"{CHANGELIST}{removed.pk}/change/").content.decode()
    assert 'id="tweet-banner"' in page and "Removed by a moderator" in page and "spam link" in page
    assert "Published (hidden: removed by a moderator)" in page  # the row's state, not a bare "Published"
    assert page.count("data-local-time") >= 3  # created, published, removed (and the banner) in local time
    assert "Deleted by its author" in mod_client.get(f"{CHANGELIST}{deleted.pk}/change/").content.decode()
    assert 'id="tweet-banner"' not in mod_client.get(f"{CHANGELIST}{shown.pk}/change/").content.decode()


def test_the_author_link_filters_the_list_instead_of_opening_the_user_admin(mod_client, user, other_user):
    mine = make_tweet(user, "alice's")
    make_tweet(other_user, "bob's")
    listed = mod_client.get(CHANGELIST).content.decode()
    assert 'href="/admin/tweets/tweet/?author=alice"' in listed
    assert "/admin/auth/user/" not in listed
    page = mod_client.get(f"{CHANGELIST}{mine.pk}/change/").content.decode()
    assert 'href="/admin/tweets/tweet/?author=alice"' in page and "/admin/auth/user/" not in page
    filtered = mod_client.get(CHANGELIST, {"author": "alice"})
    assert [t.author.username for t in filtered.context["cl"].result_list] == ["alice"]


def test_versions_show_usernames_and_local_times_and_revert_picks_from_the_list(mod_client, moderator, user):
    tweet = make_tweet(user, "first words")
    tweet_edit(tweet_id=tweet.pk, actor=user, text="second words")
    url = reverse("admin:tweets_tweet_versions", args=[tweet.pk])
    page = mod_client.get(url).content.decode()
    assert "<td>alice</td>" in page and "user " not in page
    assert page.count("data-local-time") >= 2
    # One radio per version that is not the current one, tied to the revert form.
    assert 'id="revert-to-1"' in page and 'form="revert-form"' in page and 'id="revert-to-2"' not in page
    assert mod_client.post(url, {"version": "1", "reason": "back to the author's first words"}).status_code == 302
    assert Tweet.objects.get(pk=tweet.pk).version == 3


def test_an_archived_tweets_versions_name_their_authors(mod_client, user):
    from lifecycle import services as lifecycle_services

    tweet = make_tweet(user, "words before archiving")
    tweet_edit(tweet_id=tweet.pk, actor=user, text="words after an edit")
    moment = timezone.now() - timedelta(days=10)
    # Due by its publication time alone (the due queue is an index over the rows).
    Tweet.objects.filter(pk=tweet.pk).update(created_at=moment, published_at=moment)
    lifecycle_services.lifecycle_run_due()
    assert Tweet.objects.get(pk=tweet.pk).tier == "warm"

    page = mod_client.get(reverse("admin:tweets_tweet_versions", args=[tweet.pk])).content.decode()
    versions_table = page[page.index('id="versions"') : page.index("</table>", page.index('id="versions"'))]
    assert versions_table.count("<td>alice</td>") == 2 and "user " not in page
    assert page.count("data-local-time") >= 2
