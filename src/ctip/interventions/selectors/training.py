"""Reads of vocational training, scoped to the acting user.

A course is seen by whoever sees persons in its area or in a part of it (a provincial
course is shared by the province's facilitators); its trainees, their attendance and
outcomes only where the reader sees persons. Every list here takes a fixed number of
queries whatever its length.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from ctip.accounts import access
from ctip.accounts.roles import MANAGE_INTERVENTIONS, RECORD_INTERVENTIONS, VIEW_PERSONS
from ctip.core import audit
from ctip.registry.consent import has_consent
from ctip.registry.models import ConsentPurpose
from ctip.registry.selectors import areas_for_code, restricted
from ctip.vulnerability.models import Decision, TargetingEntry
from ctip.vulnerability.targeting import targeting_entries

from ..models import (
    Component,
    Course,
    CourseSession,
    Enrolment,
    EnrolmentStatus,
    FollowUp,
    FollowUpPlan,
    FollowUpStatus,
    SessionAttendance,
    Situation,
)
from ..services.training import live_enrolments
from .followups import Situations, situation_label

DEFAULT_MONTHS = (3, 6, 12)


def ancestor_paths(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def overlap_q(paths: list[str], prefix: str = "area__") -> Q:
    """Rows whose area lies within one of `paths` or contains one of them."""
    if not paths:
        return Q(pk__in=[])
    cond = Q()
    for path in paths:
        cond |= Q(**{f"{prefix}path__startswith": path}) | Q(
            **{f"{prefix}path__in": ancestor_paths(path)}
        )
    return cond


def person_scope(actor: Any, ref: str = "person__") -> Q:
    """Rows whose person (at `ref`) lives in a village the actor sees persons in."""
    return Q(
        **{
            f"{ref}household__village_id__in": access.areas_in_scope(actor, VIEW_PERSONS).values(
                "id"
            )
        }
    )


def under_codes(area_code: str, prefix: str) -> Q:
    """Rows under the area an official code names (AreaCodeError when none)."""
    cond = Q()
    for area in areas_for_code(area_code):
        cond |= Q(**{f"{prefix}path__startswith": area.path})
    return cond


def around_code(area_code: str, prefix: str = "area__") -> Q:
    """Rows whose area is in the area an official code names, or serves it (a larger
    area containing it). AreaCodeError when no area has the code."""
    cond = Q()
    for a in areas_for_code(area_code):
        cond |= Q(**{f"{prefix}path__startswith": a.path}) | Q(
            **{f"{prefix}path__in": ancestor_paths(a.path)}
        )
    return cond


# --------------------------------------------------------------------------------------
# Courses.


def courses_visible_to(actor: Any) -> QuerySet[Course]:
    if not access.has_permission(actor, VIEW_PERSONS):
        return Course.objects.none()
    return Course.objects.filter(overlap_q(access.scope_paths(actor, VIEW_PERSONS))).select_related(
        "area", "targeting_list"
    )


def course_search(
    actor: Any, *, area_code: str = "", status: str = "", q: str = ""
) -> QuerySet[Course]:
    """Courses the actor sees, by area (the courses in it and those serving it), status
    and title, trade or provider; with the counts of the trainees the actor sees."""
    qs = courses_visible_to(actor)
    if area_code:
        qs = qs.filter(around_code(area_code))
    if status:
        qs = qs.filter(status=status)
    if q:
        term = q.strip()
        qs = qs.filter(
            Q(title__icontains=term) | Q(trade__icontains=term) | Q(provider__icontains=term)
        )
    seen = Q(
        enrolments__person__household__village_id__in=access.areas_in_scope(
            actor, VIEW_PERSONS
        ).values("id")
    )
    return qs.annotate(
        n_enrolled=Count("enrolments", filter=seen, distinct=True),
        n_completed=Count(
            "enrolments",
            filter=seen & Q(enrolments__status=EnrolmentStatus.COMPLETED),
            distinct=True,
        ),
        n_dropped=Count(
            "enrolments",
            filter=seen & Q(enrolments__status=EnrolmentStatus.DROPPED_OUT),
            distinct=True,
        ),
    ).order_by("-starts_on", "-id")


def course_get(actor: Any, pk: int) -> Course:
    try:
        return courses_visible_to(actor).get(pk=pk)
    except Course.DoesNotExist:
        raise Http404 from None


def course_read(actor: Any, course: Course) -> None:
    """Audit that the actor opened a course's page (it names its trainees)."""
    audit.record(actor=actor, action="read", obj=course)


def can_manage(actor: Any, course: Course) -> bool:
    return access.can_act_in(actor, MANAGE_INTERVENTIONS, course.area)


def record_paths(actor: Any) -> list[str]:
    return access.scope_paths(actor, RECORD_INTERVENTIONS)


# --------------------------------------------------------------------------------------
# Enrolments.


