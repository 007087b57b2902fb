"""Reads of follow-up visits: the visits an actor may see (persons in their areas, not
those who withdrew consent), what is due and overdue per facilitator and per area with
counts by component, and a facilitator's own visits.

What a visit found can be a sensitive outcome: "migrated unsafely" is shown only to
readers holding VIEW_SENSITIVE in the person's area, and each read of it is audited.
Others see a neutral "Migrated" for both safe and unsafe migration (were only the
unsafe one masked, the mask would give it away). `Situations` does this for every
page and endpoint that shows a person's visits."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ctip.accounts import access
from ctip.accounts.models import RoleAssignment, User
from ctip.accounts.roles import RECORD_INTERVENTIONS, VIEW_PERSONS, VIEW_SENSITIVE, roles_with
from ctip.core import audit
from ctip.geography.models import Area
from ctip.registry import selectors as registry

from ..models import Component, FollowUp, FollowUpPlan, FollowUpStatus, Situation

UNASSIGNED = "none"

# Findings readable only with the right to see sensitive outcomes.
SENSITIVE_SITUATIONS = frozenset({Situation.MIGRATED_UNSAFELY})
# Situations shown as one to readers without that right, so the sensitive one does not
# stand out: both ways of migrating are "migrated".
MIGRATED = "migrated"
MASKED_AS = {
    Situation.MIGRATED_SAFELY.value: MIGRATED,
    Situation.MIGRATED_UNSAFELY.value: MIGRATED,
}
# What the API gives in `situation`: a Situation value, "migrated" (masked) or "".
SHOWN_CHOICES = [*Situation.choices, (MIGRATED, gettext_lazy("Migrated"))]
SHOWN_SITUATIONS = [value for value, _label in SHOWN_CHOICES]


def situation_label(value: str) -> str:
    """The label of a situation as shown (the masked one included); "" for none."""
    if value == MIGRATED:
        return _("Migrated")
    return str(Situation(value).label) if value in Situation.values else value


class Situations:
    """What an actor is shown of the situations found at visits: the recorded value
    where they may see sensitive outcomes in the person's area (VIEW_SENSITIVE, one
    query for all the rows), "migrated" for both ways of migrating elsewhere. The rows
    whose sensitive value was shown are kept, for one audit event (`audit_read`).

        situations = Situations(request.user)
        rows = situations.apply(page)          # sets .shown_situation / _label on each
        situations.audit_read("follow-up list")
    """

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        self.paths: list[str] = access.scope_paths(actor, VIEW_SENSITIVE)
        self.shown: dict[int, FollowUp] = {}
        self.masked: int = 0

    def may_see_in(self, village: Area) -> bool:
        return any(village.path.startswith(p) for p in self.paths)

    def may_see(self, follow_up: FollowUp) -> bool:
        """Sensitive findings readable in the person's area (needs the village loaded)."""
        return self.may_see_in(follow_up.person.household.village)

    def value(self, follow_up: FollowUp, village: Area | None = None) -> str:
        """The situation as this actor may read it; a sensitive one shown is noted.
        `village`: the person's, when the visit's person is not loaded."""
        situation = follow_up.situation or ""
        if situation not in MASKED_AS:
            return situation
        if not (self.may_see_in(village) if village is not None else self.may_see(follow_up)):
            self.masked += 1
            return MASKED_AS[situation]
        if situation in SENSITIVE_SITUATIONS:
            self.shown[follow_up.pk] = follow_up
        return situation

    def apply(self, follow_ups: Iterable[FollowUp]) -> list[FollowUp]:
        """Each visit with `shown_situation` and `shown_situation_label` set (the
        templates and serializers show those, never `situation` itself)."""
        rows = list(follow_ups)
        for f in rows:
            value = self.value(f)
            f.shown_situation = value  # type: ignore[attr-defined]
            f.shown_situation_label = situation_label(value)  # type: ignore[attr-defined]
        return rows

    def audit_read(self, where: str) -> None:
        """One audit event for the sensitive findings just shown (none: nothing)."""
        if not self.shown:
            return
        rows = list(self.shown.values())
        audit.record(
            actor=self.actor,
            action="read",
            object_type="interventions.followup",
            object_id=rows[0].pk if len(rows) == 1 else "",
            object_repr=where[:200],
            changes={
                "sensitive": ["follow-up situation"],
                "follow_ups": sorted(f.pk for f in rows),
                "persons": sorted({f.person_id for f in rows}),
            },
        )
        self.shown.clear()


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def overdue_q(today: dt.date) -> Q:
    """Still due and the due date has passed."""
    return Q(status=FollowUpStatus.DUE, due_on__lt=today)


