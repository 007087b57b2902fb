from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ctip.accounts import services
from ctip.accounts.management.commands.user import validation_message
from ctip.accounts.models import User
from ctip.core.actors import cli_actor


class Command(BaseCommand):
    help = "Print a new API token for USERNAME (use it as 'Authorization: Token <key>')."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = User.objects.filter(username=opts["username"].lower()).first()
        if user is None:
            raise CommandError(f"No user is called {opts['username']}.")
        try:
            token = services.token_issue(actor=cli_actor(), user=user)
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        self.stdout.write(token.key)
