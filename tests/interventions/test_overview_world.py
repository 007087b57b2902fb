"""Interventions received by persons, written straight to the tables, for the tests of
the overview (history, summaries, home page). No tests here: the other overview
test modules import these builders.

    from tests.interventions import test_overview_world as w

    v1 = f.village("20")                       # Chantrea district, Svay Rieng
    sophea = f.consenting_person(v1, born=dt.date(2008, 5, 1))
    w.attend(sophea, on=dt.date(2026, 3, 1))   # an awareness event in her village
    w.enrol(sophea, on=dt.date(2026, 6, 1), completed_on=dt.date(2026, 8, 1))
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from ctip.geography.models import Area, Level
from ctip.interventions import models as m
from ctip.registry.models import Person

_n = itertools.count(1)


def other_district_village(province_code: str = "20", district_index: int = 1) -> Area:
    """The first village of the province's `district_index`-th district (by code)."""
    province = Area.objects.get(country="KH", level=Level.PROVINCE, code=province_code)
    district = province.children.order_by("code")[district_index]
    return Area.objects.filter(level=Level.VILLAGE, path__startswith=district.path).order_by(
        "code"
    )[0]


def commune_of(village: Area) -> Area:
    assert village.parent is not None
    return village.parent


def district_of(village: Area) -> Area:
    ids = [int(x) for x in village.path.strip("/").split("/")]
    return Area.objects.get(pk=ids[2])


def event(
    village: Area, on: dt.date, *, title: str = "Safe migration", by: Any = None
) -> m.AwarenessEvent:
    e = m.AwarenessEvent.objects.create(
        held_on=on,
        village=village,
        kind=m.EventKind.VILLAGE_MEETING,
        title=title,
        topics=[m.Topic.SAFE_MIGRATION_STEPS],
        location="Pagoda",
        created_by=by,
    )
    if by is not None:
        e.facilitators.add(by)
    return e


def attend(person: Person, *, on: dt.date, ev: m.AwarenessEvent | None = None, by: Any = None):
    ev = ev or event(person.household.village, on, by=by)
    m.EventAttendance.objects.create(event=ev, person=person, recorded_by=by)
    return ev


def headcount(village: Area, on: dt.date, cells: dict[tuple[str, str], int]) -> m.AwarenessEvent:
    ev = event(village, on, title="Radio call-in")
    for (sex, band), n in cells.items():
        m.EventHeadcount.objects.create(event=ev, sex=sex, age_band=band, count=n)
    return ev


def course(area: Area, *, starts: dt.date = dt.date(2026, 2, 1)) -> m.Course:
    return m.Course.objects.create(
        title=f"Motorbike repair {next(_n)}",
        trade="Motorbike repair",
        provider="Provincial training centre",
        area=area,
        starts_on=starts,
        ends_on=starts + dt.timedelta(days=90),
        cost_per_trainee=Decimal("120.00"),
        currency="USD",
        status=m.CourseStatus.FINISHED,
    )


def enrol(
    person: Person,
    *,
    on: dt.date,
    c: m.Course | None = None,
    completed_on: dt.date | None = None,
    dropped_on: dt.date | None = None,
    situation_6m: str = "",
    by: Any = None,
) -> m.Enrolment:
    c = c or course(person.household.village, starts=on)
    e = m.Enrolment.objects.create(
        course=c,
        person=person,
        enrolled_on=on,
        status=(
            m.EnrolmentStatus.COMPLETED
            if completed_on
            else m.EnrolmentStatus.DROPPED_OUT
            if dropped_on
            else m.EnrolmentStatus.ENROLLED
        ),
        completed_on=completed_on,
        dropped_on=dropped_on,
        certificate=bool(completed_on),
        certificate_number=f"C-{next(_n)}" if completed_on else "",
        created_by=by,
    )
    if situation_6m:
        assert completed_on is not None
        m.FollowUp.objects.create(
            person=person,
            component=m.Component.TRAINING,
            enrolment=e,
            due_on=completed_on + dt.timedelta(days=182),
            months_after=6,
            status=m.FollowUpStatus.DONE,
            visited_on=completed_on + dt.timedelta(days=185),
            situation=situation_6m,
            visited_by=by,
        )
    return e


def product(currency: str = "KHR") -> m.LoanProduct:
    return m.LoanProduct.objects.create(
        code=f"p{next(_n)}",
        name="Small business loan",
        method=m.InterestMethod.DECLINING,
        annual_rate=Decimal("18.000"),
        term=6,
        frequency=m.Frequency.MONTHLY,
        currency=currency,
    )


