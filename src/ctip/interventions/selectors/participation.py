"""Reads of child and youth participation, scoped to the acting user: clubs and
forums (with their members over time), events with who took part, and the tracker of
recommendations (overdue once their answer is due). Clubs and events are seen by
whoever sees persons in their area or a part of it; participants only where the
reader sees persons. Lists take a fixed number of queries whatever their length."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import TruncQuarter
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import RECORD_INTERVENTIONS, VIEW_PERSONS
from ctip.core import audit
from ctip.geography.models import Area
from ctip.registry.models import Person, Sex
from ctip.registry.selectors import restricted

from ..models import (
    Participant,
    ParticipationEvent,
    ParticipationGroup,
    Recommendation,
    RecommendationStatus,
)
from .training import around_code, overlap_q, person_scope

PENDING = (RecommendationStatus.OPEN, RecommendationStatus.ACCEPTED)


def _scope(actor: Any) -> list[str]:
    return access.scope_paths(actor, VIEW_PERSONS)


def may_record_in(actor: Any, area: Area) -> bool:
    return access.can_act_in(actor, RECORD_INTERVENTIONS, area)


# --------------------------------------------------------------------------------------
# Clubs and forums.


def groups_visible_to(actor: Any) -> QuerySet[ParticipationGroup]:
    if not access.has_permission(actor, VIEW_PERSONS):
        return ParticipationGroup.objects.none()
    return ParticipationGroup.objects.filter(overlap_q(_scope(actor))).select_related("area")


def group_search(
    actor: Any, *, area_code: str = "", kind: str = "", active: bool | None = None
) -> QuerySet[ParticipationGroup]:
    """Clubs and forums the actor sees, with their events, the last one's day and the
    members (distinct participants the actor sees)."""
    qs = groups_visible_to(actor)
    if area_code:
        qs = qs.filter(around_code(area_code))
    if kind:
        qs = qs.filter(kind=kind)
    if active is not None:
        qs = qs.filter(active=active)
    return qs.annotate(
        n_events=Count("events", distinct=True),
        last_event=Max("events__held_on"),
        n_members=Count(
            "events__participants__person",
            filter=person_scope(actor, "events__participants__person__"),
            distinct=True,
        ),
    ).order_by("name", "id")


def group_get(actor: Any, pk: int) -> ParticipationGroup:
    try:
        return groups_visible_to(actor).get(pk=pk)
    except ParticipationGroup.DoesNotExist:
        raise Http404 from None


def group_read(actor: Any, group: ParticipationGroup) -> None:
    """Audit that the actor opened a club's page (it names its members)."""
    audit.record(actor=actor, action="read", obj=group)


@dataclass
class Period:
    start: dt.date  # first day of the quarter
    events: int
    members: int  # distinct persons who took part that quarter
    new: int  # of whom taking part for the first time
    girls: int
    boys: int

    @property
    def label(self) -> str:
        return _("%(year)s, quarter %(n)s") % {
            "year": self.start.year,
            "n": (self.start.month - 1) // 3 + 1,
        }


def members_over_time(actor: Any, group: ParticipationGroup) -> list[Period]:
    """Quarter by quarter: events held, who took part (the persons the actor sees), how
    many for the first time, girls and boys. Two queries."""
    events = dict(
        ParticipationEvent.objects.filter(group=group)
        .annotate(q=TruncQuarter("held_on"))
        .order_by()
        .values("q")
        .annotate(n=Count("id"))
        .values_list("q", "n")
    )
    rows = (
        Participant.objects.filter(event__group=group)
        .filter(person_scope(actor, "person__"))
        .annotate(q=TruncQuarter("event__held_on"))
        .order_by()
        .values("q", "person_id", "person__sex")
        .distinct()
    )
    members: dict[dt.date, set[int]] = defaultdict(set)
    sexes: dict[int, str] = {}
    for row in rows:
        members[_day(row["q"])].add(row["person_id"])
        sexes[row["person_id"]] = row["person__sex"]
    seen: set[int] = set()
    out = []
    for start in sorted({_day(q) for q in events} | set(members)):
        who = members.get(start, set())
        out.append(
            Period(
                start=start,
                events=sum(n for q, n in events.items() if _day(q) == start),
                members=len(who),
                new=len(who - seen),
                girls=sum(1 for p in who if sexes[p] == Sex.FEMALE),
                boys=sum(1 for p in who if sexes[p] == Sex.MALE),
            )
        )
        seen |= who
    return out


