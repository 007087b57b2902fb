"""The loans API: loan products, loans with their schedule, write-off, repayments and
the schedule preview, scoped by area and role; money as decimal strings."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ctip.core.models import AuditEvent
from ctip.interventions.models import Installment, Loan, LoanProduct, LoanStatus, Repayment
from ctip.interventions.schedule import build_schedule
from tests.interventions import factories as f
from tests.interventions.test_loans import disburse, product, today

pytestmark = pytest.mark.django_db
D = Decimal


def api(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def post(c: Client, url: str, data: dict[str, Any]) -> Any:
    return c.post(url, json.dumps(data), content_type="application/json")


def no_floats(text: str | bytes) -> Any:
    return json.loads(text, parse_float=lambda s: pytest.fail(f"float in JSON: {s}"))


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
    sr, pv = f.village("20"), f.village("14")
    borrower = f.consenting_person(sr, born=dt.date(1990, 1, 1), name="Sokha")
    other = f.consenting_person(pv, born=dt.date(1990, 1, 1), name="Vanna")
    prod = product(code="flat", method="flat", annual_rate=D(24))
    loan = disburse(
        borrower, prod, principal=D(1_200_000), disbursed_on=today() - dt.timedelta(days=100)
    )
    pv_loan = disburse(other, prod, principal=D(600_000), disbursed_on=today())
    return {
        "sr": sr,
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


def test_anonymous_callers_get_401_and_nothing_changes(world: dict[str, Any]) -> None:
    loan = world["loan"]
    before = state()
    for url in (
        "/api/v1/loan-products/",
        f"/api/v1/loan-products/{world['product'].pk}/",
        "/api/v1/loans/",
        f"/api/v1/loans/{loan.pk}/",
        "/api/v1/repayments/",
    ):
        assert Client().get(url).status_code in (401, 403), url
    for url in (
        "/api/v1/loan-products/",
        "/api/v1/loans/",
        f"/api/v1/loans/{loan.pk}/write-off/",
        "/api/v1/repayments/",
        "/api/v1/loans/schedule-preview/",
    ):
        assert post(Client(), url, {}).status_code in (401, 403), url
    assert state() == before


# --- products -----------------------------------------------------------------------


def test_products_are_read_by_recorders_and_set_up_by_managers(world: dict[str, Any]) -> None:
    body = no_floats(api(world["fac"]).get("/api/v1/loan-products/").content)
    (row,) = body["results"]
    assert (row["code"], row["annual_rate"], row["method"], row["currency"]) == (
        "flat",
        "24.000",
        "flat",
        "KHR",
    )
    data = {
        "code": "goats",
        "name": "Goats",
        "method": "declining",
        "annual_rate": "18.5",
        "term": 10,
        "frequency": "weekly",
        "currency": "USD",
        "max_principal": "800.00",
    }
    before = state()
    assert post(api(world["fac"]), "/api/v1/loan-products/", data).status_code == 403
    assert api(world["donor"]).get("/api/v1/loan-products/").status_code == 403
    assert state() == before
    c = api(world["officer"])
    response = post(c, "/api/v1/loan-products/", data)
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert response.json()["max_principal"] == "800.00"
    bad = post(c, "/api/v1/loan-products/", {**data, "code": "goats2", "grace": 10})
    assert bad.status_code == 400
    assert "fewer than the 10 instalments" in bad.json()["grace"][0]
    patched = c.patch(
        f"/api/v1/loan-products/{pk}/",
        json.dumps({"active": False}),
        content_type="application/json",
    )
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert (
        api(world["fac"])
        .patch(
            f"/api/v1/loan-products/{pk}/",
            json.dumps({"active": True}),
            content_type="application/json",
        )
        .status_code
        == 403
    )
    assert LoanProduct.objects.get(pk=pk).active is False


# --- loans --------------------------------------------------------------------------


def test_the_list_is_scoped_and_filtered(world: dict[str, Any]) -> None:
    def ids(user: Any, query: str = "") -> list[int]:
        response = api(user).get(f"/api/v1/loans/{query}")
        assert response.status_code == 200, response.content
        return [r["id"] for r in no_floats(response.content)["results"]]

    loan, pv_loan = world["loan"], world["pv_loan"]
    assert ids(world["fac"]) == [loan.pk]
    assert ids(world["pv_fac"]) == [pv_loan.pk]
    assert ids(f.registrar(), "?village=KH-14") == [pv_loan.pk]
    assert ids(f.registrar(), "?arrears_over=30") == [loan.pk]
    assert ids(f.registrar(), "?q=vanna") == [pv_loan.pk]
    assert ids(f.registrar(), f"?person={world['borrower'].pk}") == [loan.pk]
    assert ids(f.registrar(), "?status=repaid") == []
    row = no_floats(api(world["fac"]).get("/api/v1/loans/").content)["results"][0]
    assert (row["principal"], row["amount_overdue"], row["status"]) == (
        "1200000.00",
        "372000.00",
        "active",
    )
    assert row["days_overdue"] > 60 and row["village"] == world["sr"].code
    assert api(world["donor"]).get("/api/v1/loans/").status_code == 403
    assert api(f.registrar()).get("/api/v1/loans/?village=NOPE").status_code == 400


def test_the_list_takes_the_same_queries_whatever_the_page_size(world: dict[str, Any]) -> None:
    for i in range(10):
        person = f.consenting_person(world["sr"], born=dt.date(1990, 1, 1), name=f"P{i}")
        disburse(person, world["product"], principal=D(300_000 + i))
    c = api(world["fac"])
    counts = []
    for size in (2, 10):
        c.get(f"/api/v1/loans/?page_size={size}")
        with CaptureQueriesContext(connection) as ctx:
            response = c.get(f"/api/v1/loans/?page_size={size}")
        assert len(response.json()["results"]) == size
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_one_loan_with_its_schedule_is_audited(world: dict[str, Any]) -> None:
    loan = world["loan"]
    response = api(world["fac"]).get(f"/api/v1/loans/{loan.pk}/")
    assert response.status_code == 200
    body = no_floats(response.content)
    assert len(body["installments"]) == 12
    first = body["installments"][0]
    assert (first["principal"], first["interest"], first["total"], first["state"]) == (
        "100000.00",
        "24000.00",
        "124000.00",
        "overdue",
    )
    assert body["arrears"]["installments_overdue"] == 3
    assert body["arrears"]["amount_overdue"] == "372000.00"
    assert AuditEvent.objects.filter(
        action="read", object_type="interventions.loan", object_id=str(loan.pk)
    ).exists()
    reads = AuditEvent.objects.filter(action="read").count()
    assert api(world["pv_fac"]).get(f"/api/v1/loans/{loan.pk}/").status_code == 404
    assert api(world["donor"]).get(f"/api/v1/loans/{loan.pk}/").status_code == 403
    assert AuditEvent.objects.filter(action="read").count() == reads


def test_disbursing_through_the_api(world: dict[str, Any]) -> None:
    person = f.consenting_person(world["sr"], born=dt.date(1985, 1, 1), name="Dara")
    data = {
        "product": world["product"].pk,
        "household": person.household_id,
        "principal": "2400000",
        "disbursed_on": str(today()),
        "purpose": "Rice mill",
    }
    response = post(api(world["fac"]), "/api/v1/loans/", data)
    assert response.status_code == 201, response.content
    body = no_floats(response.content)
    assert body["person"] == person.pk  # the head, as no person was named
    expected = build_schedule(
        principal=D(2_400_000),
        annual_rate=D(24),
        term=12,
        frequency="monthly",
        method="flat",
        currency="KHR",
        start=today(),
    )
    assert [r["total"] for r in body["installments"]] == [
        f"{x.total:.2f}" for x in expected.installments
    ]


def test_bad_loans_through_the_api_are_refused_and_nothing_written(
    world: dict[str, Any],
) -> None:
    no_consent = f.consenting_person(
        world["sr"], born=dt.date(1990, 1, 1), purposes=("registration",)
    )
    base = {
        "product": world["product"].pk,
        "household": no_consent.household_id,
        "principal": "500000",
        "disbursed_on": str(today()),
    }
    c = api(world["fac"])
    before = state()
    response = post(c, "/api/v1/loans/", base)
    assert response.status_code == 400 and "no consent" in response.json()["person"][0]
    tomorrow = str(today() + dt.timedelta(days=1))
    response = post(c, "/api/v1/loans/", {**base, "disbursed_on": tomorrow})
    assert "in the future" in response.json()["disbursed_on"][0]
    response = post(c, "/api/v1/loans/", {**base, "principal": "-5"})
    assert "negative" in response.json()["principal"][0]
    response = post(c, "/api/v1/loans/", {**base, "principal": "1.5"})
    assert "whole numbers" in response.json()["principal"][0]
    response = post(api(world["pv_fac"]), "/api/v1/loans/", base)
    assert response.status_code == 400 and "household" in response.json()
    assert post(api(world["me"]), "/api/v1/loans/", base).status_code == 403
    assert post(api(world["donor"]), "/api/v1/loans/", base).status_code == 403
    assert state() == before


def test_write_off_through_the_api(world: dict[str, Any]) -> None:
    loan = world["loan"]
    url = f"/api/v1/loans/{loan.pk}/write-off/"
    before = state()
    assert post(api(world["fac"]), url, {"reason": "Gone"}).status_code == 403
    pv_officer = f.staff("pv-po", "provincial_officer", "KH-14")
    assert post(api(pv_officer), url, {"reason": "Gone"}).status_code == 404
    assert post(api(world["officer"]), url, {}).status_code == 400
    assert state() == before
    response = post(api(world["officer"]), url, {"reason": "Migrated to Thailand"})
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["written_off_amount"]) == ("written_off", "1200000.00")
    assert post(api(world["officer"]), url, {"reason": "Again"}).status_code == 400


# --- repayments ---------------------------------------------------------------------


def test_repayments_partial_late_and_too_much(world: dict[str, Any]) -> None:
    loan = world["loan"]
    c = api(world["fac"])
    response = post(
        c, "/api/v1/repayments/", {"loan": loan.pk, "amount": "130000", "paid_on": str(today())}
    )
    assert response.status_code == 201, response.content
    body = no_floats(response.content)
    assert (body["principal_part"], body["interest_part"], body["currency"]) == (
        "100000.00",
        "30000.00",
        "KHR",
    )
    before = state()
    response = post(
        c, "/api/v1/repayments/", {"loan": loan.pk, "amount": "1400000", "paid_on": str(today())}
    )
    assert response.status_code == 400
    assert response.json()["amount"] == ["1,400,000 KHR is more than the 1,358,000 KHR still owed."]
    assert state() == before
    response = post(
        c, "/api/v1/repayments/", {"loan": loan.pk, "amount": "1358000", "paid_on": str(today())}
    )
    assert response.status_code == 201 and response.json()["loan_status"] == "repaid"
    loan.refresh_from_db()
    assert loan.status == LoanStatus.REPAID
    listed = c.get(f"/api/v1/repayments/?loan={loan.pk}").json()["results"]
    assert sorted(r["amount"] for r in listed) == ["130000.00", "1358000.00"]


def test_repayments_are_scoped(world: dict[str, Any]) -> None:
    loan, pv_loan = world["loan"], world["pv_loan"]
    f_ = api(f.registrar())
    post(f_, "/api/v1/repayments/", {"loan": loan.pk, "amount": "1000", "paid_on": str(today())})
    post(f_, "/api/v1/repayments/", {"loan": pv_loan.pk, "amount": "2000", "paid_on": str(today())})
    seen = [r["loan"] for r in api(world["fac"]).get("/api/v1/repayments/").json()["results"]]
    assert seen == [loan.pk]
    before = state()
    data = {"loan": loan.pk, "amount": "1000", "paid_on": str(today())}
    assert post(api(world["pv_fac"]), "/api/v1/repayments/", data).status_code == 400
    assert post(api(world["me"]), "/api/v1/repayments/", data).status_code == 403
    assert api(world["donor"]).get("/api/v1/repayments/").status_code == 403
    assert post(api(world["donor"]), "/api/v1/repayments/", data).status_code == 403
    assert state() == before


# --- preview ------------------------------------------------------------------------


def test_the_schedule_preview_writes_nothing(world: dict[str, Any]) -> None:
    data = {
        "principal": "1000.00",
        "annual_rate": "12",
        "term": 3,
        "frequency": "weekly",
        "method": "flat",
        "currency": "USD",
        "start": "2026-01-01",
    }
    before = state()
    response = post(api(world["donor"]), "/api/v1/loans/schedule-preview/", data)
    assert response.status_code == 200, response.content
    body = no_floats(response.content)
    assert [r["total"] for r in body["installments"]] == ["335.64", "335.64", "335.65"]
    assert (body["total_interest"], body["total"]) == ("6.93", "1006.93")
    assert body["installments"][0]["due_date"] == "2026-01-08"
    bad = post(api(world["fac"]), "/api/v1/loans/schedule-preview/", {**data, "grace": 3})
    assert bad.status_code == 400 and "grace" in bad.json()
    assert state() == before
