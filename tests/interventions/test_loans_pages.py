"""Loan pages as staff see them: products, the list, a new loan with its preview, one
loan with its schedule and forms, the printable schedule and the portfolio."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ctip.core.models import AuditEvent
from ctip.interventions.models import Installment, Loan, LoanProduct, LoanStatus, Repayment
from ctip.interventions.services import loans as svc
from tests.interventions import factories as f
from tests.interventions.test_loans import admin, disburse, product, today, up

pytestmark = pytest.mark.django_db
D = Decimal


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def state() -> tuple[int, ...]:
    return (
        LoanProduct.objects.count(),
        Loan.objects.count(),
        Installment.objects.count(),
        Repayment.objects.count(),
        AuditEvent.objects.exclude(action="read").count(),
    )


@pytest.fixture
def world() -> dict[str, Any]:
    sr = f.village("20")
    pv = f.village("14")
    borrower = f.consenting_person(sr, born=dt.date(1990, 1, 1), name="Sokha")
    other = f.consenting_person(pv, born=dt.date(1990, 1, 1), name="Vanna")
    prod = product(code="flat", method="flat", annual_rate=D(24))
    loan = disburse(
        borrower, prod, principal=D(1_200_000), disbursed_on=today() - dt.timedelta(days=100)
    )
    pv_loan = disburse(other, prod, principal=D(600_000), disbursed_on=today())
    return {
        "sr": sr,
        "pv": pv,
        "borrower": borrower,
        "product": prod,
        "loan": loan,
        "pv_loan": pv_loan,
        "fac": f.staff("fac", "facilitator", "KH-20"),
        "pv_fac": f.staff("pv-fac", "facilitator", "KH-14"),
        "officer": f.staff("po", "provincial_officer", "KH-20"),
        "me": f.staff("me", "me_officer", "KH-20"),
        "donor": f.staff("donor", "donor", "KH-20"),
    }


# --- anonymous --------------------------------------------------------------------


def test_anonymous_users_are_sent_to_sign_in(world: dict[str, Any]) -> None:
    loan = world["loan"]
    before = state()
    for url in (
        "/loans/",
        "/loans/new/",
        f"/loans/new/{loan.household_id}/",
        f"/loans/{loan.pk}/",
        f"/loans/{loan.pk}/schedule/",
        "/loans/products/",
        "/loans/products/new/",
        f"/loans/products/{world['product'].pk}/edit/",
        "/loans/portfolio/",
    ):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith(
            "/accounts/login/"
        ), url
    for url in (f"/loans/{loan.pk}/repay/", f"/loans/{loan.pk}/write-off/"):
        response = Client().post(url, {"amount": "1000", "paid_on": str(today()), "reason": "x"})
        assert response.status_code == 302, url
    assert state() == before


# --- products -----------------------------------------------------------------------


def test_a_manager_creates_and_edits_a_product(world: dict[str, Any]) -> None:
    c = client_for(world["officer"])
    page = c.get("/loans/products/")
    assert page.status_code == 200 and "New loan product" in page.content.decode()
    form = {
        "code": "cows-24",
        "name": "Cow raising",
        "method": "declining",
        "annual_rate": "16.5",
        "term": "24",
        "frequency": "monthly",
        "grace": "3",
        "currency": "KHR",
        "min_principal": "1,000,000",
        "max_principal": "8000000",
        "active": "on",
    }
    response = c.post("/loans/products/new/", form)
    assert response.status_code == 302
    p = LoanProduct.objects.get(code="cows-24")
    assert (p.annual_rate, p.grace, p.min_principal) == (D("16.5"), 3, D(1_000_000))
    response = c.post(f"/loans/products/{p.pk}/edit/", {**form, "grace": "24"})
    assert response.status_code == 200
    assert "grace: must be fewer than the 24 instalments" in response.content.decode()
    response = c.post(f"/loans/products/{p.pk}/edit/", {**form, "name": "Cows"})
    assert response.status_code == 302
    p.refresh_from_db()
    assert p.name == "Cows"


def test_facilitators_see_products_but_do_not_set_them_up(world: dict[str, Any]) -> None:
    c = client_for(world["fac"])
    page = c.get("/loans/products/")
    assert page.status_code == 200
    assert "flat" in page.content.decode() and "New loan product" not in page.content.decode()
    before = state()
    assert c.get("/loans/products/new/").status_code == 403
    assert c.post("/loans/products/new/", {"code": "x", "name": "x"}).status_code == 403
    assert c.post(f"/loans/products/{world['product'].pk}/edit/", {}).status_code == 403
    assert client_for(world["donor"]).get("/loans/products/").status_code == 403
    assert state() == before


# --- list ---------------------------------------------------------------------------


def test_the_list_shows_loans_of_the_users_areas_with_arrears(world: dict[str, Any]) -> None:
    c = client_for(world["fac"])
    html = c.get("/loans/").content.decode()
    assert "Sokha" in html and "Vanna" not in html
    assert "372,000" in html  # three instalments of 124 000 overdue
    html = c.get("/loans/?arrears_over=200").content.decode()
    assert "Sokha" not in html
    html = c.get("/loans/?q=sokha&status=active").content.decode()
    assert "Sokha" in html
    assert "No loan in your areas matches." in c.get("/loans/?q=vanna").content.decode()
    html = c.get("/loans/?area=NOPE").content.decode()
    assert "No area has the code NOPE" in html
    assert "Vanna" in client_for(admin()).get("/loans/?area=KH-14").content.decode()


def test_the_list_is_denied_to_donors(world: dict[str, Any]) -> None:
    assert client_for(world["donor"]).get("/loans/").status_code == 403


def test_the_list_takes_the_same_queries_whatever_the_number_of_loans(
    world: dict[str, Any],
) -> None:
    c = client_for(world["fac"])

    def queries() -> int:
        c.get("/loans/")
        with CaptureQueriesContext(connection) as ctx:
            response = c.get("/loans/")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for i in range(8):
        person = f.consenting_person(world["sr"], born=dt.date(1990, 1, 1), name=f"P{i}")
        disburse(person, world["product"], principal=D(500_000 + i))
    assert queries() == few


# --- new loan -----------------------------------------------------------------------


def test_a_facilitator_previews_then_records_a_loan(world: dict[str, Any]) -> None:
    c = client_for(world["fac"])
    borrower = world["borrower"]
    start = c.get(f"/loans/new/?household={borrower.household.code}")
    assert start.status_code == 302
    url = f"/loans/new/{borrower.household_id}/"
    assert start["Location"] == url
    page = c.get(url)
    assert page.status_code == 200 and "Sokha" in page.content.decode()
    form = {
        "product": world["product"].pk,
        "person": borrower.pk,
        "principal": "1,200,000",
        "disbursed_on": str(today()),
        "purpose": "Seeds",
        "preview": "1",
    }
    before = state()
    preview = c.post(url, form).content.decode()
    assert "Schedule (preview, nothing recorded yet)" in preview
    assert "124,000" in preview and "288,000" in preview  # instalment and total interest
    assert state() == before
    del form["preview"]
    response = c.post(url, {**form, "disburse": "1"})
    assert response.status_code == 302
    loan = Loan.objects.latest("id")
    assert response["Location"] == f"/loans/{loan.pk}/"
    assert (loan.principal, loan.person, loan.created_by) == (D(1_200_000), borrower, world["fac"])
    assert loan.installments.count() == 12


def test_the_loan_form_shows_errors_next_to_fields_and_writes_nothing(
    world: dict[str, Any],
) -> None:
    c = client_for(world["fac"])
    no_consent = f.consenting_person(
        world["sr"], born=dt.date(1990, 1, 1), name="Nary", purposes=("registration",)
    )
    url = f"/loans/new/{no_consent.household_id}/"
    form = {
        "product": world["product"].pk,
        "person": "",
        "principal": "50000",
        "disbursed_on": str(today() + dt.timedelta(days=2)),
        "disburse": "1",
    }
    before = state()
    html = c.post(url, form).content.decode()
    assert "has no consent for" in html
    assert "lends at least 100,000 KHR" in html
    assert "is in the future" in html
    assert state() == before
    html = c.post(url, {**form, "principal": "12.5", "preview": "1"}).content.decode()
    assert "smaller than one 1 KHR" in html


def test_new_loans_need_the_right_to_record_in_the_households_area(
    world: dict[str, Any],
) -> None:
    household = world["borrower"].household
    url = f"/loans/new/{household.pk}/"
    form = {
        "product": world["product"].pk,
        "principal": "500000",
        "disbursed_on": str(today()),
        "disburse": "1",
    }
    before = state()
    assert client_for(world["pv_fac"]).get(url).status_code == 404
    assert client_for(world["pv_fac"]).post(url, form).status_code == 404
    assert client_for(world["me"]).get(url).status_code == 403
    assert client_for(world["me"]).post(url, form).status_code == 403
    assert client_for(world["donor"]).get("/loans/new/").status_code == 403
    html = client_for(world["pv_fac"]).get(f"/loans/new/?household={household.code}")
    assert "No household" in html.content.decode()
    assert state() == before


# --- one loan -----------------------------------------------------------------------


def test_the_loan_page_shows_schedule_arrears_and_is_audited(world: dict[str, Any]) -> None:
    loan = world["loan"]
    c = client_for(world["fac"])
    html = c.get(f"/loans/{loan.pk}/").content.decode()
    assert "Loan to Chan Sokha" in html
    assert html.count("overdue") >= 3
    assert "3 instalments" in html and "372,000 KHR" in html
    assert "Record a repayment" in html and "Write the loan off" not in html
    read = AuditEvent.objects.filter(action="read", object_type="interventions.loan")
    assert read.filter(actor=world["fac"], object_id=str(loan.pk)).count() == 1
    officer_page = client_for(world["officer"]).get(f"/loans/{loan.pk}/").content.decode()
    assert "Write the loan off" in officer_page


def test_others_do_not_see_the_loan(world: dict[str, Any]) -> None:
    loan = world["loan"]
    reads = AuditEvent.objects.filter(action="read").count()
    assert client_for(world["pv_fac"]).get(f"/loans/{loan.pk}/").status_code == 404
    assert client_for(world["pv_fac"]).get(f"/loans/{loan.pk}/schedule/").status_code == 404
    assert client_for(world["donor"]).get(f"/loans/{loan.pk}/").status_code == 403
    assert client_for(world["fac"]).get("/loans/999999/").status_code == 404
    assert AuditEvent.objects.filter(action="read").count() == reads


def test_recording_a_late_repayment_from_the_page(world: dict[str, Any]) -> None:
    loan = world["loan"]
    c = client_for(world["fac"])
    response = c.post(
        f"/loans/{loan.pk}/repay/",
        {"amount": "248,000", "paid_on": str(today()), "note": "Late, two months"},
    )
    assert response.status_code == 302
    html = c.get(f"/loans/{loan.pk}/").content.decode()
    assert html.count("paid late") == 2
    assert "124,000 KHR unpaid on 1 instalment" in html


def test_too_much_is_refused_on_the_page_and_nothing_is_written(world: dict[str, Any]) -> None:
    loan = world["loan"]
    before = state()
    response = client_for(world["fac"]).post(
        f"/loans/{loan.pk}/repay/", {"amount": "2000000", "paid_on": str(today())}
    )
    assert response.status_code == 400
    assert "2,000,000 KHR is more than the 1,488,000 KHR still owed." in response.content.decode()
    assert state() == before


def test_repayments_and_write_offs_need_the_right_role_and_area(world: dict[str, Any]) -> None:
    loan = world["loan"]
    before = state()
    repay = {"amount": "1000", "paid_on": str(today())}
    assert client_for(world["pv_fac"]).post(f"/loans/{loan.pk}/repay/", repay).status_code == 404
    assert client_for(world["me"]).post(f"/loans/{loan.pk}/repay/", repay).status_code == 403
    assert client_for(world["donor"]).post(f"/loans/{loan.pk}/repay/", repay).status_code == 403
    off = {"reason": "Gone"}
    assert client_for(world["fac"]).post(f"/loans/{loan.pk}/write-off/", off).status_code == 403
    pv_officer = f.staff("pv-po", "provincial_officer", "KH-14")
    assert client_for(pv_officer).post(f"/loans/{loan.pk}/write-off/", off).status_code == 404
    assert state() == before
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE


def test_a_manager_writes_off_from_the_page(world: dict[str, Any]) -> None:
    loan = world["loan"]
    c = client_for(world["officer"])
    response = c.post(f"/loans/{loan.pk}/write-off/", {"reason": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    response = c.post(f"/loans/{loan.pk}/write-off/", {"reason": "Borrower migrated"})
    assert response.status_code == 302
    loan.refresh_from_db()
    assert (loan.status, loan.written_off_amount) == (LoanStatus.WRITTEN_OFF, D(1_200_000))
    html = c.get(f"/loans/{loan.pk}/").content.decode()
    assert "Borrower migrated" in html and "Record a repayment" not in html


def test_the_printable_schedule_has_the_table_and_no_menus(world: dict[str, Any]) -> None:
    loan = world["loan"]
    html = client_for(world["fac"]).get(f"/loans/{loan.pk}/schedule/").content.decode()
    assert "Repayment schedule" in html and 'class="nav"' not in html
    assert html.count("124,000") == 12 and "1,488,000" in html
    assert "<script" not in html


# --- portfolio ----------------------------------------------------------------------


def test_a_donor_sees_the_portfolio_of_their_province(world: dict[str, Any]) -> None:
    c = client_for(world["donor"])
    html = c.get("/loans/portfolio/").content.decode()  # one area: shown straight away
    # One loan: its count is hidden, and so are its amounts (they are one borrower's).
    assert "Outstanding principal" in html and "&lt;5" in html and "1,200,000" not in html
    assert 'id="suppressed"' in html
    district = up(world["sr"], "district")
    assert district.code in html  # the per-area table links to the district
    html = c.get(f"/loans/portfolio/?area={district.code}").content.decode()
    assert "1,200,000" not in html
    # Someone who sees the province's persons sees the figures.
    html = client_for(world["officer"]).get("/loans/portfolio/").content.decode()
    assert "1,200,000" in html and 'id="suppressed"' not in html
    assert "PAR30" in html and "100.0%" in html  # the first instalment is 69 days late
    earlier = str(today() - dt.timedelta(days=200))
    html = c.get(f"/loans/portfolio/?area=KH-20&as_of={earlier}").content.decode()
    assert "No loan was disbursed in this area by this date." in html


def test_the_portfolio_of_an_area_not_in_scope_is_refused(world: dict[str, Any]) -> None:
    c = client_for(world["pv_fac"])
    html = c.get("/loans/portfolio/?area=KH-20").content.decode()
    assert "You do not see figures for" in html and "1,200,000" not in html
    tomorrow = str(today() + dt.timedelta(days=1))
    assert "in the future" in c.get(f"/loans/portfolio/?as_of={tomorrow}").content.decode()
    nobody = f.staff("nobody", "facilitator")
    assert client_for(nobody).get("/loans/portfolio/").status_code == 403


def test_repayment_moves_the_portfolio_page(world: dict[str, Any]) -> None:
    loan = world["loan"]
    svc.repayment_record(actor=admin(), loan=loan, amount=D(372_000), paid_on=today())
    html = client_for(world["officer"]).get("/loans/portfolio/?area=KH-20").content.decode()
    assert "PAR30" in html and "0.0%" in html and "100.0%" in html  # PAR 0, repayment 100
