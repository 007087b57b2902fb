"""Per-area summaries of the interventions: who was reached by which component, split
by sex and age band, training completion and employment after six months, the loan
portfolio, IGA margins against migration, follow-ups overdue.

Set-based: each figure is one SQL aggregate over the whole area, grouped by the
area's child units (the segment of the village's materialised path right after the
area's own path), so the number of queries is the same for a village, a province
or a country. A person is counted where they live (their household's village);
anonymous headcounts at large events where the event was held.

"Reached in the period" means the contact that started in it: attended an event
held in it, enrolled, borrowed, joined a savings group, started an activity (or had
it written up, while planned), started education support, took part in a
participation event. Age bands are the age on the person's first such contact in
the period (`models.common.AGE_BAND_LIMITS`).

Readers without the right to see persons in the area (donors) get counts from 1 to
4 suppressed, with complementary suppression so that no hidden cell can be worked
out from a total and the cells shown next to it (the rule: `cells.py`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ctip.accounts import access
from ctip.accounts.roles import VIEW_AGGREGATES, VIEW_PERSONS
from ctip.geography.models import Area
from ctip.registry.models import Household, Person, Sex

from ..models import (
    AGE_BAND_LIMITS,
    ActivityCost,
    ActivityStatus,
    AwarenessEvent,
    Component,
    CostKind,
    EducationSupport,
    Enrolment,
    EnrolmentStatus,
    EventAttendance,
    EventHeadcount,
    FollowUp,
    FollowUpStatus,
    IncomeActivity,
    Loan,
    MigrationBenchmark,
    Participant,
    ParticipationEvent,
    SavingsMember,
    Situation,
)
from .cells import SMALL_CELL as SMALL_CELL
from .cells import hidden_cells, parts_hidden
from .cells import small as _small
from .loans import portfolio_by_area

UNKNOWN_BAND = "unknown"
BANDS: list[str] = [band for band, _lo, _hi in AGE_BAND_LIMITS] + [UNKNOWN_BAND]
SEXES: list[str] = list(Sex.values)
# The components in the order pages and exports show them.
COMPONENTS: list[str] = [
    Component.AWARENESS,
    Component.TRAINING,
    Component.LOAN,
    Component.SAVINGS,
    Component.IGA,
    Component.EDUCATION,
    Component.PARTICIPATION,
]
ANY = "any"  # reached by at least one component
EMPLOYED = (Situation.EMPLOYED_LOCALLY, Situation.SELF_EMPLOYED)
CENT = Decimal("0.01")


def component_label(code: str) -> str:
    if code == ANY:
        return str(_("Any component"))
    return str(Component(code).label)


def band_label(code: str) -> str:
    return str(_("age unknown")) if code == UNKNOWN_BAND else code


# --------------------------------------------------------------------------------------
# What the summary holds. Counts are None where suppressed ("<5").


@dataclass
class Reach:
    total: int | None = 0
    by_sex: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(SEXES, 0))
    by_band: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(BANDS, 0))

    def add(self, sex: str, band: str, n: int) -> None:
        assert self.total is not None
        self.total += n
        sex = sex if sex in self.by_sex else Sex.UNDISCLOSED
        band = band if band in self.by_band else UNKNOWN_BAND
        self.by_sex[sex] = (self.by_sex[sex] or 0) + n
        self.by_band[band] = (self.by_band[band] or 0) + n


@dataclass
class Training:
    enrolled: int | None = 0
    completed: int | None = 0
    dropped_out: int | None = 0
    ongoing: int | None = 0
    # Completed trainees whose 6-month follow-up was done, and of them those who
    # were employed locally or self-employed.
    followed_6m: int | None = 0
    employed_6m: int | None = 0

    @property
    def completion_rate(self) -> float | None:
        """Completed out of those who finished or dropped out."""
        return _rate(self.completed, _plus(self.completed, self.dropped_out))

    @property
    def employment_rate(self) -> float | None:
        return _rate(self.employed_6m, self.followed_6m)


@dataclass
class LoanFigures:
    currency: str
    active_loans: int | None
    outstanding_principal: Decimal | None
    at_risk_principal: Decimal | None
    par30: float | None
    repayment_rate: float | None
    # Loans disbursed by the day, closed or not: those behind the repayment rate.
    disbursed_loans: int | None = 0


@dataclass
class IgaFigures:
    currency: str
    activities: int | None
    average_margin: Decimal | None
    # Activities compared with a benchmark in the same currency.
    compared: int | None
    average_benchmark_net: Decimal | None
    at_or_above_benchmark: int | None
    # Sums behind the averages (kept for totals; never shown).
    margin_sum: Decimal = Decimal(0)
    benchmark_sum: Decimal = Decimal(0)


@dataclass
class FollowUps:
    due: int | None = 0
    overdue: int | None = 0
    done_in_period: int | None = 0


@dataclass
class AreaSummary:
    area: Area
    is_total: bool = False
    reach: dict[str, Reach] = field(default_factory=dict)
    large_events: Reach = field(default_factory=Reach)
    training: Training = field(default_factory=Training)
    loans: list[LoanFigures] = field(default_factory=list)
    igas: list[IgaFigures] = field(default_factory=list)
    follow_ups: FollowUps = field(default_factory=FollowUps)

    def __post_init__(self) -> None:
        for code in [*COMPONENTS, ANY]:
            self.reach.setdefault(code, Reach())

    @property
    def par30(self) -> list[tuple[str, float | None]]:
        return [(f.currency, f.par30) for f in self.loans]


@dataclass
class Summary:
    area: Area
    start: dt.date | None
    end: dt.date
    today: dt.date
    suppressed: bool
    total: AreaSummary
    children: list[AreaSummary]
    # Units this area was formed from: their records sit under their own paths.
    predecessors: list[Area] = field(default_factory=list)

    @property
    def rows(self) -> list[AreaSummary]:
        return [self.total, *self.children]

    @property
    def currencies(self) -> list[str]:
        seen: list[str] = []
        for row in self.rows:
            for currency in [f.currency for f in row.loans] + [f.currency for f in row.igas]:
                if currency not in seen:
                    seen.append(currency)
        return seen


def _plus(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def _rate(numerator: int | None, denominator: int | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


# --------------------------------------------------------------------------------------
# SQL: one statement per figure, grouped by child unit. Table names come from the
# models; values are parameters. Dialect differences are the few helpers below.

_CONTACTS_SQL = """
    SELECT 'awareness' AS component, a.person_id, MIN(e.held_on) AS first_on
    FROM {attendance} a JOIN {awareness_event} e ON e.id = a.event_id
    WHERE e.held_on BETWEEN %(start)s AND %(end)s
    GROUP BY a.person_id
  UNION ALL
    SELECT 'training', person_id, MIN(enrolled_on) FROM {enrolment}
    WHERE enrolled_on BETWEEN %(start)s AND %(end)s
    GROUP BY person_id
  UNION ALL
    SELECT 'loan', person_id, MIN(disbursed_on) FROM {loan}
    WHERE person_id IS NOT NULL AND disbursed_on BETWEEN %(start)s AND %(end)s
    GROUP BY person_id
  UNION ALL
    SELECT 'savings', person_id, MIN(joined_on) FROM {savings_member}
    WHERE joined_on BETWEEN %(start)s AND %(end)s
    GROUP BY person_id
  UNION ALL
    SELECT 'iga', person_id, MIN({iga_on}) FROM {activity}
    WHERE person_id IS NOT NULL AND {iga_on} BETWEEN %(start)s AND %(end)s
    GROUP BY person_id
  UNION ALL
    SELECT 'education', person_id, MIN(starts_on) FROM {education_support}
    WHERE starts_on BETWEEN %(start)s AND %(end)s
    GROUP BY person_id
  UNION ALL
    SELECT 'participation', pa.person_id, MIN(ev.held_on)
    FROM {participant} pa JOIN {participation_event} ev ON ev.id = pa.event_id
    WHERE ev.held_on BETWEEN %(start)s AND %(end)s
    GROUP BY pa.person_id