def loan(
    person: Person | None,
    *,
    on: dt.date,
    household: Any = None,
    principal: str = "600000",
    currency: str = "KHR",
    by: Any = None,
) -> m.Loan:
    """A loan with six equal instalments of principal (no interest, for easy sums)."""
    household = household or person.household  # type: ignore[union-attr]
    ln = m.Loan.objects.create(
        product=product(currency),
        household=household,
        person=person,
        principal=Decimal(principal),
        currency=currency,
        method=m.InterestMethod.DECLINING,
        annual_rate=Decimal("0"),
        term=6,
        frequency=m.Frequency.MONTHLY,
        disbursed_on=on,
        purpose="Pigs",
        created_by=by,
    )
    part = Decimal(principal) / 6
    from ctip.interventions.dates import add_months

    for i in range(1, 7):
        m.Installment.objects.create(
            loan=ln,
            number=i,
            due_on=add_months(on, i),
            principal=part,
            interest=Decimal(0),
            total=part,
            balance=Decimal(principal) - part * i,
        )
    return ln


def savings(person: Person, *, on: dt.date, village: Area | None = None) -> m.SavingsMember:
    group = m.SavingsGroup.objects.create(
        name=f"Lotus savings group {next(_n)}",
        village=village or person.household.village,
        formed_on=on,
        share_value=Decimal("5000"),
        currency="KHR",
        cycle_started_on=on,
    )
    member = m.SavingsMember.objects.create(
        group=group, person=person, role=m.MemberRole.TREASURER, joined_on=on
    )
    m.LedgerEntry.objects.create(
        group=group, member=member, entry_on=on, kind=m.LedgerKind.SHARES, amount=10000, shares=2
    )
    return member


def benchmark(
    currency: str = "KHR", wage: str = "1200000", costs: str = "400000"
) -> m.MigrationBenchmark:
    return m.MigrationBenchmark.objects.create(
        destination="Bangkok",
        destination_country="TH",
        sector=m.Sector.CONSTRUCTION,
        monthly_wage=Decimal(wage),
        monthly_costs=Decimal(costs),
        currency=currency,
        valid_from=dt.date(2025, 1, 1),
    )


def iga(
    person: Person,
    *,
    on: dt.date,
    price: str = "5000",
    volume: str = "300",
    variable: tuple[str, ...] = ("1500", "500"),
    fixed: tuple[str, ...] = ("100000",),
    investment: tuple[str, ...] = ("900000",),
    currency: str = "KHR",
    bench: m.MigrationBenchmark | None = None,
    status: str = m.ActivityStatus.RUNNING,
) -> m.IncomeActivity:
    a = m.IncomeActivity.objects.create(
        household=person.household,
        person=person,
        title="Chicken raising",
        sector=m.Sector.LIVESTOCK,
        started_on=on,
        status=status,
        unit="chicken",
        expected_price=Decimal(price),
        expected_volume=Decimal(volume),
        currency=currency,
        benchmark=bench,
    )
    for kind, amounts in (
        (m.CostKind.VARIABLE, variable),
        (m.CostKind.FIXED, fixed),
        (m.CostKind.INVESTMENT, investment),
    ):
        for amount in amounts:
            m.ActivityCost.objects.create(activity=a, item=kind, kind=kind, amount=Decimal(amount))
    return a


def education(person: Person, *, on: dt.date, by: Any = None, term: int = 1) -> m.EducationSupport:
    s = m.EducationSupport.objects.create(
        person=person,
        kind=m.SupportKind.SCHOLARSHIP,
        school_name="Chantrea lower secondary school",
        grade="8",
        starts_on=on,
        amount=Decimal("200000"),
        currency="KHR",
        provider="Commune council",
        created_by=by,
    )
    m.SchoolTerm.objects.create(
        person=person,
        support=s,
        school_year=f"{on.year}-{on.year + 1}",
        term=term,
        school_name=s.school_name,
        grade="8",
        days_attended=55,
        days_possible=60,
        recorded_by=by,
    )
    return s


def participate(
    person: Person, *, on: dt.date, role: str = m.ParticipantRole.SPEAKER, by: Any = None
) -> m.Participant:
    village = person.household.village
    group = m.ParticipationGroup.objects.create(
        name=f"Children's forum {next(_n)}", kind=m.GroupKind.FORUM, area=village
    )
    ev = m.ParticipationEvent.objects.create(
        group=group,
        kind=m.ParticipationEventKind.FORUM,
        held_on=on,
        area=village,
        title="Commune children's forum",
        summary="Asked for a safer road to school.",
        created_by=by,
    )
    m.Recommendation.objects.create(event=ev, text="Street lights on the school road")
    return m.Participant.objects.create(event=ev, person=person, role=role, recorded_by=by)


def follow_up(
    person: Person, *, due: dt.date, status: str = m.FollowUpStatus.DUE, assigned_to: Any = None
) -> m.FollowUp:
    return m.FollowUp.objects.create(
        person=person,
        component=m.Component.LOAN,
        due_on=due,
        months_after=1,
        status=status,
        assigned_to=assigned_to,
        visited_on=due if status == m.FollowUpStatus.DONE else None,
        situation=m.Situation.SELF_EMPLOYED if status == m.FollowUpStatus.DONE else "",
    )
