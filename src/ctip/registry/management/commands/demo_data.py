"""`ctip demo-data --size small|large --seed N`: the synthetic demo programme."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ctip.registry import demo


class Command(BaseCommand):
    help = "Generate synthetic households and persons in the evaluation's provinces."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", choices=sorted(demo.SIZE_SPECS), default="small")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args: Any, size: str, seed: int, no_progress: bool, **options: Any) -> None:
        started = time.perf_counter()
        if demo.already_generated(size, seed):
            self.stdout.write(
                f"Demo data (size {size}, seed {seed}) is already present: nothing to do."
            )
            return
        total = demo.SIZE_SPECS[size].persons
        with tqdm(
            total=total,
            unit="persons",
            unit_scale=True,
            disable=no_progress or options["verbosity"] == 0,
            file=sys.stderr,
        ) as bar:
            try:
                result = demo.generate(size=size, seed=seed, progress=bar.update)
            except demo.DemoDataError as exc:
                raise CommandError(str(exc)) from exc
        elapsed = time.perf_counter() - started
        if not result.created:
            self.stdout.write(
                f"Demo data (size {size}, seed {seed}) is already present: nothing to do."
            )
            return
        rate = result.persons / elapsed if elapsed else 0
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {result.persons:,} persons in {result.households:,} households "
                f"({result.hamlets} new hamlets) in {elapsed:.1f} s ({rate:,.0f} persons/s)."
            )
        )
