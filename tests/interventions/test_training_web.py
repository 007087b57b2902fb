"""Training pages and API: what each user sees and may do, and that nothing changes
when they may not. The world (a course on a real targeting list) is test_training's."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ctip.accounts.models import User
from ctip.core.models import AuditEvent
from ctip.interventions.models import (
    Course,
    CourseSession,
    Enrolment,
    FollowUp,
    SessionAttendance,
)
from ctip.interventions.services import training as svc
from tests.interventions.test_training import TODAY, World, another_course, enrol, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return make_world()


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def state() -> tuple[int, ...]:
    """Everything a denied request must leave as it was."""
    return (
        Course.objects.count(),
        Enrolment.objects.count(),
        CourseSession.objects.count(),
        SessionAttendance.objects.count(),
        FollowUp.objects.count(),
        AuditEvent.objects.count(),
    )


def course_form(w: World, **changes: Any) -> dict[str, Any]:
    return {
        "title": "Tailoring for young women",
        "trade": "Tailoring",
        "provider": "Chab Dai",
        "area": "KH-20",
        "location": "",
        "starts_on": TODAY.isoformat(),
        "ends_on": (TODAY + dt.timedelta(days=60)).isoformat(),
        "sessions_planned": "24",
        "capacity": "15",
        "cost_per_trainee": "600000",
        "currency": "KHR",
        "targeting_list": str(w.tl.pk),
        "status": "planned",
        **changes,
    }


# --------------------------------------------------------------------------------------
# Pages.


def test_anonymous_visitors_are_sent_to_sign_in(world: World) -> None:
    before = state()
    client = client_for(None)
    for url in (
        "/training/courses/",
        f"/training/courses/{world.course.pk}/",
        f"/training/courses/{world.course.pk}/enrol/",
        "/training/courses/new/",
    ):
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert state() == before


def test_the_course_list_shows_the_courses_of_the_readers_areas(world: World) -> None:
    enrol(world, "ann", "dara")
    page = client_for(world.officer).get("/training/courses/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Motorbike repair 2026" in body and "Set up a course" in body
    page = client_for(world.facilitator).get("/training/courses/?area=" + world.village.code)
    assert "Motorbike repair 2026" in page.content.decode()
    assert "Set up a course" not in page.content.decode()
    page = client_for(world.pv_officer).get("/training/courses/")
    assert "Motorbike repair 2026" not in page.content.decode()
    assert client_for(world.donor).get("/training/courses/").status_code == 403
    page = client_for(world.officer).get("/training/courses/?area=nowhere")
    assert "No area has the code nowhere" in page.content.decode()


def test_the_trainees_list(world: World) -> None:
    _ann, dara = enrol(world, "ann", "dara")
    svc.enrolment_drop(actor=world.officer, enrolment=dara, dropped_on=TODAY, reason="Ill")
    body = client_for(world.officer).get("/training/enrolments/").content.decode()
    assert "Chan Ann" in body and "Chan Dara" in body and "Motorbike repair 2026" in body
    body = (
        client_for(world.officer).get("/training/enrolments/?status=dropped_out").content.decode()
    )
    assert "Chan Ann" not in body and "Chan Dara" in body
    body = (
        client_for(world.officer)
        .get(f"/training/enrolments/?area={world.village.code}")
        .content.decode()
    )
    assert "Chan Ann" in body and "Chan Dara" not in body
    body = client_for(world.facilitator).get("/training/enrolments/").content.decode()
    assert "Chan Ann" in body and "Chan Dara" not in body
    assert (
        "Chan Ann" not in client_for(world.pv_officer).get("/training/enrolments/").content.decode()
    )
    assert client_for(world.donor).get("/training/enrolments/").status_code == 403
    response = client_for(None).get("/training/enrolments/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_the_course_page_names_its_trainees_and_is_audited(world: World) -> None:
    enrol(world, "ann", "dara")
    reads = AuditEvent.objects.filter(action="read", object_type="interventions.course")
    page = client_for(world.officer).get(f"/training/courses/{world.course.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Chan Ann" in body and "Chan Dara" in body and "Enrol from the targeting list" in body
    assert reads.count() == 1
    # The facilitator sees the trainees of their commune only.
    body = client_for(world.facilitator).get(f"/training/courses/{world.course.pk}/").content
    assert b"Chan Ann" in body and b"Chan Dara" not in body
    # The M&E officer reads, without the buttons to record.
    body = client_for(world.me).get(f"/training/courses/{world.course.pk}/").content
    assert b"Chan Ann" in body and b"Enrol from the targeting list" not in body
    before = state()
    assert (
        client_for(world.pv_officer).get(f"/training/courses/{world.course.pk}/").status_code == 404
    )
    assert client_for(world.donor).get(f"/training/courses/{world.course.pk}/").status_code == 403
    assert state() == before


def test_setting_up_a_course_from_the_page(world: World) -> None:
    client = client_for(world.officer)
    assert client.get("/training/courses/new/").status_code == 200
    response = client.post("/training/courses/new/", course_form(world))
    course = Course.objects.get(title="Tailoring for young women")
    assert response.status_code == 302 and response.url == f"/training/courses/{course.pk}/"
    assert course.targeting_list == world.tl and course.cost_per_trainee == 600000
    # Errors are shown next to their fields; nothing is saved.
    before = state()
    page = client.post(
        "/training/courses/new/", course_form(world, cost_per_trainee="-5", area="KH-14")
    )
    assert page.status_code == 200
    assert "You may not set up courses in this area." in page.content.decode()
    page = client.post("/training/courses/new/", course_form(world, cost_per_trainee="-5"))
    assert "The amount must not be negative." in page.content.decode()
    assert state() == before


def test_only_those_who_set_up_courses_reach_the_course_forms(world: World) -> None:
    before = state()
    for user in (world.facilitator, world.me, world.donor):
        client = client_for(user)
        assert client.get("/training/courses/new/").status_code == 403
        assert client.post("/training/courses/new/", course_form(world)).status_code == 403
        url = f"/training/courses/{world.course.pk}/edit/"
        assert client.post(url, course_form(world, title="Hijacked")).status_code == 403
    url = f"/training/courses/{world.course.pk}/edit/"
    assert client_for(world.pv_officer).post(url, course_form(world)).status_code == 404
    assert state() == before
    response = client_for(world.officer).post(url, course_form(world, title="Motorbike repair B"))
    assert response.status_code == 302
    assert Course.objects.get(pk=world.course.pk).title == "Motorbike repair B"


def test_enrolling_from_the_targeting_list_page(world: World) -> None:
    client = client_for(world.officer)
    url = f"/training/courses/{world.course.pk}/enrol/"
    page = client.get(url)
    body = page.content.decode()
    for name in ("Chan Ann", "Chan Bora", "Chan Dara", "Chan Eng"):
        assert name in body
    assert "Chan Fay" not in body  # deferred
    assert f'value="{world.e["eng"].pk}"' not in body  # no consent: no box to tick
    assert "No consent for services" in body
    response = client.post(
        url,
        {
            "entries": [world.e["ann"].pk, world.e["bora"].pk],
            "enrolled_on": world.course.starts_on.isoformat(),
        },
    )
    assert response.status_code == 302
    assert set(Enrolment.objects.values_list("person__given_name_latin", flat=True)) == {
        "Ann",
        "Bora",
    }
    body = client.get(url).content.decode()
    assert "Chan Ann" not in body and "Chan Chan" in body
    # A bad row: the error names the person, nobody is enrolled.
    before = state()
    page = client.post(
        url, {"entries": [world.e["chan"].pk, world.e["eng"].pk], "enrolled_on": TODAY.isoformat()}
    )
    assert page.status_code == 200
    assert "Chan Eng" in page.content.decode()
    assert state() == before


def test_the_enrol_page_greys_out_who_takes_another_course_of_the_assistance(
    world: World,
) -> None:
    enrol(world, "ann")
    tailoring = another_course(world, world.tl)
    client = client_for(world.facilitator)
    url = f"/training/courses/{tailoring.pk}/enrol/"
    body = client.get(url).content.decode()
    assert "Chan Ann" in body and "Already enrolled in Motorbike repair 2026." in body
    assert f'value="{world.e["ann"].pk}"' not in body  # nothing to tick
    assert f'value="{world.e["bora"].pk}"' in body
    before = state()
    page = client.post(url, {"entries": [world.e["ann"].pk], "enrolled_on": TODAY.isoformat()})
    assert page.status_code == 200
    assert (
        f"Rank {world.e['ann'].rank}: Chan Ann is already enrolled in Motorbike repair 2026."
        in page.content.decode()
    )
    assert state() == before
    # Once she dropped out of the first course, she may be enrolled in this one.
    svc.enrolment_drop(
        actor=world.officer, enrolment=Enrolment.objects.get(), dropped_on=TODAY, reason="Ill"
    )
    assert "Already enrolled" not in client.get(url).content.decode()
    response = client.post(url, {"entries": [world.e["ann"].pk], "enrolled_on": TODAY.isoformat()})
    assert response.status_code == 302
    assert Enrolment.objects.get(course=tailoring).person == world.p["ann"]


def test_the_enrol_pages_are_closed_to_those_who_do_not_record(world: World) -> None:
    url = f"/training/courses/{world.course.pk}/enrol/"
    data = {"entries": [world.e["ann"].pk], "enrolled_on": TODAY.isoformat()}
    before = state()
    for user in (world.me, world.donor):
        assert client_for(user).get(url).status_code == 403
        assert client_for(user).post(url, data).status_code == 403
    assert client_for(world.pv_officer).post(url, data).status_code == 404
    assert state() == before


def test_enrolling_one_person_from_a_name_search(world: World) -> None:
    client = client_for(world.facilitator)
    url = f"/training/courses/{world.course.pk}/enrol/person/"
    body = client.get(url + "?q=gan").content.decode()
    assert "Chan Gan" in body
    body = client.get(url + "?q=hout").content.decode()
    assert "No consent for services" in body
    response = client.post(url, {"person": world.p["gan"].pk, "enrolled_on": TODAY.isoformat()})
    assert response.status_code == 302
    assert Enrolment.objects.get().person == world.p["gan"]
    before = state()
    page = client.post(url, {"person": world.p["hout"].pk, "enrolled_on": TODAY.isoformat()})
    assert "Chan Hout has no consent" in page.content.decode()
    page = client.post(url, {"person": world.p["dara"].pk, "enrolled_on": TODAY.isoformat()})
    assert "not in the course&#x27;s area" in page.content.decode()
    assert client_for(world.me).post(url, {"person": world.p["ann"].pk}).status_code == 403
    assert state() == before


def test_a_session_and_its_attendance_register_on_a_phone(world: World) -> None:
    ann, bora, dara = enrol(world, "ann", "bora", "dara")
    client = client_for(world.facilitator)
    response = client.post(
        f"/training/courses/{world.course.pk}/sessions/new/",
        {"held_on": TODAY.isoformat(), "topic": "Engines"},
    )
    session = CourseSession.objects.get()
    assert response.status_code == 302
    assert response.url == f"/training/sessions/{session.pk}/attendance/"
    url = response.url
    page = client.get(url)
    body = page.content.decode()
    assert 'id="register"' in body and "Chan Ann" in body and "Chan Dara" not in body
    assert f'name="e{ann.pk}"' in body and f'name="e{dara.pk}"' not in body
    client.post(url, {f"e{ann.pk}": "present", f"e{bora.pk}": "absent"})
    assert dict(SessionAttendance.objects.values_list("enrolment_id", "present")) == {
        ann.pk: True,
        bora.pk: False,
    }
    client.post(url, {"all_present": "1"})
    assert set(SessionAttendance.objects.values_list("present", flat=True)) == {True}
    # The officer marks Dara; the M&E officer may look but not mark.
    client_for(world.officer).post(url, {f"e{dara.pk}": "absent"})
    assert SessionAttendance.objects.get(enrolment=dara).present is False
    body = client_for(world.me).get(url).content.decode()
    assert "Chan Dara" in body and f'name="e{dara.pk}"' not in body
    before = state()
    assert client_for(world.me).post(url, {f"e{dara.pk}": "present"}).status_code == 403
    assert client_for(world.pv_officer).get(url).status_code == 404
    assert client_for(world.donor).get(url).status_code == 403
    assert state() == before


def test_completing_and_dropping_out_from_the_pages(world: World) -> None:
    ann, bora, dara = enrol(world, "ann", "bora", "dara")
    client = client_for(world.facilitator)
    page = client.post(
        f"/training/enrolments/{ann.pk}/complete/",
        {"completed_on": (TODAY + dt.timedelta(days=1)).isoformat()},
    )
    assert "is in the future" in page.content.decode()
    response = client.post(
        f"/training/enrolments/{ann.pk}/complete/",
        {"completed_on": TODAY.isoformat(), "certificate": "on", "certificate_number": "SR-7"},
    )
    assert response.status_code == 302
    assert FollowUp.objects.filter(enrolment=ann).count() == 3
    response = client.post(
        f"/training/enrolments/{bora.pk}/drop/",
        {"dropped_on": TODAY.isoformat(), "drop_reason": "Went to Thailand"},
    )
    assert response.status_code == 302
    assert Enrolment.objects.get(pk=bora.pk).status == "dropped_out"
    before = state()
    # Dara lives in another district: not the facilitator's to see.
    assert client.post(f"/training/enrolments/{dara.pk}/drop/").status_code == 404
    assert (
        client_for(world.me)
        .post(f"/training/enrolments/{dara.pk}/complete/", {"completed_on": TODAY.isoformat()})
        .status_code
        == 403
    )
    assert state() == before


def test_the_outcomes_table(world: World) -> None:
    (ann,) = enrol(world, "ann")
    svc.enrolment_complete(actor=world.officer, enrolment=ann, completed_on=TODAY)
    body = client_for(world.officer).get(f"/training/courses/{world.course.pk}/outcomes/").content
    text = body.decode()
    assert 'id="outcomes"' in text and "12 months" in text and "Employed locally" in text
    assert "Not visited yet" in text and "Chan Ann" in text
    assert (
        client_for(world.donor).get(f"/training/courses/{world.course.pk}/outcomes/").status_code
        == 403
    )
    assert (
        client_for(world.pv_officer)
        .get(f"/training/courses/{world.course.pk}/outcomes/")
        .status_code
        == 404
    )


def test_the_pages_take_a_fixed_number_of_queries(world: World) -> None:
    client = client_for(world.officer)
    counts = []
    for names in (("ann",), ("bora", "chan", "dara")):
        enrol(world, *names)
        svc.course_create(
            actor=world.officer,
            title=f"Course {names[0]}",
            trade="Tailoring",
            provider="NGO",
            area=world.province,
            starts_on=TODAY,
            ends_on=TODAY,
            cost_per_trainee="0",
            currency="KHR",
        )
        row = []
        for url in (
            "/training/courses/",
            "/training/enrolments/",
            f"/training/courses/{world.course.pk}/",
            f"/training/courses/{world.course.pk}/outcomes/",
            f"/training/courses/{world.course.pk}/enrol/",
        ):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            row.append(len(ctx.captured_queries))
        counts.append(row)
    assert counts[0] == counts[1]


# --------------------------------------------------------------------------------------
# API.


def test_the_api_refuses_anonymous_callers_and_donors(world: World) -> None:
    before = state()
    for url in ("/api/v1/courses/", "/api/v1/enrolments/", f"/api/v1/courses/{world.course.pk}/"):
        assert client_for(None).get(url).status_code in (401, 403)
        assert client_for(None).post(url, {}).status_code in (401, 403)
        assert client_for(world.donor).get(url).status_code == 403
    assert state() == before


def test_courses_through_the_api(world: World) -> None:
    enrol(world, "ann", "dara")
    api = client_for(world.officer)
    listed = api.get("/api/v1/courses/").json()
    assert listed["count"] == 1
    course = listed["results"][0]
    assert course["area"] == "20" and course["cost_per_trainee"] == "450.00"
    assert (course["enrolled"], course["completed"], course["status"]) == (2, 0, "planned")
    assert (
        client_for(world.facilitator).get("/api/v1/courses/").json()["results"][0]["enrolled"] == 1
    )
    assert client_for(world.pv_officer).get("/api/v1/courses/").json()["count"] == 0
    assert (
        client_for(world.pv_officer).get(f"/api/v1/courses/{world.course.pk}/").status_code == 404
    )
    body = {
        "title": "Welding",
        "trade": "Welding",
        "provider": "NGO",
        "area": "KH-20",
        "starts_on": TODAY.isoformat(),
        "ends_on": TODAY.isoformat(),
        "cost_per_trainee": "12.50",
        "currency": "USD",
    }
    created = api.post("/api/v1/courses/", body, content_type="application/json")
    assert created.status_code == 201 and created.json()["enrolled"] == 0
    before = state()
    bad = api.post(
        "/api/v1/courses/", {**body, "cost_per_trainee": "-1"}, content_type="application/json"
    )
    assert bad.status_code == 400 and "negative" in bad.json()["cost_per_trainee"][0]
    bad = api.post("/api/v1/courses/", {**body, "area": "XX-99"}, content_type="application/json")
    assert bad.status_code == 400 and "area" in bad.json()
    for user in (world.facilitator, world.me):
        denied = client_for(user).post("/api/v1/courses/", body, content_type="application/json")
        assert denied.status_code == 403
    denied = client_for(world.pv_officer).post(
        "/api/v1/courses/", body, content_type="application/json"
    )
    assert denied.status_code == 403
    assert state() == before
    changed = api.patch(
        f"/api/v1/courses/{world.course.pk}/",
        {"status": "running"},
        content_type="application/json",
    )
    assert changed.status_code == 200 and changed.json()["status"] == "running"


def test_enrolling_and_keeping_the_register_through_the_api(world: World) -> None:
    api = client_for(world.officer)
    url = f"/api/v1/courses/{world.course.pk}/enrol-from-list/"
    before = state()
    bad = api.post(
        url, {"entries": [world.e["ann"].pk, world.e["fay"].pk]}, content_type="application/json"
    )
    assert bad.status_code == 400 and "Chan Fay" in bad.json()["entries"][0]
    denied = client_for(world.me).post(
        url, {"entries": [world.e["ann"].pk]}, content_type="application/json"
    )
    assert denied.status_code == 403
    assert state() == before
    made = api.post(
        url,
        {
            "entries": [world.e["ann"].pk, world.e["bora"].pk],
            "enrolled_on": world.course.starts_on.isoformat(),
        },
        content_type="application/json",
    )
    assert made.status_code == 201
    assert sorted(e["name"] for e in made.json()) == ["Chan Ann", "Chan Bora"]
    session = api.post(
        f"/api/v1/courses/{world.course.pk}/sessions/",
        {"held_on": TODAY.isoformat(), "topic": "Tyres"},
        content_type="application/json",
    )
    assert session.status_code == 201
    sid = session.json()["id"]
    ann, bora = (e["id"] for e in sorted(made.json(), key=lambda e: e["name"]))
    register = api.post(
        f"/api/v1/courses/{world.course.pk}/sessions/{sid}/attendance/",
        {"marks": [{"enrolment": ann, "present": True}, {"enrolment": bora, "present": False}]},
        content_type="application/json",
    )
    assert register.status_code == 200
    assert {r["name"]: r["present"] for r in register.json()} == {
        "Chan Ann": True,
        "Chan Bora": False,
    }
    sessions = api.get(f"/api/v1/courses/{world.course.pk}/sessions/").json()
    assert sessions == [
        {"id": sid, "held_on": TODAY.isoformat(), "topic": "Tyres", "present": 1, "marked": 2}
    ]


def test_enrolments_through_the_api(world: World) -> None:
    api = client_for(world.officer)
    created = api.post(
        "/api/v1/enrolments/",
        {
            "course": world.course.pk,
            "person": world.p["gan"].pk,
            "enrolled_on": world.course.starts_on.isoformat(),
        },
        content_type="application/json",
    )
    assert created.status_code == 201
    eid = created.json()["id"]
    before = state()
    for person, message in ((world.p["hout"].pk, "no consent"), (world.p["far"].pk, "No person")):
        bad = api.post(
            "/api/v1/enrolments/",
            {"course": world.course.pk, "person": person},
            content_type="application/json",
        )
        assert bad.status_code == 400 and message in bad.json()["person"][0]
    denied = client_for(world.me).post(
        "/api/v1/enrolments/",
        {"course": world.course.pk, "person": world.p["ann"].pk},
        content_type="application/json",
    )
    assert denied.status_code == 403
    assert (
        client_for(world.pv_officer)
        .post(
            f"/api/v1/enrolments/{eid}/complete/",
            {"completed_on": TODAY.isoformat()},
            content_type="application/json",
        )
        .status_code
        == 404
    )
    assert state() == before
    done = api.post(
        f"/api/v1/enrolments/{eid}/complete/",
        {"completed_on": TODAY.isoformat(), "certificate": True},
        content_type="application/json",
    )
    assert done.status_code == 200
    assert [fu["months_after"] for fu in done.json()["follow_ups"]] == [3, 6, 12]
    assert done.json()["status"] == "completed"
    reads = AuditEvent.objects.filter(action="read", object_type="interventions.enrolment")
    detail = api.get(f"/api/v1/enrolments/{eid}/")
    assert detail.status_code == 200 and reads.count() == 1
    assert (
        api.get(f"/api/v1/enrolments/?course={world.course.pk}&status=completed").json()["count"]
        == 1
    )
    (dara,) = enrol(world, "dara")
    dropped = api.post(
        f"/api/v1/enrolments/{dara.pk}/drop/",
        {"dropped_on": TODAY.isoformat(), "reason": "Migrated"},
        content_type="application/json",
    )
    assert dropped.status_code == 200 and dropped.json()["status"] == "dropped_out"
    assert client_for(world.facilitator).get(f"/api/v1/enrolments/{dara.pk}/").status_code == 404


def test_api_lists_take_a_fixed_number_of_queries(world: World) -> None:
    api = client_for(world.officer)
    counts = []
    for names in (("ann",), ("bora", "chan", "dara")):
        for e in enrol(world, *names):
            svc.enrolment_complete(actor=world.officer, enrolment=e, completed_on=TODAY)
        svc.course_create(
            actor=world.officer,
            title=f"Course {names[0]}",
            trade="Tailoring",
            provider="NGO",
            area=world.province,
            starts_on=TODAY,
            ends_on=TODAY,
            cost_per_trainee="0",
            currency="KHR",
        )
        row = []
        for url in ("/api/v1/courses/", "/api/v1/enrolments/"):
            with CaptureQueriesContext(connection) as ctx:
                assert api.get(url).status_code == 200
            row.append(len(ctx.captured_queries))
        counts.append(row)
    assert counts[0] == counts[1]
