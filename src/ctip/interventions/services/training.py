"""Vocational training (R9, R10): courses, enrolment of approved persons from a
targeting list (or one by one), sessions and their attendance register, completion
with a certificate (which schedules the 3/6/12-month follow-ups) and dropping out.

Setting up a course needs MANAGE_INTERVENTIONS in its area; recording enrolments,
sessions, attendance and completions needs RECORD_INTERVENTIONS where the trainee
lives. A course serving a province is shared by the facilitators of its communes:
each records for the trainees of their own areas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import MANAGE_INTERVENTIONS, RECORD_INTERVENTIONS
from ctip.core import audit
from ctip.geography.models import Area
from ctip.registry.models import Currency, Person
from ctip.registry.selectors import persons_visible_to
from ctip.vulnerability.models import Decision, TargetingEntry, TargetingList
from ctip.vulnerability.targeting import targeting_lists_visible_to

from ..followup_plans import follow_ups_schedule
from ..models import (
    Component,
    Course,
    CourseSession,
    CourseStatus,
    Enrolment,
    EnrolmentStatus,
    SessionAttendance,
)
from .checks import (
    author,
    clean_amount,
    clean_date,
    clean_text,
    clean_whole,
    paths_overlap,
    services_consent_problems,
    snapshot,
)

MAX_SESSIONS = 500
MAX_CAPACITY = 10000
COURSE_TEXT = ("title", "trade", "provider", "location")
COURSE_FIELDS = (
    *COURSE_TEXT,
    "area",
    "starts_on",
    "ends_on",
    "sessions_planned",
    "capacity",
    "cost_per_trainee",
    "currency",
    "targeting_list",
    "status",
)
# Enrolments are not made into a course that is over or called off.
CLOSED = (CourseStatus.FINISHED, CourseStatus.CANCELLED)


# --------------------------------------------------------------------------------------
# Who records for a course.


def may_record_for(actor: Any, course: Course) -> bool:
    """Whether the actor records for some trainees of the course: they hold
    RECORD_INTERVENTIONS in the course's area, or in a part of it."""
    paths = access.scope_paths(actor, RECORD_INTERVENTIONS)
    return any(paths_overlap(course.area.path, p) for p in paths)


def _require_record_for(actor: Any, course: Course) -> None:
    access.require(actor, RECORD_INTERVENTIONS)
    if not may_record_for(actor, course):
        raise PermissionDenied(RECORD_INTERVENTIONS)


# --------------------------------------------------------------------------------------
# Courses.