def enrolments_visible_to(actor: Any) -> QuerySet[Enrolment]:
    """Enrolments of persons the actor sees (not of those who withdrew registration)."""
    if not access.has_permission(actor, VIEW_PERSONS):
        return Enrolment.objects.none()
    return (
        Enrolment.objects.filter(person_scope(actor))
        .exclude(restricted("person_id"))
        .select_related("course", "person__household__village")
    )


def enrolment_search(
    actor: Any,
    *,
    course: int | None = None,
    person: int | None = None,
    status: str = "",
    area_code: str = "",
) -> QuerySet[Enrolment]:
    """Enrolments the actor sees, by course, person, status and where the trainee lives
    (an official area code: the area and everything below it)."""
    qs = enrolments_visible_to(actor)
    if area_code:
        qs = qs.filter(under_codes(area_code, "person__household__village__"))
    if course is not None:
        qs = qs.filter(course_id=course)
    if person is not None:
        qs = qs.filter(person_id=person)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("course_id", "id")


def enrolment_get(actor: Any, pk: int) -> Enrolment:
    try:
        return enrolments_visible_to(actor).get(pk=pk)
    except Enrolment.DoesNotExist:
        raise Http404 from None


def plan_months() -> list[int]:
    """The months after completion the training plan visits (3, 6, 12 by default)."""
    plan = FollowUpPlan.objects.filter(component=Component.TRAINING).first()
    months = sorted(int(m) for m in (plan.months_after if plan else []) or [])
    return months or list(DEFAULT_MONTHS)


def course_trainees(actor: Any, course: Course) -> QuerySet[Enrolment]:
    """The course's trainees the actor sees, with sessions attended (`present`) of
    those marked (`marked`) and their follow-up visits (`follow_ups`, by month)."""
    return (
        enrolments_visible_to(actor)
        .filter(course=course)
        .annotate(
            present=Count("attendance", filter=Q(attendance__present=True)),
            marked=Count("attendance"),
        )
        .prefetch_related(
            Prefetch(
                "follow_ups",
                queryset=FollowUp.objects.order_by("months_after", "due_on"),
            )
        )
        .order_by("person__family_name_latin", "person__given_name_latin", "id")
    )


