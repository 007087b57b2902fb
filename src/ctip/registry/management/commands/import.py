"""`ctip import registry FILE [--dry-run] [--map COLUMN=field ...] [--sheet NAME]`:
households and persons from a CSV (UTF-8) or XLSX file, all or nothing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ctip.core.actors import cli_actor
from ctip.registry import imports
from ctip.registry.models import ImportJob


class Command(BaseCommand):
    # Reading a file needs no URL or model checks (they cost seconds on every run).
    requires_system_checks: list[str] = []
    help = (
        "Import households and persons from a CSV (UTF-8) or XLSX file, one row per person. "
        "Every row is checked first; nothing is written unless all rows are valid. "
        "Records whose external id is already in the registry are updated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["registry"], help="What to import: registry.")
        parser.add_argument("file", help="A .csv (UTF-8) or .xlsx file.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only check the file and report every problem; write nothing.",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=field",
            help=(
                "Which field a column holds, when its name is not recognised "
                "(repeatable; COLUMN= ignores the column). Fields: "
                + ", ".join(f.name for f in imports.FIELDS)
            ),
        )
        parser.add_argument("--sheet", default="", help="The XLSX sheet (default: the first).")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        columns: dict[str, str] = {}
        for item in options["map"]:
            column, sep, field = item.partition("=")
            if not sep:
                raise CommandError(f"--map {item!r}: write it as COLUMN=field.")
            columns[column.strip()] = field.strip()
        actor = cli_actor()
        try:
            job = imports.import_job_create(
                actor=actor,
                path=path.resolve(),
                original_name=path.name,
                sheet=options["sheet"],
                columns=columns,
            )
            self._report_columns(job, options["verbosity"])
            errors = imports.mapping_errors(imports.headers_of(job), imports.columns_of(job))
            if errors:
                raise CommandError(
                    "\n".join(errors) + "\nUse --map COLUMN=field to say what a column holds."
                )
            with tqdm(
                total=job.total_rows or None,
                unit="rows",
                unit_scale=True,
                disable=options["no_progress"] or options["verbosity"] == 0,
                file=sys.stderr,
            ) as bar:

                def progress(done: int) -> None:
                    bar.update(done - bar.n)

                if options["dry_run"]:
                    outcome = imports.import_job_check(actor=actor, job=job, progress=progress)
                else:
                    outcome = imports.import_job_run(actor=actor, job=job, progress=progress)
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from exc
        self._report(job, outcome, dry_run=options["dry_run"])

    def _report_columns(self, job: ImportJob, verbosity: int) -> None:
        columns = imports.columns_of(job)
        ignored = [h for h, f in columns.items() if not f]
        if ignored and verbosity:
            self.stderr.write(
                "Columns not imported (use --map COLUMN=field to import one): " + ", ".join(ignored)
            )

    def _report(self, job: ImportJob, outcome: imports.Outcome, *, dry_run: bool) -> None:
        if not outcome.ok:
            for p in outcome.problems:
                self.stderr.write(imports.problem_text(p.row, p.column, p.message))
            more = outcome.problem_count - len(outcome.problems)
            if more > 0:
                self.stderr.write(f"... and {more:,} more problems.")
            what = "fix them before importing" if dry_run else "nothing was imported"
            raise CommandError(
                f"{outcome.problem_count:,} problems in {outcome.rows:,} rows; {what} "
                f"(import job {job.pk})."
            )
        verb = "Would create" if dry_run else "Created"
        update = "update" if dry_run else "updated"
        self.stdout.write(
            self.style.SUCCESS(
                f"{outcome.rows:,} rows {'checked, no problems' if dry_run else 'imported'}. "
                f"{verb} {outcome.households_created:,} households and "
                f"{outcome.persons_created:,} persons; {update} "
                f"{outcome.households_updated:,} households and "
                f"{outcome.persons_updated:,} persons (import job {job.pk})."
            )
        )
