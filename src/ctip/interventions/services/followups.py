"""Writes to follow-up visits and plans. Visits are made by followup_plans when the
reference event happens; here they are recorded (visited, missed, no longer needed),
handed to another facilitator, and the plans changed. Each write runs in one
transaction, checks the actor may record interventions in the person's village, and
leaves an audit event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.models import User
from ctip.accounts.roles import MANAGE_INTERVENTIONS, RECORD_INTERVENTIONS
from ctip.core import audit
from ctip.registry import selectors as registry
from ctip.registry.models import Currency, Person

from ..dates import add_months
from ..models import FollowUp, FollowUpPlan, FollowUpStatus, Situation
from .checks import author, clean_amount, clean_choice, clean_date, clean_text, snapshot

MAX_PLAN_MONTHS = 60
VISIT_FIELDS = ("status", "visited_on", "situation", "monthly_income", "currency", "outcome")
PLAN_FIELDS = ("months_after", "monthly_while_active", "active")


def village_of(follow_up: FollowUp) -> Any:
    return follow_up.person.household.village


def reference_date(follow_up: FollowUp) -> dt.date | None:
    """The day the visits were counted from (course completed, activity started...)."""
    if follow_up.months_after is None:
        return None
    return add_months(follow_up.due_on, -follow_up.months_after)


def _locked(follow_up: FollowUp) -> FollowUp:
    return (
        FollowUp.objects.select_for_update(of=("self",))
        .select_related("person__household__village")
        .get(pk=follow_up.pk)
    )


def _still_followed(person: Person, errors: dict[str, Any], field: str = "person") -> None:
    if Person.objects.filter(pk=person.pk).filter(registry.restricted()).exists():
        errors[field] = _(
            "%(person)s withdrew consent to registration and follow-up: they are no longer visited."
        ) % {"person": person}


@transaction.atomic
def follow_up_record_visit(
    *,
    actor: Any,
    follow_up: FollowUp,
    visited_on: dt.date,
    situation: str,
    monthly_income: Decimal | str | None = None,
    currency: str = "",
    outcome: str = "",
) -> FollowUp:
    """What the visit found: the person's situation, their monthly income (with its
    currency) and notes. A visit already recorded can be corrected the same way."""
    access.require_in(actor, RECORD_INTERVENTIONS, village_of(follow_up))
    follow_up = _locked(follow_up)
    errors: dict[str, Any] = {}
    if follow_up.status == FollowUpStatus.CANCELLED:
        errors["status"] = _("This visit is no longer needed; it cannot be recorded.")
    _still_followed(follow_up.person, errors)
    day = clean_date(visited_on, "visited_on", errors)
    start = reference_date(follow_up)
    if day is not None and start is not None and day < start:
        errors["visited_on"] = _(
            "%(date)s is before the %(component)s the visit follows up (%(start)s)."
        ) % {
            "date": day.isoformat(),
            "component": follow_up.get_component_display().lower(),
            "start": start.isoformat(),
        }
    clean_choice(situation, "situation", errors, choices=Situation.values)
    income = clean_amount(monthly_income, "monthly_income", errors, required=False)
    if income is not None or "monthly_income" in errors:
        if currency not in Currency.values:
            errors["currency"] = _("Say which currency the income is in.")
    elif currency:
        clean_choice(currency, "currency", errors, choices=Currency.values)
    outcome = clean_text(outcome, "outcome", errors, max_length=5000, formula_ok=True)
    if errors:
        raise ValidationError(errors)
    before = snapshot(follow_up, VISIT_FIELDS)
    follow_up.status = FollowUpStatus.DONE
    follow_up.visited_on = day
    follow_up.visited_by = author(actor)
    follow_up.situation = situation
    follow_up.monthly_income = income
    follow_up.currency = currency if income is not None else ""
    follow_up.outcome = outcome
    follow_up.save()
    after = snapshot(follow_up, VISIT_FIELDS)
    # Whether a person migrated, and how safely, is a sensitive outcome: the audit
    # trail says the situation changed without saying to what.
    migrated = {Situation.MIGRATED_SAFELY, Situation.MIGRATED_UNSAFELY}
    masked = ("situation",) if {before["situation"], after["situation"]} & migrated else ()
    audit.record(
        actor=actor,
        action="update",
        obj=follow_up,
        object_repr=f"{follow_up} · {follow_up.person}"[:200],
        changes=audit.diff(before, after, sensitive=masked),
    )
    return follow_up


def _close(actor: Any, follow_up: FollowUp, status: str, reason: str) -> FollowUp:
    access.require_in(actor, RECORD_INTERVENTIONS, village_of(follow_up))
    follow_up = _locked(follow_up)
    errors: dict[str, Any] = {}
    reason = clean_text(reason, "reason", errors, max_length=5000, formula_ok=True)
    if not reason:
        errors["reason"] = _("Say why.")
    allowed = (
        [FollowUpStatus.DUE]
        if status == FollowUpStatus.MISSED
        else [FollowUpStatus.DUE, FollowUpStatus.MISSED]
    )
    if follow_up.status not in allowed:
        errors["status"] = _("This visit is already marked “%(status)s”.") % {
            "status": follow_up.get_status_display()
        }
    if errors:
        raise ValidationError(errors)
    before = snapshot(follow_up, ("status", "outcome"))
    follow_up.status = status
    follow_up.outcome = reason
    follow_up.save(update_fields=["status", "outcome", "updated_at"])
    audit.record(
        actor=actor,
        action="update",
        obj=follow_up,
        object_repr=f"{follow_up} · {follow_up.person}"[:200],
        changes=audit.diff(before, snapshot(follow_up, ("status", "outcome"))),
    )
    return follow_up


@transaction.atomic
def follow_up_mark_missed(*, actor: Any, follow_up: FollowUp, reason: str) -> FollowUp:
    """The person could not be visited (moved away, not at home...). A missed visit can
    still be recorded later if it happens."""
    return _close(actor, follow_up, FollowUpStatus.MISSED, reason)


@transaction.atomic
def follow_up_cancel(*, actor: Any, follow_up: FollowUp, reason: str) -> FollowUp:
    """The visit is no longer needed (the person left the programme, the loan was closed)."""
    return _close(actor, follow_up, FollowUpStatus.CANCELLED, reason)


def can_be_assigned(user: Any, follow_up: FollowUp) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_active", False)
        and access.can_act_in(user, RECORD_INTERVENTIONS, village_of(follow_up))
    )


@transaction.atomic
def follow_up_reassign(*, actor: Any, follow_up: FollowUp, assigned_to: User) -> FollowUp:
    """Give a visit still to make to another facilitator of the person's area."""
    access.require_in(actor, RECORD_INTERVENTIONS, village_of(follow_up))
    follow_up = _locked(follow_up)
    errors: dict[str, Any] = {}
    if follow_up.status not in (FollowUpStatus.DUE, FollowUpStatus.MISSED):
        errors["status"] = _("Only a visit still to make can be handed over.")
    if not can_be_assigned(assigned_to, follow_up):
        errors["assigned_to"] = _("%(user)s does not record interventions in %(village)s.") % {
            "user": assigned_to,
            "village": village_of(follow_up),
        }
    if errors:
        raise ValidationError(errors)
    before = follow_up.assigned_to_id
    follow_up.assigned_to = assigned_to
    follow_up.save(update_fields=["assigned_to", "updated_at"])
    if before != assigned_to.pk:
        audit.record(
            actor=actor,
            action="update",
            obj=follow_up,
            object_repr=f"{follow_up} · {follow_up.person}"[:200],
            changes={"assigned_to": {"before": before, "after": assigned_to.pk}},
        )
    return follow_up


