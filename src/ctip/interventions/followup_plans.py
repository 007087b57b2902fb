"""When follow-up visits fall due: the plan per component, and the visits it makes.

Every component that records help given to a person calls `follow_ups_schedule` when
the reference event happens (a course completed, a loan disbursed, support started);
the plan says which visits that makes. Visits are recorded in services/followups.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from ctip.core import audit
from ctip.core.actors import author
from ctip.registry.models import Person

from .dates import add_months
from .models import Component, FollowUp, FollowUpPlan

# component: (months after the reference date, every month while active)
DEFAULT_PLANS: dict[str, tuple[list[int], bool]] = {
    Component.TRAINING: ([3, 6, 12], False),
    Component.LOAN: ([], True),
    Component.IGA: ([3, 6, 12], False),
    Component.EDUCATION: ([6, 12], False),
    Component.SAVINGS: ([6], False),
}


def load_default_plans() -> int:
    """Create the default plans that do not exist yet; returns how many were made."""
    made = 0
    for component, (months, monthly) in DEFAULT_PLANS.items():
        _, created = FollowUpPlan.objects.get_or_create(
            component=component,
            defaults={"months_after": months, "monthly_while_active": monthly},
        )
        made += created
    return made


def due_dates(
    plan: FollowUpPlan, reference: dt.date, until: dt.date | None = None
) -> list[tuple[dt.date, int]]:
    """(due date, months after reference) of each visit a plan makes, in date order."""
    months = set(int(m) for m in plan.months_after or [])
    if plan.monthly_while_active and until is not None:
        n = 1
        while add_months(reference, n) <= until:
            months.add(n)
            n += 1
    return [(add_months(reference, m), m) for m in sorted(months)]


@transaction.atomic
def follow_ups_schedule(
    *,
    actor: Any,
    person: Person,
    component: str,
    reference: dt.date,
    until: dt.date | None = None,
    assigned_to: Any = None,
    enrolment: Any = None,
    loan: Any = None,
    activity: Any = None,
    education_support: Any = None,
) -> list[FollowUp]:
    """Make the visits the component's plan asks for, counted from `reference`
    (`until` bounds monthly visits, e.g. the loan's last due date). Visits already
    scheduled for the same record and date are not made twice. The caller has
    checked the actor's rights over the record."""
    plan = FollowUpPlan.objects.filter(component=component, active=True).first()
    if plan is None:
        return []
    links = {
        "enrolment": enrolment,
        "loan": loan,
        "activity": activity,
        "education_support": education_support,
    }
    existing = set(
        FollowUp.objects.filter(person=person, component=component, **links).values_list(
            "due_on", flat=True
        )
    )
    user = author(actor)
    made = [
        FollowUp(
            person=person,
            component=component,
            due_on=due,
            months_after=months,
            assigned_to=assigned_to or user,
            **links,
        )
        for due, months in due_dates(plan, reference, until)
        if due not in existing
    ]
    FollowUp.objects.bulk_create(made)
    if made:
        audit.record(
            actor=actor,
            action="create",
            object_type="interventions.followup",
            object_repr=str(person)[:200],
            changes={
                "component": component,
                "person": person.pk,
                "due_on": [str(f.due_on) for f in made],
            },
        )
    return made