def rate(part: int, whole: int) -> Decimal | None:
    """part/whole as a percentage with one decimal, None when nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


@dataclass
class TraineeRow:
    enrolment: Enrolment
    attendance_rate: Decimal | None
    outcomes: list[FollowUp | None]


def trainee_rows(
    enrolments: Any, months: list[int], situations: Situations | None = None
) -> list[TraineeRow]:
    """Each trainee with their attendance rate and their visit at each month of the
    plan; with `situations`, each visit's situation as the reader may read it
    (`shown_situation_label`; the caller audits what was shown)."""
    rows = []
    for e in enrolments:
        by_month = {f.months_after: f for f in e.follow_ups.all()}
        if situations is not None:
            village = e.person.household.village
            for f in by_month.values():
                value = situations.value(f, village=village)
                f.shown_situation = value
                f.shown_situation_label = situation_label(value)
        rows.append(
            TraineeRow(
                enrolment=e,
                attendance_rate=rate(e.present, e.marked),
                outcomes=[by_month.get(m) for m in months],
            )
        )
    return rows


@dataclass
class OutcomeRow:
    label: Any
    counts: list[int]
    shares: list[Decimal | None] = field(default_factory=list)

    @property
    def cells(self) -> list[tuple[int, Decimal | None]]:
        """(count, share of those visited) per month; no share for rows of visits
        not made."""
        shares = self.shares or [None] * len(self.counts)
        return list(zip(self.counts, shares, strict=True))


@dataclass
class CourseSummary:
    enrolled: int
    still_enrolled: int
    completed: int
    certified: int
    dropped: int
    sessions_held: int
    attendance_rate: Decimal | None
    completion_rate: Decimal | None
    months: list[int]
    outcomes: list[OutcomeRow]
    visited: list[int]


def course_summary(actor: Any, course: Course) -> CourseSummary:
    """What became of the course's trainees the actor sees, in five queries: counts by
    status, attendance, sessions held, and the follow-up situations at each month
    of the plan (only visits made count towards the shares)."""
    trainees = enrolments_visible_to(actor).filter(course=course)
    counts = trainees.aggregate(
        enrolled=Count("id"),
        still=Count("id", filter=Q(status=EnrolmentStatus.ENROLLED)),
        completed=Count("id", filter=Q(status=EnrolmentStatus.COMPLETED)),
        certified=Count("id", filter=Q(certificate=True)),
        dropped=Count("id", filter=Q(status=EnrolmentStatus.DROPPED_OUT)),
    )
    marks = SessionAttendance.objects.filter(enrolment__in=trainees.values("id")).aggregate(
        marked=Count("id"), present=Count("id", filter=Q(present=True))
    )
    held = CourseSession.objects.filter(course=course).count()
    months = plan_months()
    cells: dict[tuple[str, int], int] = defaultdict(int)
    extra: set[int] = set()
    for row in (
        FollowUp.objects.filter(enrolment__in=trainees.values("id"))
        .values("months_after", "status", "situation")
        .annotate(n=Count("id"))
    ):
        m = row["months_after"]
        if m is None:
            continue
        if m not in months:
            extra.add(m)
        key = row["situation"] if row["status"] == FollowUpStatus.DONE else row["status"]
        cells[(key or FollowUpStatus.DONE, m)] += row["n"]
    months = sorted(set(months) | extra)
    visited = [sum(cells[(s, m)] for s in Situation.values) for m in months]
    outcomes: list[OutcomeRow] = []
    for value, label in Situation.choices:
        counts_row = [cells[(value, m)] for m in months]
        outcomes.append(
            OutcomeRow(
                label=label,
                counts=counts_row,
                shares=[rate(n, v) for n, v in zip(counts_row, visited, strict=True)],
            )
        )
    for value, label in (
        (FollowUpStatus.DONE, _("Visited, situation not recorded")),
        (FollowUpStatus.DUE, _("Not visited yet")),
        (FollowUpStatus.MISSED, _("Could not be visited")),
        (FollowUpStatus.CANCELLED, _("No longer needed")),
    ):
        counts_row = [cells[(value, m)] for m in months]
        if any(counts_row):
            outcomes.append(OutcomeRow(label=label, counts=counts_row, shares=[]))
    return CourseSummary(
        enrolled=counts["enrolled"],
        still_enrolled=counts["still"],
        completed=counts["completed"],
        certified=counts["certified"],
        dropped=counts["dropped"],
        sessions_held=held,
        attendance_rate=rate(marks["present"], marks["marked"]),
        completion_rate=rate(counts["completed"], counts["completed"] + counts["dropped"]),
        months=months,
        outcomes=outcomes,
        visited=visited,
    )


# --------------------------------------------------------------------------------------
# Enrolling from the targeting list.


def approved_not_enrolled(actor: Any, course: Course) -> QuerySet[TargetingEntry]:
    """Entries of the course's targeting list the committee approved, for persons the
    actor sees in the course's area who are not enrolled in it yet, in rank order; each
    with `consent` (services) and `enrolled_in`, the title of another course the person
    takes for the same assistance (None when none), so the page can say who cannot be
    enrolled yet."""
    if course.targeting_list_id is None:
        return TargetingEntry.objects.none()
    assert course.targeting_list is not None
    enrolled = Enrolment.objects.filter(course_id=course.pk, person_id=OuterRef("person_id"))
    elsewhere = (
        live_enrolments(course.targeting_list.assistance_type_id)
        .filter(person_id=OuterRef("person_id"))
        .exclude(course_id=course.pk)
        .order_by("-enrolled_on", "-id")
        .values("course__title")[:1]
    )
    return (
        targeting_entries(actor, course.targeting_list)
        .filter(
            decision=Decision.APPROVED,
            person__household__village__path__startswith=course.area.path,
            person__merged_into__isnull=True,
        )
        .exclude(Exists(enrolled))
        .annotate(
            consent=has_consent(ConsentPurpose.SERVICES, "person_id"),
            enrolled_in=Subquery(elsewhere),
        )
    )


# --------------------------------------------------------------------------------------
# Sessions and the attendance register.


def course_sessions(course: Course) -> QuerySet[CourseSession]:
    return (
        CourseSession.objects.filter(course=course)
        .annotate(
            n_marked=Count("attendance"),
            n_present=Count("attendance", filter=Q(attendance__present=True)),
        )
        .order_by("held_on", "id")
    )


def session_get(actor: Any, pk: int) -> CourseSession:
    """A session of a course the actor sees."""
    try:
        return CourseSession.objects.select_related("course__area").get(
            pk=pk, course__in=courses_visible_to(actor)
        )
    except CourseSession.DoesNotExist:
        raise Http404 from None


@dataclass
class RegisterRow:
    enrolment: Enrolment
    present: bool | None  # None: not marked yet
    can_mark: bool


def attendance_register(actor: Any, session: CourseSession) -> list[RegisterRow]:
    """The trainees of the session's course the actor sees, with their mark (if any)
    and whether the actor may mark them; two queries."""
    marks = dict(
        SessionAttendance.objects.filter(session=session).values_list("enrolment_id", "present")
    )
    paths = record_paths(actor)
    rows = []
    for e in (
        enrolments_visible_to(actor)
        .filter(course_id=session.course_id)
        .order_by("person__family_name_latin", "person__given_name_latin", "id")
    ):
        village = e.person.household.village.path
        active = not (
            e.status == EnrolmentStatus.DROPPED_OUT
            and e.dropped_on is not None
            and e.dropped_on < session.held_on
        )
        rows.append(
            RegisterRow(
                enrolment=e,
                present=marks.get(e.pk),
                can_mark=active and any(village.startswith(p) for p in paths),
            )
        )
    return rows
