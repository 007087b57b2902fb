"""Vocational training: courses, enrolment of the persons a committee approved on a
real targeting list, sessions and attendance, completion with its 3/6/12-month
follow-ups, dropping out, and the outcomes a provincial officer shows the committee.

The world: a Svay Rieng course serving the province, built on a targeting list made
and decided by the real targeting code; a facilitator of one commune, an M&E officer
(sees persons, records nothing), a donor, and a Prey Veng officer (another province).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ctip.accounts.models import User
from ctip.core.actors import SystemActor
from ctip.core.models import AuditEvent
from ctip.geography.models import Area, Level
from ctip.geography.selectors import resolve_area_code
from ctip.interventions.dates import add_months
from ctip.interventions.models import (
    Course,
    CourseSession,
    Enrolment,
    FollowUp,
    FollowUpStatus,
    SessionAttendance,
)
from ctip.interventions.selectors import training as sel
from ctip.interventions.services import training as svc
from ctip.registry import services as registry
from ctip.registry.models import Consent, Person
from ctip.vulnerability import targeting
from ctip.vulnerability.models import AssistanceType, TargetingEntry, TargetingList
from tests.interventions import factories as f
from tests.vulnerability import factories as vf

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
SYSTEM = SystemActor(username="test-system")
HIGH = {"school": "dropped-out", "debt": "heavy", "brokers": "yes"}  # 6.0: high band


def years_ago(years: int) -> dt.date:
    return TODAY.replace(year=TODAY.year - years, day=1) - dt.timedelta(days=40)


@dataclass
class World:
    officer: User  # provincial officer, Svay Rieng
    facilitator: User  # facilitator, the commune of `village`
    me: User  # M&E officer, Svay Rieng: sees persons, records nothing
    donor: User
    pv_officer: User  # provincial officer, Prey Veng
    province: Area
    village: Area  # in the facilitator's commune
    far_village: Area  # Svay Rieng, another district
    pv_village: Area
    vocational: AssistanceType
    tl: TargetingList
    course: Course
    p: dict[str, Person] = field(default_factory=dict)
    e: dict[str, TargetingEntry] = field(default_factory=dict)


def other_district_village(province: Area, village: Area) -> Area:
    district = village.parent.parent  # type: ignore[union-attr]
    found = (
        Area.objects.filter(level=Level.VILLAGE, path__startswith=province.path)
        .exclude(path__startswith=district.path)
        .order_by("code")
        .first()
    )
    assert found is not None
    return found


def make_world() -> World:
    province = resolve_area_code("KH-20")
    village = f.village("20")
    far_village = other_district_village(province, village)
    pv_village = f.village("14")
    version = vf.published_instrument()
    vocational = targeting.assistance_type_create(
        actor=SYSTEM,
        code="vocational-training",
        name_en="Vocational training",
        instrument=version.instrument,
        min_age=15,
        max_age=24,
        min_band="high",
    )
    w = World(
        officer=f.staff("officer", "provincial_officer", "KH-20"),
        facilitator=f.staff("facilitator", "facilitator", village.parent),  # type: ignore[arg-type]
        me=f.staff("me", "me_officer", "KH-20"),
        donor=f.staff("donor", "donor", "KH-20"),
        pv_officer=f.staff("pv-officer", "provincial_officer", "KH-14"),
        province=province,
        village=village,
        far_village=far_village,
        pv_village=pv_village,
        vocational=vocational,
        tl=TargetingList(),
        course=Course(),
    )
    people = {
        "ann": village,
        "bora": village,
        "chan": village,
        "dara": far_village,  # approved, outside the facilitator's commune
        "eng": village,  # approved, then withdrew consent for services
        "fay": village,  # on the list, deferred by the committee
    }
    for name, where in people.items():
        person = f.consenting_person(where, born=years_ago(19), name=name.capitalize())
        vf.assess(person, version, HIGH, on=TODAY - dt.timedelta(days=10))
        w.p[name] = person
    # Registered, consenting, but never targeted.
    w.p["gan"] = f.consenting_person(village, born=years_ago(20), name="Gan")
    w.p["hout"] = f.consenting_person(
        village, born=years_ago(20), name="Hout", purposes=["registration"]
    )
    w.p["far"] = f.consenting_person(pv_village, born=years_ago(20), name="Far")
    w.tl = targeting.targeting_list_build(
        actor=w.officer, assistance_type=vocational, area=province, title="Youth 2026"
    )
    for entry in w.tl.entries.select_related("person"):
        w.e[entry.person.given_name_latin.lower()] = entry
    for name in ("ann", "bora", "chan", "dara", "eng"):
        targeting.entry_decide(actor=w.officer, entry=w.e[name], decision="approved")
    targeting.entry_decide(
        actor=w.officer, entry=w.e["fay"], decision="deferred", reason="Next intake"
    )
    consent = Consent.objects.get(person=w.p["eng"], purpose="services")
    registry.consent_withdraw(actor=f.registrar(), consent=consent, reason="Moved away")
    w.course = svc.course_create(
        actor=w.officer,
        title="Motorbike repair 2026",
        trade="Motorbike repair",
        provider="Svay Rieng Provincial Training Centre",
        area=province,
        location="Svay Rieng town",
        starts_on=TODAY - dt.timedelta(days=60),
        ends_on=TODAY - dt.timedelta(days=5),
        sessions_planned=20,
        capacity=10,
        cost_per_trainee="450.00",
        currency="USD",
        targeting_list=w.tl,
    )
    return w


@pytest.fixture
def world() -> World:
    return make_world()


def enrol(w: World, *names: str, actor: Any = None) -> list[Enrolment]:
    """Enrol the named persons' entries, on the day the course started."""
    return svc.enrolments_from_list(
        actor=actor or w.officer,
        course=w.course,
        entries=[w.e[n] for n in names],
        enrolled_on=w.course.starts_on,
    )


