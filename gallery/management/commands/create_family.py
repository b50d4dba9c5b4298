from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from gallery.models import Membership
from gallery.services import families_named_as, family_create, membership_add
from gallery.text import one_line


class Command(BaseCommand):
    help = "Create a family (or update an existing one's members) from the command line."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--admin", required=True, help="username of the family admin")
        parser.add_argument("--member", action="append", default=[], help="username of a member (repeatable)")

    @transaction.atomic
    def handle(self, *args, name, admin, member, **options):
        users = get_user_model().objects
        found = {user.username: user for user in users.filter(username__in=[admin, *member])}
        unknown = [username for username in [admin, *member] if username not in found]
        if unknown:
            raise CommandError(f"No such user: {', '.join(unknown)}.")
        admin_user, members = found[admin], [found[username] for username in member]
        # Names are not unique on the site: a rerun updates the family of that name the admin is already in.
        # (read as family_create's refusal reads it, families_named_as: "STRASSE" is the admin's "Straße")
        named = families_named_as(one_line(name), user=admin_user)
        family = named[0] if named else None
        try:
            if family is None:
                family = family_create(name=name, admin=admin_user)
                self.stdout.write(f"Created family “{family}” with admin {admin_user}.")
            else:
                was = Membership.objects.filter(family=family, user=admin_user).values_list("role", flat=True).first()
                membership_add(family=family, user=admin_user, role=Membership.Role.ADMIN)
                # A plain member made its admin is a change of role: said as one.
                self.stdout.write(f"Family “{family}” exists; {admin_user} is an admin." if was == Membership.Role.ADMIN
                                  else f"Family “{family}” exists; {admin_user}, a member of it, is now an admin too.")
            for user in members:
                if user == admin_user:
                    continue
                # Someone already in it keeps their role: a rerun must not demote an admin made on the family page.
                if role := Membership.objects.filter(family=family, user=user).values_list("role", flat=True).first():
                    as_what = "an admin" if role == Membership.Role.ADMIN else "a member"
                    self.stdout.write(f"{user} is already in it, as {as_what}.")
                    continue
                membership_add(family=family, user=user, role=Membership.Role.MEMBER)
                self.stdout.write(f"Added {user} as a member.")
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