"""

# People reached per component, and by any (first contact over all components).
_REACH_SQL = """
WITH contacts AS ({contacts})
SELECT f.component, {child}, p.sex, {band}, COUNT(*)
FROM contacts f
JOIN {person} p ON p.id = f.person_id
JOIN {household} h ON h.id = p.household_id
JOIN {area} v ON v.id = h.village_id
WHERE {under}
GROUP BY 1, 2, 3, 4
UNION ALL
SELECT 'any', {child}, p.sex, {band}, COUNT(*)
FROM (SELECT person_id, MIN(first_on) AS first_on FROM contacts GROUP BY person_id) f
JOIN {person} p ON p.id = f.person_id
JOIN {household} h ON h.id = p.household_id
JOIN {area} v ON v.id = h.village_id
WHERE {under}
GROUP BY 1, 2, 3, 4
"""

# Anonymous headcounts at large events, where the event was held.
_HEADCOUNT_SQL = """
SELECT {child}, hc.sex, hc.age_band, SUM(hc.count)
FROM {headcount} hc
JOIN {awareness_event} e ON e.id = hc.event_id
JOIN {area} v ON v.id = e.village_id
WHERE e.held_on BETWEEN %(start)s AND %(end)s AND ({under})
GROUP BY 1, 2, 3
"""

# Enrolments made in the period; of those completed, a 6-month visit done, employed.
_TRAINING_SQL = """
SELECT {child}, COUNT(*),
       SUM(CASE WHEN f.status = 'completed' THEN 1 ELSE 0 END),
       SUM(CASE WHEN f.status = 'dropped_out' THEN 1 ELSE 0 END),
       SUM(CASE WHEN f.status = 'completed' AND EXISTS (
               SELECT 1 FROM {follow_up} fu WHERE fu.enrolment_id = f.id
               AND fu.months_after = 6 AND fu.status = 'done') THEN 1 ELSE 0 END),
       SUM(CASE WHEN f.status = 'completed' AND EXISTS (
               SELECT 1 FROM {follow_up} fu WHERE fu.enrolment_id = f.id
               AND fu.months_after = 6 AND fu.status = 'done'
               AND fu.situation IN ('employed_locally', 'self_employed')) THEN 1 ELSE 0 END)
