"""The igas/ and migration-benchmarks/ API: the analysis in the detail, all-or-nothing
cost lines, scoping and denial."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ctip.core.models import AuditEvent
from ctip.interventions.models import ActivityCost, FollowUp, IncomeActivity, MigrationBenchmark
from ctip.interventions.services import igas as svc
from tests.interventions import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
URL = "/api/v1/igas/"
BENCH_URL = "/api/v1/migration-benchmarks/"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, url: str, data: dict):
    return client.post(url, data, content_type="application/json")


@pytest.fixture
def world():
    sr = f.village("20")
    manager = f.staff("pm", "programme_manager", "KH-20")
    bench = svc.benchmark_create(
        actor=manager,
        destination="Bangkok",
        destination_country="TH",
        sector="construction",
        monthly_wage="1200000",
        monthly_costs="500000",
        currency="KHR",
        valid_from=dt.date(2025, 1, 1),
    )
    return {
        "village": sr,
        "fac": f.staff("fac", "facilitator", sr.parent),
        "manager": manager,
        "person": f.consenting_person(sr, name="Sokha", born=dt.date(2001, 2, 3)),
        "bench": bench,
        "outsider": f.staff("out", "facilitator", f.village("14").parent),
        "reader": f.staff("me", "me_officer", "KH-20"),
        "donor": f.staff("donor", "donor", "KH"),
    }


def _payload(world, **over) -> dict:
    return {
        "household": world["person"].household_id,
        "person": world["person"].pk,
        "title": "Chicken raising",
        "sector": "livestock",
        "unit": "kg",
        "expected_price": "2500",
        "expected_volume": "300",
        "currency": "KHR",
        "benchmark": world["bench"].pk,
        "status": "running",
        "started_on": (TODAY - dt.timedelta(days=10)).isoformat(),
        "costs": [
            {"item": "Coop", "kind": "investment", "amount": "1500000"},
            {"item": "Vaccines", "kind": "fixed", "amount": "80000"},
            {"item": "Feed", "kind": "variable", "amount": "1000"},
        ],
        **over,
    }


def test_create_then_read_the_analysis(world):
    client = _client(world["fac"])
    response = _post(client, URL, _payload(world))
    assert response.status_code == 201, response.json()
    body = response.json()
    analysis = body["analysis"]
    assert analysis["gross_margin"] == "370000.00"
    assert analysis["break_even_volume"] == "53.33"
    assert analysis["payback_months"] == "4.05"
    assert analysis["benchmark"]["verdict"] == "less"
    assert analysis["benchmark"]["net"] == "700000.00"
    assert analysis["benchmark"]["text"].startswith("Earns less than migrating to Bangkok")
    assert len(body["costs"]) == 3
    assert FollowUp.objects.filter(activity_id=body["id"], component="iga").count() == 3
    listed = client.get(URL).json()["results"]
    assert [(r["title"], r["gross_margin"], r["verdict"]) for r in listed] == [
        ("Chicken raising", "370000.00", "less")
    ]
    events = AuditEvent.objects.filter(action="read").count()
    client.get(f"{URL}{body['id']}/")
    assert AuditEvent.objects.filter(action="read").count() == events + 1


def test_negative_price_and_cost_refused_naming_the_row(world):
    client = _client(world["fac"])
    costs = [
        {"item": "Coop", "kind": "investment", "amount": "1"},
        {"item": "Feed", "kind": "variable", "amount": "-1000"},
    ]
    response = _post(client, URL, _payload(world, expected_price="-2500", costs=costs))
    assert response.status_code == 400
    assert response.json() == {
        "expected_price": ["The amount must not be negative."],
        "costs[2].amount": ["The amount must not be negative."],
    }
    assert not IncomeActivity.objects.exists() and not ActivityCost.objects.exists()


def test_a_change_replaces_the_costs(world):
    client = _client(world["fac"])
    pk = _post(client, URL, _payload(world)).json()["id"]
    response = client.patch(
        f"{URL}{pk}/",
        {
            "expected_price": "3000",
            "costs": [{"item": "Feed", "kind": "variable", "amount": "1200"}],
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["analysis"]["gross_margin"] == "540000.00"


def test_verdict_filter_and_fixed_queries(world):
    client = _client(world["fac"])
    _post(client, URL, _payload(world))
    assert client.get(URL, {"verdict": "more"}).json()["count"] == 0
    assert client.get(URL, {"verdict": "less"}).json()["count"] == 1
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for i in range(4):
        _post(client, URL, _payload(world, title=f"A{i}", status="planned", started_on=None))
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).json()["count"] == 5
    assert len(many) == len(few)


@pytest.mark.parametrize("who", ["anonymous", "donor", "outsider", "reader"])
def test_denied_callers_change_nothing(world, who):
    pk = _post(_client(world["fac"]), URL, _payload(world)).json()["id"]
    client = Client() if who == "anonymous" else _client(world[who])
    expected = {"anonymous": (401, 403), "donor": (403,), "outsider": (404,), "reader": (403,)}
    events = AuditEvent.objects.count()
    response = client.patch(f"{URL}{pk}/", {"title": "X"}, content_type="application/json")
    assert response.status_code in expected[who]
    created = _post(client, URL, _payload(world, title="New"))
    assert created.status_code in {**expected, "outsider": (400,)}[who]
    assert IncomeActivity.objects.get().title == "Chicken raising"
    assert AuditEvent.objects.count() == events
    if who in ("anonymous", "donor"):
        assert client.get(f"{URL}{pk}/").status_code in expected[who]
    elif who == "outsider":
        assert client.get(f"{URL}{pk}/").status_code == 404
        assert client.get(URL).json()["count"] == 0


def test_benchmarks(world):
    data = {
        "destination": "Kuala Lumpur",
        "destination_country": "MY",
        "sector": "factory",
        "monthly_wage": "420",
        "monthly_costs": "150",
        "currency": "USD",
        "valid_from": "2025-06-01",
    }
    assert Client().get(BENCH_URL).status_code in (401, 403)
    donor = _client(world["donor"])
    assert donor.get(BENCH_URL).json()["results"][0]["net"] == "700000.00"
    assert _post(donor, BENCH_URL, data).status_code == 403
    assert _post(_client(world["fac"]), BENCH_URL, data).status_code == 403
    manager = _client(world["manager"])
    bad = _post(manager, BENCH_URL, {**data, "monthly_wage": "-1"})
    assert bad.status_code == 400 and bad.json() == {
        "monthly_wage": ["The amount must not be negative."]
    }
    assert MigrationBenchmark.objects.count() == 1
    created = _post(manager, BENCH_URL, data)
    assert created.status_code == 201 and created.json()["net"] == "270.00"
    pk = created.json()["id"]
    changed = manager.patch(f"{BENCH_URL}{pk}/", {"active": False}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert manager.get(BENCH_URL, {"active": "true"}).json()["count"] == 1
