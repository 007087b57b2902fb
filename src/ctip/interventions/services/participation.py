"""Child and community participation (R6): children's and youth clubs and forums, their
events (meetings, forums, cultural events, child-led monitoring), who took part, what
they decided or reported, and what became of their recommendations.

Recording needs RECORD_INTERVENTIONS in the club's or event's area. A child takes part
only with the consent for services recorded in the registry (given by a parent, with
the child's assent): participation is help the programme gives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import RECORD_INTERVENTIONS, VIEW_PERSONS
from ctip.core import audit
from ctip.geography.models import Area
from ctip.registry.models import Person
from ctip.registry.selectors import persons_visible_to

from ..models import (
    GroupKind,
    Participant,
    ParticipantRole,
    ParticipationEvent,
    ParticipationEventKind,
    ParticipationGroup,
    Recommendation,
    RecommendationStatus,
)
from .checks import (
    author,
    clean_date,
    clean_text,
    paths_overlap,
    services_consent_problems,
    snapshot,
)

GROUP_FIELDS = ("name", "kind", "area", "formed_on", "active")
EVENT_FIELDS = ("group", "kind", "held_on", "area", "title", "summary", "monitored_activity")
RECOMMENDATION_FIELDS = ("text", "addressed_to", "status", "response", "due_on", "closed_on")
CLOSED = (RecommendationStatus.DONE, RecommendationStatus.DECLINED)
# Where a recommendation may go from each status (closed ones stay closed: a new
# recommendation is added instead).
NEXT: dict[str, set[str]] = {
    RecommendationStatus.OPEN: {
        RecommendationStatus.ACCEPTED,
        RecommendationStatus.DONE,
        RecommendationStatus.DECLINED,
    },
    RecommendationStatus.ACCEPTED: {RecommendationStatus.DONE, RecommendationStatus.DECLINED},
    RecommendationStatus.DONE: set(),
    RecommendationStatus.DECLINED: set(),
}


def _sees(actor: Any, area: Area) -> bool:
    return any(paths_overlap(area.path, p) for p in access.scope_paths(actor, VIEW_PERSONS))


# --------------------------------------------------------------------------------------
# Clubs and forums.


def _clean_group(values: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": clean_text(values.get("name"), "name", errors, max_length=200, required=True)
    }
    kind = values.get("kind") or ""
    if kind not in GroupKind.values:
        errors["kind"] = _("Choose a children's club, a youth club or a forum.")
    out["kind"] = kind
    area = values.get("area")
    if not isinstance(area, Area):
        errors["area"] = _("Give the area the club or forum is in.")
    out["area"] = area
    out["formed_on"] = clean_date(values.get("formed_on"), "formed_on", errors, required=False)
    out["active"] = bool(values.get("active", True))
    return out


def _group_snapshot(g: ParticipationGroup) -> dict[str, Any]:
    return snapshot(g, GROUP_FIELDS)


@transaction.atomic
def group_create(*, actor: Any, **values: Any) -> ParticipationGroup:
    """Register a children's or youth club or forum in an area."""
    access.require(actor, RECORD_INTERVENTIONS)
    if isinstance(values.get("area"), Area):
        access.require_in(actor, RECORD_INTERVENTIONS, values["area"])
    errors: dict[str, str] = {}
    data = _clean_group(values, errors)
    if errors:
        raise ValidationError(errors)
    group = ParticipationGroup.objects.create(**data, created_by=author(actor))
    audit.record(actor=actor, action="create", obj=group, changes=_group_snapshot(group))
    return group


@transaction.atomic
def group_update(*, actor: Any, group: ParticipationGroup, **changes: Any) -> ParticipationGroup:
    """Rename a club, correct it, or mark it no longer active. Its events must stay
    inside its area."""
    group = (
        ParticipationGroup.objects.select_for_update(of=("self",))
        .select_related("area")
        .get(pk=group.pk)
    )
    access.require_in(actor, RECORD_INTERVENTIONS, group.area)
    values = {f: getattr(group, f) for f in GROUP_FIELDS}
    values.update({k: v for k, v in changes.items() if k in GROUP_FIELDS})
    if isinstance(values["area"], Area) and values["area"].pk != group.area_id:
        access.require_in(actor, RECORD_INTERVENTIONS, values["area"])
    errors: dict[str, str] = {}
    data = _clean_group(values, errors)
    moved = not errors and data["area"].pk != group.area_id
    if moved and group.events.exclude(area__path__startswith=data["area"].path).exists():
        errors["area"] = _("Some of the club's events were held outside %(area)s.") % {
            "area": data["area"].name
        }
    if errors:
        raise ValidationError(errors)
    before = _group_snapshot(group)
    for field, value in data.items():
        setattr(group, field, value)
    group.save()
    changed = audit.diff(before, _group_snapshot(group))
    if changed:
        audit.record(actor=actor, action="update", obj=group, changes=changed)
    return group