FROM {enrolment} f
JOIN {person} p ON p.id = f.person_id
JOIN {household} h ON h.id = p.household_id
JOIN {area} v ON v.id = h.village_id
WHERE f.enrolled_on BETWEEN %(start)s AND %(end)s AND ({under})
GROUP BY 1
"""

# Activities planned or running, started (or written up, while planned) in the period:
# gross margin = price x volume - variable costs per unit x volume - fixed costs.
_IGA_SQL = """
WITH margins AS (
    SELECT {child} AS child, f.currency AS currency, f.benchmark_id AS benchmark_id,
           f.expected_price * f.expected_volume
             - COALESCE(c.variable, 0) * f.expected_volume - COALESCE(c.fixed, 0) AS margin
    FROM {activity} f
    JOIN {household} h ON h.id = f.household_id
    JOIN {area} v ON v.id = h.village_id
    LEFT JOIN (
        SELECT activity_id,
               SUM(CASE WHEN kind = 'variable' THEN amount ELSE 0 END) AS variable,
               SUM(CASE WHEN kind = 'fixed' THEN amount ELSE 0 END) AS fixed
        FROM {activity_cost} GROUP BY activity_id
    ) c ON c.activity_id = f.id
    WHERE f.status <> 'stopped' AND {iga_on} BETWEEN %(start)s AND %(end)s AND ({under})
)
SELECT m.child, m.currency, COUNT(*), SUM(m.margin),
       SUM(CASE WHEN b.currency = m.currency THEN 1 ELSE 0 END),
       SUM(CASE WHEN b.currency = m.currency THEN b.monthly_wage - b.monthly_costs END),
       SUM(CASE WHEN b.currency = m.currency
                 AND m.margin >= b.monthly_wage - b.monthly_costs THEN 1 ELSE 0 END)