def clean_months(value: Any) -> list[int]:
    """A plan's months: whole numbers from 1 to 60, each once, in order. Accepts a list
    or text such as "3, 6, 12"; raises ValidationError on months_after."""
    items = value.replace(";", ",").split(",") if isinstance(value, str) else list(value or [])
    months: set[int] = set()
    for raw in items:
        text = str(raw).strip()
        if not text:
            continue
        if isinstance(raw, bool) or not text.isdigit() or not 1 <= int(text) <= MAX_PLAN_MONTHS:
            raise ValidationError(
                {
                    "months_after": _("%(value)s is not a number of months from 1 to %(max)s.")
                    % {"value": text, "max": MAX_PLAN_MONTHS}
                }
            )
        months.add(int(text))
    return sorted(months)


@transaction.atomic
def plan_update(
    *,
    actor: Any,
    plan: FollowUpPlan,
    months_after: Any = None,
    monthly_while_active: bool | None = None,
    active: bool | None = None,
) -> FollowUpPlan:
    """Change when a component's visits fall due. Visits already scheduled stay; the new
    plan applies to what happens from now on."""
    access.require(actor, MANAGE_INTERVENTIONS)
    plan = FollowUpPlan.objects.select_for_update().get(pk=plan.pk)
    before = snapshot(plan, PLAN_FIELDS)
    if months_after is not None:
        plan.months_after = clean_months(months_after)
    if monthly_while_active is not None:
        plan.monthly_while_active = bool(monthly_while_active)
    if active is not None:
        plan.active = bool(active)
    plan.save()
    changed = audit.diff(before, snapshot(plan, PLAN_FIELDS))
    if changed:
        audit.record(actor=actor, action="update", obj=plan, changes=changed)
    return plan