# --------------------------------------------------------------------------------------
# Events.


def _clean_event(actor: Any, values: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    group = values.get("group")
    if isinstance(group, ParticipationGroup):
        group = ParticipationGroup.objects.select_related("area").get(pk=group.pk)
    if group is not None and (
        not isinstance(group, ParticipationGroup) or not _sees(actor, group.area)
    ):
        errors["group"] = _("This club or forum is not one of your areas.")
        group = None
    out["group"] = group
    kind = values.get("kind") or ""
    if kind not in ParticipationEventKind.values:
        errors["kind"] = _("Choose the type of event.")
    out["kind"] = kind
    area = values.get("area") or (group.area if group is not None else None)
    if not isinstance(area, Area):
        errors["area"] = _("Give the area the event was held in.")
    elif group is not None and not area.path.startswith(group.area.path):
        errors["area"] = _("The event of %(group)s must be held in %(area)s.") % {
            "group": group.name,
            "area": group.area.name,
        }
    out["area"] = area
    out["held_on"] = clean_date(values.get("held_on"), "held_on", errors)
    out["title"] = clean_text(values.get("title"), "title", errors, max_length=200, required=True)
    out["summary"] = clean_text(values.get("summary"), "summary", errors, max_length=None)
    out["monitored_activity"] = clean_text(
        values.get("monitored_activity"), "monitored_activity", errors, max_length=300
    )
    if kind == ParticipationEventKind.CHILD_LED_MONITORING and not out["monitored_activity"]:
        errors.setdefault(
            "monitored_activity", _("Say which community activity the children monitored.")
        )
    return out


def _event_snapshot(e: ParticipationEvent) -> dict[str, Any]:
    return snapshot(e, EVENT_FIELDS)


@transaction.atomic
def event_create(*, actor: Any, **values: Any) -> ParticipationEvent:
    """Record an event held (a club meeting, a forum, a cultural event, child-led
    monitoring), with what the children and youth decided or reported."""
    access.require(actor, RECORD_INTERVENTIONS)
    errors: dict[str, str] = {}
    data = _clean_event(actor, values, errors)
    if isinstance(data["area"], Area):
        access.require_in(actor, RECORD_INTERVENTIONS, data["area"])
    group = data["group"]
    if group is not None and not group.active and "group" not in errors:
        errors["group"] = _("%(group)s is no longer active.") % {"group": group.name}
    if errors:
        raise ValidationError(errors)
    event = ParticipationEvent.objects.create(**data, created_by=author(actor))
    audit.record(actor=actor, action="create", obj=event, changes=_event_snapshot(event))
    return event


@transaction.atomic
def event_update(*, actor: Any, event: ParticipationEvent, **changes: Any) -> ParticipationEvent:
    """Correct an event, or add what was decided or reported; its participants must
    stay inside its area."""
    event = (
        ParticipationEvent.objects.select_for_update(of=("self",))
        .select_related("area", "group__area")
        .get(pk=event.pk)
    )
    access.require_in(actor, RECORD_INTERVENTIONS, event.area)
    values = {f: getattr(event, f) for f in EVENT_FIELDS}
    values.update({k: v for k, v in changes.items() if k in EVENT_FIELDS})
    errors: dict[str, str] = {}
    data = _clean_event(actor, values, errors)
    if isinstance(data["area"], Area) and data["area"].pk != event.area_id:
        access.require_in(actor, RECORD_INTERVENTIONS, data["area"])
        outside = (
            event.participants.exclude(
                person__household__village__path__startswith=data["area"].path
            )
            .select_related("person")
            .first()
        )
        if outside is not None:
            errors["area"] = _("%(name)s, who took part, lives outside %(area)s.") % {
                "name": outside.person.full_name,
                "area": data["area"].name,
            }
    if errors:
        raise ValidationError(errors)
    before = _event_snapshot(event)
    for field, value in data.items():
        setattr(event, field, value)
    event.save()
    changed = audit.diff(before, _event_snapshot(event))
    if changed:
        audit.record(actor=actor, action="update", obj=event, changes=changed)
    return event


# --------------------------------------------------------------------------------------
# Participants.


def participant_problems(
    actor: Any, event: ParticipationEvent, persons: Iterable[Person]
) -> dict[int, str]:
    """Why each person (if at all) cannot take part in the event: not seen by the
    actor, living outside the event's area, restricted, or without consent for
    services. Three queries whatever the number."""
    persons = list(persons)
    ids = [p.pk for p in persons]
    visible = set(persons_visible_to(actor).filter(pk__in=ids).values_list("pk", flat=True))
    consent = services_consent_problems(persons)
    villages = dict(Person.objects.filter(pk__in=ids).values_list("pk", "household__village__path"))
    problems: dict[int, str] = {}
    for p in persons:
        name = p.full_name
        if p.pk not in visible:
            problems[p.pk] = _("%(name)s is not a person in your areas.") % {"name": name}
        elif not (villages.get(p.pk) or "").startswith(event.area.path):
            problems[p.pk] = _("%(name)s lives outside the event's area (%(area)s).") % {
                "name": name,
                "area": event.area.name,
            }
        elif p.pk in consent:
            problems[p.pk] = consent[p.pk]
    return problems


@transaction.atomic
def participants_add(
    *,
    actor: Any,
    event: ParticipationEvent,
    persons: Iterable[Person | int],
    role: str = ParticipantRole.PARTICIPANT,
    roles: Mapping[int, str] | None = None,
) -> list[Participant]:
    """Record who took part (all of them or none): `role` for everyone, or per person
    id in `roles`. Persons already recorded keep their place (submitting twice adds
    nobody twice) and get the role given."""
    event = ParticipationEvent.objects.select_related("area").get(pk=event.pk)
    access.require_in(actor, RECORD_INTERVENTIONS, event.area)
    ids = list(dict.fromkeys(p.pk if isinstance(p, Person) else int(p) for p in persons))
    if not ids:
        raise ValidationError({"persons": _("Choose at least one person.")})
    roles = dict(roles or {})
    found = Person.objects.in_bulk(ids)
    rows: list[str] = []
    bad_roles = sorted({r for r in [role, *roles.values()] if r not in ParticipantRole.values})
    if bad_roles:
        raise ValidationError(
            {"role": _("Unknown role %(role)s.") % {"role": ", ".join(bad_roles)}}
        )
    problems = participant_problems(actor, event, found.values())
    for number, pk in enumerate(ids, start=1):
        if pk not in found:
            rows.append(
                _("Row %(row)s: no person %(id)s in your areas.") % {"row": number, "id": pk}
            )
        elif pk in problems:
            rows.append(_("Row %(row)s: %(problem)s") % {"row": number, "problem": problems[pk]})
    if rows:
        raise ValidationError({"persons": rows})
    existing = {p.person_id: p for p in event.participants.filter(person_id__in=ids)}
    user, now = author(actor), timezone.now()
    new = [
        Participant(
            event=event,
            person_id=pk,
            role=roles.get(pk, role),
            recorded_by=user,
            recorded_at=now,
        )
        for pk in ids
        if pk not in existing
    ]
    changed = []
    for pk, participant in existing.items():
        wanted = roles.get(pk, role)
        if participant.role != wanted:
            participant.role = wanted
            changed.append(participant)
    Participant.objects.bulk_create(new)
    Participant.objects.bulk_update(changed, ["role"])
    if new or changed:
        audit.record(
            actor=actor,
            action="update",
            obj=event,
            changes={
                "participants_added": {str(p.person_id): p.role for p in new},
                "roles_changed": {str(p.person_id): p.role for p in changed},
            },
        )
    return list(event.participants.filter(person_id__in=ids).select_related("person"))


@transaction.atomic
def participant_remove(*, actor: Any, participant: Participant) -> None:
    """Take a person off an event's participants (a mistake in the record)."""
    participant = Participant.objects.select_related("event__area", "person").get(pk=participant.pk)
    access.require_in(actor, RECORD_INTERVENTIONS, participant.event.area)
    if not persons_visible_to(actor).filter(pk=participant.person_id).exists():
        raise PermissionDenied(VIEW_PERSONS)
    event = participant.event
    person_id, role = participant.person_id, participant.role
    participant.delete()
    audit.record(
        actor=actor,
        action="update",
        obj=event,
        changes={"participants_removed": {str(person_id): role}},
    )


# --------------------------------------------------------------------------------------
# Recommendations and what became of them.


def _recommendation_snapshot(r: Recommendation) -> dict[str, Any]:
    return snapshot(r, RECOMMENDATION_FIELDS)


def _due(value: Any, event: ParticipationEvent, errors: dict[str, str]) -> dt.date | None:
    day = clean_date(value, "due_on", errors, required=False, past=False)
    if day is not None and day < event.held_on:
        errors["due_on"] = _("The answer cannot be due before the event (%(day)s).") % {
            "day": event.held_on.isoformat()
        }
    return day


@transaction.atomic
def recommendation_add(
    *,
    actor: Any,
    event: ParticipationEvent,
    text: str,
    addressed_to: str = "",
    due_on: dt.date | None = None,
) -> Recommendation:
    """Record a recommendation the children or youth made at an event (open)."""
    event = ParticipationEvent.objects.select_related("area").get(pk=event.pk)
    access.require_in(actor, RECORD_INTERVENTIONS, event.area)
    errors: dict[str, str] = {}
    values = {
        "text": clean_text(text, "text", errors, max_length=None, required=True),
        "addressed_to": clean_text(addressed_to, "addressed_to", errors, max_length=200),
        "due_on": _due(due_on, event, errors),
    }
    if errors:
        raise ValidationError(errors)
    rec = Recommendation.objects.create(event=event, **values, updated_by=author(actor))
    audit.record(
        actor=actor,
        action="create",
        obj=rec,
        changes={"event": event.pk, **_recommendation_snapshot(rec)},
    )
    return rec


_UNSET: Any = object()


@transaction.atomic
def recommendation_update(
    *,
    actor: Any,
    recommendation: Recommendation,
    status: str | None = None,
    response: str | None = None,
    due_on: Any = _UNSET,
    closed_on: dt.date | None = None,
    text: str | None = None,
    addressed_to: str | None = None,
) -> Recommendation:
    """Follow a recommendation up: open → accepted → done, or declined (with the
    response given either way); the day it closed is kept (today unless given)."""
    rec = (
        Recommendation.objects.select_for_update(of=("self",))
        .select_related("event__area")
        .get(pk=recommendation.pk)
    )
    event = rec.event
    access.require_in(actor, RECORD_INTERVENTIONS, event.area)
    errors: dict[str, str] = {}
    before = _recommendation_snapshot(rec)
    new_status = status or rec.status
    if new_status not in RecommendationStatus.values:
        errors["status"] = _("Choose open, accepted, done or declined.")
    elif new_status != rec.status and new_status not in NEXT[rec.status]:
        errors["status"] = _("A recommendation %(from)s cannot become %(to)s.") % {
            "from": RecommendationStatus(rec.status).label.lower(),
            "to": RecommendationStatus(new_status).label.lower(),
        }
    if text is not None:
        rec.text = clean_text(text, "text", errors, max_length=None, required=True)
    if addressed_to is not None:
        rec.addressed_to = clean_text(addressed_to, "addressed_to", errors, max_length=200)
    if response is not None:
        rec.response = clean_text(response, "response", errors, max_length=None)
    if due_on is not _UNSET:
        rec.due_on = _due(due_on, event, errors)
    if new_status in CLOSED and not rec.response and "response" not in errors:
        errors["response"] = _("Say what was done, or why it was declined.")
    closing = new_status in CLOSED and rec.status not in CLOSED
    if closing or (closed_on is not None and new_status in CLOSED):
        day = clean_date(closed_on or timezone.localdate(), "closed_on", errors)
        if day is not None and "closed_on" not in errors and day < event.held_on:
            errors["closed_on"] = _("It cannot close before the event (%(day)s).") % {
                "day": event.held_on.isoformat()
            }
        rec.closed_on = day
    elif closed_on is not None:
        errors["closed_on"] = _("Only a recommendation acted on or declined is closed.")
    if errors:
        raise ValidationError(errors)
    rec.status = new_status
    rec.updated_by = author(actor)
    rec.save()
    changed = audit.diff(before, _recommendation_snapshot(rec))
    if changed:
        audit.record(actor=actor, action="update", obj=rec, changes=changed)
    return rec