def due_this_month_q(today: dt.date) -> Q:
    """Still due, from today to the end of the month."""
    return Q(status=FollowUpStatus.DUE, due_on__gte=today, due_on__lte=month_end(today))


def follow_ups_visible_to(actor: Any) -> QuerySet[FollowUp]:
    """Visits of persons in the actor's areas, leaving out persons who withdrew consent
    to registration and follow-up."""
    if not access.has_permission(actor, VIEW_PERSONS):
        return FollowUp.objects.none()
    return FollowUp.objects.filter(
        person__household__village__in=access.areas_in_scope(actor, VIEW_PERSONS).values("id")
    ).exclude(registry.restricted("person_id"))


def for_list(qs: QuerySet[FollowUp]) -> QuerySet[FollowUp]:
    return qs.select_related("person__household__village", "assigned_to", "activity")


def follow_up_search(
    actor: Any,
    *,
    component: str = "",
    status: str = "",
    assigned_to: str | int | None = None,
    overdue: bool = False,
    area: Area | None = None,
    due_from: dt.date | None = None,
    due_to: dt.date | None = None,
    person: int | None = None,
    today: dt.date | None = None,
) -> QuerySet[FollowUp]:
    """Visible visits, filtered; `assigned_to` is a user id or "none" for nobody's."""
    today = today or timezone.localdate()
    qs = follow_ups_visible_to(actor)
    if component:
        qs = qs.filter(component=component)
    if status:
        qs = qs.filter(status=status)
    if assigned_to == UNASSIGNED:
        qs = qs.filter(assigned_to__isnull=True)
    elif assigned_to is not None and assigned_to != "":
        qs = qs.filter(assigned_to_id=int(assigned_to))
    if overdue:
        qs = qs.filter(overdue_q(today))
    if area is not None:
        qs = qs.filter(person__household__village__path__startswith=area.path)
    if due_from:
        qs = qs.filter(due_on__gte=due_from)
    if due_to:
        qs = qs.filter(due_on__lte=due_to)
    if person:
        qs = qs.filter(person_id=person)
    return qs.order_by("due_on", "id")


def follow_up_get(actor: Any, pk: int) -> FollowUp:
    """One visit for someone who may see the person (404 otherwise), with its situation
    as the actor may read it (`Situations`); the read is audited, saying so when it
    showed a sensitive finding."""
    try:
        follow_up = (
            FollowUp.objects.filter(
                person__household__village__in=access.areas_in_scope(actor, VIEW_PERSONS).values(
                    "id"
                )
            )
            .select_related(
                "person__household__village",
                "assigned_to",
                "visited_by",
                "activity",
                "loan",
                "enrolment",
            )
            .get(pk=pk)
        )
    except FollowUp.DoesNotExist:
        raise Http404 from None
    situations = Situations(actor)
    situations.apply([follow_up])
    audit.record(
        actor=actor,
        action="read",
        obj=follow_up,
        object_repr=f"{follow_up} · {follow_up.person}",
        changes={"sensitive": ["follow-up situation"]} if situations.shown else None,
    )
    return follow_up


def can_record(actor: Any, follow_up: FollowUp) -> bool:
    return access.can_act_in(actor, RECORD_INTERVENTIONS, follow_up.person.household.village)


@dataclass(frozen=True)
class MyVisits:
    overdue: list[FollowUp]
    this_month: list[FollowUp]
    next_month: list[FollowUp]


