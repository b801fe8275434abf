"""The two non-user roles: `moderators` (admin, moderation rights only) and
`services` (service tokens, e.g. the timeline builder reading the event feed)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

MODERATORS = "moderators"
SERVICES = "services"
MODERATED_APPS = ("tweets", "engagement", "media", "lifecycle")
# Moderators see everything in the moderated apps and change only tweets and
# media; user, group and token management is not theirs.
MODERATOR_CHANGE_MODELS = ("tweet", "historicaltweet", "media")


def roles_ensure() -> None:
    moderators, _ = Group.objects.get_or_create(name=MODERATORS)
    Group.objects.get_or_create(name=SERVICES)
    permissions = Permission.objects.filter(content_type__app_label__in=MODERATED_APPS)
    wanted = [
        p
        for p in permissions.select_related("content_type")
        if p.codename.startswith("view_")
        or (p.codename.startswith("change_") and p.content_type.model in MODERATOR_CHANGE_MODELS)
    ]
    moderators.permissions.set(wanted)


def roles_ensure_after_migrate(sender, **kwargs) -> None:
    if sender.name == "nexus" or sender.name in MODERATED_APPS:
        roles_ensure()


def user_is_moderator(user) -> bool:
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=MODERATORS).exists()


def user_can_read_events(user) -> bool:
    if not user or not user.is_authenticated:
        return False
    return user.is_superuser or user.groups.filter(name__in=[MODERATORS, SERVICES]).exists()