def messages_of(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


# --------------------------------------------------------------------------------------
# Courses.


def test_a_provincial_officer_sets_up_a_course_on_the_targeting_list(world: World) -> None:
    course = Course.objects.get(pk=world.course.pk)
    assert course.cost_per_trainee == Decimal("450.00") and course.currency == "USD"
    assert course.targeting_list == world.tl and course.created_by == world.officer
    event = AuditEvent.objects.get(action="create", object_type="interventions.course")
    assert event.changes["area"] == "20" and event.changes["cost_per_trainee"] == "450.00"


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"cost_per_trainee": "-1"}, "cost_per_trainee", "must not be negative"),
        ({"cost_per_trainee": "abc"}, "cost_per_trainee", "Give an amount"),
        ({"cost_per_trainee": "1.005"}, "cost_per_trainee", "2 decimal places"),
        ({"ends_on": TODAY - dt.timedelta(days=90)}, "ends_on", "cannot end before it starts"),
        ({"currency": "EUR"}, "currency", "KHR, VND or USD"),
        ({"title": "=HYPERLINK()"}, "title", "spreadsheet formula"),
        ({"title": ""}, "title", "required"),
        ({"capacity": 0}, "capacity", "from 1 to"),
    ],
)
def test_bad_course_input_names_the_field_and_writes_nothing(
    world: World, changes: dict[str, Any], field: str, message: str
) -> None:
    values = {
        "title": "Tailoring",
        "trade": "Tailoring",
        "provider": "NGO",
        "area": world.province,
        "starts_on": TODAY,
        "ends_on": TODAY + dt.timedelta(days=30),
        "cost_per_trainee": "0",
        "currency": "KHR",
        **changes,
    }
    before = (Course.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError) as exc:
        svc.course_create(actor=world.officer, **values)
    assert message in " ".join(messages_of(exc)[field])
    assert (Course.objects.count(), AuditEvent.objects.count()) == before


def test_a_course_needs_the_right_to_set_up_interventions_in_its_area(world: World) -> None:
    values = {
        "title": "Tailoring",
        "trade": "Tailoring",
        "provider": "NGO",
        "area": world.province,
        "starts_on": TODAY,
        "ends_on": TODAY,
        "cost_per_trainee": "0",
        "currency": "KHR",
    }
    before = Course.objects.count()
    for actor in (world.facilitator, world.me, world.donor, world.pv_officer):
        with pytest.raises(PermissionDenied):
            svc.course_create(actor=actor, **values)
    assert Course.objects.count() == before


