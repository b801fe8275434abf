"""The moderators group: see and moderate tweets, media, engagement and
history; nothing about users, groups or tokens; never add or delete."""

from __future__ import annotations

from django.contrib.auth.models import Group

from nexus.roles import MODERATED_APPS, MODERATORS, roles_ensure


def _codenames() -> set[str]:
    roles_ensure()
    perms = Group.objects.get(name=MODERATORS).permissions.select_related("content_type")
    return {f"{p.content_type.app_label}.{p.codename}" for p in perms}


def test_moderators_view_the_moderated_apps_and_change_only_tweets_and_media(db):
    codes = _codenames()
    assert {"tweets.view_tweet", "tweets.view_historicaltweet", "tweets.view_moderationaction"} <= codes
    assert {"engagement.view_like", "media.view_media", "lifecycle.view_segment"} <= codes
    changes = {c for c in codes if ".change_" in c}
    assert changes == {"tweets.change_tweet", "tweets.change_historicaltweet", "media.change_media"}
    assert not any(".add_" in c or ".delete_" in c for c in codes)
    assert {c.split(".")[0] for c in codes} <= set(MODERATED_APPS)  # no auth, authtoken, sessions


def test_roles_ensure_is_idempotent(db):
    assert _codenames() == _codenames()
    assert Group.objects.filter(name=MODERATORS).count() == 1


def test_moderator_cannot_reach_users_groups_or_tokens(moderator, client):
    client.force_login(moderator)
    for url in ("/admin/auth/user/", "/admin/auth/user/add/", "/admin/auth/group/", "/admin/authtoken/tokenproxy/"):
        assert client.get(url).status_code == 403, url
    assert client.get("/admin/tweets/tweet/").status_code == 200
