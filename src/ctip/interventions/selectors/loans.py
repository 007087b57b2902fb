"""Reads of loans: scoped lists and pages, arrears, and the portfolio figures per area.

Loans are person-level records: reading them needs VIEW_PERSONS in the household's
village. Portfolio figures are aggregates (VIEW_AGGREGATES); `portfolio_by_area` is
the unscoped arithmetic behind them, for callers that already checked scope. A reader
who may not see the area's persons (a donor) is shown them with small cells hidden
(`cells.py`): counts of loans from 1 to 4, and the amounts of money those few loans
add up to, which would tell one borrower's loan.

Arrears and the portfolio as of a day D:
- an instalment is overdue when it fell due before D and was not fully paid by D;
  a loan's days overdue are those of its oldest overdue instalment;
- a loan is in the portfolio when disbursed on or before D and not closed (repaid or
  written off) on or before D; its outstanding principal is its principal less the
  principal repaid on or before D;
- it is at risk (PAR30) when an instalment is overdue by more than 30 days;
- the repayment rate is what was paid by D against the instalments due by D (payments
  are applied oldest instalment first, so that is the lesser of the two) over what
  fell due. Written-off loans count neither as outstanding nor at risk, but what
  fell due on them counts in the repayment rate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from ctip.accounts import access
from ctip.accounts.roles import VIEW_AGGREGATES, VIEW_PERSONS
from ctip.core import audit
from ctip.core.text import fold
from ctip.geography.models import Area
from ctip.registry.models import Household
from ctip.registry.selectors import areas_for_code

from ..models import Installment, Loan, LoanProduct, LoanStatus, Repayment
from .cells import parts_hidden, small

AT_RISK_DAYS = 30
CENT = Decimal("0.01")
RATIO = Decimal("0.000001")
MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=18, decimal_places=2)


# --- scoped reads -------------------------------------------------------------------


def loans_visible_to(actor: Any) -> QuerySet[Loan]:
    """Loans of households in the villages where the actor may see persons."""
    if not access.has_permission(actor, VIEW_PERSONS):
        return Loan.objects.none()
    villages = access.areas_in_scope(actor, VIEW_PERSONS).values_list("id", flat=True)
    return Loan.objects.filter(household__village_id__in=villages)


def loan_products() -> QuerySet[LoanProduct]:
    """Products are not person-level: anyone signed in may read the catalogue."""
    return LoanProduct.objects.order_by("-active", "name", "id")


def _unpaid_by(day: dt.date) -> Q:
    return Q(paid_on__isnull=True) | Q(paid_on__gt=day)


def with_arrears(qs: QuerySet[Loan], as_of: dt.date) -> QuerySet[Loan]:
    """Annotate each loan with `oldest_overdue_on` (due date of its oldest instalment
    overdue on `as_of`, or None) and `amount_overdue` (what is unpaid on instalments
    that fell due before `as_of`), with correlated subqueries: no extra query per row."""
    overdue = Installment.objects.filter(loan=OuterRef("pk"), due_on__lt=as_of).filter(
        _unpaid_by(as_of)
    )
    oldest = overdue.order_by("due_on", "number").values("due_on")[:1]
    amount = (
        overdue.values("loan")
        .annotate(
            left=Sum(
                ExpressionWrapper(
                    F("total") - F("principal_paid") - F("interest_paid"), output_field=MONEY
                )
            )
        )
        .values("left")
    )
    return qs.annotate(
        oldest_overdue_on=Subquery(oldest, output_field=DateField()),
        amount_overdue=Coalesce(
            Subquery(amount, output_field=MONEY), Value(Decimal(0)), output_field=MONEY
        ),
    )


def loan_search(
    actor: Any,
    *,
    area_code: str = "",
    status: str = "",
    arrears_over: int | None = None,
    q: str = "",
    as_of: dt.date | None = None,
) -> QuerySet[Loan]:
    """Loans the actor may see, filtered by area (an official code: the area and all
    below it), status, days in arrears (more than `arrears_over`) and borrower name
    (any script; case, tones and accents ignored). Raises AreaCodeError."""
    day = as_of or timezone.localdate()
    qs = with_arrears(loans_visible_to(actor), day)
    if area_code:
        cond = Q()
        for area in areas_for_code(area_code):
            cond |= Q(household__village__path__startswith=area.path)
        qs = qs.filter(cond)
    if status:
        qs = qs.filter(status=status)
    if arrears_over is not None:
        limit = day - dt.timedelta(days=arrears_over)
        qs = qs.filter(status=LoanStatus.ACTIVE, **{"oldest_overdue_on__lt": limit})
    for term in fold(q).split():
        qs = qs.filter(person__search_text__contains=term)
    return qs.select_related("product", "person", "household__village").order_by(
        "-disbursed_on", "-id"
    )


def loan_get(actor: Any, pk: int) -> Loan:
    """One loan for someone allowed to see it; the read is audited. 404 otherwise."""
    loan = (
        loans_visible_to(actor)
        .select_related("product", "person", "household__village", "iga", "created_by")
        .filter(pk=pk)
        .first()
    )
    if loan is None:
        raise Http404
    audit.record(actor=actor, action="read", obj=loan)
    return loan


def repayments_visible_to(actor: Any) -> QuerySet[Repayment]:
    return Repayment.objects.filter(loan__in=loans_visible_to(actor))


# --- one loan's schedule and arrears ------------------------------------------------


@dataclass(frozen=True)
class ScheduleRow:
    """A schedule line with what was paid against it and its state on a day."""

    installment: Installment
    paid: Decimal
    left: Decimal
    state: str  # "paid", "paid_late", "part_paid", "overdue", "due", "upcoming"
    days_overdue: int


@dataclass(frozen=True)
class Arrears:
    days_overdue: int  # of the oldest overdue instalment; 0 when none
    amount_overdue: Decimal
    installments_overdue: int
    oldest_due_on: dt.date | None

    @property
    def in_arrears(self) -> bool:
        return self.installments_overdue > 0


def schedule_rows(loan: Loan, as_of: dt.date | None = None) -> list[ScheduleRow]:
    day = as_of or timezone.localdate()
    rows = []
    for line in loan.installments.order_by("number"):
        paid = line.principal_paid + line.interest_paid
        left = line.total - paid
        fully = line.paid_on is not None and line.paid_on <= day
        if fully:
            assert line.paid_on is not None
            state = "paid_late" if line.paid_on > line.due_on else "paid"
        elif line.due_on < day:
            state = "overdue"
        elif line.due_on == day:
            state = "due"
        else:
            state = "part_paid" if paid > 0 else "upcoming"
        rows.append(
            ScheduleRow(
                installment=line,
                paid=paid,
                left=left,
                state=state,
                days_overdue=(day - line.due_on).days if state == "overdue" else 0,
            )
        )
    return rows


def loan_arrears(loan: Loan, as_of: dt.date | None = None) -> Arrears:
    """How far behind a loan is on a day: the oldest instalment overdue then (fell due
    before the day, not fully paid by it) and what is unpaid on overdue instalments."""
    day = as_of or timezone.localdate()
    if loan.status == LoanStatus.WRITTEN_OFF and loan.closed_on and loan.closed_on <= day:
        return Arrears(0, Decimal("0.00"), 0, None)
    overdue = [
        x
        for x in loan.installments.order_by("number")
        if x.due_on < day and (x.paid_on is None or x.paid_on > day)
    ]
    if not overdue:
        return Arrears(0, Decimal("0.00"), 0, None)
    amount = sum((x.total - x.principal_paid - x.interest_paid for x in overdue), Decimal(0))
    return Arrears(
        days_overdue=(day - overdue[0].due_on).days,
        amount_overdue=amount.quantize(CENT),
        installments_overdue=len(overdue),
        oldest_due_on=overdue[0].due_on,
    )


def loan_balance(loan: Loan) -> dict[str, Decimal]:
    """Principal and interest scheduled, paid and still owed (as recorded now)."""
    sums = loan.installments.aggregate(
        principal=Sum("principal"),
        interest=Sum("interest"),
        principal_paid=Sum("principal_paid"),
        interest_paid=Sum("interest_paid"),
    )
    out = {k: Decimal(v or 0).quantize(CENT) for k, v in sums.items()}
    out["principal_left"] = out["principal"] - out["principal_paid"]
    out["interest_left"] = out["interest"] - out["interest_paid"]
    out["left"] = out["principal_left"] + out["interest_left"]
    out["total"] = out["principal"] + out["interest"]
    out["paid"] = out["principal_paid"] + out["interest_paid"]
    return out


# --- portfolio figures --------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioFigures:
    area_id: int
    currency: str
    active_loans: int
    outstanding_principal: Decimal
    # Outstanding principal of loans with an instalment unpaid > 30 days past due.
    at_risk_principal: Decimal
    par30: Decimal | None  # at_risk / outstanding, None when nothing outstanding
    due_to_date: Decimal
    paid_of_due: Decimal
    # Paid against what fell due up to as_of / due; None when nothing fell due.
    repayment_rate: Decimal | None
    # Loans disbursed by as_of, closed or not: those behind due_to_date and paid_of_due.
    disbursed_loans: int = 0


def _money(value: Any) -> Decimal:
    # SQLite sums DECIMAL columns as floats: back to cents (as Django's converters do).
    if value is None:
        return Decimal("0.00")
    if isinstance(value, float):
        return Decimal(repr(value)).quantize(CENT)
    return Decimal(value).quantize(CENT)


def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole).quantize(RATIO) if whole else None


_PORTFOLIO_SQL = """
WITH lines AS (
    SELECT i.loan_id,
           SUM(CASE WHEN i.due_on <= %(day)s THEN i.total ELSE 0 END) AS due,
           MAX(CASE WHEN i.due_on < %(risk_day)s
                     AND (i.paid_on IS NULL OR i.paid_on > %(day)s) THEN 1 ELSE 0 END) AS late
    FROM {installment} i
    JOIN {loan} l ON l.id = i.loan_id
    JOIN {household} h ON h.id = l.household_id
    JOIN {area} v ON v.id = h.village_id
    WHERE l.disbursed_on <= %(day)s AND ({under})
    GROUP BY i.loan_id
),
paid AS (
    SELECT r.loan_id, SUM(r.amount) AS amount, SUM(r.principal_part) AS principal
    FROM {repayment} r
    JOIN lines ON lines.loan_id = r.loan_id
    WHERE r.paid_on <= %(day)s
    GROUP BY r.loan_id
),
per_loan AS (
    SELECT v.path AS path, l.currency AS currency,
           CASE WHEN l.status = %(active)s OR l.closed_on > %(day)s THEN 1 ELSE 0 END AS live,
           l.principal - COALESCE(p.principal, 0) AS left_principal,
           lines.late AS late,
           lines.due AS due,
           CASE WHEN COALESCE(p.amount, 0) < lines.due
                THEN COALESCE(p.amount, 0) ELSE lines.due END AS paid_of_due
    FROM lines
    JOIN {loan} l ON l.id = lines.loan_id
    JOIN {household} h ON h.id = l.household_id
    JOIN {area} v ON v.id = h.village_id
    LEFT JOIN paid p ON p.loan_id = lines.loan_id
)
SELECT path, currency,
       SUM(live) AS active_loans,
       SUM(CASE WHEN live = 1 THEN left_principal ELSE 0 END) AS outstanding,
       SUM(CASE WHEN live = 1 AND late = 1 THEN left_principal ELSE 0 END) AS at_risk,
       SUM(due) AS due,
       SUM(paid_of_due) AS paid_of_due,
       COUNT(*) AS disbursed
