"""Loans through the services and selectors: products, disbursing with the schedule,
repayments (partial, early, late, too much), write-off, arrears, PAR30 and the
portfolio figures per area."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ctip.core.models import AuditEvent
from ctip.geography.models import Area
from ctip.interventions.dates import add_months
from ctip.interventions.models import (
    FollowUp,
    IncomeActivity,
    Installment,
    Loan,
    LoanProduct,
    LoanStatus,
    Repayment,
)
from ctip.interventions.schedule import LoanTerms, build_schedule, build_schedules
from ctip.interventions.selectors import loans as sel
from ctip.interventions.services import loans as svc
from ctip.registry import services as registry
from tests.interventions import factories as f

pytestmark = pytest.mark.django_db
D = Decimal


def today() -> dt.date:
    return timezone.localdate()


def up(village: Area, level: str) -> Area:
    """The area of `level` (province, district, commune) a village lies in."""
    ids = [int(x) for x in village.path.strip("/").split("/")]
    return Area.objects.get(pk__in=ids, level=level)


def admin() -> Any:
    return f.registrar()


def product(**kw: Any) -> LoanProduct:
    values: dict[str, Any] = {
        "code": "kh-monthly",
        "name": "Village loan",
        "method": "declining",
        "annual_rate": D(18),
        "term": 12,
        "frequency": "monthly",
        "grace": 0,
        "currency": "KHR",
        "min_principal": D(100_000),
        "max_principal": D(10_000_000),
    }
    values.update(kw)
    return svc.loan_product_create(actor=admin(), **values)


def disburse(who: Any, prod: LoanProduct | None = None, **kw: Any) -> Loan:
    values: dict[str, Any] = {
        "actor": admin(),
        "product": prod or product(),
        "household": who.household,
        "person": who,
        "principal": D(1_000_000),
        "disbursed_on": today() - dt.timedelta(days=10),
        "purpose": "Pigs",
    }
    values.update(kw)
    return svc.loan_disburse(**values)


def counts() -> tuple[int, ...]:
    return (
        Loan.objects.count(),
        Installment.objects.count(),
        Repayment.objects.count(),
        FollowUp.objects.count(),
        AuditEvent.objects.count(),
    )


def lines(loan: Loan) -> list[Installment]:
    return list(loan.installments.order_by("number"))


# --- products -----------------------------------------------------------------------


def test_a_manager_sets_up_a_product_and_changes_it_with_audit() -> None:
    manager = f.staff("pm", "programme_manager", "KH-20")
    p = svc.loan_product_create(
        actor=manager,
        code="pigs-12",
        name="Pig raising",
        method="flat",
        annual_rate="24",
        term="12",
        frequency="monthly",
        grace=2,
        currency="USD",
        min_principal="100",
        max_principal="1500.50",
    )
    assert (p.method, p.annual_rate, p.term, p.grace, p.max_principal) == (
        "flat",
        D(24),
        12,
        2,
        D("1500.50"),
    )
    event = AuditEvent.objects.filter(object_type="interventions.loanproduct").get()
    assert (event.action, event.changes["code"]) == ("create", "pigs-12")
    svc.loan_product_update(actor=manager, product=p, annual_rate=D(20), active=False)
    p.refresh_from_db()
    assert (p.annual_rate, p.active) == (D(20), False)
    change = AuditEvent.objects.filter(action="update", object_type="interventions.loanproduct")
    assert change.get().changes["annual_rate"] == {"before": "24.000", "after": "20"}


def test_a_facilitator_cannot_set_up_products() -> None:
    fac = f.staff("fac", "facilitator", "KH-20")
    with pytest.raises(PermissionDenied):
        svc.loan_product_create(
            actor=fac,
            code="x",
            name="X",
            method="flat",
            annual_rate=D(10),
            term=6,
            frequency="weekly",
            currency="KHR",
        )
    assert not LoanProduct.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"grace": 12}, "grace", "fewer than the 12"),
        ({"annual_rate": D(150)}, "annual_rate", "from 0 to 100"),
        ({"term": 0}, "term", "from 1 to 520"),
        ({"method": "balloon"}, "method", "flat, declining"),
        ({"currency": "EUR"}, "currency", "KHR, VND, USD"),
        ({"min_principal": D(5_000), "max_principal": D(1_000)}, "max_principal", "smaller"),
        ({"min_principal": D(-5)}, "min_principal", "negative"),
        ({"max_principal": D("10.5")}, "max_principal", "whole numbers"),
        ({"name": ""}, "name", "required"),
        ({"code": "a b"}, "code", "Letters"),
    ],
)
def test_bad_products_are_refused_naming_the_field(
    change: dict[str, Any], field: str, words: str
) -> None:
    before = LoanProduct.objects.count()
    with pytest.raises(ValidationError) as caught:
        product(**change)
    assert words in " ".join(caught.value.message_dict[field])
    assert LoanProduct.objects.count() == before


def test_product_codes_are_unique() -> None:
    product()
    with pytest.raises(ValidationError) as caught:
        product(name="Other")
    assert "kh-monthly" in caught.value.message_dict["code"][0]


# --- disbursing ---------------------------------------------------------------------


def test_disbursing_copies_the_terms_stores_the_engines_schedule_and_plans_visits() -> None:
    sr = f.village("20")
    person = f.consenting_person(sr, born=dt.date(1990, 1, 1))
    fac = f.staff("fac", "facilitator", up(sr, "commune"))
    prod = product(grace=2)
    day = today() - dt.timedelta(days=40)
    loan = disburse(person, prod, actor=fac, disbursed_on=day, principal="1,500,000")
    expected = build_schedule(
        principal=D(1_500_000),
        annual_rate=D(18),
        term=12,
        frequency="monthly",
        method="declining",
        grace=2,
        currency="KHR",
        start=day,
    )
    stored = lines(loan)
    assert [(x.number, x.due_on, x.principal, x.interest, x.total, x.balance) for x in stored] == [
        (x.number, x.due_date, x.principal, x.interest, x.total, x.balance)
        for x in expected.installments
    ]
    assert all(x.principal_paid == 0 and x.interest_paid == 0 for x in stored)
    assert (loan.method, loan.annual_rate, loan.term, loan.grace, loan.currency) == (
        "declining",
        D(18),
        12,
        2,
        "KHR",
    )
    assert (loan.status, loan.person, loan.created_by) == ("active", person, fac)
    visits = list(FollowUp.objects.filter(loan=loan).order_by("due_on"))
    assert [v.due_on for v in visits] == [add_months(day, n) for n in range(1, 13)]
    assert {v.component for v in visits} == {"loan"}
    event = AuditEvent.objects.get(object_type="interventions.loan", action="create")
    assert event.changes["principal"] == "1500000.00"
    assert event.changes["total_interest"] == str(expected.total_interest)
    # Product changes later do not move the loan.
    svc.loan_product_update(actor=admin(), product=prod, annual_rate=D(30), term=6, grace=0)
    loan.refresh_from_db()
    assert (loan.annual_rate, loan.term) == (D(18), 12)


def test_the_household_head_borrows_when_no_person_is_named() -> None:
    sr = f.village("20")
    head = f.consenting_person(sr, born=dt.date(1980, 1, 1), name="Dara")
    f.consenting_person(sr, household=head.household, name="Sophea")
    loan = disburse(head, person=None)
    assert loan.person == head


def test_a_borrower_without_services_consent_is_refused_and_nothing_is_written() -> None:
    sr = f.village("20")
    person = f.consenting_person(sr, born=dt.date(1990, 1, 1), purposes=("registration",))
    prod = product()
    before = counts()
    with pytest.raises(ValidationError) as caught:
        disburse(person, prod)
    message = caught.value.message_dict["person"][0]
    assert "no consent for" in message and "Sophea" in message
    assert counts() == before


def test_a_head_without_consent_is_refused_too() -> None:
    sr = f.village("20")
    head = f.consenting_person(sr, born=dt.date(1980, 1, 1), purposes=("registration",))
    prod = product()
    with pytest.raises(ValidationError) as caught:
        disburse(head, prod, person=None)
    assert "no consent" in caught.value.message_dict["person"][0]


def test_withdrawn_consent_is_no_consent() -> None:
    sr = f.village("20")
    person = f.consenting_person(sr, born=dt.date(1990, 1, 1))
    consent = person.consents.get(purpose="services")
    registry.consent_withdraw(actor=admin(), consent=consent, reason="Moved away")
    prod = product()
    before = counts()
    with pytest.raises(ValidationError) as caught:
        disburse(person, prod)
    assert "person" in caught.value.message_dict
    assert counts() == before


def test_a_person_of_another_household_cannot_borrow_for_this_one() -> None:
    sr = f.village("20")
    a = f.consenting_person(sr, born=dt.date(1990, 1, 1))
    b = f.consenting_person(sr, born=dt.date(1991, 1, 1))
    with pytest.raises(ValidationError) as caught:
        disburse(a, household=b.household)
    assert "not a member" in caught.value.message_dict["person"][0]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"principal": D(50_000)}, "principal", "at least 100,000 KHR"),
        ({"principal": D(20_000_000)}, "principal", "at most 10,000,000 KHR"),
        ({"principal": D(-5)}, "principal", "negative"),
        ({"principal": D("150000.50")}, "principal", "whole numbers"),
        ({"principal": "lots"}, "principal", "amount such as"),
        ({"disbursed_on": "tomorrow"}, "disbursed_on", "YYYY-MM-DD"),
        ({"purpose": "=HYPERLINK()"}, "purpose", "formula"),
    ],
)
def test_bad_loans_are_refused_naming_the_field(
    change: dict[str, Any], field: str, words: str
) -> None:
    person = f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1))
    prod = product()
    before = counts()
    with pytest.raises(ValidationError) as caught:
        disburse(person, prod, **change)
    assert words in " ".join(caught.value.message_dict[field])
    assert counts() == before


def test_a_loan_disbursed_in_the_future_is_refused() -> None:
    person = f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1))
    prod = product()
    with pytest.raises(ValidationError) as caught:
        disburse(person, prod, disbursed_on=today() + dt.timedelta(days=1))
    assert "in the future" in caught.value.message_dict["disbursed_on"][0]


def test_a_product_no_longer_offered_lends_nothing() -> None:
    person = f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1))
    prod = product(active=False)
    with pytest.raises(ValidationError) as caught:
        disburse(person, prod)
    assert "no longer offered" in caught.value.message_dict["product"][0]


def test_an_activity_of_another_household_is_refused() -> None:
    sr = f.village("20")
    a = f.consenting_person(sr, born=dt.date(1990, 1, 1))
    b = f.consenting_person(sr, born=dt.date(1991, 1, 1))
    iga = IncomeActivity.objects.create(
        household=b.household,
        title="Chickens",
        sector="livestock",
        unit="bird",
        expected_price=D(20000),
        expected_volume=D(10),
        currency="KHR",
    )
    with pytest.raises(ValidationError) as caught:
        disburse(a, iga=iga)
    assert "another household" in caught.value.message_dict["iga"][0]


@pytest.mark.parametrize(
    ("role", "area"),
    [
        ("facilitator", "KH-14"),  # wrong area
        ("me_officer", "KH-20"),  # reads, does not record
        ("donor", "KH-20"),
    ],
)
def test_only_recorders_in_the_households_area_disburse(role: str, area: str) -> None:
    person = f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1))
    prod = product()
    user = f.staff("u", role, area)
    before = counts()
    with pytest.raises(PermissionDenied):
        disburse(person, prod, actor=user)
    assert counts() == before


# --- repayments ---------------------------------------------------------------------


def flat_loan(person: Any, **kw: Any) -> Loan:
    """1 200 000 riel, 24% flat, monthly: 12 instalments of 100 000 + 24 000."""
    prod = product(code="flat", method="flat", annual_rate=D(24), **kw)
    return disburse(
        person, prod, principal=D(1_200_000), disbursed_on=today() - dt.timedelta(days=100)
    )


def test_a_partial_repayment_pays_interest_first() -> None:
    loan = flat_loan(f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1)))
    r = svc.repayment_record(
        actor=admin(), loan=loan, amount="30000", paid_on=today(), note="First"
    )
    assert (r.interest_part, r.principal_part) == (D(24_000), D(6_000))
    first = lines(loan)[0]
    assert (first.interest_paid, first.principal_paid, first.paid_on) == (
        D(24_000),
        D(6_000),
        None,
    )
    event = AuditEvent.objects.get(object_type="interventions.repayment")
    assert (event.action, event.changes["installments"]) == ("create", [1])


def test_a_late_repayment_clears_the_oldest_overdue_instalments_first() -> None:
    loan = flat_loan(f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1)))
    # About 100 days in: three instalments have fallen due and none was paid.
    overdue = [x for x in lines(loan) if x.due_on < today()]
    assert len(overdue) == 3
    arrears = sel.loan_arrears(loan)
    assert arrears.days_overdue == (today() - overdue[0].due_on).days
    assert (arrears.amount_overdue, arrears.installments_overdue) == (D(372_000), 3)
    svc.repayment_record(actor=admin(), loan=loan, amount=D(248_000), paid_on=today())
    paid = lines(loan)
    assert [x.paid_on for x in paid[:3]] == [today(), today(), None]
    arrears = sel.loan_arrears(loan)
    assert arrears.days_overdue == (today() - overdue[2].due_on).days
    assert arrears.amount_overdue == D(124_000)
    states = [r.state for r in sel.schedule_rows(loan)]
    assert states[:4] == ["paid_late", "paid_late", "overdue", "upcoming"]


def test_an_early_repayment_pays_later_instalments_in_order() -> None:
    person = f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1))
    prod = product(code="flat", method="flat", annual_rate=D(24))
    loan = disburse(person, prod, principal=D(1_200_000), disbursed_on=today())
    r = svc.repayment_record(actor=admin(), loan=loan, amount=D(300_000), paid_on=today())
    got = [(x.interest_paid, x.principal_paid, x.paid_on) for x in lines(loan)[:4]]
    assert got == [
        (D(24_000), D(100_000), today()),
        (D(24_000), D(100_000), today()),
        (D(24_000), D(28_000), None),
        (0, 0, None),
    ]
    assert (r.interest_part, r.principal_part) == (D(72_000), D(228_000))
    assert [row.state for row in sel.schedule_rows(loan)[:3]] == ["paid", "paid", "part_paid"]
    assert not sel.loan_arrears(loan).in_arrears


def test_repaying_everything_closes_the_loan() -> None:
    loan = flat_loan(f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1)))
    svc.repayment_record(actor=admin(), loan=loan, amount=D(1_000_000), paid_on=today())
    assert svc.outstanding(loan) == D(488_000)
    svc.repayment_record(actor=admin(), loan=loan, amount=D(488_000), paid_on=today())
    loan.refresh_from_db()
    assert (loan.status, loan.closed_on) == (LoanStatus.REPAID, today())
    assert all(x.paid_on == today() for x in lines(loan))
    assert sel.loan_balance(loan)["left"] == 0
    with pytest.raises(ValidationError) as caught:
        svc.repayment_record(actor=admin(), loan=loan, amount=D(1), paid_on=today())
    assert "repaid" in caught.value.message_dict["loan"][0]


def test_more_than_is_owed_is_refused_and_nothing_is_written() -> None:
    loan = flat_loan(f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1)))
    svc.repayment_record(actor=admin(), loan=loan, amount=D(400_000), paid_on=today())
    before = counts()
    snapshot = [(x.principal_paid, x.interest_paid, x.paid_on) for x in lines(loan)]
    with pytest.raises(ValidationError) as caught:
        svc.repayment_record(actor=admin(), loan=loan, amount=D(1_100_000), paid_on=today())
    assert caught.value.message_dict["amount"] == [
        "1,100,000 KHR is more than the 1,088,000 KHR still owed."
    ]
    assert counts() == before
    assert [(x.principal_paid, x.interest_paid, x.paid_on) for x in lines(loan)] == snapshot
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"amount": D(0)}, "amount", "more than 0"),
        ({"amount": D(-100)}, "amount", "negative"),
        ({"amount": D("10.5")}, "amount", "whole numbers"),
        ({"paid_on": "next week"}, "paid_on", "YYYY-MM-DD"),
        ({"paid_on": dt.date(2000, 1, 1)}, "paid_on", "disbursed on"),
    ],
)
def test_bad_repayments_are_refused(change: dict[str, Any], field: str, words: str) -> None:
    loan = flat_loan(f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1)))
    values: dict[str, Any] = {"amount": D(1000), "paid_on": today()}
    values.update(change)
    before = counts()
    with pytest.raises(ValidationError) as caught:
        svc.repayment_record(actor=admin(), loan=loan, **values)
    assert words in caught.value.message_dict[field][0]
    assert counts() == before


def test_a_repayment_dated_in_the_future_is_refused() -> None:
    loan = flat_loan(f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1)))
    tomorrow = today() + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as caught:
        svc.repayment_record(actor=admin(), loan=loan, amount=D(1000), paid_on=tomorrow)
    assert caught.value.message_dict["paid_on"] == [f"{tomorrow.isoformat()} is in the future."]


def test_usd_repayments_keep_their_cents() -> None:
    person = f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1))
    prod = product(
        code="usd", currency="USD", min_principal=None, max_principal=None, method="flat"
    )
    loan = disburse(person, prod, principal=D("1000.00"))
    first = lines(loan)[0]
    assert (first.principal, first.interest) == (D("83.33"), D("15.00"))
    assert lines(loan)[-1].principal == D("83.37")
    svc.repayment_record(actor=admin(), loan=loan, amount=D("98.34"), paid_on=today())
    first = lines(loan)[0]
    assert (first.interest_paid, first.principal_paid, first.paid_on) == (
        D("15.00"),
        D("83.33"),
        today(),
    )
    assert lines(loan)[1].interest_paid == D("0.01")
    with pytest.raises(ValidationError) as caught:
        svc.repayment_record(actor=admin(), loan=loan, amount=D("0.005"), paid_on=today())
    assert "2 decimal places" in caught.value.message_dict["amount"][0]


def test_only_recorders_in_the_area_record_repayments() -> None:
    loan = flat_loan(f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1)))
    for user in (
        f.staff("pv", "facilitator", "KH-14"),
        f.staff("me", "me_officer", "KH-20"),
        f.staff("donor", "donor", "KH-20"),
    ):
        before = counts()
        with pytest.raises(PermissionDenied):
            svc.repayment_record(actor=user, loan=loan, amount=D(1000), paid_on=today())
        assert counts() == before
    fac = f.staff("sr", "facilitator", "KH-20")
    r = svc.repayment_record(actor=fac, loan=loan, amount=D(1000), paid_on=today())
    assert r.recorded_by == fac


# --- write-off ----------------------------------------------------------------------


def test_a_manager_writes_a_loan_off_with_amount_and_reason() -> None:
    loan = flat_loan(f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1)))
    svc.repayment_record(actor=admin(), loan=loan, amount=D(124_000), paid_on=today())
    officer = f.staff("po", "provincial_officer", "KH-20")
    svc.loan_write_off(actor=officer, loan=loan, reason="Borrower migrated")
    loan.refresh_from_db()
    assert (loan.status, loan.written_off_amount, loan.write_off_reason, loan.closed_on) == (
        LoanStatus.WRITTEN_OFF,
        D(1_100_000),
        "Borrower migrated",
        today(),
    )
    event = AuditEvent.objects.get(action="loan.write_off")
    assert event.changes["written_off_amount"] == "1100000.00"
    with pytest.raises(ValidationError) as caught:
        svc.repayment_record(actor=admin(), loan=loan, amount=D(1000), paid_on=today())
    assert "written off" in caught.value.message_dict["loan"][0]
    assert not sel.loan_arrears(loan).in_arrears


def test_write_off_needs_a_manager_in_the_area_and_a_reason() -> None:
    loan = flat_loan(f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1)))
    for user in (
        f.staff("fac", "facilitator", "KH-20"),
        f.staff("po", "provincial_officer", "KH-14"),
    ):
        before = counts()
        with pytest.raises(PermissionDenied):
            svc.loan_write_off(actor=user, loan=loan, reason="Gone")
        assert counts() == before
    with pytest.raises(ValidationError) as caught:
        svc.loan_write_off(actor=admin(), loan=loan, reason=" ")
    assert "required" in caught.value.message_dict["reason"][0]
    with pytest.raises(ValidationError) as caught:
        svc.loan_write_off(
            actor=admin(), loan=loan, reason="x", written_off_on=today() + dt.timedelta(days=3)
        )
    assert "future" in caught.value.message_dict["written_off_on"][0]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE


# --- scoped reads -------------------------------------------------------------------


def test_loans_are_seen_only_where_persons_are_seen() -> None:
    sr_loan = flat_loan(f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1)))
    pv_person = f.consenting_person(f.village("14"), born=dt.date(1990, 1, 1))
    pv_loan = disburse(pv_person, LoanProduct.objects.get(code="flat"), principal=D(200_000))
    sr = f.staff("sr", "facilitator", "KH-20")
    assert list(sel.loans_visible_to(sr)) == [sr_loan]
    assert set(sel.loans_visible_to(admin())) == {sr_loan, pv_loan}
    assert not sel.loans_visible_to(f.staff("donor", "donor", "KH")).exists()
    assert list(sel.loan_search(admin(), area_code="KH-14")) == [pv_loan]
    assert list(sel.loan_search(admin(), q="sophea chan", area_code="KH-20")) == [sr_loan]
    assert list(sel.loan_search(admin(), q="nobody")) == []
    late = sel.loan_search(admin(), arrears_over=30)
    assert list(late) == [sr_loan]  # the Prey Veng loan is 10 days old
    assert getattr(late[0], "amount_overdue") == D(372_000)  # noqa: B009 (annotation)


# --- portfolio ----------------------------------------------------------------------


def weekly_product() -> LoanProduct:
    return product(code="weekly", frequency="weekly", term=10, method="flat", annual_rate=D(26))


def test_par30_moves_when_an_instalment_is_31_days_overdue_and_back_when_paid() -> None:
    sr = f.village("20")
    province = up(sr, "province")
    person = f.consenting_person(sr, born=dt.date(1990, 1, 1))
    # Weekly, first instalment due 31 days ago: 105 000 = 100 000 principal + 0.5% interest.
    loan = disburse(
        person,
        weekly_product(),
        principal=D(1_000_000),
        disbursed_on=today() - dt.timedelta(days=38),
    )
    assert lines(loan)[0].due_on == today() - dt.timedelta(days=31)

    def figures(day: dt.date) -> sel.PortfolioFigures:
        (row,) = sel.portfolio_by_area([province], as_of=day)
        return row

    yesterday = figures(today() - dt.timedelta(days=1))  # 30 days overdue: not yet at risk
    assert (yesterday.at_risk_principal, yesterday.par30) == (0, D(0))
    now = figures(today())
    assert (now.outstanding_principal, now.at_risk_principal, now.par30) == (
        D(1_000_000),
        D(1_000_000),
        D(1),
    )
    assert now.active_loans == 1
    # Five weekly instalments fell due (31, 24, 17, 10, 3 days ago): 525 000, none paid.
    assert (now.due_to_date, now.paid_of_due, now.repayment_rate) == (D(525_000), 0, D(0))
    svc.repayment_record(actor=admin(), loan=loan, amount=D(105_000), paid_on=today())
    now = figures(today())
    assert (now.outstanding_principal, now.at_risk_principal, now.par30) == (
        D(900_000),
        0,
        D(0),
    )
    assert (now.paid_of_due, now.repayment_rate) == (D(105_000), D("0.2000"))
    # As of yesterday the payment had not been made.
    assert figures(today() - dt.timedelta(days=1)).outstanding_principal == D(1_000_000)


def test_portfolio_groups_by_area_and_currency_and_leaves_written_off_loans_out() -> None:
    sr_village = f.village("20")
    sr_other = f.village("20", index=1)
    pv_village = f.village("14")
    district = up(sr_village, "district")
    province = up(sr_village, "province")
    a = f.consenting_person(sr_village, born=dt.date(1990, 1, 1))
    b = f.consenting_person(sr_other, born=dt.date(1990, 1, 1))
    c = f.consenting_person(pv_village, born=dt.date(1990, 1, 1))
    khr = weekly_product()
    usd = product(code="usd", currency="USD", min_principal=None, max_principal=None)
    old = today() - dt.timedelta(days=60)
    l1 = disburse(a, khr, principal=D(1_000_000), disbursed_on=old)
    disburse(a, usd, principal=D("500.00"), disbursed_on=today())
    l3 = disburse(b, khr, principal=D(2_000_000), disbursed_on=today())
    disburse(c, khr, principal=D(3_000_000), disbursed_on=today())
    svc.repayment_record(actor=admin(), loan=l1, amount=D(105_000), paid_on=today())
    svc.loan_write_off(actor=admin(), loan=l3, reason="Died")
    cambodia = Area.objects.get(code="KH", level="country")
    result = sel.portfolio_by_area([province, cambodia, district], as_of=today())
    keyed = {(Area.objects.get(pk=r.area_id).code, r.currency): r for r in result}
    assert [(Area.objects.get(pk=r.area_id), r.currency) for r in result][:2] == [
        (province, "KHR"),
        (province, "USD"),
    ]
    p = keyed[(province.code, "KHR")]
    # l1 only: l3 is written off (the same district) and l4 is in Prey Veng.
    assert (p.active_loans, p.outstanding_principal) == (1, D(900_000))
    assert p.at_risk_principal == D(900_000)  # l1's second instalment is 46 days late
    assert keyed[(province.code, "USD")].outstanding_principal == D("500.00")
    assert keyed[("KH", "KHR")].outstanding_principal == D(3_900_000)
    assert keyed[("KH", "KHR")].active_loans == 2
    if district != province:
        assert keyed[(district.code, "KHR")].outstanding_principal == D(900_000)
    # The written-off loan is out of the portfolio but what fell due on it counts.
    assert sel.portfolio_by_area([pv_village], as_of=today())[0].par30 == D(0)
    assert sel.portfolio_by_area([], as_of=today()) == []


def test_portfolio_for_needs_aggregates_in_the_area() -> None:
    sr = f.village("20")
    province = up(sr, "province")
    disburse(f.consenting_person(sr, born=dt.date(1990, 1, 1)), principal=D(500_000))
    donor = f.staff("donor", "donor", "KH-20")
    # A single loan: a donor is shown neither its count nor its amounts.
    (figures,) = sel.portfolio_for(donor, province, today())
    assert figures.outstanding_principal is None and figures.active_loans is None
    officer = f.staff("officer", "provincial_officer", "KH-20")
    (figures,) = sel.portfolio_for(officer, province, today())
    assert figures.outstanding_principal == D(500_000)
    with pytest.raises(PermissionDenied):
        sel.portfolio_for(f.staff("other", "donor", "KH-14"), province, today())
    with pytest.raises(PermissionDenied):
        sel.portfolio_for(f.staff("nobody", "facilitator", "KH-14"), province, today())
    breakdown = sel.portfolio_breakdown(officer, province, today())
    assert [f.outstanding_principal for f in breakdown.totals] == [D(500_000)]
    assert [(a, [x.outstanding_principal for x in rows]) for a, rows in breakdown.parts] == [
        (up(sr, "district"), [D(500_000)])
    ]
    assert sel.portfolio_breakdown(donor, province, today()).suppressed


# --- many schedules at once --------------------------------------------------------


def test_storing_many_schedules_at_once_equals_the_engine() -> None:
    person = f.consenting_person(f.village("20"), born=dt.date(1990, 1, 1))
    products = [
        product(code="a"),
        product(code="b", method="flat", frequency="weekly", term=7, grace=1),
        product(code="c", currency="USD", min_principal=None, max_principal=None, term=5),
        product(code="d", currency="VND", min_principal=None, max_principal=D(10**9), grace=3),
    ]
    made = []
    for i, prod in enumerate(products * 3):
        amount = D("1234.57") if prod.currency == "USD" else D(1_000_000 + 7_919 * i)
        made.append(
            Loan.objects.create(
                product=prod,
                household=person.household,
                person=person,
                principal=amount,
                currency=prod.currency,
                method=prod.method,
                annual_rate=prod.annual_rate,
                term=prod.term,
                frequency=prod.frequency,
                grace=prod.grace,
                disbursed_on=dt.date(2025, 1, 31),
            )
        )
    written = svc.installments_store(made)
    assert written == sum(x.term for x in made)
    for loan in made:
        expected = build_schedule(**vars(svc.loan_terms(loan))).installments
        assert [
            (x.number, x.due_on, x.principal, x.interest, x.total, x.balance) for x in lines(loan)
        ] == [(x.number, x.due_date, x.principal, x.interest, x.total, x.balance) for x in expected]
    assert len(build_schedules([LoanTerms.check(**vars(svc.loan_terms(made[0])))])) == 12
