"""The demo interventions: every component present in plausible amounts, individual help
only with consent for services, nothing dated after `as_of`, schedules that sum
exactly, ledgers that balance, arrears that move PAR30, the committee's approved
persons enrolled; reproducible by seed, generated once, audited once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Exists, OuterRef, Q, Sum

from ctip.core.actors import SYSTEM
from ctip.core.models import AuditEvent
from ctip.geography.models import Area
from ctip.interventions import demo as idemo
from ctip.interventions import models as m
from ctip.interventions.schedule import build_schedule
from ctip.interventions.selectors.loans import portfolio_by_area
from ctip.interventions.selectors.savings import reconciliation
from ctip.registry import demo
from ctip.registry.models import Consent, ConsentPurpose, Person
from ctip.vulnerability import targeting
from ctip.vulnerability.demo import generate_assessments
from ctip.vulnerability.models import AssistanceType, Decision, TargetingEntry

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 3, 15)


@pytest.fixture
def programme() -> dict[str, object]:
    """The small demo programme with its assessments and vocational training list."""
    demo.generate(size="small", seed=7, as_of=AS_OF)
    generate_assessments(seed=7, as_of=AS_OF)
    targeting.load_default_assistance_types(actor=SYSTEM)
    training = AssistanceType.objects.get(code="vocational-training")
    tl = targeting.targeting_list_build(
        actor=SYSTEM, assistance_type=training, area=demo.demo_area("20"), as_of=AS_OF
    )
    return {"list": tl}


@pytest.fixture
def made(programme) -> dict[str, int]:
    return idemo.generate_interventions(seed=7, as_of=AS_OF, size="small")


def _with_services(person_ref: str) -> Q:
    return Q(
        Exists(
            Consent.objects.filter(
                person_id=OuterRef(person_ref),
                purpose=ConsentPurpose.SERVICES,
                withdrawn_at__isnull=True,
            )
        )
    )


def test_every_component_is_there_in_plausible_amounts(made) -> None:
    for key in (
        "awareness_events",
        "attendance",
        "headcount_people",
        "materials",
        "material_reviews",
        "courses",
        "enrolments",
        "enrolments_completed",
        "certificates",
        "loans",
        "installments",
        "repayments",
        "savings_groups",
        "savings_members",
        "ledger_entries",
        "igas",
        "iga_costs",
        "education_supports",
        "school_terms",
        "participation_groups",
        "participation_events",
        "participants",
        "recommendations",
        "follow_ups",
        "follow_ups_overdue",
    ):
        assert made[key] > 0, key
    assert m.EventAttendance.objects.count() == made["attendance"]
    assert m.Loan.objects.count() == made["loans"]
    assert m.FollowUp.objects.count() == made["follow_ups"]
    # About a quarter of the young (10-24) attended an awareness event in the small demo.
    young = Person.objects.filter(
        date_of_birth__gt=AS_OF - dt.timedelta(days=int(25 * 365.25)),
        date_of_birth__lte=AS_OF - dt.timedelta(days=int(10 * 365.25)),
    ).count()
    reached = m.EventAttendance.objects.values("person").distinct().count()
    assert 0.12 < reached / young < 0.4
    # Every status of follow-up visit, and some overdue.
    statuses = set(m.FollowUp.objects.values_list("status", flat=True))
    assert statuses == {"due", "done", "missed", "cancelled"}
    assert (
        m.FollowUp.objects.filter(status="due", due_on__lt=AS_OF).count()
        == (made["follow_ups_overdue"])
    )
    # Courses finished and running; enrolments completed, dropped and ongoing.
    assert set(m.Course.objects.values_list("status", flat=True)) == {"finished", "running"}
    assert set(m.Enrolment.objects.values_list("status", flat=True)) == set(
        m.EnrolmentStatus.values
    )


def test_only_persons_with_consent_for_services_receive_individual_help(made) -> None:
    for model in (
        m.Enrolment,
        m.SavingsMember,
        m.EducationSupport,
        m.Participant,
        m.IncomeActivity,
    ):
        assert not model.objects.exclude(_with_services("person_id")).exists(), model
    assert not m.Loan.objects.exclude(_with_services("person_id")).exists()
    assert m.Loan.objects.filter(person__isnull=True).count() == 0


def test_nothing_is_dated_after_as_of(made) -> None:
    assert not m.AwarenessEvent.objects.filter(held_on__gt=AS_OF).exists()
    assert not m.Enrolment.objects.filter(
        Q(enrolled_on__gt=AS_OF) | Q(completed_on__gt=AS_OF) | Q(dropped_on__gt=AS_OF)
    ).exists()
    assert not m.Repayment.objects.filter(paid_on__gt=AS_OF).exists()
    assert not m.Installment.objects.filter(paid_on__gt=AS_OF).exists()
    assert not m.Loan.objects.filter(Q(disbursed_on__gt=AS_OF) | Q(closed_on__gt=AS_OF)).exists()
    assert not m.LedgerEntry.objects.filter(entry_on__gt=AS_OF).exists()
    assert not m.FollowUp.objects.filter(visited_on__gt=AS_OF).exists()
    assert not m.ParticipationEvent.objects.filter(held_on__gt=AS_OF).exists()
    assert not m.EducationSupport.objects.filter(starts_on__gt=AS_OF).exists()
    assert not m.IncomeActivity.objects.filter(started_on__gt=AS_OF).exists()


def test_schedules_are_the_engines_and_sum_exactly(made) -> None:
    for loan in m.Loan.objects.prefetch_related("installments"):
        lines = list(loan.installments.all())
        expected = build_schedule(
            principal=loan.principal,
            annual_rate=loan.annual_rate,
            term=loan.term,
            frequency=loan.frequency,
            method=loan.method,
            grace=loan.grace,
            currency=loan.currency,
            start=loan.disbursed_on,
        )
        assert [
            (x.number, x.due_on, x.principal, x.interest, x.total, x.balance) for x in lines
        ] == [
            (x.number, x.due_date, x.principal, x.interest, x.total, x.balance)
            for x in expected.installments
        ]
        assert sum((x.principal for x in lines), Decimal(0)) == loan.principal
        assert sum((x.total for x in lines), Decimal(0)) == loan.principal + sum(
            (x.interest for x in lines), Decimal(0)
        )
        repaid = loan.repayments.aggregate(
            p=Sum("principal_part"), i=Sum("interest_part"), a=Sum("amount")
        )
        assert (repaid["p"] or 0) == sum((x.principal_paid for x in lines), Decimal(0))
        assert (repaid["i"] or 0) == sum((x.interest_paid for x in lines), Decimal(0))
        assert (repaid["a"] or 0) == (repaid["p"] or 0) + (repaid["i"] or 0)
        if loan.status == m.LoanStatus.REPAID:
            assert all(x.paid_on for x in lines)
        if loan.status == m.LoanStatus.WRITTEN_OFF:
            assert loan.written_off_amount == loan.principal - (repaid["p"] or 0)


def test_some_loans_are_late_and_par30_is_not_zero(made) -> None:
    assert m.Repayment.objects.filter(note="Late").exists()
    overdue = m.Installment.objects.filter(
        due_on__lt=AS_OF - dt.timedelta(days=30), paid_on__isnull=True, loan__status="active"
    )
    assert overdue.exists()
    countries = list(Area.objects.filter(level="country"))
    figures = portfolio_by_area(countries, as_of=AS_OF)
    assert any(f.par30 and f.par30 > 0 for f in figures)
    assert {f.currency for f in figures} == {"KHR", "VND"}


def test_savings_ledgers_balance(made) -> None:
    groups = list(m.SavingsGroup.objects.all())
    assert groups
    for group in groups:
        check = reconciliation(group)
        assert check.ok, (group.name, [(c.label, c.expected, c.found) for c in check.checks])
        assert check.balance >= 0
    kinds = set(m.LedgerEntry.objects.values_list("kind", flat=True))
    assert {"shares", "social_fund", "loan_out", "loan_repayment", "loan_interest"} <= kinds


def test_igas_have_costs_and_a_migration_benchmark_in_their_currency(made) -> None:
    activities = m.IncomeActivity.objects.annotate(n=Count("costs"))
    assert not activities.filter(n=0).exists()
    compared = activities.filter(benchmark__isnull=False)
    assert compared.exists()
    for a in compared.select_related("benchmark"):
        assert a.benchmark is not None and a.benchmark.currency == a.currency
    destinations = set(m.MigrationBenchmark.objects.values_list("destination", flat=True))
    assert {"Bangkok, Thailand", "Phnom Penh garment factory", "Ho Chi Minh City"} <= destinations


def test_the_committees_approved_persons_are_enrolled_first(made, programme) -> None:
    tl = programme["list"]
    approved = TargetingEntry.objects.filter(targeting_list=tl, decision=Decision.APPROVED)
    assert approved.exists()
    assert TargetingEntry.objects.filter(targeting_list=tl, decision=Decision.PENDING).exists()
    from_list = m.Enrolment.objects.filter(targeting_entry__targeting_list=tl)
    assert from_list.exists()
    assert set(from_list.values_list("person_id", flat=True)) < set(
        approved.values_list("person_id", flat=True)
    )  # some approved persons are left for the officer to enrol
    course = from_list.first().course  # type: ignore[union-attr]
    assert course.status == m.CourseStatus.RUNNING and course.targeting_list_id == tl.pk


def test_a_child_with_awareness_a_scholarship_and_a_forum(made) -> None:
    child = made["showcase_person_id"]
    assert m.EventAttendance.objects.filter(person_id=child).count() >= 2
    assert m.EducationSupport.objects.filter(
        person_id=child, kind=m.SupportKind.SCHOLARSHIP
    ).exists()
    assert m.Participant.objects.filter(
        person_id=child, event__kind=m.ParticipationEventKind.FORUM
    ).exists()


def _snapshot() -> list[object]:
    return [
        sorted(
            m.EventAttendance.objects.values_list(
                "event__held_on", "event__village_id", "event__kind", "person_id"
            )
        ),
        sorted(m.EventHeadcount.objects.values_list("event__held_on", "sex", "age_band", "count")),
        sorted(
            m.Enrolment.objects.values_list(
                "person_id", "enrolled_on", "status", "completed_on", "course__trade"
            )
        ),
        sorted(
            m.Installment.objects.values_list(
                "loan__person_id", "loan__disbursed_on", "number", "total", "paid_on"
            )
        ),
        sorted(
            m.LedgerEntry.objects.values_list(
                "group__village_id", "entry_on", "kind", "amount", "member__person_id"
            ),
            key=str,
        ),
        sorted(
            m.FollowUp.objects.values_list("person_id", "component", "due_on", "status"), key=str
        ),
        sorted(m.Participant.objects.values_list("person_id", "event__held_on", "role")),
        sorted(m.IncomeActivity.objects.values_list("person_id", "title", "expected_price")),
    ]


def _wipe() -> None:
    for model in (
        m.FollowUp,
        m.Repayment,
        m.Installment,
        m.Loan,
        m.ActivityCost,
        m.IncomeActivity,
        m.LedgerEntry,
        m.SavingsMeeting,
        m.SavingsMember,
        m.SavingsGroup,
        m.SessionAttendance,
        m.CourseSession,
        m.Enrolment,
        m.Course,
        m.SchoolTerm,
        m.EducationSupport,
        m.Recommendation,
        m.Participant,
        m.ParticipationEvent,
        m.ParticipationGroup,
        m.EventAttendance,
        m.EventHeadcount,
        m.AwarenessEvent,
        m.MaterialReview,
        m.Material,
        m.LoanProduct,
        m.MigrationBenchmark,
    ):
        model.objects.all().delete()


def test_same_seed_same_interventions_and_one_audit_event_per_run(made) -> None:
    first = _snapshot()
    events = AuditEvent.objects.filter(action=idemo.ACTION)
    assert events.count() == 1
    assert events.get().changes["loans"]["after"] == made["loans"]
    assert AuditEvent.objects.filter(object_type__startswith="interventions.").count() == 1
    # Asked again: nothing made, the same counts.
    assert idemo.generate_interventions(seed=7, as_of=AS_OF, size="small")["loans"] == made["loans"]
    assert m.Loan.objects.count() == made["loans"]
    assert events.count() == 1
    _wipe()
    again = idemo.generate_interventions(seed=7, as_of=AS_OF, size="small")
    assert again["attendance"] == made["attendance"]
    assert _snapshot() == first


def test_the_demo_data_command_adds_interventions_after_the_assessments() -> None:
    out = StringIO()
    call_command("demo_data", size="small", seed=7, no_progress=True, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Generated") and lines[1].startswith("Assessed")
    assert lines[2].startswith("Recorded interventions:")
    assert m.AwarenessEvent.objects.exists() and m.Loan.objects.exists()
    events = AuditEvent.objects.count()
    out = StringIO()
    call_command("demo_data", size="small", seed=7, no_progress=True, stdout=out)
    assert "already present" in out.getvalue()
    assert AuditEvent.objects.count() == events
