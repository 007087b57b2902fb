"""The finding "migrated unsafely" is sensitive: every page and endpoint that shows a
person's follow-up visits shows it only to readers holding VIEW_SENSITIVE in the
person's area (a provincial officer here) and audits that read; a facilitator sees
"Migrated", the same as for a safe migration, and can still record it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ctip.core.models import AuditEvent
from ctip.interventions import models as m
from tests.interventions import factories as f
from tests.interventions import test_overview_world as w

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
UNSAFE, SAFE = m.Situation.MIGRATED_UNSAFELY, m.Situation.MIGRATED_SAFELY


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sensitive_reads() -> list[AuditEvent]:
    return [e for e in AuditEvent.objects.filter(action="read") if "sensitive" in e.changes]


@pytest.fixture
def world() -> dict[str, Any]:
    """Sokha migrated unsafely six months after her course, Dara safely; Sokha's
    chicken raising was visited too, and she had migrated unsafely then as well."""
    village = f.village("20")
    sokha = f.consenting_person(village, born=dt.date(2005, 1, 1), name="Sokha")
    dara = f.consenting_person(village, born=dt.date(2005, 1, 1), name="Dara", sex="male")
    course = w.course(village, starts=dt.date(2026, 1, 5))
    on, done = dt.date(2026, 1, 5), dt.date(2026, 3, 30)
    w.enrol(sokha, on=on, c=course, completed_on=done, situation_6m=UNSAFE)
    w.enrol(dara, on=on, c=course, completed_on=done, situation_6m=SAFE)
    activity = w.iga(sokha, on=dt.date(2026, 2, 1))
    visit = m.FollowUp.objects.create(
        person=sokha,
        component=m.Component.IGA,
        activity=activity,
        due_on=dt.date(2026, 5, 1),
        months_after=3,
        status=m.FollowUpStatus.DONE,
        visited_on=dt.date(2026, 5, 3),
        situation=UNSAFE,
    )
    return {
        "village": village,
        "sokha": sokha,
        "dara": dara,
        "course": course,
        "activity": activity,
        "unsafe": m.FollowUp.objects.get(enrolment__person=sokha),
        "safe": m.FollowUp.objects.get(enrolment__person=dara),
        "iga_visit": visit,
        "fac": f.staff("fac", "facilitator", village.parent),
        "officer": f.staff("po", "provincial_officer", "KH-20"),
        "fac_pv": f.staff("fac-pv", "facilitator", f.village("14").parent),
        "donor": f.staff("donor", "donor", "KH-20"),
    }


# --- the follow-up pages and API ---------------------------------------------------------


def test_a_visit_page_says_migrated_to_a_facilitator_and_unsafely_to_an_officer(world) -> None:
    fac = client_for(world["fac"])
    for key in ("unsafe", "safe"):
        html = fac.get(reverse("interventions:followup-detail", args=[world[key].pk]))
        text = html.content.decode()
        assert "<dd>Migrated <span" in text, key
        assert "Migrated, unsafely" not in text and "Migrated, safely" not in text
    assert sensitive_reads() == []
    url = reverse("interventions:followup-detail", args=[world["unsafe"].pk])
    html = client_for(world["officer"]).get(url).content.decode()
    assert "Migrated, unsafely" in html
    (event,) = sensitive_reads()
    assert event.object_id == str(world["unsafe"].pk) and event.actor == world["officer"]
    # A safe migration is not a sensitive read.
    client_for(world["officer"]).get(
        reverse("interventions:followup-detail", args=[world["safe"].pk])
    )
    assert len(sensitive_reads()) == 1


def test_the_follow_up_api_gives_migrated_to_a_facilitator(world) -> None:
    url = "/api/v1/follow-ups/"
    rows = client_for(world["fac"]).get(url).json()["results"]
    assert {r["situation"] for r in rows} == {"migrated"}
    one = client_for(world["fac"]).get(f"{url}{world['unsafe'].pk}/").json()
    assert one["situation"] == "migrated"
    assert sensitive_reads() == []
    rows = client_for(world["officer"]).get(url).json()["results"]
    assert sorted(r["situation"] for r in rows) == sorted([UNSAFE, SAFE, UNSAFE])
    (event,) = sensitive_reads()
    assert event.changes["follow_ups"] == sorted([world["unsafe"].pk, world["iga_visit"].pk])
    assert event.changes["persons"] == [world["sokha"].pk]
    one = client_for(world["officer"]).get(f"{url}{world['unsafe'].pk}/").json()
    assert one["situation"] == UNSAFE and len(sensitive_reads()) == 2


def test_a_facilitator_records_an_unsafe_migration_without_it_being_echoed(world) -> None:
    due = m.FollowUp.objects.create(
        person=world["dara"], component=m.Component.TRAINING, due_on=TODAY, months_after=12
    )
    fac = client_for(world["fac"])
    visit_url = reverse("interventions:followup-visit", args=[due.pk])
    response = fac.post(
        visit_url,
        {"visited_on": TODAY.isoformat(), "situation": UNSAFE, "outcome": "Left for Bangkok"},
        follow=True,
    )
    assert response.status_code == 200
    due.refresh_from_db()
    assert (due.status, due.situation) == (m.FollowUpStatus.DONE, UNSAFE)
    html = response.content.decode()
    assert "Visit to Chan Dara recorded." in html
    assert "unsafely" not in html.replace("whether safely", "") and "<dd>Migrated <span" in html
    # Correcting it: the form keeps what was recorded without saying what it was.
    form = fac.get(visit_url).content.decode()
    assert '<option value="migrated" selected>Migrated, as recorded</option>' in form
    assert f'<option value="{UNSAFE}" selected' not in form
    fac.post(visit_url, {"visited_on": TODAY.isoformat(), "situation": "migrated", "outcome": "x"})
    due.refresh_from_db()
    assert (due.situation, due.outcome) == (UNSAFE, "x")
    assert sensitive_reads() == []
    # The officer's form shows it as it is (and no "as recorded" choice): a read.
    form = client_for(world["officer"]).get(visit_url).content.decode()
    assert f'<option value="{UNSAFE}" selected>' in form and "as recorded" not in form
    (event,) = sensitive_reads()
    assert event.changes["follow_ups"] == [due.pk]
    # "migrated" is not a situation one can record on a visit that was not masked.
    other = m.FollowUp.objects.create(
        person=world["dara"], component=m.Component.TRAINING, due_on=TODAY, months_after=3
    )
    bad = fac.post(
        reverse("interventions:followup-visit", args=[other.pk]),
        {"visited_on": TODAY.isoformat(), "situation": "migrated"},
    )
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()
    other.refresh_from_db()
    assert other.status == m.FollowUpStatus.DUE


def test_the_visit_api_answers_a_facilitator_with_migrated(world) -> None:
    due = m.FollowUp.objects.create(
        person=world["dara"], component=m.Component.TRAINING, due_on=TODAY, months_after=12
    )
    response = client_for(world["fac"]).post(
        f"/api/v1/follow-ups/{due.pk}/visit/",
        {"visited_on": TODAY.isoformat(), "situation": UNSAFE},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["situation"] == "migrated"
    due.refresh_from_db()
    assert due.situation == UNSAFE
    response = client_for(world["officer"]).post(
        f"/api/v1/follow-ups/{due.pk}/visit/",
        {"visited_on": TODAY.isoformat(), "situation": UNSAFE},
        content_type="application/json",
    )
    assert response.json()["situation"] == UNSAFE
    # What a facilitator read ("migrated") can be sent back: it keeps what was recorded.
    response = client_for(world["fac"]).post(
        f"/api/v1/follow-ups/{due.pk}/visit/",
        {"visited_on": TODAY.isoformat(), "situation": "migrated", "outcome": "Still away"},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["situation"] == "migrated"
    due.refresh_from_db()
    assert (due.situation, due.outcome) == (UNSAFE, "Still away")
    # Not where nothing was masked: the officer says which.
    before = AuditEvent.objects.filter(action="update").count()
    response = client_for(world["officer"]).post(
        f"/api/v1/follow-ups/{due.pk}/visit/",
        {"visited_on": TODAY.isoformat(), "situation": "migrated"},
        content_type="application/json",
    )
    assert response.status_code == 400 and "situation" in response.json()
    due.refresh_from_db()
    assert due.outcome == "Still away"
    assert AuditEvent.objects.filter(action="update").count() == before


def test_who_may_read_or_record_a_visit(world) -> None:
    unsafe = world["unsafe"]
    detail = reverse("interventions:followup-detail", args=[unsafe.pk])
    visit = reverse("interventions:followup-visit", args=[unsafe.pk])
    before = AuditEvent.objects.count()
    anonymous = Client().get(detail)
    assert anonymous.status_code == 302 and anonymous.url.startswith("/accounts/login/")
    assert Client().get(f"/api/v1/follow-ups/{unsafe.pk}/").status_code in (401, 403)
    assert client_for(world["fac_pv"]).get(detail).status_code == 404
    assert client_for(world["fac_pv"]).get(f"/api/v1/follow-ups/{unsafe.pk}/").status_code == 404
    assert client_for(world["donor"]).get(detail).status_code == 403
    denied = client_for(world["donor"]).post(
        visit, {"visited_on": TODAY.isoformat(), "situation": SAFE}
    )
    assert denied.status_code == 403
    unsafe.refresh_from_db()
    assert unsafe.situation == UNSAFE
    assert AuditEvent.objects.count() == before


# --- training ----------------------------------------------------------------------------


def _trainees(html: str) -> str:
    return html.split("Trainees</h2>", 1)[1]


def test_the_outcomes_page_says_migrated_per_trainee_to_a_facilitator(world) -> None:
    url = reverse("interventions:course-outcomes", args=[world["course"].pk])
    response = client_for(world["fac"]).get(url)
    labels = {
        row.enrolment.person.given_name_latin: row.outcomes[1].shown_situation_label
        for row in response.context["rows"]
    }
    assert labels == {"Sokha": "Migrated", "Dara": "Migrated"}
    trainees = _trainees(response.content.decode())
    assert "Migrated, unsafely" not in trainees and "Migrated, safely" not in trainees
    # The table of counts by situation stays as it is: counts, not persons.
    table = {row.label: row.counts for row in response.context["summary"].outcomes}
    assert table["Migrated, unsafely"][1] == 1
    assert sensitive_reads() == []

    response = client_for(world["officer"]).get(url)
    assert "Migrated, unsafely" in _trainees(response.content.decode())
    (event,) = sensitive_reads()
    assert event.changes["follow_ups"] == [world["unsafe"].pk]


def test_the_enrolments_api_gives_migrated_to_a_facilitator(world) -> None:
    url = "/api/v1/enrolments/"
    rows = client_for(world["fac"]).get(url, {"course": world["course"].pk}).json()["results"]
    assert [r["follow_ups"][0]["situation"] for r in rows] == ["migrated", "migrated"]
    assert sensitive_reads() == []
    rows = client_for(world["officer"]).get(url, {"course": world["course"].pk}).json()
    assert sorted(r["follow_ups"][0]["situation"] for r in rows["results"]) == [SAFE, UNSAFE]
    (event,) = sensitive_reads()
    assert event.changes["persons"] == [world["sokha"].pk]
    enrolment = world["unsafe"].enrolment_id
    one = client_for(world["fac"]).get(f"{url}{enrolment}/").json()
    assert one["follow_ups"][0]["situation"] == "migrated"
    assert len(sensitive_reads()) == 1


def test_who_may_read_the_outcomes(world) -> None:
    url = reverse("interventions:course-outcomes", args=[world["course"].pk])
    before = AuditEvent.objects.count()
    assert Client().get(url).status_code == 302
    assert client_for(world["fac_pv"]).get(url).status_code == 404
    assert client_for(world["donor"]).get(url).status_code == 403
    assert client_for(world["donor"]).get("/api/v1/enrolments/").status_code == 403
    assert AuditEvent.objects.count() == before


# --- activities and the history ------------------------------------------------------------


def test_the_activity_page_says_migrated_to_a_facilitator(world) -> None:
    url = reverse("interventions:iga-detail", args=[world["activity"].pk])
    html = client_for(world["fac"]).get(url).content.decode()
    assert "<td>Migrated</td>" in html and "Migrated, unsafely" not in html
    assert sensitive_reads() == []
    html = client_for(world["officer"]).get(url).content.decode()
    assert "<td>Migrated, unsafely</td>" in html
    (event,) = sensitive_reads()
    assert event.changes["follow_ups"] == [world["iga_visit"].pk]
    before = AuditEvent.objects.count()
    assert client_for(world["fac_pv"]).get(url).status_code == 404
    assert client_for(world["donor"]).get(url).status_code == 403
    assert AuditEvent.objects.count() == before


def test_the_history_says_migrated_for_both_ways_to_a_facilitator(world) -> None:
    for who in ("sokha", "dara"):
        pk = world[who].pk
        body = client_for(world["fac"]).get(f"/api/v1/intervention-history/{pk}/").json()
        found = [i["details"]["situation"] for i in body["items"] if "situation" in i["details"]]
        assert set(found) == {"migrated"}, who
        html = client_for(world["fac"]).get(reverse("interventions:person-history", args=[pk]))
        text = html.content.decode()
        assert "Migrated, unsafely" not in text and "Migrated, safely" not in text
        assert "whether safely is shown only to roles that see sensitive outcomes" in text
    assert sensitive_reads() == []
    pk = world["sokha"].pk
    body = client_for(world["officer"]).get(f"/api/v1/intervention-history/{pk}/").json()
    found = {i["details"]["situation"] for i in body["items"] if "situation" in i["details"]}
    assert found == {UNSAFE}
    (event,) = sensitive_reads()
    assert event.object_id == str(pk)


def test_the_education_support_api_gives_migrated_to_a_facilitator(world) -> None:
    support = w.education(world["dara"], on=dt.date(2026, 1, 10))
    m.FollowUp.objects.create(
        person=world["dara"],
        component=m.Component.EDUCATION,
        education_support=support,
        due_on=dt.date(2026, 7, 10),
        months_after=6,
        status=m.FollowUpStatus.DONE,
        visited_on=dt.date(2026, 7, 12),
        situation=UNSAFE,
    )
    url = f"/api/v1/education-support/{support.pk}/"
    body = client_for(world["fac"]).get(url).json()
    assert [v["situation"] for v in body["follow_ups"]] == ["migrated"]
    body = client_for(world["officer"]).get(url).json()
    assert [v["situation"] for v in body["follow_ups"]] == [UNSAFE]
    (event,) = sensitive_reads()  # the officer's read, audited; the facilitator's not
    assert event.changes["persons"] == [world["dara"].pk]


def test_the_audit_trail_masks_a_recorded_migration(world) -> None:
    due = m.FollowUp.objects.create(
        person=world["dara"], component=m.Component.TRAINING, due_on=TODAY, months_after=12
    )
    client_for(world["fac"]).post(
        reverse("interventions:followup-visit", args=[due.pk]),
        {"visited_on": TODAY.isoformat(), "situation": UNSAFE, "outcome": "Left"},
    )
    due.refresh_from_db()
    assert due.situation == UNSAFE
    event = AuditEvent.objects.filter(action="update", object_id=str(due.pk)).latest("id")
    assert event.changes["situation"]["after"] != UNSAFE
    assert UNSAFE not in str(event.changes)
    assert event.changes["status"]["after"] == m.FollowUpStatus.DONE