def test_the_targeting_list_must_be_of_the_officers_areas_and_the_courses_area(
    world: World,
) -> None:
    pv_list = targeting.targeting_list_build(
        actor=world.pv_officer, assistance_type=world.vocational, area=world.pv_village.parent
    )
    with pytest.raises(ValidationError) as exc:
        svc.course_update(actor=world.officer, course=world.course, targeting_list=pv_list)
    assert "not one of your areas" in messages_of(exc)["targeting_list"][0]
    # A list of the officer's province for a course of one commune elsewhere: fine when
    # they overlap, refused when they do not.
    commune_course = svc.course_create(
        actor=world.pv_officer,
        title="Welding",
        trade="Welding",
        provider="NGO",
        area=world.pv_village.parent,
        starts_on=TODAY,
        ends_on=TODAY,
        cost_per_trainee="0",
        currency="KHR",
        targeting_list=pv_list,
    )
    assert commune_course.targeting_list == pv_list


def test_updating_a_course_is_audited_and_keeps_places_and_area_for_its_trainees(
    world: World,
) -> None:
    enrol(world, "ann", "dara")
    svc.course_update(actor=world.officer, course=world.course, status="running", capacity=5)
    event = AuditEvent.objects.filter(action="update", object_type="interventions.course").get()
    assert event.changes == {
        "capacity": {"before": 10, "after": 5},
        "status": {"before": "planned", "after": "running"},
    }
    with pytest.raises(ValidationError) as exc:
        svc.course_update(actor=world.officer, course=world.course, capacity=1)
    assert "2 trainees already hold places" in messages_of(exc)["capacity"][0]
    with pytest.raises(ValidationError) as exc:
        svc.course_update(actor=world.officer, course=world.course, area=world.village.parent)
    assert "Chan Dara" in messages_of(exc)["area"][0]
    course = Course.objects.get(pk=world.course.pk)
    assert (course.capacity, course.area) == (5, world.province)
    with pytest.raises(PermissionDenied):
        svc.course_update(actor=world.pv_officer, course=world.course, capacity=20)


# --------------------------------------------------------------------------------------
# Enrolment from the targeting list.


def test_approved_persons_are_enrolled_from_the_list_once(world: World) -> None:
    made = enrol(world, "ann", "bora", "dara")
    assert sorted(e.person.given_name_latin for e in made) == ["Ann", "Bora", "Dara"]
    ann = Enrolment.objects.get(person=world.p["ann"])
    assert ann.targeting_entry == world.e["ann"] and ann.enrolled_on == world.course.starts_on
    assert ann.status == "enrolled" and ann.created_by == world.officer
    events = AuditEvent.objects.filter(action="create", object_type="interventions.enrolment")
    assert events.count() == 3
    assert {e.changes["person"] for e in events} == {world.p[n].pk for n in ("ann", "bora", "dara")}
    # Submitting again (a double click, a re-sent form) enrols nobody twice.
    assert enrol(world, "ann", "bora", "chan")[0].person == world.p["chan"]
    assert Enrolment.objects.filter(course=world.course).count() == 4


@pytest.mark.parametrize(
    "names, culprit, message",
    [
        (("ann", "fay"), "Chan Fay", "not approved by the committee (deferred)"),
        (("ann", "eng"), "Chan Eng", "no consent for referral to and delivery of services"),
    ],
)
def test_one_bad_entry_enrols_nobody_and_names_the_person(
    world: World, names: tuple[str, ...], culprit: str, message: str
) -> None:
    before = (Enrolment.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError) as exc:
        enrol(world, *names)
    rows = messages_of(exc)["entries"]
    assert len(rows) == 1
    rank = world.e[names[1]].rank
    assert rows[0].startswith(f"Rank {rank}: {culprit}") and message in rows[0]
    assert (Enrolment.objects.count(), AuditEvent.objects.count()) == before


def test_places_are_respected(world: World) -> None:
    svc.course_update(actor=world.officer, course=world.course, capacity=2)
    enrol(world, "ann")
    with pytest.raises(ValidationError) as exc:
        enrol(world, "bora", "chan")
    assert "Only 1 places are left; 2 persons were chosen." in messages_of(exc)["entries"]
    assert Enrolment.objects.count() == 1
    # A trainee who dropped out frees the place.
    svc.enrolment_drop(
        actor=world.officer,
        enrolment=Enrolment.objects.get(),
        dropped_on=TODAY,
        reason="Found work",
    )
    assert len(enrol(world, "bora", "chan")) == 2


