from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ctip.core import audit


class Command(BaseCommand):
    help = "Audit trail tools: `ctip audit verify` proves no event was altered or removed."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="Walk the hash chain and report the first broken link.")

    def handle(self, *args: Any, **opts: Any) -> None:
        result = audit.verify()
        if not result.ok:
            where = f" at event {result.broken_at}" if result.broken_at else ""
            raise CommandError(
                f"audit trail BROKEN{where}: {result.reason} "
                f"({result.checked} events verified before it)"
            )
        self.stdout.write(f"audit trail intact: {result.checked} events verified")