def _clean_course(
    actor: Any, values: Mapping[str, Any], *, current_list: int | None = None
) -> dict[str, Any]:
    """Checked fields of a course; the targeting list is checked when it changes (a
    list kept as it was stays, whoever edits the course)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    limits = {"title": 200, "trade": 100, "provider": 200, "location": 200}
    for field in COURSE_TEXT:
        out[field] = clean_text(
            values.get(field),
            field,
            errors,
            max_length=limits[field],
            required=field != "location",
        )
    area = values.get("area")
    if not isinstance(area, Area):
        errors["area"] = _("Give the area the course serves.")
    out["area"] = area
    out["starts_on"] = clean_date(values.get("starts_on"), "starts_on", errors, past=False)
    out["ends_on"] = clean_date(values.get("ends_on"), "ends_on", errors, past=False)
    if out["starts_on"] and out["ends_on"] and out["ends_on"] < out["starts_on"]:
        errors["ends_on"] = _("The course cannot end before it starts (%(day)s).") % {
            "day": out["starts_on"].isoformat()
        }
    out["sessions_planned"] = clean_whole(
        values.get("sessions_planned") or 0, "sessions_planned", errors, low=0, high=MAX_SESSIONS
    )
    out["capacity"] = clean_whole(
        values.get("capacity"), "capacity", errors, low=1, high=MAX_CAPACITY, required=False
    )
    cost = values.get("cost_per_trainee")
    if cost in (None, ""):
        errors["cost_per_trainee"] = _("Give the cost per trainee (0 when free).")
    else:
        out["cost_per_trainee"] = clean_amount(cost, "cost_per_trainee", errors)
    currency = values.get("currency") or ""
    if currency not in Currency.values:
        errors["currency"] = _("Choose KHR, VND or USD.")
    out["currency"] = currency
    status = values.get("status") or CourseStatus.PLANNED
    if status not in CourseStatus.values:
        errors["status"] = _("Choose planned, running, finished or cancelled.")
    out["status"] = status
    tl = values.get("targeting_list")
    if tl is not None:
        changed = getattr(tl, "pk", None) != current_list
        if not isinstance(tl, TargetingList) or (
            changed and not targeting_lists_visible_to(actor).filter(pk=tl.pk).exists()
        ):
            errors["targeting_list"] = _("This targeting list is not one of your areas.")
        elif isinstance(area, Area) and not paths_overlap(tl.area.path, area.path):
            errors["targeting_list"] = _(
                "The list is for %(list_area)s, outside the course's area %(area)s."
            ) % {"list_area": tl.area.name, "area": area.name}
    out["targeting_list"] = tl
    if errors:
        raise ValidationError(errors)
    return out


def _course_snapshot(course: Course) -> dict[str, Any]:
    return snapshot(course, COURSE_FIELDS)


@transaction.atomic
def course_create(*, actor: Any, **values: Any) -> Course:
    """Set up a course in an area (needs MANAGE_INTERVENTIONS there)."""
    access.require(actor, MANAGE_INTERVENTIONS)
    area = values.get("area")
    if isinstance(area, Area):
        access.require_in(actor, MANAGE_INTERVENTIONS, area)
    data = _clean_course(actor, values)
    course = Course.objects.create(**data, created_by=author(actor))
    audit.record(actor=actor, action="create", obj=course, changes=_course_snapshot(course))
    return course


@transaction.atomic
def course_update(*, actor: Any, course: Course, **changes: Any) -> Course:
    """Change a course (needs MANAGE_INTERVENTIONS in its area, and in the new area when
    it moves). Places cannot go below the trainees already taking them, and the area
    cannot leave out a trainee."""
    course = Course.objects.select_for_update(of=("self",)).select_related("area").get(pk=course.pk)
    access.require_in(actor, MANAGE_INTERVENTIONS, course.area)
    new_area = changes.get("area", course.area)
    if isinstance(new_area, Area) and new_area.pk != course.area_id:
        access.require_in(actor, MANAGE_INTERVENTIONS, new_area)
    values = {f: getattr(course, f) for f in COURSE_FIELDS}
    values.update({k: v for k, v in changes.items() if k in COURSE_FIELDS})
    data = _clean_course(actor, values, current_list=course.targeting_list_id)
    errors: dict[str, str] = {}
    taking = course.enrolments.exclude(status=EnrolmentStatus.DROPPED_OUT)
    if data["capacity"] is not None and taking.count() > data["capacity"]:
        errors["capacity"] = _("%(n)s trainees already hold places.") % {"n": taking.count()}
    if data["area"].pk != course.area_id:
        outside = (
            course.enrolments.exclude(
                person__household__village__path__startswith=data["area"].path
            )
            .select_related("person")
            .first()
        )
        if outside is not None:
            errors["area"] = _("%(name)s, enrolled, lives outside %(area)s.") % {
                "name": outside.person.full_name,
                "area": data["area"].name,
            }
    if errors:
        raise ValidationError(errors)
    before = _course_snapshot(course)
    for field, value in data.items():
        setattr(course, field, value)
    course.save()
    changed = audit.diff(before, _course_snapshot(course))
    if changed:
        audit.record(actor=actor, action="update", obj=course, changes=changed)
    return course


# --------------------------------------------------------------------------------------
# Enrolment.


def _locked_course(course: Course) -> Course:
    return (
        Course.objects.select_for_update(of=("self",))
        .select_related("area", "targeting_list")
        .get(pk=course.pk)
    )


def places_left(course: Course) -> int | None:
    if course.capacity is None:
        return None
    taken = course.enrolments.exclude(status=EnrolmentStatus.DROPPED_OUT).count()
    return max(course.capacity - taken, 0)


def _course_open(course: Course, errors: dict[str, Any]) -> None:
    if course.status in CLOSED:
        errors["course"] = _("The course is %(status)s: nobody can be enrolled.") % {
            "status": CourseStatus(course.status).label.lower()
        }


def _person_problems(actor: Any, course: Course, persons: Iterable[Person]) -> dict[int, str]:
    """Why each person (if at all) cannot be enrolled in the course: outside the actor's
    areas, the course's area, restricted, or without consent for services. Three
    queries whatever the number of persons."""
    persons = list(persons)
    ids = [p.pk for p in persons]
    visible = set(persons_visible_to(actor).filter(pk__in=ids).values_list("pk", flat=True))
    consent = services_consent_problems(persons)
    villages = dict(Person.objects.filter(pk__in=ids).values_list("pk", "household__village__path"))
    record_paths = access.scope_paths(actor, RECORD_INTERVENTIONS)
    problems: dict[int, str] = {}
    for p in persons:
        name = p.full_name
        path = villages.get(p.pk) or ""
        if p.pk not in visible:
            problems[p.pk] = _("%(name)s is not a person in your areas.") % {"name": name}
        elif not any(path.startswith(s) for s in record_paths):
            problems[p.pk] = _("You may not record interventions where %(name)s lives.") % {
                "name": name
            }
        elif not path.startswith(course.area.path):
            problems[p.pk] = _("%(name)s lives outside the course's area (%(area)s).") % {
                "name": name,
                "area": course.area.name,
            }
        elif p.pk in consent:
            problems[p.pk] = consent[p.pk]
    return problems


def live_enrolments(assistance_type_id: Any) -> QuerySet[Enrolment]:
    """Enrolments still standing (enrolled or completed, not dropped out) given for one
    kind of assistance: made from an entry of a targeting list for it, or in a course
    built on such a list. A committee's approval of a person for a kind of assistance
    gives them one course; who dropped out may be enrolled again."""
    return Enrolment.objects.exclude(status=EnrolmentStatus.DROPPED_OUT).filter(
        Q(targeting_entry__targeting_list__assistance_type_id=assistance_type_id)
        | Q(course__targeting_list__assistance_type_id=assistance_type_id)
    )


def _enrolled_elsewhere(course: Course, person_ids: Iterable[int]) -> dict[int, str]:
    """The title of another course each person already takes for the assistance of the
    course's targeting list (their latest), for those who take one. The persons are
    locked first, so two courses enrolling the same person at once cannot both pass."""
    ids = sorted(set(person_ids))
    if course.targeting_list is None or not ids:
        return {}
    list(Person.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
    rows = (
        live_enrolments(course.targeting_list.assistance_type_id)
        .filter(person_id__in=ids)
        .exclude(course_id=course.pk)
        .order_by("person_id", "-enrolled_on", "-id")
        .values_list("person_id", "course__title")
    )
    titles: dict[int, str] = {}
    for person_id, title in rows:
        titles.setdefault(person_id, title)
    return titles


def _enrolled_message(name: str, title: str) -> str:
    return _("%(name)s is already enrolled in %(course)s.") % {"name": name, "course": title}


def _audit_enrolment(actor: Any, enrolment: Enrolment) -> None:
    audit.record(
        actor=actor,
        action="create",
        obj=enrolment,
        object_repr=f"{enrolment.course.title[:120]} · {enrolment.person.full_name}"[:200],
        changes={
            "course": enrolment.course_id,
            "person": enrolment.person_id,
            "targeting_entry": enrolment.targeting_entry_id,
            "enrolled_on": enrolment.enrolled_on.isoformat(),
        },
    )


@transaction.atomic
def enrolments_from_list(
    *,
    actor: Any,
    course: Course,
    entries: Iterable[TargetingEntry | int],
    enrolled_on: dt.date | None = None,
) -> list[Enrolment]:
    """Enrol the persons of the chosen entries of the course's targeting list: all of
    them or none. Each must be approved by the committee, live in the course's area and
    in the actor's, have consent for services and not take another course for the same
    assistance (dropping out of it frees them); the places must suffice. Entries whose
    person is already enrolled in this course are passed over (submitting twice enrols
    once)."""
    _require_record_for(actor, course)
    course = _locked_course(course)
    errors: dict[str, Any] = {}
    _course_open(course, errors)
    if course.targeting_list_id is None:
        errors["course"] = _("The course has no targeting list to enrol from.")
    day = clean_date(enrolled_on or timezone.localdate(), "enrolled_on", errors)
    if errors:
        raise ValidationError(errors)
    assert day is not None
    wanted = sorted({e.pk if isinstance(e, TargetingEntry) else int(e) for e in entries})
    if not wanted:
        raise ValidationError({"entries": _("Choose at least one person to enrol.")})
    found = {
        e.pk: e
        for e in TargetingEntry.objects.filter(
            pk__in=wanted, targeting_list_id=course.targeting_list_id
        ).select_related("person")
    }
    already = set(
        course.enrolments.filter(person_id__in=[e.person_id for e in found.values()]).values_list(
            "person_id", flat=True
        )
    )
    todo = [found[pk] for pk in wanted if pk in found and found[pk].person_id not in already]
    problems = _person_problems(actor, course, [e.person for e in todo])
    elsewhere = _enrolled_elsewhere(course, [e.person_id for e in todo])
    rows: list[str] = []
    for pk in wanted:
        entry = found.get(pk)
        if entry is None:
            rows.append(_("Entry %(id)s is not on this course's targeting list.") % {"id": pk})
            continue
        if entry.person_id in already:
            continue
        label = _("Rank %(rank)s") % {"rank": entry.rank}
        if entry.decision != Decision.APPROVED:
            rows.append(
                _("%(row)s: %(name)s is not approved by the committee (%(decision)s).")
                % {
                    "row": label,
                    "name": entry.person.full_name,
                    "decision": Decision(entry.decision).label.lower(),
                }
            )
        elif entry.person_id in problems:
            rows.append(f"{label}: {problems[entry.person_id]}")
        elif entry.person_id in elsewhere:
            message = _enrolled_message(entry.person.full_name, elsewhere[entry.person_id])
            rows.append(f"{label}: {message}")
    left = places_left(course)
    if not rows and left is not None and len(todo) > left:
        rows.append(
            _("Only %(left)s places are left; %(n)s persons were chosen.")
            % {"left": left, "n": len(todo)}
        )
    if rows:
        raise ValidationError({"entries": rows})
    made = []
    for entry in todo:
        enrolment = Enrolment.objects.create(
            course=course,
            person=entry.person,
            targeting_entry=entry,
            enrolled_on=day,
            created_by=author(actor),
        )
        _audit_enrolment(actor, enrolment)
        made.append(enrolment)
    return made


@transaction.atomic
def enrolment_create(
    *,
    actor: Any,
    course: Course,
    person: Person,
    enrolled_on: dt.date | None = None,
    targeting_entry: TargetingEntry | None = None,
) -> Enrolment:
    """Enrol one person (RECORD_INTERVENTIONS where they live; in the course's area;
    with consent for services). When the course has a targeting list on which the
    person was approved, the enrolment is linked to that entry, and is refused while
    the person takes another course for the same assistance."""
    _require_record_for(actor, course)
    course = _locked_course(course)
    errors: dict[str, Any] = {}
    _course_open(course, errors)
    day = clean_date(enrolled_on or timezone.localdate(), "enrolled_on", errors)
    problem = _person_problems(actor, course, [person]).get(person.pk)
    if problem:
        errors["person"] = problem
    elif course.enrolments.filter(person_id=person.pk).exists():
        errors["person"] = _("%(name)s is already enrolled in this course.") % {
            "name": person.full_name
        }
    if targeting_entry is not None and (
        targeting_entry.person_id != person.pk
        or targeting_entry.targeting_list_id != course.targeting_list_id
        or targeting_entry.decision != Decision.APPROVED
    ):
        errors["targeting_entry"] = _(
            "Not an approved entry for this person on the course's targeting list."
        )
    if targeting_entry is None and course.targeting_list_id is not None:
        targeting_entry = TargetingEntry.objects.filter(
            targeting_list_id=course.targeting_list_id,
            person_id=person.pk,
            decision=Decision.APPROVED,
        ).first()
    if targeting_entry is not None and not {"person", "targeting_entry"} & errors.keys():
        elsewhere = _enrolled_elsewhere(course, [person.pk]).get(person.pk)
        if elsewhere is not None:
            errors["person"] = _enrolled_message(person.full_name, elsewhere)
    if not errors and places_left(course) == 0:
        errors["course"] = _("The course is full (%(n)s places).") % {"n": course.capacity}
    if errors:
        raise ValidationError(errors)
    assert day is not None
    enrolment = Enrolment.objects.create(
        course=course,
        person=person,
        targeting_entry=targeting_entry,
        enrolled_on=day,
        created_by=author(actor),
    )
    _audit_enrolment(actor, enrolment)
    return enrolment


def _locked_enrolment(actor: Any, enrolment: Enrolment) -> Enrolment:
    enrolment = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("course__area", "person__household__village")
        .get(pk=enrolment.pk)
    )
    access.require_in(actor, RECORD_INTERVENTIONS, enrolment.person.household.village)
    return enrolment


def _enrolment_snapshot(e: Enrolment) -> dict[str, Any]:
    fields = (
        "status",
        "completed_on",
        "certificate",
        "certificate_number",
        "dropped_on",
        "drop_reason",
    )
    return snapshot(e, fields)


def _not_before(
    day: dt.date | None, earliest: dt.date, field: str, what: str, errors: dict[str, str]
) -> None:
    if day is not None and field not in errors and day < earliest:
        errors[field] = _("%(day)s is before %(what)s (%(earliest)s).") % {
            "day": day.isoformat(),
            "what": what,
            "earliest": earliest.isoformat(),
        }


@transaction.atomic
def enrolment_complete(
    *,
    actor: Any,
    enrolment: Enrolment,
    completed_on: dt.date,
    certificate: bool = False,
    certificate_number: str = "",
) -> Enrolment:
    """Record that a trainee completed the course (and got a certificate), and schedule
    the follow-up visits the training plan asks for (3, 6 and 12 months by default)."""
    enrolment = _locked_enrolment(actor, enrolment)
    errors: dict[str, str] = {}
    if enrolment.status != EnrolmentStatus.ENROLLED:
        errors["status"] = _("Only a trainee still enrolled can complete (this one: %(s)s).") % {
            "s": EnrolmentStatus(enrolment.status).label.lower()
        }
    day = clean_date(completed_on, "completed_on", errors)
    _not_before(day, enrolment.enrolled_on, "completed_on", _("the enrolment"), errors)
    _not_before(day, enrolment.course.starts_on, "completed_on", _("the course's start"), errors)
    number = clean_text(certificate_number, "certificate_number", errors, max_length=60)
    if number and not certificate:
        errors["certificate_number"] = _("A certificate number needs a certificate awarded.")
    elif (
        number
        and Enrolment.objects.filter(course_id=enrolment.course_id, certificate_number=number)
        .exclude(pk=enrolment.pk)
        .exists()
    ):
        errors["certificate_number"] = _(
            "Certificate %(number)s was already given to another trainee of this course."
        ) % {"number": number}
    if errors:
        raise ValidationError(errors)
    assert day is not None
    before = _enrolment_snapshot(enrolment)
    enrolment.status = EnrolmentStatus.COMPLETED
    enrolment.completed_on = day
    enrolment.certificate = bool(certificate)
    enrolment.certificate_number = number
    enrolment.save(
        update_fields=["status", "completed_on", "certificate", "certificate_number", "updated_at"]
    )
    audit.record(
        actor=actor,
        action="update",
        obj=enrolment,
        changes=audit.diff(before, _enrolment_snapshot(enrolment)),
    )
    follow_ups_schedule(
        actor=actor,
        person=enrolment.person,
        component=Component.TRAINING,
        reference=day,
        enrolment=enrolment,
    )
    return enrolment


@transaction.atomic
def enrolment_drop(
    *, actor: Any, enrolment: Enrolment, dropped_on: dt.date, reason: str
) -> Enrolment:
    """Record that a trainee dropped out, on a day and for a reason."""
    enrolment = _locked_enrolment(actor, enrolment)
    errors: dict[str, str] = {}
    if enrolment.status != EnrolmentStatus.ENROLLED:
        errors["status"] = _("Only a trainee still enrolled can drop out (this one: %(s)s).") % {
            "s": EnrolmentStatus(enrolment.status).label.lower()
        }
    day = clean_date(dropped_on, "dropped_on", errors)
    _not_before(day, enrolment.enrolled_on, "dropped_on", _("the enrolment"), errors)
    text = clean_text(reason, "drop_reason", errors, max_length=300, required=True)
    if errors:
        raise ValidationError(errors)
    before = _enrolment_snapshot(enrolment)
    enrolment.status = EnrolmentStatus.DROPPED_OUT
    enrolment.dropped_on = day
    enrolment.drop_reason = text
    enrolment.save(update_fields=["status", "dropped_on", "drop_reason", "updated_at"])
    audit.record(
        actor=actor,
        action="update",
        obj=enrolment,
        changes=audit.diff(before, _enrolment_snapshot(enrolment)),
    )
    return enrolment


# --------------------------------------------------------------------------------------
# Sessions and the attendance register.


@transaction.atomic
def session_add(*, actor: Any, course: Course, held_on: dt.date, topic: str = "") -> CourseSession:
    """Record a session held (not in the future, not before the course started)."""
    _require_record_for(actor, course)
    course = Course.objects.select_related("area").get(pk=course.pk)
    errors: dict[str, str] = {}
    day = clean_date(held_on, "held_on", errors)
    _not_before(day, course.starts_on, "held_on", _("the course's start"), errors)
    text = clean_text(topic, "topic", errors, max_length=200)
    if course.status == CourseStatus.CANCELLED:
        errors["course"] = _("The course was cancelled.")
    if errors:
        raise ValidationError(errors)
    assert day is not None
    session = CourseSession.objects.create(course=course, held_on=day, topic=text)
    audit.record(
        actor=actor,
        action="create",
        obj=session,
        changes={"course": course.pk, "held_on": day.isoformat(), "topic": text},
    )
    return session


@transaction.atomic
def attendance_set(
    *, actor: Any, session: CourseSession, marks: Mapping[int, bool]
) -> list[SessionAttendance]:
    """Mark trainees present or absent at a session: {enrolment id: present}. All or
    nothing; trainees not named keep what they had (each facilitator keeps the register
    of their own areas). A trainee who dropped out before the session cannot be present."""
    session = CourseSession.objects.select_related("course__area").get(pk=session.pk)
    _require_record_for(actor, session.course)
    if not marks:
        return []
    ids = [int(k) for k in marks]
    enrolments = {
        e.pk: e
        for e in Enrolment.objects.filter(pk__in=ids, course_id=session.course_id).select_related(
            "person__household__village"
        )
    }
    visible = set(
        persons_visible_to(actor)
        .filter(pk__in=[e.person_id for e in enrolments.values()])
        .values_list("pk", flat=True)
    )
    record_paths = access.scope_paths(actor, RECORD_INTERVENTIONS)
    rows: list[str] = []
    for pk in ids:
        e = enrolments.get(pk)
        if e is None or e.person_id not in visible:
            rows.append(
                _("Enrolment %(id)s is not a trainee of this course in your areas.") % {"id": pk}
            )
            continue
        name = e.person.full_name
        if not any(e.person.household.village.path.startswith(p) for p in record_paths):
            rows.append(
                _("You may not record interventions where %(name)s lives.") % {"name": name}
            )
        elif (
            marks[pk]
            and e.status == EnrolmentStatus.DROPPED_OUT
            and e.dropped_on is not None
            and e.dropped_on < session.held_on
        ):
            rows.append(
                _("%(name)s dropped out on %(day)s, before this session.")
                % {"name": name, "day": e.dropped_on.isoformat()}
            )
    if rows:
        raise ValidationError({"attendance": rows})
    existing = {a.enrolment_id: a for a in session.attendance.filter(enrolment_id__in=ids)}
    user = author(actor)
    now = timezone.now()
    changed: dict[str, list[int]] = {"present": [], "absent": []}
    new, update = [], []
    for pk in ids:
        present = bool(marks[pk])
        row = existing.get(pk)
        if row is None:
            new.append(
                SessionAttendance(
                    session=session,
                    enrolment_id=pk,
                    present=present,
                    recorded_by=user,
                    recorded_at=now,
                )
            )
        elif row.present != present:
            row.present, row.recorded_by, row.recorded_at = present, user, now
            update.append(row)
        else:
            continue
        changed["present" if present else "absent"].append(pk)
    SessionAttendance.objects.bulk_create(new)
    SessionAttendance.objects.bulk_update(update, ["present", "recorded_by", "recorded_at"])
    if new or update:
        audit.record(
            actor=actor,
            action="update",
            obj=session,
            changes={
                "course": session.course_id,
                "held_on": session.held_on.isoformat(),
                **changed,
            },
        )
    return list(session.attendance.filter(enrolment_id__in=ids))
