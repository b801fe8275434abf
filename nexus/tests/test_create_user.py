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


def test_password_stdin_sets_a_password_the_admin_login_accepts(monkeypatch, client):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("Moderate-with-care-42\n"))
    _run("mod1", "--moderator", "--password-stdin")
    mod = get_user_model().objects.get(username="mod1")
    assert mod.check_password("Moderate-with-care-42")
    assert client.login(username="mod1", password="Moderate-with-care-42")
    assert client.get("/admin/").status_code == 200


def test_password_prompt_asks_twice_and_refuses_a_mismatch(monkeypatch):
    answers = iter(["Staff-pass-0451", "Staff-pass-0451", "one-Pass-991", "another-Pass-992"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    _run("ops1", "--staff", "--password")
    assert get_user_model().objects.get(username="ops1").check_password("Staff-pass-0451")
    with pytest.raises(CommandError, match="differ"):
        _run("ops2", "--staff", "--password")
    assert not get_user_model().objects.filter(username="ops2").exists()


def test_a_weak_password_is_refused_with_the_validators_reason(monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("password\n"))
    with pytest.raises(CommandError, match="too common"):
        _run("weak", "--moderator", "--password-stdin")


def test_without_a_password_option_no_password_is_set():
    _run("tokenonly", "--moderator")
    assert not get_user_model().objects.get(username="tokenonly").has_usable_password()
