"""The per-area summary as a spreadsheet (XlsxWriter): one sheet per table, counts as
numbers, hidden small counts as "<5", money in the record's currency.

The summary comes from selectors.summary.area_summary, which checked the right to
see figures and hid small counts; this module only lays it out.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import xlsxwriter
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.registry.models import Sex

from .selectors.summary import (
    ANY,
    BANDS,
    COMPONENTS,
    SEXES,
    SMALL_CELL,
    AreaSummary,
    Reach,
    Summary,
    band_label,
    component_label,
)

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HIDDEN = f"<{SMALL_CELL}"


def filename(summary: Summary) -> str:
    return f"interventions-{summary.area.country}-{summary.area.code}-{summary.end}.xlsx"


def area_name(row: AreaSummary) -> str:
    return f"{row.area.name} ({row.area.code})"


def period_text(summary: Summary) -> str:
    start = summary.start.isoformat() if summary.start else _("the beginning")
    return _("%(start)s to %(end)s") % {"start": start, "end": summary.end.isoformat()}


class _Book:
    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.book = xlsxwriter.Workbook(
            self.buffer,
            {
                "in_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        self.bold = self.book.add_format({"bold": True})
        self.wrap_bold = self.book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        self.percent = self.book.add_format({"num_format": "0.0%"})
        self.money = self.book.add_format({"num_format": "#,##0.00"})
        self.hidden = self.book.add_format({"align": "right", "font_color": "#5b6770"})

    def sheet(self, title: str, summary: Summary, columns: Sequence[str]) -> tuple[Any, int]:
        sheet = self.book.add_worksheet(title[:31])
        sheet.write_string(0, 0, title, self.bold)
        facts = [
            (_("Area"), f"{summary.area.name} ({summary.area.code})"),
            (_("Period"), period_text(summary)),
            (_("Made"), timezone.localtime().strftime("%Y-%m-%d %H:%M")),
        ]
        if summary.suppressed:
            facts.append(
                (_("Note"), _("Counts from 1 to 4 are hidden (%(hidden)s).") % {"hidden": HIDDEN})
            )
        for i, (label, value) in enumerate(facts, start=1):
            sheet.write_string(i, 0, label, self.bold)
            sheet.write_string(i, 1, value)
        header = len(facts) + 2
        for col, name in enumerate(columns):
            sheet.write_string(header, col, name, self.wrap_bold)
        sheet.set_column(0, 0, 32)
        sheet.set_column(1, len(columns), 14)
        sheet.freeze_panes(header + 1, 1)
        return sheet, header + 1

    def count(self, sheet: Any, row: int, col: int, value: int | None) -> None:
        if value is None:
            sheet.write_string(row, col, HIDDEN, self.hidden)
        else:
            sheet.write_number(row, col, value)

    def rate(self, sheet: Any, row: int, col: int, value: float | None) -> None:
        if value is None:
            sheet.write_blank(row, col, None)
        else:
            sheet.write_number(row, col, value, self.percent)

    def amount(self, sheet: Any, row: int, col: int, value: Decimal | None) -> None:
        if value is None:
            sheet.write_blank(row, col, None)
        else:
            sheet.write_number(row, col, float(value), self.money)

    def close(self) -> bytes:
        self.book.close()
        return self.buffer.getvalue()


def _reach_columns() -> list[str]:
    sexes = dict(Sex.choices)
    return [
        _("Total"),
        *(str(sexes[s]) for s in SEXES),
        *(band_label(b) for b in BANDS),
    ]


def _write_reach(book: _Book, sheet: Any, line: int, first: list[str], reach: Reach) -> None:
    for col, text in enumerate(first):
        sheet.write_string(line, col, text)
    col = len(first)
    book.count(sheet, line, col, reach.total)
    for i, sex in enumerate(SEXES, start=col + 1):
        book.count(sheet, line, i, reach.by_sex[sex])
    for i, band in enumerate(BANDS, start=col + 1 + len(SEXES)):
        book.count(sheet, line, i, reach.by_band[band])


def summary_xlsx(summary: Summary) -> bytes:
    book = _Book()

    sheet, line = book.sheet(_("Reach"), summary, [_("Area"), _("Component"), *_reach_columns()])
    for row in summary.rows:
        for code in [*COMPONENTS, ANY]:
            _write_reach(
                book, sheet, line, [area_name(row), component_label(code)], row.reach[code]
            )
            line += 1

    sheet, line = book.sheet(_("Large events"), summary, [_("Area"), *_reach_columns()])
    for row in summary.rows:
        _write_reach(book, sheet, line, [area_name(row)], row.large_events)
        line += 1

    sheet, line = book.sheet(
        _("Training"),
        summary,
        [
            _("Area"),
            _("Enrolments"),
            _("Completed"),
            _("Dropped out"),
            _("Still enrolled"),
            _("Completion rate"),
            _("6-month visit done"),
            _("Employed or self-employed at 6 months"),
            _("Employment rate at 6 months"),
        ],
    )
    for row in summary.rows:
        t = row.training
        sheet.write_string(line, 0, area_name(row))
        for col, value in enumerate([t.enrolled, t.completed, t.dropped_out, t.ongoing], start=1):
            book.count(sheet, line, col, value)
        book.rate(sheet, line, 5, t.completion_rate)
        book.count(sheet, line, 6, t.followed_6m)
        book.count(sheet, line, 7, t.employed_6m)
        book.rate(sheet, line, 8, t.employment_rate)
        line += 1

    sheet, line = book.sheet(
        _("Loans"),
        summary,
        [
            _("Area"),
            _("Currency"),
            _("Active loans"),
            _("Principal outstanding"),
            _("At risk over 30 days"),
            _("PAR30"),
            _("Repayment rate"),
        ],
    )
    for row in summary.rows:
        for f in row.loans:
            sheet.write_string(line, 0, area_name(row))
            sheet.write_string(line, 1, f.currency)
            book.count(sheet, line, 2, f.active_loans)
            book.amount(sheet, line, 3, f.outstanding_principal)
            book.amount(sheet, line, 4, f.at_risk_principal)
            book.rate(sheet, line, 5, f.par30)
            book.rate(sheet, line, 6, f.repayment_rate)
            line += 1

    sheet, line = book.sheet(
        _("IGAs"),
        summary,
        [
            _("Area"),
            _("Currency"),
            _("Activities"),
            _("Average gross margin a month"),
            _("Compared with a migration benchmark"),
            _("Average net earnings of migrating a month"),
            _("At or above the benchmark"),
        ],
    )
    for row in summary.rows:
        for g in row.igas:
            sheet.write_string(line, 0, area_name(row))
            sheet.write_string(line, 1, g.currency)
            book.count(sheet, line, 2, g.activities)
            book.amount(sheet, line, 3, g.average_margin)
            book.count(sheet, line, 4, g.compared)
            book.amount(sheet, line, 5, g.average_benchmark_net)
            book.count(sheet, line, 6, g.at_or_above_benchmark)
            line += 1

    sheet, line = book.sheet(
        _("Follow-ups"),
        summary,
        [_("Area"), _("Visits due"), _("Overdue"), _("Visits made in the period")],
    )
    for row in summary.rows:
        fu = row.follow_ups
        sheet.write_string(line, 0, area_name(row))
        book.count(sheet, line, 1, fu.due)
        book.count(sheet, line, 2, fu.overdue)
        book.count(sheet, line, 3, fu.done_in_period)
        line += 1
    return book.close()
