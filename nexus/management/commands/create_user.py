from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from nexus.roles import MODERATORS, SERVICES, roles_ensure


class Command(BaseCommand):
    help = "Create USERNAME if missing and print 'USERNAME TOKEN' (one line per user)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--moderator", action="store_true", help="Put the user in the moderators group.")
        parser.add_argument("--service", action="store_true", help="Put the user in the services group.")
        parser.add_argument("--staff", action="store_true", help="Let the user log into the admin.")
        parser.add_argument("--count", type=int, default=None, help="Create USERNAME-1 … USERNAME-N.")

    def handle(self, *args, username: str, moderator: bool, service: bool, staff: bool, count: int | None, **opts):
        if count is not None and count < 1:
            raise CommandError("--count must be at least 1")
        names = [f"{username}-{n}" for n in range(1, count + 1)] if count else [username]
        roles_ensure()
        groups = []
        if moderator:
            groups.append(Group.objects.get(name=MODERATORS))
        if service:
            groups.append(Group.objects.get(name=SERVICES))
        User = get_user_model()
        for name in names:
            with transaction.atomic():
                user, _ = User.objects.get_or_create(username=name)
                # Moderators log into /admin/, which requires is_staff; their
                # rights come only from the group's permissions.
                if (moderator or staff) and not user.is_staff:
                    user.is_staff = True
                    user.save(update_fields=["is_staff"])
                if groups:
                    user.groups.add(*groups)
                token, _ = Token.objects.get_or_create(user=user)
            self.stdout.write(f"{name} {token.key}")