FROM margins m
LEFT JOIN {benchmark} b ON b.id = m.benchmark_id
GROUP BY 1, 2
"""

# Visits due (of which before today) and visits made in the period.
_FOLLOW_UP_SQL = """
SELECT {child},
       SUM(CASE WHEN f.status = 'due' THEN 1 ELSE 0 END),
       SUM(CASE WHEN f.status = 'due' AND f.due_on < %(today)s THEN 1 ELSE 0 END),
       SUM(CASE WHEN f.status = 'done' AND f.visited_on BETWEEN %(start)s AND %(end)s
                THEN 1 ELSE 0 END)
FROM {follow_up} f
JOIN {person} p ON p.id = f.person_id
JOIN {household} h ON h.id = p.household_id
JOIN {area} v ON v.id = h.village_id
WHERE f.status IN ('due', 'done') AND ({under})
GROUP BY 1
"""

_TABLES = {
    "activity": IncomeActivity,
    "activity_cost": ActivityCost,
    "area": Area,
    "attendance": EventAttendance,
    "awareness_event": AwarenessEvent,
    "benchmark": MigrationBenchmark,
    "education_support": EducationSupport,
    "enrolment": Enrolment,
    "follow_up": FollowUp,
    "headcount": EventHeadcount,
    "household": Household,
    "loan": Loan,
    "participant": Participant,
    "participation_event": ParticipationEvent,
    "person": Person,
    "savings_member": SavingsMember,
}
# The values written into the statements, checked against the models' choices.
assert {"completed", "dropped_out"} <= set(EnrolmentStatus.values)
assert {"due", "done"} <= set(FollowUpStatus.values) and set(EMPLOYED) <= set(Situation.values)
assert {"variable", "fixed"} <= set(CostKind.values) and "stopped" in ActivityStatus.values
EARLIEST = dt.date(1900, 1, 1)


def _date_key(expr: str) -> str:
    """A date as the integer yyyymmdd: the difference of two, divided by 10,000, is the
    age in completed years on the later one."""
    if connection.vendor == "postgresql":
        return f"CAST(to_char({expr}, 'YYYYMMDD') AS integer)"
    return f"CAST(replace({expr}, '-', '') AS integer)"


def _date_of(expr: str) -> str:
    """The (UTC) day of a timestamp column."""
    if connection.vendor == "postgresql":
        return f"CAST({expr} AS date)"
    return f"substr({expr}, 1, 10)"


def _child_key(path_expr: str, prefix_len: int) -> str:
    """The id (as text) of the child unit a path lies under, given the length of the
    parent's path; '' for the parent itself."""
    rest = f"substr({path_expr}, {prefix_len + 1})"
    if connection.vendor == "postgresql":
        return f"split_part({rest}, '/', 1)"
    return f"substr({rest}, 1, instr({rest}, '/') - 1)"


def _band_case(born: str, on: str) -> str:
    age = f"(({_date_key(on)} - {_date_key(born)}) / 10000)"
    whens = " ".join(
        f"WHEN {age} >= {lo}"
        + (f" AND {age} <= {hi}" if hi is not None else "")
        + f" THEN '{band}'"
        for band, lo, hi in AGE_BAND_LIMITS
    )
    return f"CASE WHEN {born} IS NULL THEN '{UNKNOWN_BAND}' {whens} ELSE '{UNKNOWN_BAND}' END"