FROM per_loan
GROUP BY path, currency
"""


def portfolio_by_area(areas: Sequence[Area], *, as_of: dt.date) -> list[PortfolioFigures]:
    """Portfolio figures of each given area (loans whose household village is under
    the area's path) and currency, in the order given, areas without loans left out.
    One aggregate statement grouped by village; the villages' rows are then added up
    into the areas they lie in. Unscoped: callers pass only areas the actor may see
    and check VIEW_AGGREGATES (see `portfolio_for`)."""
    if not areas:
        return []
    paths: list[str] = []
    for path in sorted({a.path for a in areas}, key=len):
        if not any(path.startswith(p) for p in paths):
            paths.append(path)
    qn = connection.ops.quote_name
    under = " OR ".join(f"v.path LIKE %(p{i})s" for i in range(len(paths)))
    sql = _PORTFOLIO_SQL.format(
        installment=qn(Installment._meta.db_table),
        loan=qn(Loan._meta.db_table),
        household=qn(Household._meta.db_table),
        area=qn(Area._meta.db_table),
        repayment=qn(Repayment._meta.db_table),
        under=under,
    )
    params: dict[str, Any] = {
        "day": as_of,
        "risk_day": as_of - dt.timedelta(days=AT_RISK_DAYS),
        "active": LoanStatus.ACTIVE.value,
    }
    params.update({f"p{i}": p + "%" for i, p in enumerate(paths)})
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        village_rows = cursor.fetchall()

    wanted: dict[int, int] = {}
    for index, area in enumerate(areas):
        wanted.setdefault(area.pk, index)
    totals: dict[tuple[int, str], list[Any]] = {}
    for path, currency, live, outstanding, at_risk, due, paid, disbursed in village_rows:
        ids = {int(x) for x in path.strip("/").split("/")}
        for area_id in ids & wanted.keys():
            acc = totals.setdefault(
                (area_id, currency), [0, Decimal(0), Decimal(0), Decimal(0), Decimal(0), 0]
            )
            acc[0] += int(live or 0)
            acc[1] += _money(outstanding)
            acc[2] += _money(at_risk)
            acc[3] += _money(due)
            acc[4] += _money(paid)
            acc[5] += int(disbursed or 0)
    out = []
    for (area_id, currency), (live, outstanding, at_risk, due, paid, disbursed) in sorted(
        totals.items(), key=lambda kv: (wanted[kv[0][0]], kv[0][1])
    ):
        out.append(
            PortfolioFigures(
                area_id=area_id,
                currency=currency,
                active_loans=live,
                outstanding_principal=outstanding,
                at_risk_principal=at_risk,
                par30=_ratio(at_risk, outstanding),
                due_to_date=due,
                paid_of_due=paid,
                repayment_rate=_ratio(paid, due),
                disbursed_loans=disbursed,
            )
        )
    return out


@dataclass(frozen=True)
class PortfolioShown:
    """Portfolio figures as a reader is shown them: None where hidden. The figures
    of loans being repaid (outstanding, at risk, PAR30) go with `active_loans`; what
    fell due and was paid (and the repayment rate) with `disbursed_loans`."""

    area_id: int
    currency: str
    active_loans: int | None
    outstanding_principal: Decimal | None
    at_risk_principal: Decimal | None
    par30: Decimal | None
    disbursed_loans: int | None
    due_to_date: Decimal | None
    paid_of_due: Decimal | None
    repayment_rate: Decimal | None

    @classmethod
    def of(
        cls, f: PortfolioFigures, *, hide_live: bool = False, hide_all: bool = False
    ) -> PortfolioShown:
        live, every = not hide_live, not hide_all
        return cls(
            area_id=f.area_id,
            currency=f.currency,
            active_loans=f.active_loans if live else None,
            outstanding_principal=f.outstanding_principal if live else None,
            at_risk_principal=f.at_risk_principal if live else None,
            par30=f.par30 if live else None,
            disbursed_loans=f.disbursed_loans if every else None,
            due_to_date=f.due_to_date if every else None,
            paid_of_due=f.paid_of_due if every else None,
            repayment_rate=f.repayment_rate if every else None,
        )

    @property
    def hidden(self) -> bool:
        return self.active_loans is None or self.disbursed_loans is None


def portfolio_shown(
    totals: list[PortfolioFigures],
    parts: list[list[PortfolioFigures]],
    *,
    exact: bool,
) -> tuple[list[PortfolioShown], list[list[PortfolioShown]]]:
    """An area's figures per currency and those of the areas below it, as shown. For
    a reader who may not see the area's persons (not `exact`): a count of loans from
    1 to 4 is hidden with the amounts behind it, and so is a second area's when one
    alone would be hidden beside the area's total (it could be worked out)."""
    if exact:
        return [PortfolioShown.of(f) for f in totals], [
            [PortfolioShown.of(f) for f in row] for row in parts
        ]
    hide_live: set[tuple[int, str]] = set()
    hide_all: set[tuple[int, str]] = set()
    for t in totals:
        in_currency = [next((f for f in row if f.currency == t.currency), None) for row in parts]
        if small(t.active_loans) is None:
            hide_live.add((-1, t.currency))
        if small(t.disbursed_loans) is None:
            hide_all.add((-1, t.currency))
        live = [f.active_loans if f else 0 for f in in_currency]
        every = [f.disbursed_loans if f else 0 for f in in_currency]
        hide_live.update((i, t.currency) for i in parts_hidden(t.active_loans, live))
        hide_all.update((i, t.currency) for i in parts_hidden(t.disbursed_loans, every))

    def shown(f: PortfolioFigures, i: int) -> PortfolioShown:
        key = (i, f.currency)
        return PortfolioShown.of(f, hide_live=key in hide_live, hide_all=key in hide_all)

    return [shown(f, -1) for f in totals], [
        [shown(f, i) for f in row] for i, row in enumerate(parts)
    ]


def portfolio_for(actor: Any, area: Area, as_of: dt.date) -> list[PortfolioShown]:
    """The portfolio figures of one area (one per currency lent in), for someone who
    sees aggregate figures there, small counts hidden unless they see its persons.
    Raises PermissionDenied otherwise."""
    access.require_in(actor, VIEW_AGGREGATES, area)
    totals, _parts = portfolio_shown(
        portfolio_by_area([area], as_of=as_of),
        [],
        exact=access.can_act_in(actor, VIEW_PERSONS, area),
    )
    return totals


@dataclass(frozen=True)
class PortfolioBreakdown:
    area: Area
    as_of: dt.date
    totals: list[PortfolioShown]
    # Each sub-area with loans, with its figures per currency.
    parts: list[tuple[Area, list[PortfolioShown]]]
    # Small counts (and the amounts behind them) hidden: the reader may not see persons.
    suppressed: bool = False


def portfolio_breakdown(actor: Any, area: Area, as_of: dt.date) -> PortfolioBreakdown:
    """An area's figures and those of each area directly below it, in one statement;
    small counts hidden unless the actor sees the area's persons."""
    access.require_in(actor, VIEW_AGGREGATES, area)
    children = list(Area.objects.filter(parent=area).order_by("code", "id"))
    figures = portfolio_by_area([area, *children], as_of=as_of)
    by_area: dict[int, list[PortfolioFigures]] = {}
    for f in figures:
        by_area.setdefault(f.area_id, []).append(f)
    with_loans = [c for c in children if c.pk in by_area]
    exact = access.can_act_in(actor, VIEW_PERSONS, area)
    totals, parts = portfolio_shown(
        by_area.get(area.pk, []), [by_area[c.pk] for c in with_loans], exact=exact
    )
    return PortfolioBreakdown(
        area=area,
        as_of=as_of,
        totals=totals,
        parts=list(zip(with_loans, parts, strict=True)),
        suppressed=not exact,
    )


def portfolio_areas(actor: Any) -> QuerySet[Area]:
    """The highest areas where the actor sees aggregate figures (their portfolio pages)."""
    paths = access.scope_paths(actor, VIEW_AGGREGATES)
    if paths == ["/"]:
        return Area.objects.filter(level="country").order_by("code")
    return Area.objects.filter(path__in=paths).order_by("path")


__all__ = [
    "AT_RISK_DAYS",
    "Arrears",
    "PortfolioBreakdown",
    "PortfolioFigures",
    "PortfolioShown",
    "ScheduleRow",
    "loan_arrears",
    "loan_balance",
    "loan_get",
    "loan_products",
    "loan_search",
    "loans_visible_to",
    "portfolio_areas",
    "portfolio_breakdown",
    "portfolio_by_area",
    "portfolio_for",
    "portfolio_shown",
    "repayments_visible_to",
    "schedule_rows",
    "with_arrears",
]
