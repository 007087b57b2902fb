"""Child and youth participation: clubs and forums, their events, who took part (with
the consent recorded in the registry), what they decided, and the follow-up of their
recommendations; pages and API for each kind of user, nothing changed when refused."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ctip.accounts.models import User
from ctip.core.models import AuditEvent
from ctip.geography.models import Area
from ctip.interventions.models import (
    Participant,
    ParticipationEvent,
    ParticipationGroup,
    Recommendation,
)
from ctip.interventions.selectors import participation as sel
from ctip.interventions.services import participation as svc
from ctip.registry.models import Person
from tests.interventions import factories as f
from tests.interventions.test_training import other_district_village

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@dataclass
class World:
    officer: User
    facilitator: User  # of the commune of `village`
    me: User  # reads persons, records nothing
    donor: User
    pv_officer: User
    village: Area
    commune: Area
    far_village: Area
    club: ParticipationGroup
    c: dict[str, Person] = field(default_factory=dict)


@pytest.fixture
def world() -> World:
    village = f.village("20")
    commune = village.parent
    assert commune is not None
    w = World(
        officer=f.staff("officer", "provincial_officer", "KH-20"),
        facilitator=f.staff("facilitator", "facilitator", commune),
        me=f.staff("me", "me_officer", "KH-20"),
        donor=f.staff("donor", "donor", "KH-20"),
        pv_officer=f.staff("pv-officer", "provincial_officer", "KH-14"),
        village=village,
        commune=commune,
        far_village=other_district_village(commune.parent.parent, village),  # type: ignore[union-attr]
        club=ParticipationGroup(),
    )
    w.c["sok"] = f.consenting_person(village, born=dt.date(2011, 3, 1), name="Sok", sex="female")
    w.c["vibol"] = f.consenting_person(village, born=dt.date(2010, 7, 1), name="Vibol", sex="male")
    w.c["dary"] = f.consenting_person(village, born=dt.date(2012, 1, 1), name="Dary", sex="female")
    w.c["lina"] = f.consenting_person(
        village, born=dt.date(2012, 5, 1), name="Lina", purposes=["registration"]
    )
    w.c["mony"] = f.consenting_person(w.far_village, born=dt.date(2011, 1, 1), name="Mony")
    w.c["oun"] = f.consenting_person(f.village("14"), born=dt.date(2011, 1, 1), name="Oun")
    w.club = svc.group_create(
        actor=w.facilitator,
        name="Children's club of the commune",
        kind="childrens_club",
        area=commune,
        formed_on=TODAY - dt.timedelta(days=400),
    )
    return w


def event(w: World, actor: Any = None, **values: Any) -> ParticipationEvent:
    values = {
        "group": w.club,
        "kind": "club_meeting",
        "held_on": TODAY - dt.timedelta(days=7),
        "title": "Monthly meeting",
        "summary": "The children asked for a safe path to school.",
        **values,
    }
    return svc.event_create(actor=actor or w.facilitator, **values)


def state() -> tuple[int, ...]:
    return (
        ParticipationGroup.objects.count(),
        ParticipationEvent.objects.count(),
        Participant.objects.count(),
        Recommendation.objects.count(),
        AuditEvent.objects.count(),
    )


def errors_of(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


# --------------------------------------------------------------------------------------
# Clubs and events.


def test_a_club_is_registered_in_the_facilitators_commune(world: World) -> None:
    assert world.club.area == world.commune and world.club.created_by == world.facilitator
    event_ = AuditEvent.objects.get(action="create", object_type="interventions.participationgroup")
    assert event_.changes["kind"] == "childrens_club"
    before = state()
    for actor in (world.me, world.donor, world.pv_officer):
        with pytest.raises(PermissionDenied):
            svc.group_create(actor=actor, name="X", kind="forum", area=world.commune)
    with pytest.raises(ValidationError) as exc:
        svc.group_create(
            actor=world.officer,
            name="",
            kind="choir",
            area=world.commune,
            formed_on=TODAY + dt.timedelta(days=1),
        )
    assert set(errors_of(exc)) == {"name", "kind", "formed_on"}
    assert state() == before


def test_events_are_recorded_in_the_clubs_area(world: World) -> None:
    e = event(world)
    assert e.area == world.commune and e.group == world.club
    monitoring = event(
        world,
        kind="child_led_monitoring",
        area=world.village,
        title="Checking the school road",
        monitored_activity="Commune road repairs",
    )
    assert monitoring.area == world.village
    before = state()
    for values, key, message in (
        ({"held_on": TODAY + dt.timedelta(days=1)}, "held_on", "in the future"),
        ({"kind": "child_led_monitoring"}, "monitored_activity", "which community activity"),
        ({"area": world.far_village}, "area", "must be held in"),
        ({"title": "@SUM(1)"}, "title", "spreadsheet formula"),
    ):
        with pytest.raises((ValidationError, PermissionDenied)) as exc:
            event(world, actor=world.officer, **values)
        assert isinstance(exc.value, ValidationError)
        assert message in errors_of(exc)[key][0]  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        event(world, actor=world.me)
    with pytest.raises(ValidationError) as exc:
        event(world, actor=world.pv_officer, group=world.club)
    assert "not one of your areas" in errors_of(exc)["group"][0]
    svc.group_update(actor=world.facilitator, group=world.club, active=False)
    before = state()
    with pytest.raises(ValidationError) as exc:
        event(world)
    assert "no longer active" in errors_of(exc)["group"][0]
    assert state() == before


# --------------------------------------------------------------------------------------
# Participants.


def test_children_take_part_with_their_consent(world: World) -> None:
    e = event(world)
    added = svc.participants_add(
        actor=world.facilitator,
        event=e,
        persons=[world.c["sok"], world.c["vibol"]],
        roles={world.c["sok"].pk: "leader"},
    )
    assert {(p.person.given_name_latin, p.role) for p in added} == {
        ("Sok", "leader"),
        ("Vibol", "participant"),
    }
    audit = (
        AuditEvent.objects.filter(action="update", object_type="interventions.participationevent")
        .order_by("id")
        .last()
    )
    assert audit is not None and audit.changes["participants_added"] == {
        str(world.c["sok"].pk): "leader",
        str(world.c["vibol"].pk): "participant",
    }
    # Again: nobody twice, a role changed.
    svc.participants_add(actor=world.facilitator, event=e, persons=[world.c["sok"].pk])
    assert Participant.objects.filter(event=e).count() == 2
    assert Participant.objects.get(person=world.c["sok"]).role == "participant"


@pytest.mark.parametrize(
    "who, message",
    [
        ("lina", "Row 2: Chan Lina has no consent for referral to and delivery of services."),
        ("mony", "Row 2: Chan Mony lives outside the event's area"),
        ("oun", "Row 2: Chan Oun is not a person in your areas."),
    ],
)
def test_one_child_who_cannot_take_part_records_nobody(
    world: World, who: str, message: str
) -> None:
    e = event(world, actor=world.officer)
    before = state()
    with pytest.raises(ValidationError) as exc:
        svc.participants_add(actor=world.officer, event=e, persons=[world.c["sok"], world.c[who]])
    rows = errors_of(exc)["persons"]
    assert len(rows) == 1 and rows[0].startswith(message)
    assert state() == before


def test_only_those_recording_in_the_area_add_or_remove_participants(world: World) -> None:
    e = event(world)
    (p,) = svc.participants_add(actor=world.facilitator, event=e, persons=[world.c["sok"]])
    before = state()
    for actor in (world.me, world.pv_officer):
        with pytest.raises(PermissionDenied):
            svc.participants_add(actor=actor, event=e, persons=[world.c["vibol"]])
        with pytest.raises(PermissionDenied):
            svc.participant_remove(actor=actor, participant=p)
    assert state() == before
    svc.participant_remove(actor=world.facilitator, participant=p)
    assert not Participant.objects.exists()


def test_an_event_cannot_move_away_from_who_took_part(world: World) -> None:
    e = event(world, group=None, area=world.commune)
    svc.participants_add(actor=world.facilitator, event=e, persons=[world.c["sok"]])
    with pytest.raises(ValidationError) as exc:
        svc.event_update(actor=world.officer, event=e, area=world.far_village)
    assert "Chan Sok, who took part, lives outside" in errors_of(exc)["area"][0]
    svc.event_update(actor=world.facilitator, event=e, summary="They chose a new leader.")
    changed = (
        AuditEvent.objects.filter(action="update", object_type="interventions.participationevent")
        .order_by("id")
        .last()
    )
    assert changed is not None and "summary" in changed.changes


# --------------------------------------------------------------------------------------
# Recommendations.


def test_a_recommendation_is_followed_until_it_is_acted_on(world: World) -> None:
    e = event(world)
    r = svc.recommendation_add(
        actor=world.facilitator,
        event=e,
        text="Put a light on the path to school.",
        addressed_to="Commune council",
        due_on=TODAY + dt.timedelta(days=30),
    )
    assert r.status == "open" and r.closed_on is None
    svc.recommendation_update(actor=world.officer, recommendation=r, status="accepted")
    with pytest.raises(ValidationError) as exc:
        svc.recommendation_update(actor=world.officer, recommendation=r, status="done")
    assert "Say what was done" in errors_of(exc)["response"][0]
    svc.recommendation_update(
        actor=world.officer,
        recommendation=r,
        status="done",
        response="The council installed two solar lights.",
    )
    r.refresh_from_db()
    assert (r.status, r.closed_on) == ("done", TODAY)
    with pytest.raises(ValidationError) as exc:
        svc.recommendation_update(actor=world.officer, recommendation=r, status="open")
    assert "cannot become open" in errors_of(exc)["status"][0]
    audit = AuditEvent.objects.filter(
        action="update", object_type="interventions.recommendation"
    ).order_by("id")
    assert [a.changes["status"]["after"] for a in audit] == ["accepted", "done"]


def test_bad_recommendation_input(world: World) -> None:
    e = event(world)
    with pytest.raises(ValidationError) as exc:
        svc.recommendation_add(
            actor=world.facilitator, event=e, text=" ", due_on=e.held_on - dt.timedelta(days=1)
        )
    assert set(errors_of(exc)) == {"text", "due_on"}
    r = svc.recommendation_add(actor=world.facilitator, event=e, text="More sports")
    with pytest.raises(ValidationError) as exc:
        svc.recommendation_update(
            actor=world.facilitator,
            recommendation=r,
            status="declined",
            response="No budget this year.",
            closed_on=TODAY + dt.timedelta(days=2),
        )
    assert "in the future" in errors_of(exc)["closed_on"][0]
    with pytest.raises(PermissionDenied):
        svc.recommendation_update(actor=world.me, recommendation=r, status="accepted")
    assert Recommendation.objects.get().status == "open"


# --------------------------------------------------------------------------------------
# What the pages show.


def test_members_over_time_and_the_tracker(world: World) -> None:
    quarter_ago = TODAY - dt.timedelta(days=95)
    first = event(world, held_on=quarter_ago, title="Earlier")
    svc.participants_add(
        actor=world.facilitator, event=first, persons=[world.c["sok"], world.c["vibol"]]
    )
    now = event(world)
    svc.participants_add(
        actor=world.facilitator, event=now, persons=[world.c["sok"], world.c["dary"]]
    )
    periods = sel.members_over_time(world.officer, world.club)
    assert [(p.events, p.members, p.new, p.girls, p.boys) for p in periods] == [
        (1, 2, 2, 1, 1),
        (1, 2, 1, 2, 0),
    ]
    members = {
        m.person.given_name_latin: m.events for m in sel.group_members(world.officer, world.club)
    }
    assert members == {"Sok": 2, "Vibol": 1, "Dary": 1}
    late = svc.recommendation_add(
        actor=world.facilitator,
        event=first,
        text="Late",
        due_on=quarter_ago + dt.timedelta(days=30),
    )
    svc.recommendation_add(actor=world.facilitator, event=now, text="On time", due_on=TODAY)
    done = svc.recommendation_add(actor=world.facilitator, event=now, text="Done")
    svc.recommendation_update(
        actor=world.facilitator, recommendation=done, status="done", response="Done"
    )
    overdue = sel.recommendation_search(world.officer, status="overdue")
    assert [r.pk for r in overdue] == [late.pk] and overdue[0].overdue is True  # type: ignore[attr-defined]
    assert sel.recommendation_search(world.officer, status="pending").count() == 2
    assert [(r.area, r.pending, r.overdue) for r in sel.pending_per_area(world.officer)] == [
        (world.commune, 2, 1)
    ]
    assert not sel.recommendation_search(world.pv_officer).exists()
    assert not sel.recommendation_search(world.donor).exists()
    listed = sel.event_search(world.facilitator).get(pk=now.pk)
    assert (listed.n_participants, listed.n_recommendations, listed.n_open) == (2, 2, 1)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------
# Pages.


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_anonymous_visitors_and_donors_get_no_participation_page(world: World) -> None:
    e = event(world)
    r = svc.recommendation_add(actor=world.facilitator, event=e, text="Lights")
    before = state()
    for url in (
        "/participation/clubs/",
        f"/participation/clubs/{world.club.pk}/",
        "/participation/events/",
        "/participation/events/new/",
        f"/participation/events/{e.pk}/",
        f"/participation/events/{e.pk}/participants/",
        "/participation/recommendations/",
        f"/participation/recommendations/{r.pk}/",
    ):
        for method in ("get", "post"):
            response = getattr(client_for(None), method)(url)
            assert response.status_code == 302 and response.url.startswith("/accounts/login/")
        assert client_for(world.donor).get(url).status_code == 403
    assert state() == before


def test_the_club_and_event_pages(world: World) -> None:
    e = event(world)
    svc.participants_add(actor=world.facilitator, event=e, persons=[world.c["sok"]])
    svc.recommendation_add(actor=world.facilitator, event=e, text="A safe path to school")
    client = client_for(world.officer)
    body = client.get("/participation/clubs/").content.decode()
    assert "club of the commune" in body
    body = client.get(f"/participation/clubs/{world.club.pk}/").content.decode()
    assert 'id="over-time"' in body and "Chan Sok" in body
    reads = AuditEvent.objects.filter(action="read", object_type="interventions.participationevent")
    body = client.get(f"/participation/events/{e.pk}/").content.decode()
    assert "Chan Sok" in body and "A safe path to school" in body and "safe path" in body
    assert reads.count() == 1
    body = client_for(world.me).get(f"/participation/events/{e.pk}/").content.decode()
    assert "Chan Sok" in body and "Record who took part" not in body
    before = state()
    assert client_for(world.pv_officer).get(f"/participation/events/{e.pk}/").status_code == 404
    assert (
        client_for(world.pv_officer).get(f"/participation/clubs/{world.club.pk}/").status_code
        == 404
    )
    assert (
        "club of the commune"
        not in client_for(world.pv_officer).get("/participation/clubs/").content.decode()
    )
    assert state() == before


def test_recording_an_event_and_who_took_part_from_the_pages(world: World) -> None:
    client = client_for(world.facilitator)
    data = {
        "group": world.club.pk,
        "kind": "forum",
        "held_on": (TODAY + dt.timedelta(days=1)).isoformat(),
        "title": "Children's forum",
        "summary": "They asked for a youth centre.",
    }
    page = client.post("/participation/events/new/", data)
    assert "is in the future" in page.content.decode()
    assert not ParticipationEvent.objects.exists()
    response = client.post("/participation/events/new/", {**data, "held_on": TODAY.isoformat()})
    e = ParticipationEvent.objects.get()
    assert response.status_code == 302
    assert response.url == f"/participation/events/{e.pk}/participants/"
    body = client.get(response.url + "?q=chan").content.decode()
    assert f'value="{world.c["sok"].pk}"' in body and f'value="{world.c["lina"].pk}"' not in body
    assert "No consent for services" in body and "Chan Mony" not in body
    page = client.post(
        response.url, {"persons": [world.c["sok"].pk, world.c["lina"].pk], "role": "participant"}
    )
    assert "Chan Lina has no consent" in page.content.decode()
    assert not Participant.objects.exists()
    client.post(
        response.url, {"persons": [world.c["sok"].pk, world.c["vibol"].pk], "role": "speaker"}
    )
    assert set(Participant.objects.values_list("role", flat=True)) == {"speaker"}
    # A later event of the club offers its members.
    later = event(world)
    body = client.get(f"/participation/events/{later.pk}/participants/").content.decode()
    assert "Members of the club" in body and "Chan Vibol" in body
    before = state()
    url = f"/participation/events/{e.pk}/participants/"
    assert (
        client_for(world.me)
        .post(url, {"persons": [world.c["dary"].pk], "role": "participant"})
        .status_code
        == 403
    )
    assert (
        client_for(world.pv_officer).post(url, {"persons": [world.c["dary"].pk]}).status_code == 404
    )
    p = Participant.objects.filter(event=e).first()
    assert p is not None
    assert (
        client_for(world.me).post(f"/participation/participants/{p.pk}/remove/").status_code == 403
    )
    assert state() == before
    assert client.post(f"/participation/participants/{p.pk}/remove/").status_code == 302
    assert Participant.objects.filter(event=e).count() == 1


def test_the_recommendation_tracker(world: World) -> None:
    e = event(world, held_on=TODAY - dt.timedelta(days=60))
    client = client_for(world.facilitator)
    response = client.post(
        f"/participation/events/{e.pk}/recommendations/new/",
        {
            "text": "Teach us to spot brokers",
            "addressed_to": "School",
            "due_on": (TODAY - dt.timedelta(days=10)).isoformat(),
        },
    )
    assert response.status_code == 302
    r = Recommendation.objects.get()
    body = client_for(world.officer).get("/participation/recommendations/").content.decode()
    assert "Teach us to spot brokers" in body and "overdue" in body and 'id="per-area"' in body
    body = (
        client_for(world.officer)
        .get("/participation/recommendations/?status=done")
        .content.decode()
    )
    assert "Teach us to spot brokers" not in body
    url = f"/participation/recommendations/{r.pk}/"
    page = client.post(url, {"status": "declined"})
    assert "Say what was done" in page.content.decode()
    before = state()
    assert client_for(world.me).post(url, {"status": "accepted"}).status_code == 403
    assert client_for(world.pv_officer).post(url, {"status": "accepted"}).status_code == 404
    assert state() == before
    assert (
        client.post(url, {"status": "accepted", "response": "The school agreed."}).status_code
        == 302
    )
    assert Recommendation.objects.get().status == "accepted"


def test_participation_lists_take_a_fixed_number_of_queries(world: World) -> None:
    client = client_for(world.officer)
    counts = []
    for names in (("sok",), ("vibol", "dary")):
        for name in names:
            e = event(world, title=f"Meeting {name}")
            svc.participants_add(actor=world.facilitator, event=e, persons=[world.c[name]])
            svc.recommendation_add(actor=world.facilitator, event=e, text=f"From {name}")
        svc.group_create(
            actor=world.officer, name=f"Forum {names[0]}", kind="forum", area=world.commune
        )
        row = []
        for url in (
            "/participation/clubs/",
            "/participation/events/",
            "/participation/recommendations/",
            f"/participation/clubs/{world.club.pk}/",
            "/api/v1/participation-events/",
            "/api/v1/participation-groups/",
        ):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            row.append(len(ctx.captured_queries))
        counts.append(row)
    assert counts[0] == counts[1]


# --------------------------------------------------------------------------------------
# API.


def test_the_participation_api(world: World) -> None:
    api = client_for(world.facilitator)
    for url in ("/api/v1/participation-events/", "/api/v1/participation-groups/"):
        assert client_for(None).get(url).status_code in (401, 403)
        assert client_for(world.donor).get(url).status_code == 403
    created = api.post(
        "/api/v1/participation-events/",
        {
            "group": world.club.pk,
            "kind": "cultural_event",
            "held_on": TODAY.isoformat(),
            "title": "Songs about safe migration",
        },
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["area"] == world.commune.code and body["participants"] == []
    eid = body["id"]
    url = f"/api/v1/participation-events/{eid}/participants/"
    before = state()
    bad = api.post(
        url,
        {"participants": [{"person": world.c["sok"].pk}, {"person": world.c["lina"].pk}]},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "Chan Lina" in bad.json()["persons"][0]
    denied = client_for(world.me).post(
        url, {"participants": [{"person": world.c["sok"].pk}]}, content_type="application/json"
    )
    assert denied.status_code == 403
    hidden = client_for(world.pv_officer).post(
        url, {"participants": [{"person": world.c["oun"].pk}]}, content_type="application/json"
    )
    assert hidden.status_code == 404
    assert state() == before
    added = api.post(
        url,
        {
            "participants": [
                {"person": world.c["sok"].pk, "role": "leader"},
                {"person": world.c["vibol"].pk},
            ]
        },
        content_type="application/json",
    )
    assert added.status_code == 200
    assert {(p["name"], p["role"]) for p in added.json()} == {
        ("Chan Sok", "leader"),
        ("Chan Vibol", "participant"),
    }
    rec = api.post(
        f"/api/v1/participation-events/{eid}/recommendations/",
        {"text": "Play the songs on the radio", "due_on": TODAY.isoformat()},
        content_type="application/json",
    )
    assert rec.status_code == 201 and rec.json()["status"] == "open"
    rid = rec.json()["id"]
    followed = api.patch(
        f"/api/v1/participation-events/{eid}/recommendations/{rid}/",
        {"status": "declined", "response": "The station declined."},
        content_type="application/json",
    )
    assert followed.status_code == 200
    assert (followed.json()["status"], followed.json()["closed_on"]) == (
        "declined",
        TODAY.isoformat(),
    )
    reads = AuditEvent.objects.filter(action="read", object_type="interventions.participationevent")
    detail = api.get(f"/api/v1/participation-events/{eid}/").json()
    assert (
        reads.count() == 1
        and len(detail["participants"]) == 2
        and len(detail["recommendations"]) == 1
    )
    assert (
        client_for(world.pv_officer).get(f"/api/v1/participation-events/{eid}/").status_code == 404
    )
    bad = api.post(
        "/api/v1/participation-events/",
        {
            "kind": "forum",
            "held_on": (TODAY + dt.timedelta(days=3)).isoformat(),
            "title": "X",
            "area": world.commune.code,
        },
        content_type="application/json",
    )
    assert bad.status_code == 400 and "held_on" in bad.json()
    groups = api.get("/api/v1/participation-groups/").json()
    assert groups["count"] == 1 and groups["results"][0]["members"] == 2
    made = api.post(
        "/api/v1/participation-groups/",
        {"name": "Youth forum", "kind": "forum", "area": world.commune.code},
        content_type="application/json",
    )
    assert made.status_code == 201
    denied = client_for(world.me).post(
        "/api/v1/participation-groups/",
        {"name": "Y", "kind": "forum", "area": world.commune.code},
        content_type="application/json",
    )
    assert denied.status_code == 403
