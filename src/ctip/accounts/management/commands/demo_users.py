from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ctip.accounts.demo import DEMO_PASSWORD, ensure_demo_users
from ctip.core.actors import cli_actor


class Command(BaseCommand):
    help = "Create one demo user per role (if missing) and print their logins."

    def handle(self, *args: Any, **opts: Any) -> None:
        rows = ensure_demo_users(cli_actor())
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for spec, created in rows:
            mark = "new" if created else "   "
            self.stdout.write(
                f"  {mark} {spec.username:<20} {spec.role:<20} {', '.join(spec.areas)}"
            )
