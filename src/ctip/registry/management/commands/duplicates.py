"""`ctip duplicates find [--area CODE]` and `ctip duplicates list [--area CODE]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ctip.core.actors import cli_actor
from ctip.geography.models import Area
from ctip.geography.selectors import AreaCodeError
from ctip.registry import dedup
from ctip.registry.models import CandidateStatus
from ctip.registry.selectors import areas_for_code


def _areas(code: str | None) -> list[Area]:
    if not code:
        return []
    try:
        return areas_for_code(code)
    except AreaCodeError as exc:
        raise CommandError(f"--area: {exc}") from None


class Command(BaseCommand):
    help = "Find possible duplicate person records, and list those still to review."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        find = sub.add_parser(
            "find", help="Compare persons and store pairs that may be the same person."
        )
        find.add_argument(
            "--area", help="Only persons in this area and below (KH-20, 200103, VN-80...)."
        )
        find.add_argument(
            "--threshold",
            type=float,
            default=dedup.THRESHOLD,
            help=f"Lowest score stored (0 to 1, default {dedup.THRESHOLD}).",
        )
        lst = sub.add_parser("list", help="List the possible duplicates still to review.")
        lst.add_argument("--area", help="Only pairs with a person in this area or below.")
        lst.add_argument("--min-score", type=float, default=0.0)

    def handle(self, *args: Any, **opts: Any) -> None:
        actor = cli_actor()
        areas = _areas(opts.get("area"))
        if opts["action"] == "find":
            if not 0 <= opts["threshold"] <= 1:
                raise CommandError("--threshold: give a number from 0 to 1.")
            s = dedup.find_duplicates(actor=actor, area=areas or None, threshold=opts["threshold"])
            self.stdout.write(
                f"{s.persons:,} persons, {s.blocks:,} blocks, {s.pairs_compared:,} pairs scored: "
                f"{s.found:,} possible duplicates ({s.created:,} new, {s.updated:,} updated, "
                f"{s.unchanged:,} unchanged, {s.already_decided:,} already decided)."
            )
            if s.withdrawn:
                self.stdout.write(
                    f"{s.withdrawn:,} pairs found earlier no longer look alike: withdrawn."
                )
            if s.skipped_blocks:
                self.stdout.write(
                    self.style.WARNING(
                        f"{s.skipped_blocks:,} blocks of more than {dedup.MAX_BLOCK:,} persons "
                        f"({s.skipped_block_persons:,} persons) were too large to compare."
                    )
                )
            return
        qs = dedup.candidates_visible_to(actor).filter(
            status=CandidateStatus.OPEN, score__gte=opts["min_score"]
        )
        if areas:
            qs = dedup.candidates_in_area(qs, areas)
        qs = qs.select_related(
            "person_a__household__village", "person_b__household__village"
        ).order_by("-score", "id")
        count = 0
        for c in qs.iterator(chunk_size=500):
            count += 1
            a, b = c.person_a, c.person_b
            self.stdout.write(
                f"{c.pk}\t{c.score:.2f}\t#{a.pk} {a.full_name} ({a.household.village.code})"
                f"\t#{b.pk} {b.full_name} ({b.household.village.code})"
            )
            for sentence in dedup.reasons_text(c.reasons):
                self.stdout.write(f"\t\t{sentence}")
        self.stdout.write(f"{count:,} possible duplicates to review.")