def test_entries_of_another_list_and_closed_courses_are_refused(world: World) -> None:
    other = targeting.targeting_list_build(
        actor=world.officer, assistance_type=world.vocational, area=world.village.parent
    )
    stray = other.entries.first()
    assert stray is not None
    with pytest.raises(ValidationError) as exc:
        svc.enrolments_from_list(actor=world.officer, course=world.course, entries=[stray.pk])
    assert "not on this course's targeting list" in messages_of(exc)["entries"][0]
    svc.course_update(actor=world.officer, course=world.course, status="cancelled")
    with pytest.raises(ValidationError) as exc:
        enrol(world, "ann")
    assert "cancelled" in messages_of(exc)["course"][0]
    assert not Enrolment.objects.exists()


def test_a_facilitator_enrols_only_persons_of_their_commune(world: World) -> None:
    assert [e.person for e in enrol(world, "ann", actor=world.facilitator)] == [world.p["ann"]]
    with pytest.raises(ValidationError) as exc:
        enrol(world, "dara", actor=world.facilitator)
    assert "Chan Dara is not a person in your areas" in messages_of(exc)["entries"][0]
    for actor in (world.me, world.donor, world.pv_officer):
        with pytest.raises(PermissionDenied):
            enrol(world, "bora", actor=actor)
    assert Enrolment.objects.count() == 1


