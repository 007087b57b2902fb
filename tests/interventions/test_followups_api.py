"""The follow-ups/ API: filtered lists, recording a visit, the due counts and the plans."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ctip.core.models import AuditEvent
from ctip.interventions.models import FollowUp, FollowUpPlan, FollowUpStatus
from tests.interventions import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
URL = "/api/v1/follow-ups/"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, url: str, data: dict):
    return client.post(url, data, content_type="application/json")


@pytest.fixture
def world():
    sr = f.village("20")
    fac = f.staff("fac", "facilitator", sr.parent)
    fac2 = f.staff("fac2", "facilitator", sr)
    sokha = f.consenting_person(sr, name="Sokha")
    late = FollowUp.objects.create(
        person=sokha,
        component="training",
        due_on=TODAY - dt.timedelta(days=5),
        months_after=3,
        assigned_to=fac,
    )
    soon = FollowUp.objects.create(
        person=sokha, component="iga", due_on=TODAY, months_after=3, assigned_to=fac2
    )
    return {
        "village": sr,
        "fac": fac,
        "fac2": fac2,
        "late": late,
        "soon": soon,
        "po": f.staff("po", "provincial_officer", "KH-20"),
        "outsider": f.staff("out", "facilitator", f.village("14").parent),
        "reader": f.staff("me", "me_officer", "KH-20"),
        "donor": f.staff("donor", "donor", "KH"),
    }


def _ids(response) -> list[int]:
    return [r["id"] for r in response.json()["results"]]


def test_filters(world):
    client = _client(world["fac"])
    assert _ids(client.get(URL, {"overdue": "true"})) == [world["late"].pk]
    assert _ids(client.get(URL, {"component": "iga"})) == [world["soon"].pk]
    assert _ids(client.get(URL, {"assigned_to": "me"})) == [world["late"].pk]
    assert _ids(client.get(URL, {"assigned_to": "none"})) == []
    assert _ids(client.get(URL, {"status": "done"})) == []
    row = client.get(URL, {"overdue": "true"}).json()["results"][0]
    assert row["overdue"] is True and row["village"] == world["village"].code
    assert client.get(URL, {"assigned_to": "someone"}).status_code == 400


def test_a_fixed_number_of_queries(world):
    client = _client(world["po"])
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    person = f.consenting_person(world["village"], name="Dara")
    FollowUp.objects.bulk_create(
        FollowUp(person=person, component="savings", due_on=TODAY, assigned_to=world["fac2"])
        for _ in range(5)
    )
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).json()["count"] == 7
    assert len(many) == len(few)


def test_recording_a_visit(world):
    client = _client(world["fac"])
    url = f"{URL}{world['late'].pk}/visit/"
    response = _post(
        client,
        url,
        {"visited_on": (TODAY + dt.timedelta(days=1)).isoformat(), "situation": "unemployed"},
    )
    assert response.status_code == 400 and "in the future" in response.json()["visited_on"][0]
    response = _post(
        client,
        url,
        {
            "visited_on": TODAY.isoformat(),
            "situation": "employed_locally",
            "monthly_income": "350000",
            "currency": "KHR",
            "outcome": "Works at the rice mill.",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["monthly_income"], body["overdue"]) == ("done", "350000.00", False)


def test_missed_cancel_and_reassign(world):
    client = _client(world["fac"])
    assert _post(client, f"{URL}{world['late'].pk}/missed/", {"reason": ""}).status_code == 400
    response = _post(client, f"{URL}{world['late'].pk}/missed/", {"reason": "Away"})
    assert response.json()["status"] == "missed"
    response = _post(
        client, f"{URL}{world['late'].pk}/reassign/", {"assigned_to": world["fac2"].pk}
    )
    assert response.json()["assigned_to"] == world["fac2"].pk
    response = _post(
        client, f"{URL}{world['late'].pk}/reassign/", {"assigned_to": world["outsider"].pk}
    )
    assert response.status_code == 400
    response = _post(client, f"{URL}{world['soon'].pk}/cancel/", {"reason": "Stopped"})
    assert response.json()["status"] == "cancelled"


def test_due_counts(world):
    client = _client(world["po"])
    rows = client.get(f"{URL}due/").json()
    assert {r["label"]: (r["overdue"], r["due_this_month"]) for r in rows} == {
        "fac": (1, 0),
        "fac2": (0, 1),
    }
    assert rows[0]["by_component"]["training"] == {"due_this_month": 0, "overdue": 1}
    (commune,) = client.get(f"{URL}due/", {"by": "area"}).json()
    assert commune["key"] == world["village"].parent_id
    assert client.get(f"{URL}due/", {"by": "planet"}).status_code == 400


@pytest.mark.parametrize("who", ["anonymous", "donor", "outsider", "reader"])
def test_denied_callers_change_nothing(world, who):
    client = Client() if who == "anonymous" else _client(world[who])
    expected = {"anonymous": (401, 403), "donor": (403,), "outsider": (404,), "reader": (403,)}
    visit = world["late"]
    events = AuditEvent.objects.count()
    calls = [
        ("visit", {"visited_on": TODAY.isoformat(), "situation": "unemployed"}),
        ("missed", {"reason": "x"}),
        ("cancel", {"reason": "x"}),
        ("reassign", {"assigned_to": world["fac2"].pk}),
    ]
    for name, data in calls:
        assert _post(client, f"{URL}{visit.pk}/{name}/", data).status_code in expected[who], name
    visit.refresh_from_db()
    assert (visit.status, visit.assigned_to) == (FollowUpStatus.DUE, world["fac"])
    assert AuditEvent.objects.count() == events
    reads = {"anonymous": (401, 403), "donor": (403,), "outsider": (404,), "reader": (200,)}
    assert client.get(f"{URL}{visit.pk}/").status_code in reads[who]


def test_plans(world):
    plan = FollowUpPlan.objects.get(component="iga")
    url = f"/api/v1/follow-up-plans/{plan.pk}/"
    reader = _client(world["fac"])
    assert any(p["component"] == "iga" for p in reader.get("/api/v1/follow-up-plans/").json())
    patch = {"months_after": [1, 2]}
    assert reader.patch(url, patch, content_type="application/json").status_code == 403
    manager = _client(world["po"])
    bad = manager.patch(url, {"months_after": [0, 61]}, content_type="application/json")
    assert bad.status_code == 400
    response = manager.patch(url, patch, content_type="application/json")
    assert response.status_code == 200 and response.json()["months_after"] == [1, 2]
    plan.refresh_from_db()
    assert plan.months_after == [1, 2]