@dataclass(frozen=True)
class Scope:
    """Where figures are counted: villages under any of `paths`, grouped by the child
    unit under `group_path` (or not grouped when it is empty)."""

    paths: tuple[str, ...]
    group_path: str = ""

    def under(self) -> str:
        return " OR ".join(f"v.path LIKE %(p{i})s" for i in range(len(self.paths)))

    def child(self) -> str:
        return _child_key("v.path", len(self.group_path)) if self.group_path else "''"

    def params(self, start: dt.date | None, end: dt.date, **extra: Any) -> dict[str, Any]:
        values = {f"p{i}": p + "%" for i, p in enumerate(self.paths)}
        return {**values, "start": start or EARLIEST, "end": end, **extra}


def _iga_on(alias: str) -> str:
    """When an activity reached its person: started, or written up while planned."""
    return f"COALESCE({alias}started_on, {_date_of(alias + 'created_at')})"


def _sql(template: str, scope: Scope, **parts: str) -> str:
    qn = connection.ops.quote_name
    names = {key: qn(model._meta.db_table) for key, model in _TABLES.items()}
    return template.format(**names, under=scope.under(), child=scope.child(), **parts)


def _fetch(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def reach_rows(
    scope: Scope, start: dt.date | None, end: dt.date
) -> list[tuple[str, str, str, str, int]]:
    """(component or 'any', child key, sex, age band, persons) in one statement."""
    contacts = _sql(_CONTACTS_SQL, scope, iga_on=_iga_on(""))
    band = _band_case("p.date_of_birth", "f.first_on")
    sql = _sql(_REACH_SQL, scope, contacts=contacts, band=band)
    return [
        (r[0], str(r[1] or ""), r[2], r[3], int(r[4]))
        for r in _fetch(sql, scope.params(start, end))
    ]


def headcount_rows(
    scope: Scope, start: dt.date | None, end: dt.date
) -> list[tuple[str, str, str, int]]:
    """(child key, sex, age band, people) counted without names at large events."""
    rows = _fetch(_sql(_HEADCOUNT_SQL, scope), scope.params(start, end))
    return [(str(r[0] or ""), r[1], r[2], int(r[3] or 0)) for r in rows]


def training_rows(
    scope: Scope, start: dt.date | None, end: dt.date
) -> list[tuple[str, int, int, int, int, int]]:
    """(child key, enrolments, completed, dropped out, completed with their 6-month
    visit done, of whom employed locally or self-employed)."""
    rows = _fetch(_sql(_TRAINING_SQL, scope), scope.params(start, end))
    return [
        (str(r[0] or ""), int(r[1]), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0), int(r[5] or 0))
        for r in rows
    ]


def iga_rows(
    scope: Scope, start: dt.date | None, end: dt.date
) -> list[tuple[str, str, int, Decimal, int, Decimal, int]]:
    """(child key, currency, activities, sum of their monthly gross margins, activities
    with a benchmark in their currency, sum of those benchmarks' net monthly earnings,
    of those at or above it). The margin is `ctip.interventions.iga.analyse`'s."""
    rows = _fetch(_sql(_IGA_SQL, scope, iga_on=_iga_on("f.")), scope.params(start, end))
    return [
        (
            str(r[0] or ""),
            r[1],
            int(r[2]),
            _decimal(r[3]),
            int(r[4] or 0),
            _decimal(r[5]),
            int(r[6] or 0),
        )
        for r in rows
    ]


def follow_up_rows(
    scope: Scope, start: dt.date | None, end: dt.date, today: dt.date
) -> list[tuple[str, int, int, int]]:
    """(child key, visits due, of which overdue (due before today), visits made in the
    period)."""
    rows = _fetch(_sql(_FOLLOW_UP_SQL, scope), scope.params(start, end, today=today))
    return [(str(r[0] or ""), int(r[1] or 0), int(r[2] or 0), int(r[3] or 0)) for r in rows]


