from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ctip.accounts import services
from ctip.accounts.models import User
from ctip.accounts.roles import ROLES
from ctip.core.actors import cli_actor
from ctip.geography.selectors import AreaCodeError, resolve_area_codes


def validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Manage users from the command line (provisioning, scripting)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Create a user holding a role in one or more areas.")
        add.add_argument("username")
        add.add_argument("--role", required=True, choices=sorted(ROLES))
        add.add_argument(
            "--area",
            required=True,
            help="Official area codes, comma-separated (KH, VN, KH-20, 200103, VN-80...).",
        )
        add.add_argument("--password", help="Without one, the user sets it from an e-mailed link.")
        add.add_argument("--email", default="")
        add.add_argument("--first-name", default="")
        add.add_argument("--last-name", default="")
        add.add_argument("--language", default="en", choices=["en", "km", "vi"])
        grant = sub.add_parser("grant", help="Give an existing user a role in more areas.")
        grant.add_argument("username")
        grant.add_argument("--role", required=True, choices=sorted(ROLES))
        grant.add_argument("--area", required=True)
        lst = sub.add_parser("list", help="List users with their roles and areas.")
        lst.add_argument("--role", choices=sorted(ROLES))

    def handle(self, *args: Any, **opts: Any) -> None:
        actor = cli_actor()
        action = opts["action"]
        if action == "list":
            users = User.objects.prefetch_related("assignments__area").order_by("username")
            if opts.get("role"):
                users = users.filter(assignments__role=opts["role"]).distinct()
            for u in users:
                held = ", ".join(
                    f"{a.role}@{a.area.country}-{a.area.code}" for a in u.assignments.all()
                )
                state = "" if u.is_active else " (deactivated)"
                self.stdout.write(f"{u.username}{state}: {held or '-'}")
            return
        codes = [c for c in opts["area"].replace(" ", ",").split(",") if c]
        if not codes:
            raise CommandError("--area: give at least one area code.")
        try:
            areas = resolve_area_codes(codes)
        except AreaCodeError as exc:
            raise CommandError(f"--area: {exc}") from None
        try:
            if action == "add":
                user = services.user_create(
                    actor=actor,
                    username=opts["username"],
                    role=opts["role"],
                    areas=areas,
                    password=opts.get("password"),
                    email=opts["email"],
                    first_name=opts["first_name"],
                    last_name=opts["last_name"],
                    language=opts["language"],
                )
                verb = "created"
            else:
                found = User.objects.filter(username=opts["username"].lower()).first()
                if found is None:
                    raise CommandError(f"No user is called {opts['username']}.")
                user = found
                services.roles_assign(actor=actor, user=user, role=opts["role"], areas=areas)
                verb = "granted"
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        where = ", ".join(f"{a.country}-{a.code} {a.name_en or a.local_name}" for a in areas)
        self.stdout.write(f"{verb}: {user.username} as {opts['role']} in {where}")