def test_an_enrolment_date_in_the_future_is_refused(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        svc.enrolments_from_list(
            actor=world.officer,
            course=world.course,
            entries=[world.e["ann"]],
            enrolled_on=TODAY + dt.timedelta(days=1),
        )
    assert "in the future" in messages_of(exc)["enrolled_on"][0]
    assert not Enrolment.objects.exists()


# --------------------------------------------------------------------------------------
# Enrolling one person.


def test_one_person_is_enrolled_and_linked_to_their_approved_entry(world: World) -> None:
    e = svc.enrolment_create(actor=world.facilitator, course=world.course, person=world.p["ann"])
    assert e.targeting_entry == world.e["ann"]
    gan = svc.enrolment_create(
        actor=world.officer,
        course=world.course,
        person=world.p["gan"],
        enrolled_on=TODAY - dt.timedelta(days=3),
    )
    assert gan.targeting_entry is None and gan.enrolled_on == TODAY - dt.timedelta(days=3)


@pytest.mark.parametrize(
    "who, when, field, message",
    [
        ("hout", None, "person", "Chan Hout has no consent for referral to and delivery"),
        ("eng", None, "person", "Chan Eng has no consent"),
        ("far", None, "person", "Chan Far is not a person in your areas"),
        ("gan", TODAY + dt.timedelta(days=2), "enrolled_on", "in the future"),
    ],
)
def test_bad_single_enrolments_are_refused(
    world: World, who: str, when: dt.date | None, field: str, message: str
) -> None:
    before = (Enrolment.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError) as exc:
        svc.enrolment_create(
            actor=world.officer, course=world.course, person=world.p[who], enrolled_on=when
        )
    assert message in messages_of(exc)[field][0]
    assert (Enrolment.objects.count(), AuditEvent.objects.count()) == before


def test_a_person_outside_the_courses_area_cannot_be_enrolled(world: World) -> None:
    commune_course = svc.course_create(
        actor=world.officer,
        title="Sewing",
        trade="Sewing",
        provider="NGO",
        area=world.village.parent,
        starts_on=TODAY,
        ends_on=TODAY,
        cost_per_trainee="0",
        currency="KHR",
    )
    with pytest.raises(ValidationError) as exc:
        svc.enrolment_create(actor=world.officer, course=commune_course, person=world.p["dara"])
    assert "lives outside the course's area" in messages_of(exc)["person"][0]
    svc.enrolment_create(actor=world.officer, course=commune_course, person=world.p["ann"])
    with pytest.raises(ValidationError) as exc:
        svc.enrolment_create(actor=world.officer, course=commune_course, person=world.p["ann"])
    assert "already enrolled" in messages_of(exc)["person"][0]
    with pytest.raises(PermissionDenied):
        svc.enrolment_create(actor=world.me, course=commune_course, person=world.p["bora"])


# --------------------------------------------------------------------------------------
# One course per approval: a person approved for vocational training takes one course
# for it, whichever list of that assistance they were approved on.


def another_course(w: World, tl: TargetingList | None, title: str = "Tailoring 2026") -> Course:
    return svc.course_create(
        actor=w.officer,
        title=title,
        trade=title.split()[0],
        provider="Chab Dai",
        area=w.province,
        starts_on=TODAY - dt.timedelta(days=20),
        ends_on=TODAY + dt.timedelta(days=40),
        cost_per_trainee="0",
        currency="KHR",
        targeting_list=tl,
    )


def enrol_in(w: World, course: Course, *entries: TargetingEntry) -> list[Enrolment]:
    return svc.enrolments_from_list(
        actor=w.officer, course=course, entries=list(entries), enrolled_on=TODAY
    )


def test_an_entry_enrolled_in_a_course_is_refused_by_a_second_course_of_its_list(
    world: World,
) -> None:
    enrol(world, "ann", "chan")
    tailoring = another_course(world, world.tl)
    before = (Enrolment.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError) as exc:
        enrol_in(world, tailoring, world.e["bora"], world.e["chan"])
    assert messages_of(exc)["entries"] == [
        f"Rank {world.e['chan'].rank}: Chan Chan is already enrolled in Motorbike repair 2026."
    ]
    assert (Enrolment.objects.count(), AuditEvent.objects.count()) == before
    # Completing the course does not free the approval; dropping out does.
    svc.enrolment_complete(
        actor=world.officer,
        enrolment=Enrolment.objects.get(person=world.p["ann"]),
        completed_on=TODAY,
    )
    with pytest.raises(ValidationError) as exc:
        enrol_in(world, tailoring, world.e["ann"])
    assert (
        "Chan Ann is already enrolled in Motorbike repair 2026." in messages_of(exc)["entries"][0]
    )
    svc.enrolment_drop(
        actor=world.officer,
        enrolment=Enrolment.objects.get(person=world.p["chan"]),
        dropped_on=TODAY,
        reason="Moved to Phnom Penh",
    )
    made = enrol_in(world, tailoring, world.e["bora"], world.e["chan"])
    assert {e.person.given_name_latin for e in made} == {"Bora", "Chan"}
    assert (
        Enrolment.objects.get(course=tailoring, person=world.p["chan"]).targeting_entry
        == (world.e["chan"])
    )


def test_an_approval_on_another_list_of_the_same_assistance_does_not_give_a_second_course(
    world: World,
) -> None:
    enrol(world, "ann")
    # A new intake whose rule keeps those approved before on the list.
    targeting.assistance_type_update(
        actor=SYSTEM, assistance_type=world.vocational, exclude_already_approved=False
    )
    commune = targeting.targeting_list_build(
        actor=world.officer, assistance_type=world.vocational, area=world.village.parent
    )
    again = commune.entries.get(person=world.p["ann"])
    targeting.entry_decide(actor=world.officer, entry=again, decision="approved")
    course = another_course(world, commune)
    with pytest.raises(ValidationError) as exc:
        enrol_in(world, course, again)
    assert messages_of(exc)["entries"] == [
        f"Rank {again.rank}: Chan Ann is already enrolled in Motorbike repair 2026."
    ]
    # Approved for another kind of assistance, she may take a course for it.
    business = targeting.assistance_type_create(
        actor=SYSTEM,
        code="small-business",
        name_en="Small business skills",
        instrument=world.vocational.instrument,
        min_age=15,
        max_age=24,
        min_band="high",
    )
    other = targeting.targeting_list_build(
        actor=world.officer, assistance_type=business, area=world.province
    )
    entry = other.entries.get(person=world.p["ann"])
    targeting.entry_decide(actor=world.officer, entry=entry, decision="approved")
    (made,) = enrol_in(world, another_course(world, other, "Bookkeeping 2026"), entry)
    assert made.person == world.p["ann"] and made.targeting_entry == entry
    assert Enrolment.objects.filter(person=world.p["ann"]).count() == 2


def test_one_by_one_an_approved_person_is_refused_a_second_course(world: World) -> None:
    enrol(world, "ann")
    tailoring = another_course(world, world.tl)
    before = (Enrolment.objects.count(), AuditEvent.objects.count())
    for entry in (None, TargetingEntry.objects.get(pk=world.e["ann"].pk)):
        with pytest.raises(ValidationError) as exc:
            svc.enrolment_create(
                actor=world.facilitator,
                course=tailoring,
                person=world.p["ann"],
                targeting_entry=entry,
            )
        assert messages_of(exc)["person"] == [
            "Chan Ann is already enrolled in Motorbike repair 2026."
        ]
    assert (Enrolment.objects.count(), AuditEvent.objects.count()) == before
    # Someone not on the list is enrolled at the course's discretion, in both courses.
    svc.enrolment_create(actor=world.officer, course=world.course, person=world.p["gan"])
    gan = svc.enrolment_create(actor=world.officer, course=tailoring, person=world.p["gan"])
    assert gan.targeting_entry is None
    # And a course without a list enrols whoever it takes.
    sewing = another_course(world, None, "Sewing 2026")
    assert svc.enrolment_create(actor=world.officer, course=sewing, person=world.p["ann"])


def test_the_enrol_page_says_who_takes_another_course(world: World) -> None:
    enrol(world, "ann", "dara")
    tailoring = another_course(world, world.tl)
    rows = {
        e.person.given_name_latin: e.enrolled_in
        for e in sel.approved_not_enrolled(world.officer, tailoring)
    }
    assert rows == {
        "Ann": "Motorbike repair 2026",
        "Bora": None,
        "Chan": None,
        "Dara": "Motorbike repair 2026",
        "Eng": None,
    }
    svc.enrolment_drop(
        actor=world.officer,
        enrolment=Enrolment.objects.get(person=world.p["dara"]),
        dropped_on=TODAY,
        reason="Found work",
    )
    assert {
        e.person.given_name_latin
        for e in sel.approved_not_enrolled(world.officer, tailoring)
        if e.enrolled_in
    } == {"Ann"}


# --------------------------------------------------------------------------------------
# Sessions and attendance.


def test_sessions_and_the_attendance_register(world: World) -> None:
    ann, bora, dara = enrol(world, "ann", "bora", "dara")
    s1 = svc.session_add(
        actor=world.officer, course=world.course, held_on=TODAY - dt.timedelta(days=50)
    )
    s2 = svc.session_add(
        actor=world.facilitator,
        course=world.course,
        held_on=TODAY - dt.timedelta(days=40),
        topic="Brakes",
    )
    svc.attendance_set(
        actor=world.officer, session=s1, marks={ann.pk: True, bora.pk: False, dara.pk: True}
    )
    svc.attendance_set(actor=world.facilitator, session=s2, marks={ann.pk: True, bora.pk: True})
    # Marking again the same is no change (and no audit); a change is.
    events = AuditEvent.objects.filter(object_type="interventions.coursesession").count()
    svc.attendance_set(actor=world.facilitator, session=s2, marks={ann.pk: True})
    assert AuditEvent.objects.filter(object_type="interventions.coursesession").count() == events
    svc.attendance_set(actor=world.facilitator, session=s2, marks={bora.pk: False})
    last = (
        AuditEvent.objects.filter(object_type="interventions.coursesession").order_by("id").last()
    )
    assert last is not None and last.changes["absent"] == [bora.pk]
    rows = {
        r.enrolment.person.given_name_latin: r
        for r in sel.attendance_register(world.facilitator, s2)
    }
    # The facilitator sees and marks only the trainees of their commune.
    assert set(rows) == {"Ann", "Bora"} and rows["Ann"].present is True
    with pytest.raises(ValidationError) as exc:
        svc.attendance_set(actor=world.facilitator, session=s2, marks={dara.pk: True})
    assert "not a trainee of this course in your areas" in messages_of(exc)["attendance"][0]
    trainees = {
        r.enrolment.person.given_name_latin: r.attendance_rate
        for r in sel.trainee_rows(sel.course_trainees(world.officer, world.course), [3, 6, 12])
    }
    assert trainees == {"Ann": Decimal("100.0"), "Bora": Decimal("0.0"), "Dara": Decimal("100.0")}
    assert sel.course_summary(world.officer, world.course).attendance_rate == Decimal("60.0")


def test_bad_sessions_and_marks_are_refused(world: World) -> None:
    (ann,) = enrol(world, "ann")
    for day, message in (
        (TODAY + dt.timedelta(days=1), "in the future"),
        (world.course.starts_on - dt.timedelta(days=1), "before the course's start"),
    ):
        with pytest.raises(ValidationError) as exc:
            svc.session_add(actor=world.officer, course=world.course, held_on=day)
        assert message in messages_of(exc)["held_on"][0]
    assert not CourseSession.objects.exists()
    session = svc.session_add(actor=world.officer, course=world.course, held_on=TODAY)
    svc.enrolment_drop(
        actor=world.officer, enrolment=ann, dropped_on=TODAY - dt.timedelta(days=1), reason="Ill"
    )
    with pytest.raises(ValidationError) as exc:
        svc.attendance_set(actor=world.officer, session=session, marks={ann.pk: True})
    assert "dropped out on" in messages_of(exc)["attendance"][0]
    svc.attendance_set(actor=world.officer, session=session, marks={ann.pk: False})
    for actor in (world.me, world.pv_officer):
        with pytest.raises(PermissionDenied):
            svc.attendance_set(actor=actor, session=session, marks={ann.pk: True})
    assert SessionAttendance.objects.get().present is False


# --------------------------------------------------------------------------------------
# Completion, follow-ups and dropping out.


def test_completion_schedules_follow_ups_at_3_6_and_12_months(world: World) -> None:
    (ann,) = enrol(world, "ann")
    done_on = TODAY - dt.timedelta(days=2)
    svc.enrolment_complete(
        actor=world.facilitator,
        enrolment=ann,
        completed_on=done_on,
        certificate=True,
        certificate_number="SR-2026-001",
    )
    ann.refresh_from_db()
    assert (ann.status, ann.completed_on, ann.certificate) == ("completed", done_on, True)
    visits = FollowUp.objects.filter(enrolment=ann).order_by("due_on")
    assert [(v.months_after, v.due_on) for v in visits] == [
        (m, add_months(done_on, m)) for m in (3, 6, 12)
    ]
    assert {(v.component, v.person_id, v.status, v.assigned_to_id) for v in visits} == {
        ("training", world.p["ann"].pk, "due", world.facilitator.pk)
    }
    event = AuditEvent.objects.get(action="update", object_type="interventions.enrolment")
    assert event.changes["status"] == {"before": "enrolled", "after": "completed"}
    # Completing twice is refused and schedules nothing more.
    with pytest.raises(ValidationError) as exc:
        svc.enrolment_complete(actor=world.officer, enrolment=ann, completed_on=TODAY)
    assert "status" in messages_of(exc)
    assert FollowUp.objects.filter(enrolment=ann).count() == 3


@pytest.mark.parametrize(
    "kwargs, field, message",
    [
        ({"completed_on": TODAY + dt.timedelta(days=1)}, "completed_on", "in the future"),
        ({"completed_on": TODAY - dt.timedelta(days=400)}, "completed_on", "before the enrolment"),
        ({"completed_on": TODAY, "certificate_number": "X1"}, "certificate_number", "needs a"),
    ],
)
def test_bad_completions_write_nothing(
    world: World, kwargs: dict[str, Any], field: str, message: str
) -> None:
    (ann,) = enrol(world, "ann")
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as exc:
        svc.enrolment_complete(actor=world.officer, enrolment=ann, **kwargs)
    assert message in messages_of(exc)[field][0]
    ann.refresh_from_db()
    assert ann.status == "enrolled" and not FollowUp.objects.exists()
    assert AuditEvent.objects.count() == before


def test_a_certificate_number_is_given_once_per_course(world: World) -> None:
    ann, bora = enrol(world, "ann", "bora")
    svc.enrolment_complete(
        actor=world.officer,
        enrolment=ann,
        completed_on=TODAY,
        certificate=True,
        certificate_number="C-1",
    )
    with pytest.raises(ValidationError) as exc:
        svc.enrolment_complete(
            actor=world.officer,
            enrolment=bora,
            completed_on=TODAY,
            certificate=True,
            certificate_number="C-1",
        )
    assert "already given" in messages_of(exc)["certificate_number"][0]


def test_dropping_out_needs_a_day_and_a_reason(world: World) -> None:
    ann, dara = enrol(world, "ann", "dara")
    with pytest.raises(ValidationError) as exc:
        svc.enrolment_drop(actor=world.officer, enrolment=ann, dropped_on=TODAY, reason=" ")
    assert "drop_reason" in messages_of(exc)
    with pytest.raises(ValidationError) as exc:
        svc.enrolment_drop(
            actor=world.officer,
            enrolment=ann,
            dropped_on=TODAY + dt.timedelta(days=3),
            reason="Migrated",
        )
    assert "in the future" in messages_of(exc)["dropped_on"][0]
    with pytest.raises(PermissionDenied):
        svc.enrolment_drop(actor=world.facilitator, enrolment=dara, dropped_on=TODAY, reason="x")
    svc.enrolment_drop(actor=world.officer, enrolment=ann, dropped_on=TODAY, reason="Migrated")
    ann.refresh_from_db()
    assert (ann.status, ann.drop_reason) == ("dropped_out", "Migrated")
    with pytest.raises(ValidationError):
        svc.enrolment_complete(actor=world.officer, enrolment=ann, completed_on=TODAY)


# --------------------------------------------------------------------------------------
# What the committee sees.


def visit(follow_up: FollowUp, situation: str) -> None:
    """A visit as the follow-up pages record it (their service belongs to follow-up)."""
    FollowUp.objects.filter(pk=follow_up.pk).update(
        status=FollowUpStatus.DONE, visited_on=follow_up.due_on, situation=situation
    )


def test_the_course_outcomes_at_each_follow_up(world: World) -> None:
    ann, bora, chan, dara = enrol(world, "ann", "bora", "chan", "dara")
    # Completed over a year ago (enrolled earlier, as the course ran then).
    Enrolment.objects.filter(pk__in=[ann.pk, bora.pk, chan.pk]).update(
        enrolled_on=TODAY - dt.timedelta(days=500)
    )
    Course.objects.filter(pk=world.course.pk).update(starts_on=TODAY - dt.timedelta(days=500))
    for e in (ann, bora, chan):
        svc.enrolment_complete(
            actor=world.officer,
            enrolment=e,
            completed_on=TODAY - dt.timedelta(days=400),
            certificate=e != chan,
        )
    svc.enrolment_drop(actor=world.officer, enrolment=dara, dropped_on=TODAY, reason="Migrated")
    at = {(f.enrolment_id, f.months_after): f for f in FollowUp.objects.all()}
    visit(at[(ann.pk, 3)], "employed_locally")
    visit(at[(bora.pk, 3)], "migrated_unsafely")
    visit(at[(ann.pk, 6)], "self_employed")
    visit(at[(bora.pk, 6)], "migrated_safely")
    visit(at[(chan.pk, 6)], "self_employed")
    FollowUp.objects.filter(pk=at[(chan.pk, 3)].pk).update(status=FollowUpStatus.MISSED)
    s = sel.course_summary(world.officer, world.course)
    assert (s.enrolled, s.completed, s.certified, s.dropped) == (4, 3, 2, 1)
    assert s.completion_rate == Decimal("75.0")
    assert s.months == [3, 6, 12] and s.visited == [2, 3, 0]
    table = {str(row.label): row.counts for row in s.outcomes}
    assert table["Employed locally"] == [1, 0, 0]
    assert table["Self-employed"] == [0, 2, 0]
    assert table["Migrated, safely"] == [0, 1, 0]
    assert table["Migrated, unsafely"] == [1, 0, 0]
    assert table["Could not be visited"] == [1, 0, 0]
    assert table["Not visited yet"] == [0, 0, 3]
    shares = {str(row.label): row.shares for row in s.outcomes if row.shares}
    assert shares["Self-employed"] == [Decimal("0.0"), Decimal("66.7"), None]
    # The facilitator's figures cover the trainees of their commune only.
    mine = sel.course_summary(world.facilitator, world.course)
    assert (mine.enrolled, mine.completed, mine.dropped) == (3, 3, 0)


def test_courses_are_seen_where_they_serve(world: World) -> None:
    enrol(world, "ann", "dara")
    assert list(sel.course_search(world.facilitator)) == [world.course]
    assert sel.course_search(world.facilitator).get().n_enrolled == 1
    assert sel.course_search(world.officer).get().n_enrolled == 2
    assert not sel.course_search(world.pv_officer).exists()
    assert not sel.course_search(world.donor).exists()
    assert list(sel.course_search(world.officer, area_code=world.village.code)) == [world.course]
    assert not sel.course_search(world.officer, area_code="KH-14").exists()


def test_the_enrol_page_lists_approved_persons_not_yet_enrolled(world: World) -> None:
    enrol(world, "ann")
    rows = {
        e.person.given_name_latin: e.consent
        for e in sel.approved_not_enrolled(world.officer, world.course)
    }
    assert rows == {"Bora": True, "Chan": True, "Dara": True, "Eng": False}
    mine = {
        e.person.given_name_latin
        for e in sel.approved_not_enrolled(world.facilitator, world.course)
    }
    assert mine == {"Bora", "Chan", "Eng"}
