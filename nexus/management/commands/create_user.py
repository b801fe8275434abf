import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from nexus.roles import MODERATORS, SERVICES, roles_ensure


class Command(BaseCommand):
    help = (
        "Create USERNAME if missing and print 'USERNAME TOKEN' (one line per user). "
        "--moderator: may log into /admin/ and moderate tweets; --staff: may log into /admin/ "
        "and open the operator dashboard /ops/, with no moderation rights. "
        "Logging into the admin needs a password: --password (asks twice) or --password-stdin."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--moderator", action="store_true", help="Staff, in the moderators group (moderate tweets in /admin/)."
        )
        parser.add_argument("--service", action="store_true", help="Put the user in the services group.")
        parser.add_argument(
            "--staff", action="store_true", help="May log into /admin/ and see the operator dashboard /ops/."
        )
        parser.add_argument("--count", type=int, default=None, help="Create USERNAME-1 … USERNAME-N.")
        password = parser.add_mutually_exclusive_group()
        password.add_argument(
            "--password", action="store_true", help="Ask for a password (twice, not echoed) and set it."
        )
        password.add_argument(
            "--password-stdin", action="store_true", help="Read the password from the first line of stdin."
        )

    def handle(self, *args, username: str, moderator: bool, service: bool, staff: bool, count: int | None, **opts):
        if count is not None and count < 1:
            raise CommandError("--count must be at least 1")
        names = [f"{username}-{n}" for n in range(1, count + 1)] if count else [username]
        raw_password = self._password_read(stdin=opts["password_stdin"], prompt=opts["password"])
        if raw_password is not None:
            if count:
                raise CommandError("a password is set for one user at a time (not with --count)")
            try:
                validate_password(raw_password, get_user_model()(username=username))
            except ValidationError as exc:
                raise CommandError("password refused: " + " ".join(exc.messages)) from exc
        roles_ensure()
        groups = []
        if moderator:
            groups.append(Group.objects.get(name=MODERATORS))
        if service:
            groups.append(Group.objects.get(name=SERVICES))
        User = get_user_model()
        for name in names:
            with transaction.atomic():
                # Token-only until a password is set: no one logs in with an empty one.
                user, _ = User.objects.get_or_create(username=name, defaults={"password": make_password(None)})
                # Moderators log into /admin/, which requires is_staff; their
                # rights come only from the group's permissions.
                if (moderator or staff) and not user.is_staff:
                    user.is_staff = True
                    user.save(update_fields=["is_staff"])
                if raw_password is not None:
                    user.set_password(raw_password)
                    user.save(update_fields=["password"])
                if groups:
                    user.groups.add(*groups)
                token, _ = Token.objects.get_or_create(user=user)
            self.stdout.write(f"{name} {token.key}")

    def _password_read(self, *, stdin: bool, prompt: bool) -> str | None:
        if stdin:
            value = sys.stdin.readline().rstrip("\r\n")
            if not value:
                raise CommandError("--password-stdin: stdin gave no password")
            return value
        if prompt:
            first = getpass.getpass("Password: ")
            if first != getpass.getpass("Password (again): "):
                raise CommandError("the two passwords differ")
            if not first:
                raise CommandError("empty password")
            return first
        return None