def _day(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


@dataclass
class Member:
    person: Person
    first: dt.date
    last: dt.date
    events: int


def group_members(actor: Any, group: ParticipationGroup) -> list[Member]:
    """Everyone (the actor sees) who took part in the club's events: when first and
    last, and how often. Two queries."""
    rows = list(
        Participant.objects.filter(event__group=group)
        .filter(person_scope(actor, "person__"))
        .exclude(restricted("person_id"))
        .order_by()
        .values("person_id")
        .annotate(first=Min("event__held_on"), last=Max("event__held_on"), n=Count("event"))
    )
    persons = Person.objects.select_related("household__village").in_bulk(
        [r["person_id"] for r in rows]
    )
    members = [
        Member(persons[r["person_id"]], r["first"], r["last"], r["n"])
        for r in rows
        if r["person_id"] in persons
    ]
    return sorted(members, key=lambda m: (-m.events, m.person.full_name))


# --------------------------------------------------------------------------------------
# Events.


def events_visible_to(actor: Any) -> QuerySet[ParticipationEvent]:
    if not access.has_permission(actor, VIEW_PERSONS):
        return ParticipationEvent.objects.none()
    return ParticipationEvent.objects.filter(overlap_q(_scope(actor))).select_related(
        "area", "group"
    )


def event_search(
    actor: Any, *, area_code: str = "", kind: str = "", group: int | None = None
) -> QuerySet[ParticipationEvent]:
    """Events the actor sees, latest first, with the participants the actor sees and
    the recommendations made (and still open)."""
    qs = events_visible_to(actor)
    if area_code:
        qs = qs.filter(around_code(area_code))
    if kind:
        qs = qs.filter(kind=kind)
    if group is not None:
        qs = qs.filter(group_id=group)
    return qs.annotate(
        n_participants=Count(
            "participants",
            filter=person_scope(actor, "participants__person__"),
            distinct=True,
        ),
        n_recommendations=Count("recommendations", distinct=True),
        n_open=Count(
            "recommendations",
            filter=Q(recommendations__status__in=PENDING),
            distinct=True,
        ),
    ).order_by("-held_on", "-id")


def event_get(actor: Any, pk: int) -> ParticipationEvent:
    try:
        return events_visible_to(actor).get(pk=pk)
    except ParticipationEvent.DoesNotExist:
        raise Http404 from None


def event_read(actor: Any, event: ParticipationEvent) -> None:
    """Audit that the actor opened an event's page (it names the children)."""
    audit.record(actor=actor, action="read", obj=event)


def event_participants_all(actor: Any) -> QuerySet[Participant]:
    """Participants (of any event) who are persons the actor sees, by name."""
    return (
        Participant.objects.filter(person_scope(actor, "person__"))
        .exclude(restricted("person_id"))
        .select_related("person__household__village")
        .order_by("person__family_name_latin", "person__given_name_latin", "id")
    )


def event_participants(actor: Any, event: ParticipationEvent) -> QuerySet[Participant]:
    return event_participants_all(actor).filter(event=event)


def participant_get(actor: Any, pk: int) -> Participant:
    try:
        return (
            Participant.objects.filter(person_scope(actor, "person__"))
            .filter(event__in=events_visible_to(actor))
            .select_related("event__area", "person")
            .get(pk=pk)
        )
    except Participant.DoesNotExist:
        raise Http404 from None


# --------------------------------------------------------------------------------------
# Recommendations.


def _with_overdue(qs: QuerySet[Recommendation]) -> QuerySet[Recommendation]:
    return qs.annotate(
        overdue=Case(
            When(
                Q(due_on__lt=timezone.localdate()) & Q(status__in=PENDING),
                then=Value(True),
            ),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def recommendations_visible_to(actor: Any) -> QuerySet[Recommendation]:
    if not access.has_permission(actor, VIEW_PERSONS):
        return Recommendation.objects.none()
    return _with_overdue(
        Recommendation.objects.filter(overlap_q(_scope(actor), "event__area__"))
    ).select_related("event__area", "event__group")


OVERDUE = "overdue"


def recommendation_search(
    actor: Any, *, status: str = "", area_code: str = ""
) -> QuerySet[Recommendation]:
    """The tracker: recommendations of the events the actor sees; `status` is one of
    the statuses, "pending" (open or accepted) or "overdue" (pending, answer due)."""
    qs = recommendations_visible_to(actor)
    if status == OVERDUE:
        qs = qs.filter(status__in=PENDING, due_on__lt=timezone.localdate())
    elif status == "pending":
        qs = qs.filter(status__in=PENDING)
    elif status:
        qs = qs.filter(status=status)
    if area_code:
        qs = qs.filter(around_code(area_code, "event__area__"))
    return qs.order_by("due_on", "-event__held_on", "id")


def recommendation_get(actor: Any, pk: int) -> Recommendation:
    try:
        return recommendations_visible_to(actor).get(pk=pk)
    except Recommendation.DoesNotExist:
        raise Http404 from None


@dataclass
class AreaRecommendations:
    area: Area
    pending: int
    overdue: int


def pending_per_area(actor: Any, area_code: str = "") -> list[AreaRecommendations]:
    """Open (or accepted, not yet done) recommendations per area of their events, and
    how many of them are overdue. Two queries."""
    qs = recommendation_search(actor, status="pending", area_code=area_code)
    rows = list(
        qs.order_by()
        .values("event__area_id")
        .annotate(
            n=Count("id"),
            late=Count("id", filter=Q(due_on__lt=timezone.localdate())),
        )
    )
    areas = Area.objects.in_bulk([r["event__area_id"] for r in rows])
    out = [AreaRecommendations(areas[r["event__area_id"]], r["n"], r["late"]) for r in rows]
    return sorted(out, key=lambda r: (-r.overdue, -r.pending, r.area.path))
