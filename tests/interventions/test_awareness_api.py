"""The awareness-events API: the scoped list and its filters, recording and changing an
event, attendance by name (all or nothing, only from the commune the event serves),
the headcount grid and the reach; who may call what, and nothing changed on refusal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ctip.accounts.models import User
from ctip.core.models import AuditEvent
from ctip.interventions.models import AwarenessEvent, EventAttendance, EventHeadcount
from ctip.interventions.selectors import awareness as sel
from ctip.interventions.services import awareness as svc
from tests.interventions import factories as f
from tests.interventions.test_awareness import World, event, make_world

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
URL = "/api/v1/awareness-events/"


@pytest.fixture
def w() -> World:
    return make_world()


def api(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def body(w: World, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "held_on": (TODAY - dt.timedelta(days=2)).isoformat(),
        "village": w.village.code,
        "kind": "school_session",
        "title": "Hotlines at school",
        "topics": ["hotlines"],
        "facilitators": [w.fac.pk],
    }
    data.update(extra)
    return data


def post(client: Client, url: str, data: Any) -> Any:
    return client.post(url, data, content_type="application/json")


def test_anonymous_callers_get_401_and_nothing_changes(w: World) -> None:
    e = event(w)
    person = f.consenting_person(w.village)
    client = api(None)
    for url in (URL, f"{URL}{e.pk}/", f"{URL}{e.pk}/attendance/", f"{URL}{e.pk}/reach/"):
        assert client.get(url).status_code in (401, 403), url
    assert post(client, URL, body(w)).status_code in (401, 403)
    response = post(client, f"{URL}{e.pk}/attendance/", {"persons": [person.pk]})
    assert response.status_code in (401, 403)
    assert AwarenessEvent.objects.count() == 1 and not EventAttendance.objects.exists()


def test_the_list_is_scoped_and_filtered(w: World) -> None:
    a = event(w)
    b = event(w, actor=w.officer, village=w.elsewhere, kind="radio_tv", topics=["legal_channels"])
    person = f.consenting_person(w.village)
    svc.attendance_record(actor=w.fac, event=a, persons=[person])
    svc.headcounts_set(actor=w.fac, event=a, counts={("female", "18-24"): 5})
    rows = api(w.officer).get(URL).json()["results"]
    assert [r["id"] for r in rows] == [b.pk, a.pk]
    row = rows[1]
    assert row["village"] == w.village.code and row["area"] == w.village.code[:6]
    assert (row["registered"], row["counted"]) == (1, 5)
    assert row["sheet_code"] == sel.sheet_code(a)
    assert row["facilitators"] == [] and row["topics"] == ["safe_migration_steps", "hotlines"]
    assert [r["id"] for r in api(w.officer).get(f"{URL}?kind=radio_tv").json()["results"]] == [b.pk]
    assert [r["id"] for r in api(w.officer).get(f"{URL}?topic=hotlines").json()["results"]] == [
        a.pk
    ]
    by_area = api(w.officer).get(f"{URL}?area={w.village.code}").json()["results"]
    assert [r["id"] for r in by_area] == [a.pk]
    assert api(w.officer).get(f"{URL}?area=nowhere").status_code == 400
    assert api(w.fac_pv).get(URL).json()["results"] == []
    assert api(w.fac_pv).get(f"{URL}{a.pk}/").status_code == 404
    assert [r["id"] for r in api(w.donor).get(URL).json()["results"]] == [b.pk, a.pk]


def test_the_list_reads_a_fixed_number_of_queries_whatever_the_page_size(w: World) -> None:
    for i in range(4):
        e = event(w, title=f"E{i}", facilitators=[w.fac])
        svc.attendance_record(actor=w.fac, event=e, persons=[f.consenting_person(w.village)])
    client = api(w.fac)
    counts = []
    for n in (1, 4):
        client.get(f"{URL}?page_size={n}")
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"{URL}?page_size={n}")
        assert len(response.json()["results"]) == n
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_a_facilitator_records_and_changes_an_event(w: World) -> None:
    client = api(w.fac)
    response = post(client, URL, body(w))
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["facilitators"] == [w.fac.pk] and created["registered"] == 0
    url = f"{URL}{created['id']}/"
    changed = client.patch(url, {"title": "Renamed"}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["title"] == "Renamed"
    assert changed.json()["kind"] == "school_session"
    assert AuditEvent.objects.filter(action="update").count() == 1


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"held_on": "2999-01-01"}, "held_on"),
        ({"kind": "concert"}, "kind"),
        ({"topics": []}, "topics"),
        ({"topics": ["weather"]}, "topics"),
        ({"village": "nowhere"}, "village"),
        ({"facilitators": [999999]}, "facilitators"),
        ({"materials": [999999]}, "materials"),
    ],
)
def test_bad_input_is_refused_by_field(w: World, extra: dict[str, Any], field: str) -> None:
    response = post(api(w.fac), URL, body(w, **extra))
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not AwarenessEvent.objects.exists()


@pytest.mark.parametrize("who", ["fac_pv", "me", "donor"])
def test_recording_needs_the_right_in_the_village(w: World, who: str) -> None:
    response = post(api(getattr(w, who)), URL, body(w))
    assert response.status_code == 403
    assert not AwarenessEvent.objects.exists()


def test_changing_needs_the_right_in_the_village(w: World) -> None:
    e = event(w)
    for who in (w.me, w.donor):
        response = api(who).patch(f"{URL}{e.pk}/", {"title": "x"}, content_type="application/json")
        assert response.status_code == 403
    response = api(w.fac_pv).patch(f"{URL}{e.pk}/", {"title": "x"}, content_type="application/json")
    assert response.status_code == 404
    e.refresh_from_db()
    assert e.title == "Safe migration meeting"


def test_attendance_is_recorded_all_or_nothing_naming_the_person_outside(w: World) -> None:
    e = event(w, actor=w.officer)
    here = f.consenting_person(w.village, name="Sophea")
    far = f.consenting_person(w.elsewhere, name="Kosal")
    url = f"{URL}{e.pk}/attendance/"
    refused = post(api(w.officer), url, {"persons": [here.pk, far.pk]})
    assert refused.status_code == 400
    assert "Chan Kosal" in refused.json()["persons[2]"][0]
    assert not EventAttendance.objects.exists()
    added = post(api(w.officer), url, {"persons": [here.pk, here.pk]})
    assert added.status_code == 200 and added.json() == {"added": [here.pk], "registered": 1}
    again = post(api(w.officer), url, {"persons": [here.pk]})
    assert again.json() == {"added": [], "registered": 1}
    listed = api(w.fac).get(url).json()
    assert [(r["person"], r["name"], r["village"]) for r in listed] == [
        (here.pk, "Chan Sophea", w.village.code)
    ]
    assert AuditEvent.objects.filter(action="read", object_id=str(e.pk)).count() == 1


def test_attendee_names_need_view_persons(w: World) -> None:
    e = event(w)
    svc.attendance_record(actor=w.fac, event=e, persons=[f.consenting_person(w.village)])
    before = AuditEvent.objects.count()
    assert api(w.donor).get(f"{URL}{e.pk}/attendance/").status_code == 403
    # One attendee: a count from 1 to 4, hidden from someone who sees figures only.
    assert api(w.donor).get(f"{URL}{e.pk}/reach/").json()["registered"] is None
    assert api(w.me).get(f"{URL}{e.pk}/reach/").json()["registered"] == 1
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("who", ["me", "donor"])
def test_recording_attendance_needs_the_right_in_the_village(w: World, who: str) -> None:
    e = event(w)
    person = f.consenting_person(w.village)
    response = post(api(getattr(w, who)), f"{URL}{e.pk}/attendance/", {"persons": [person.pk]})
    assert response.status_code == 403
    response = api(getattr(w, who)).delete(f"{URL}{e.pk}/attendance/{person.pk}/")
    assert response.status_code == 403
    assert not EventAttendance.objects.exists()


def test_an_attendee_is_removed(w: World) -> None:
    e = event(w)
    person = f.consenting_person(w.village)
    svc.attendance_record(actor=w.fac, event=e, persons=[person])
    assert api(w.fac).delete(f"{URL}{e.pk}/attendance/{person.pk}/").status_code == 204
    assert not EventAttendance.objects.exists()
    assert api(w.fac).delete(f"{URL}{e.pk}/attendance/{person.pk}/").status_code == 204


def test_the_headcount_grid_is_replaced_and_the_reach_follows(w: World) -> None:
    e = event(w)
    url = f"{URL}{e.pk}/headcounts/"
    client = api(w.fac)
    grid = {
        "counts": [
            {"sex": "female", "age_band": "15-17", "count": 12},
            {"sex": "male", "age_band": "15-17", "count": 9},
            {"sex": "male", "age_band": "25+", "count": 0},
        ]
    }
    response = client.put(url, grid, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["counts"] == grid["counts"][:2]
    assert client.get(url).json() == response.json()
    reach = client.get(f"{URL}{e.pk}/reach/").json()
    assert (reach["registered"], reach["counted"], reach["total"]) == (0, 21, 21)
    assert {"sex": "male", "age_band": "15-17", "registered": 0, "counted": 9, "total": 9} in (
        reach["cells"]
    )
    for bad in (
        {"counts": [{"sex": "female", "age_band": "15-17", "count": -1}]},
        {"counts": [{"sex": "female", "age_band": "13-19", "count": 1}]},
        {"counts": [{"sex": "female", "age_band": "15-17", "count": 1}] * 2},
    ):
        assert client.put(url, bad, content_type="application/json").status_code == 400
    denied = api(w.donor).put(url, {"counts": []}, content_type="application/json")
    assert denied.status_code == 403
    assert EventHeadcount.objects.count() == 2
