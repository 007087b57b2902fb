"""`ctip demo-data --size small|large --seed N`: the synthetic demo programme."""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ctip.registry import demo
from ctip.vulnerability.models import AssistanceType, TargetingList


class Command(BaseCommand):
    help = "Generate synthetic households and persons in the evaluation's provinces."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", choices=sorted(demo.SIZE_SPECS), default="small")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args: Any, size: str, seed: int, no_progress: bool, **options: Any) -> None:
        started = time.perf_counter()
        quiet = no_progress or options["verbosity"] == 0
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
        self._vulnerability(size, seed, quiet=quiet)
        self._interventions(size, seed, quiet=quiet)

    def _vulnerability(self, size: str, seed: int, *, quiet: bool) -> None:
        """Assess the young people (a baseline round 18 months ago and a recent one for
        the small demo), draw later outcomes for calibration, load the default kinds of
        assistance and build one ranked list in the demo facilitator's commune."""
        from django.utils import timezone

        from ctip.core.actors import SYSTEM
        from ctip.vulnerability import demo as vdemo
        from ctip.vulnerability import demo_outcomes, targeting

        started = time.perf_counter()
        today = timezone.localdate()
        rounds = [today - dt.timedelta(days=540), today] if size == "small" else [today]
        assessed = 0
        for as_of in rounds:
            with tqdm(unit="assessments", unit_scale=True, disable=quiet, file=sys.stderr) as bar:
                assessed += vdemo.generate_assessments(seed=seed, as_of=as_of, progress=bar.update)
        # Unsafe migration is common among the young in these provinces: 12% within a year.
        outcomes = demo_outcomes.generate_outcomes(seed=seed, as_of=today, rate=0.12)
        targeting.load_default_assistance_types(actor=SYSTEM)
        built = ""
        training = AssistanceType.objects.filter(code="vocational-training").first()
        if training is not None and not TargetingList.objects.exists():
            commune = demo.demo_area("20")
            made = targeting.targeting_list_build(
                actor=SYSTEM, assistance_type=training, area=commune, as_of=today
            )
            built = f"; a {training.name} list of {made.entries.count()} in {commune.name}"
        demo.refresh_statistics()
        self.stdout.write(
            self.style.SUCCESS(
                f"Assessed {assessed:,} young people, added {outcomes:,} later outcomes"
                f"{built} in {time.perf_counter() - started:.1f} s."
            )
        )

    def _interventions(self, size: str, seed: int, *, quiet: bool) -> None:
        """What the demo persons received: awareness events, courses, loans, savings
        groups, activities, education support, participation and follow-up visits."""
        from django.utils import timezone

        from ctip.interventions import demo as idemo

        previous = idemo.already_generated()
        if previous is not None:
            self.stdout.write("Demo interventions are already present: nothing to do.")
            return
        started = time.perf_counter()
        with tqdm(
            total=demo.SIZE_SPECS[size].persons,
            unit="persons",
            unit_scale=True,
            disable=quiet,
            file=sys.stderr,
        ) as bar:
            try:
                made = idemo.generate_interventions(
                    seed=seed, as_of=timezone.localdate(), size=size, progress=bar.update
                )
            except demo.DemoDataError as exc:
                raise CommandError(str(exc)) from exc
        demo.refresh_statistics()
        self.stdout.write(
            self.style.SUCCESS(
                f"Recorded interventions: {made.get('attendance', 0):,} attendances at "
                f"{made.get('awareness_events', 0):,} awareness events, "
                f"{made.get('enrolments', 0):,} enrolments in {made.get('courses', 0):,} courses, "
                f"{made.get('loans', 0):,} loans, {made.get('savings_groups', 0):,} savings "
                f"groups, {made.get('igas', 0):,} activities, "
                f"{made.get('education_supports', 0):,} education supports, "
                f"{made.get('participants', 0):,} participations, "
                f"{made.get('follow_ups', 0):,} follow-up visits "
                f"in {time.perf_counter() - started:.1f} s."
            )
        )