def _decimal(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    # SQLite sums decimals as floats: go through their shortest text, then to cents.
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def average(total: Decimal, n: int | None) -> Decimal | None:
    if not n:
        return None
    return (total / n).quantize(CENT, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------------------
# Loans: the loans component's portfolio figures, one call for every area.


def _portfolio(areas: Sequence[Area], as_of: dt.date) -> dict[int, list[LoanFigures]]:
    out: dict[int, list[LoanFigures]] = defaultdict(list)
    for f in portfolio_by_area(list(areas), as_of=as_of):
        out[f.area_id].append(
            LoanFigures(
                currency=f.currency,
                active_loans=f.active_loans,
                outstanding_principal=f.outstanding_principal,
                at_risk_principal=f.at_risk_principal,
                par30=_float(f.par30),
                repayment_rate=_float(f.repayment_rate),
                disbursed_loans=f.disbursed_loans,
            )
        )
    for figures in out.values():
        figures.sort(key=lambda f: f.currency)
    return out


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# --------------------------------------------------------------------------------------
# Small-cell suppression (the rule is in cells.py).


def _suppress_reach(reach: Reach, total_hidden: bool) -> None:
    if total_hidden:
        reach.total = None
    else:
        reach.total = _small(reach.total)
    for cells in (reach.by_sex, reach.by_band):
        for key in hidden_cells(reach.total, cells):
            cells[key] = None


def suppress(summary: Summary) -> None:
    """Hide small counts, in place, for a reader who may not see persons."""
    rows = summary.rows
    # Each child's figure is a part of the area's total: protect it across children.
    reach_hidden: dict[tuple[str, int], bool] = {}
    for code in [*COMPONENTS, ANY]:
        total = _small(summary.total.reach[code].total)
        parts = {i: row.reach[code].total for i, row in enumerate(summary.children)}
        hide = hidden_cells(total, parts)
        reach_hidden[code, -1] = total is None
        for i in range(len(summary.children)):
            reach_hidden[code, i] = i in hide
    for index, row in enumerate([summary.total, *summary.children]):
        i = index - 1
        for code in [*COMPONENTS, ANY]:
            _suppress_reach(row.reach[code], reach_hidden[code, i])
    total_events = _small(summary.total.large_events.total)
    hide = parts_hidden(total_events, [r.large_events.total for r in summary.children])
    _suppress_reach(summary.total.large_events, total_events is None)
    for i, row in enumerate(summary.children):
        _suppress_reach(row.large_events, i in hide)
    children = summary.children
    # Other figures of a child hidden whole when its count is small, or when it would
    # be the only one hidden beside the area's total.
    for i in parts_hidden(summary.total.training.enrolled, [c.training.enrolled for c in children]):
        children[i].training = Training(None, None, None, None, None, None)
    due = parts_hidden(summary.total.follow_ups.due, [c.follow_ups.due for c in children])
    done = parts_hidden(
        summary.total.follow_ups.done_in_period, [c.follow_ups.done_in_period for c in children]
    )
    for i in due | done:
        children[i].follow_ups = FollowUps(None, None, None)
    hidden: set[int] = set()  # loan and activity figures hidden whole, by id()
    rate_hidden: set[int] = set()  # repayment rates over too few loans, by id()
    for f in summary.total.loans:
        loan_parts = [_by_currency(c.loans, f.currency) for c in children]
        counts = [x.active_loans if x else 0 for x in loan_parts]
        for i in parts_hidden(f.active_loans, counts):
            hidden.add(id(loan_parts[i]))
        # The repayment rate counts loans closed since, too: it goes with all loans.
        disbursed = [x.disbursed_loans if x else 0 for x in loan_parts]
        for i in parts_hidden(f.disbursed_loans, disbursed):
            rate_hidden.add(id(loan_parts[i]))
    for g in summary.total.igas:
        parts_iga = [_by_currency(c.igas, g.currency) for c in children]
        counts = [x.activities if x else 0 for x in parts_iga]
        for i in parts_hidden(g.activities, counts):
            hidden.add(id(parts_iga[i]))
    for row in rows:
        _suppress_training(row.training)
        fu = row.follow_ups
        fu.due = _small(fu.due)
        fu.overdue = None if fu.due is None else _small(fu.overdue)
        fu.done_in_period = _small(fu.done_in_period)
        for loan in row.loans:
            if id(loan) in hidden or _small(loan.active_loans) is None:
                loan.active_loans = None
                loan.outstanding_principal = loan.at_risk_principal = None
                loan.par30 = loan.repayment_rate = None
            if id(loan) in rate_hidden or _small(loan.disbursed_loans) is None:
                loan.disbursed_loans = loan.repayment_rate = None
        for iga in row.igas:
            if id(iga) in hidden or _small(iga.activities) is None:
                iga.activities = iga.compared = iga.at_or_above_benchmark = None
                iga.average_margin = iga.average_benchmark_net = None
            elif _small(iga.compared) is None:
                iga.compared = iga.at_or_above_benchmark = None
                iga.average_benchmark_net = None
            else:
                iga.at_or_above_benchmark = _small(iga.at_or_above_benchmark)


def _by_currency(figures: list[Any], currency: str) -> Any:
    return next((f for f in figures if f.currency == currency), None)


def _suppress_training(t: Training) -> None:
    t.enrolled = _small(t.enrolled)
    parts = {"completed": t.completed, "dropped_out": t.dropped_out, "ongoing": t.ongoing}
    hide = hidden_cells(t.enrolled, parts)
    t.completed = None if "completed" in hide else t.completed
    t.dropped_out = None if "dropped_out" in hide else t.dropped_out
    t.ongoing = None if "ongoing" in hide else t.ongoing
    t.followed_6m = _small(t.followed_6m) if t.completed is not None else None
    if t.followed_6m is None:
        t.employed_6m = None
    else:
        hide = hidden_cells(
            t.followed_6m, {"employed": t.employed_6m, "not": t.followed_6m - (t.employed_6m or 0)}
        )
        t.employed_6m = None if "employed" in hide else t.employed_6m


# --------------------------------------------------------------------------------------
# The selector.


def default_area(actor: Any) -> Area | None:
    """The widest area the actor sees figures for (the first, by code, if several)."""
    paths = access.scope_paths(actor, VIEW_AGGREGATES)
    if not paths:
        return None
    if paths == ["/"]:
        return Area.objects.filter(parent__isnull=True).order_by("code").first()
    ids = [int(p.strip("/").split("/")[-1]) for p in paths]
    return Area.objects.filter(pk__in=ids).order_by("path").first()


def summary_areas(actor: Any) -> list[Area]:
    """The areas the actor holds figures for (to choose from)."""
    paths = access.scope_paths(actor, VIEW_AGGREGATES)
    if paths == ["/"]:
        return list(Area.objects.filter(parent__isnull=True).order_by("code"))
    ids = [int(p.strip("/").split("/")[-1]) for p in paths if p.strip("/")]
    return list(Area.objects.filter(pk__in=ids).order_by("country", "path"))


def _children(area: Area, start: dt.date | None, end: dt.date) -> tuple[list[Area], set[int]]:
    """Every child unit, and the ids of those valid at some time in the period."""
    children = list(area.children.order_by("code", "valid_from", "id"))
    current = {
        c.pk
        for c in children
        if (c.valid_from is None or c.valid_from <= end)
        and (c.valid_to is None or start is None or c.valid_to >= start)
    }
    return children, current


def area_summary(
    actor: Any,
    area: Area,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    today: dt.date | None = None,
) -> Summary:
    """The figures of `area` and of each unit directly below it for the period
    [start, end] (start None: from the beginning; end: today by default). Needs the
    right to see aggregate figures in the area; small counts are hidden unless the
    actor may also see its persons."""
    if not access.can_act_in(actor, VIEW_AGGREGATES, area):
        raise PermissionDenied(VIEW_AGGREGATES)
    today = today or timezone.localdate()
    end = end or today
    children, current = _children(area, start, end)
    predecessors = list(
        Area.objects.filter(successions__successor=area).order_by("code", "valid_from")
    )
    scope = Scope((area.path,), area.path)
    rows: dict[str, AreaSummary] = {str(c.pk): AreaSummary(c) for c in children}
    total = AreaSummary(area, is_total=True)

    def row(key: str) -> AreaSummary:
        # A village (no children) is its own only row; records made directly under
        # the area (none expected) count in the total only.
        return rows.get(key) or total

    for component, key, sex, band, n in reach_rows(scope, start, end):
        total.reach[component].add(sex, band, n)
        if key in rows:
            rows[key].reach[component].add(sex, band, n)
    for key, sex, band, n in headcount_rows(scope, start, end):
        total.large_events.add(sex, band, n)
        if key in rows:
            rows[key].large_events.add(sex, band, n)
    for key, enrolled, completed, dropped, followed, employed in training_rows(scope, start, end):
        for target in {id(total): total, id(row(key)): row(key)}.values():
            t = target.training
            assert t.enrolled is not None and t.completed is not None
            assert t.dropped_out is not None and t.followed_6m is not None
            assert t.employed_6m is not None and t.ongoing is not None
            t.enrolled += enrolled
            t.completed += completed
            t.dropped_out += dropped
            t.ongoing += enrolled - completed - dropped
            t.followed_6m += followed
            t.employed_6m += employed
    igas: dict[tuple[int, str], IgaFigures] = {}
    for key, currency, n, margins, compared, benchmarks, above in iga_rows(scope, start, end):
        for target in {id(total): total, id(row(key)): row(key)}.values():
            f = igas.get((id(target), currency))
            if f is None:
                f = igas[id(target), currency] = IgaFigures(currency, 0, None, 0, None, 0)
                target.igas.append(f)
            f.activities = (f.activities or 0) + n
            f.margin_sum += margins
            f.compared = (f.compared or 0) + compared
            f.benchmark_sum += benchmarks
            f.at_or_above_benchmark = (f.at_or_above_benchmark or 0) + above
    for f in igas.values():
        f.average_margin = average(f.margin_sum, f.activities)
        f.average_benchmark_net = average(f.benchmark_sum, f.compared)
    for key, due, overdue, done in follow_up_rows(scope, start, end, today):
        for target in {id(total): total, id(row(key)): row(key)}.values():
            fu = target.follow_ups
            fu.due = (fu.due or 0) + due
            fu.overdue = (fu.overdue or 0) + overdue
            fu.done_in_period = (fu.done_in_period or 0) + done
    portfolio = _portfolio([area, *children], as_of=end)
    total.loans = portfolio.get(area.pk, [])
    for child in children:
        rows[str(child.pk)].loans = portfolio.get(child.pk, [])
    for r in [total, *rows.values()]:
        r.igas.sort(key=lambda f: f.currency)
    shown = [rows[str(c.pk)] for c in children if c.pk in current or _has_figures(rows[str(c.pk)])]
    summary = Summary(
        area=area,
        start=start,
        end=end,
        today=today,
        suppressed=not access.can_act_in(actor, VIEW_PERSONS, area),
        total=total,
        children=shown,
        predecessors=predecessors,
    )
    if summary.suppressed:
        suppress(summary)
    return summary


def _has_figures(row: AreaSummary) -> bool:
    return bool(
        row.reach[ANY].total
        or row.large_events.total
        or row.training.enrolled
        or row.loans
        or row.igas
        or row.follow_ups.due
        or row.follow_ups.done_in_period
    )


def reach_total(actor: Any, paths: Iterable[str], start: dt.date, end: dt.date) -> int:
    """Persons reached by any component in the period under the given area paths."""
    scope = Scope(tuple(paths))
    if not scope.paths:
        return 0
    return sum(n for component, _k, _s, _b, n in reach_rows(scope, start, end) if component == ANY)