def my_visits(actor: Any, *, today: dt.date | None = None) -> MyVisits:
    """The signed-in facilitator's visits still to make: overdue, the rest of this month,
    and next month, each oldest first."""
    today = today or timezone.localdate()
    end = month_end(today)
    next_end = month_end(end + dt.timedelta(days=1))
    rows = list(
        for_list(
            follow_ups_visible_to(actor).filter(
                assigned_to_id=actor.pk, status=FollowUpStatus.DUE, due_on__lte=next_end
            )
        ).order_by("due_on", "id")
    )
    return MyVisits(
        overdue=[f for f in rows if f.due_on < today],
        this_month=[f for f in rows if today <= f.due_on <= end],
        next_month=[f for f in rows if f.due_on > end],
    )


@dataclass
class DueCount:
    """Visits still due for one facilitator or area, with counts by component."""

    key: Any
    label: str
    due_this_month: int = 0
    overdue: int = 0
    by_component: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def components(self) -> list[tuple[str, int, int]]:
        """(component label, due this month, overdue) in the components' order."""
        labels = dict(Component.choices)
        return [
            (str(labels[c]), n["due"], n["overdue"])
            for c in Component.values
            if (n := self.by_component.get(c)) and (n["due"] or n["overdue"])
        ]


def _counts(
    qs: QuerySet[FollowUp], key_field: str, today: dt.date
) -> list[tuple[Any, str, int, int]]:
    return [
        (row[key_field], row["component"], row["due"], row["overdue"])
        for row in qs.filter(status=FollowUpStatus.DUE, due_on__lte=month_end(today))
        .values(key_field, "component")
        .annotate(
            due=Count("id", filter=due_this_month_q(today)),
            overdue=Count("id", filter=overdue_q(today)),
        )
        .order_by()
    ]


def _collect(rows: list[tuple[Any, str, int, int]], labels: dict[Any, str]) -> list[DueCount]:
    out: dict[Any, DueCount] = {}
    for key, component, due, late in rows:
        entry = out.setdefault(key, DueCount(key=key, label=labels.get(key, "")))
        entry.due_this_month += due
        entry.overdue += late
        entry.by_component[component] = {"due": due, "overdue": late}
    return sorted(out.values(), key=lambda d: (-d.overdue, -d.due_this_month, d.label))


def due_by_facilitator(
    actor: Any, *, today: dt.date | None = None, area: Area | None = None
) -> list[DueCount]:
    """Visits due this month and overdue, per facilitator they are assigned to (the key
    is the user id, None for visits nobody holds), most overdue first."""
    today = today or timezone.localdate()
    qs = follow_ups_visible_to(actor)
    if area is not None:
        qs = qs.filter(person__household__village__path__startswith=area.path)
    rows = _counts(qs, "assigned_to", today)
    users = User.objects.filter(pk__in={r[0] for r in rows if r[0] is not None})
    labels: dict[Any, str] = {u.pk: u.get_full_name() or u.username for u in users}
    return _collect(rows, labels)


def due_by_area(
    actor: Any, *, today: dt.date | None = None, area: Area | None = None
) -> list[DueCount]:
    """The same counts per commune of the persons visited (the key is the commune's id)."""
    today = today or timezone.localdate()
    qs = follow_ups_visible_to(actor)
    if area is not None:
        qs = qs.filter(person__household__village__path__startswith=area.path)
    rows = _counts(qs, "person__household__village__parent", today)
    communes = Area.objects.filter(pk__in={r[0] for r in rows if r[0] is not None})
    labels: dict[Any, str] = {a.pk: f"{a.name} ({a.code})" for a in communes}
    return _collect(rows, labels)


def facilitators_for(follow_up: FollowUp) -> QuerySet[User]:
    """Active users who record interventions in the person's village: who a visit can be
    handed to."""
    village = follow_up.person.household.village
    parts = [p for p in village.path.split("/") if p]
    ancestors = ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
    holders = RoleAssignment.objects.filter(
        role__in=roles_with(RECORD_INTERVENTIONS), area__path__in=ancestors
    ).values("user_id")
    return User.objects.filter(pk__in=holders, is_active=True).order_by("username")


def assignable_users(actor: Any) -> QuerySet[User]:
    """Users holding visits the actor can see, for the facilitator filter."""
    ids = follow_ups_visible_to(actor).exclude(assigned_to=None).values("assigned_to")
    return User.objects.filter(pk__in=ids).order_by("username")


def plans() -> QuerySet[FollowUpPlan]:
    return FollowUpPlan.objects.order_by("component")
