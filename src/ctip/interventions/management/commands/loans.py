"""`ctip loans schedule`: a loan's repayment schedule from the engine the app uses, for
staff explaining a loan to a borrower.

ctip loans schedule --principal 1000000 --annual-rate 18 --term 12 \\
    --frequency monthly --method declining [--grace 2] [--currency KHR] \\
    [--start 2026-01-15] [--json]
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ctip.interventions.schedule import (
    CURRENCIES,
    FREQUENCIES,
    METHODS,
    Schedule,
    build_schedule,
)


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"--start: {text!r} is not a day (YYYY-MM-DD).") from exc


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(" ".join(v) for v in exc.message_dict.values())
    return " ".join(exc.messages)


def schedule_as_json(schedule: Schedule) -> dict[str, Any]:
    """The schedule with its inputs; money as strings of decimals, dates as YYYY-MM-DD."""
    return {
        "principal": str(schedule.principal),
        "annual_rate": str(schedule.annual_rate),
        "term": schedule.term,
        "frequency": schedule.frequency,
        "method": schedule.method,
        "grace": schedule.grace,
        "currency": schedule.currency,
        "start": schedule.start.isoformat(),
        "installments": [
            {
                "number": line.number,
                "due_date": line.due_date.isoformat(),
                "principal": str(line.principal),
                "interest": str(line.interest),
                "total": str(line.total),
                "balance": str(line.balance),
            }
            for line in schedule.installments
        ],
        "total_interest": str(schedule.total_interest),
        "total": str(schedule.total),
    }


def _money(value: Decimal) -> str:
    return f"{value:,}"


class Command(BaseCommand):
    help = "Loans: print a repayment schedule from the same engine the app uses."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        schedule = sub.add_parser(
            "schedule",
            help="Print the repayment schedule of a loan (nothing is stored).",
            description=(
                "Print the repayment schedule of a loan. Amounts are rounded to the "
                "currency's smallest unit (KHR and VND whole units, USD cents, half up); "
                "the last instalment takes what is left, so the schedule sums exactly "
                "to principal plus interest. With --json, money is given as strings of "
                'decimals (e.g. "1000.00"), never as floating-point numbers.'
            ),
        )
        schedule.add_argument(
            "--principal", required=True, help="Amount lent, e.g. 1000000 or 250.00."
        )
        schedule.add_argument(
            "--annual-rate", required=True, help="Yearly interest rate in percent, e.g. 18."
        )
        schedule.add_argument("--term", required=True, help="Number of instalments (1-520).")
        schedule.add_argument("--frequency", required=True, choices=list(FREQUENCIES))
        schedule.add_argument(
            "--method",
            required=True,
            choices=list(METHODS),
            help="flat: interest on the original principal; declining: on what is still owed.",
        )
        schedule.add_argument(
            "--grace",
            default="0",
            help="First instalments that pay interest only (default 0).",
        )
        schedule.add_argument("--currency", default="KHR", choices=list(CURRENCIES))
        schedule.add_argument(
            "--start", help="Day the loan is disbursed, YYYY-MM-DD (default today)."
        )
        schedule.add_argument(
            "--json",
            action="store_true",
            help="Print JSON: the inputs, installments and total_interest; money as strings.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        start = _day(options["start"]) if options["start"] else timezone.localdate()
        try:
            schedule = build_schedule(
                principal=options["principal"],
                annual_rate=options["annual_rate"],
                term=options["term"],
                frequency=options["frequency"],
                method=options["method"],
                grace=options["grace"],
                currency=options["currency"],
                start=start,
            )
        except ValidationError as exc:
            raise CommandError(_errors(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(schedule_as_json(schedule), indent=2))
        else:
            self._table(schedule)

    def _table(self, schedule: Schedule) -> None:
        c = schedule.currency
        self.stdout.write(
            f"{_money(schedule.principal)} {c} at {schedule.annual_rate}% a year, "
            f"{schedule.method}, {schedule.term} {schedule.frequency} instalments"
            + (f" ({schedule.grace} interest only)" if schedule.grace else "")
            + f", disbursed {schedule.start.isoformat()}"
        )
        rows = [("No.", "Due", "Principal", "Interest", "Total", "Balance")]
        for line in schedule.installments:
            rows.append(
                (
                    str(line.number),
                    line.due_date.isoformat(),
                    _money(line.principal),
                    _money(line.interest),
                    _money(line.total),
                    _money(line.balance),
                )
            )
        rows.append(
            (
                "",
                "Total",
                _money(schedule.principal),
                _money(schedule.total_interest),
                _money(schedule.total),
                "",
            )
        )
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        for index, row in enumerate(rows):
            if index == len(rows) - 1:
                self.stdout.write("-" * (sum(widths) + 2 * 5))
            cells = [row[0].rjust(widths[0]), row[1].ljust(widths[1])]
            cells += [cell.rjust(w) for cell, w in zip(row[2:], widths[2:], strict=True)]
            self.stdout.write("  ".join(cells).rstrip())
