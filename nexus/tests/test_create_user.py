import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def _run(*args) -> list[str]:
    from io import StringIO

    out = StringIO()
    call_command("create_user", *args, stdout=out)
    return out.getvalue().splitlines()


def test_prints_username_and_token_and_is_idempotent():
    first = _run("carol")
    again = _run("carol")

    assert first == again
    username, token = first[0].split()
    assert username == "carol" and Token.objects.get(user__username="carol").key == token


def test_count_creates_numbered_users():
    lines = _run("load", "--count", "3")
    assert [line.split()[0] for line in lines] == ["load-1", "load-2", "load-3"]


def test_moderator_joins_the_group_and_may_use_the_admin():
    _run("mia", "--moderator")
    mia = get_user_model().objects.get(username="mia")
    assert mia.is_staff and not mia.is_superuser
    assert mia.groups.filter(name="moderators").exists()
    assert mia.has_perm("tweets.change_tweet") and not mia.has_perm("auth.change_user")


def test_count_below_one_is_an_error():
    with pytest.raises(CommandError):
        _run("x", "--count", "0")
