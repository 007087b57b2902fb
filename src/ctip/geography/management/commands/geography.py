"""`ctip geography load [--force]`: load or bring up to date the official geographies."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ctip.geography import loaders


class Command(BaseCommand):
    help = "Administrative areas: `load` the official lists (countries, Cambodia, Viet Nam)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        load = sub.add_parser("load", help="Load or update every source; a no-op if unchanged.")
        load.add_argument(
            "--force", action="store_true", help="Re-read every source even if unchanged."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "load":
            started = time.perf_counter()
            result = loaders.load(
                force=options["force"],
                progress=sys.stderr.isatty() and options["verbosity"] > 0,
                stderr=sys.stderr,
            )
            seconds = time.perf_counter() - started
            if options["verbosity"] > 0:
                self.stdout.write(f"{result.summary()} ({seconds:.2f} s)")
