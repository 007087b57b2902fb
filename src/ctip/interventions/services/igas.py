"""Writes to income-generating activities (with their cost lines, all or nothing) and
to the migration wage benchmarks they are compared with. Each runs in one transaction
and leaves an audit event.

An activity belongs to a household and is run by one of its members, who must have
consented to receive services. Once it has started, the IGA follow-up plan's visits
(3, 6 and 12 months after the start by default) are scheduled; a changed start date
moves the visits still due.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import MANAGE_INTERVENTIONS, RECORD_INTERVENTIONS
from ctip.core import audit
from ctip.registry import selectors as registry
from ctip.registry.models import Currency, Household, Person

from ..followup_plans import due_dates, follow_ups_schedule
from ..models import (
    ActivityCost,
    ActivityStatus,
    Component,
    CostKind,
    FollowUp,
    FollowUpPlan,
    FollowUpStatus,
    IncomeActivity,
    MigrationBenchmark,
    Sector,
)
from .checks import (
    author,
    check_services_consent,
    clean_amount,
    clean_choice,
    clean_date,
    clean_text,
    snapshot,
)

MAX_VOLUME = Decimal("9999999999.99")
MAX_COST_LINES = 100

ACTIVITY_FIELDS = (
    "person",
    "title",
    "sector",
    "unit",
    "expected_price",
    "expected_volume",
    "currency",
    "benchmark",
    "started_on",
    "status",
    "market_notes",
)
EDITABLE = frozenset(ACTIVITY_FIELDS)
BENCHMARK_FIELDS = (
    "destination",
    "destination_country",
    "sector",
    "monthly_wage",
    "monthly_costs",
    "currency",
    "source",
    "valid_from",
    "active",
)


def _costs_snapshot(lines: Iterable[ActivityCost]) -> list[dict[str, str]]:
    return [{"item": c.item, "kind": c.kind, "amount": str(c.amount)} for c in lines]


# -- activities --------------------------------------------------------------------------


def _check_person(
    actor: Any, household: Household, person: Person | None, errors: dict[str, Any]
) -> None:
    if person is None:
        errors["person"] = _("Say which member of the household runs the activity.")
        return
    if person.household_id != household.pk:
        errors["person"] = _("%(person)s is not a member of household %(household)s.") % {
            "person": person,
            "household": household.code,
        }
        return
    if not registry.persons_visible_to(actor).filter(pk=person.pk).exists():
        errors["person"] = _("No person #%(id)s in your areas.") % {"id": person.pk}
    else:
        check_services_consent(person, errors)


def _benchmark(value: Any, errors: dict[str, Any], current: Any = None) -> Any:
    if value in (None, ""):
        return None
    # Read afresh: whether it is still in use is the database's answer, not the caller's.
    ref = value.pk if isinstance(value, MigrationBenchmark) else value
    try:
        bench = MigrationBenchmark.objects.filter(pk=int(str(ref))).first()
    except ValueError:
        bench = None
    if bench is None:
        errors["benchmark"] = _("No migration benchmark #%(id)s.") % {"id": ref}
        return None
    # A benchmark no longer in use stays on the activities that chose it, but is not
    # chosen anew.
    if not bench.active and getattr(current, "pk", None) != bench.pk:
        errors["benchmark"] = _("The benchmark %(benchmark)s is no longer in use.") % {
            "benchmark": bench
        }
    return bench


def _clean_activity(values: Mapping[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    """Checked values of the fields given (not the person, checked against the household)."""
    out: dict[str, Any] = {}
    if "title" in values:
        out["title"] = clean_text(
            values["title"], "title", errors, max_length=200, required=True, formula_ok=True
        )
    if "sector" in values:
        out["sector"] = clean_choice(values["sector"], "sector", errors, choices=Sector.values)
    if "unit" in values:
        out["unit"] = clean_text(
            values["unit"], "unit", errors, max_length=40, required=True, formula_ok=True
        )
    if "expected_price" in values:
        out["expected_price"] = clean_amount(values["expected_price"], "expected_price", errors)
    if "expected_volume" in values:
        out["expected_volume"] = clean_amount(
            values["expected_volume"], "expected_volume", errors, maximum=MAX_VOLUME
        )
    if "currency" in values:
        out["currency"] = clean_choice(
            values["currency"], "currency", errors, choices=Currency.values
        )
    if "started_on" in values:
        out["started_on"] = clean_date(values["started_on"], "started_on", errors, required=False)
    if "status" in values:
        out["status"] = clean_choice(
            values["status"], "status", errors, choices=ActivityStatus.values
        )
    if "market_notes" in values:
        out["market_notes"] = clean_text(
            values["market_notes"], "market_notes", errors, max_length=10000
        )
    return out


def _clean_costs(raw: Sequence[Mapping[str, Any]], errors: dict[str, Any]) -> list[dict[str, Any]]:
    """Cost lines checked row by row, errors keyed `costs[n].field` (n from 1)."""
    if len(raw) > MAX_COST_LINES:
        errors["costs"] = _("At most %(n)s cost lines.") % {"n": MAX_COST_LINES}
        return []
    lines = []
    for n, row in enumerate(raw, start=1):
        item = clean_text(
            row.get("item"),
            f"costs[{n}].item",
            errors,
            max_length=200,
            required=True,
            formula_ok=True,
        )
        kind = clean_choice(row.get("kind"), f"costs[{n}].kind", errors, choices=CostKind.values)
        amount = clean_amount(row.get("amount"), f"costs[{n}].amount", errors)
        lines.append({"item": item, "kind": kind, "amount": amount})
    return lines


def _check_status(values: Mapping[str, Any], errors: dict[str, Any]) -> None:
    status, started = values.get("status"), values.get("started_on")
    if "status" in errors or "started_on" in errors:
        return
    if status == ActivityStatus.RUNNING and started is None:
        errors["started_on"] = _("Say when the activity started.")
    elif status == ActivityStatus.PLANNED and started is not None:
        errors["status"] = _("An activity that has started is running or stopped.")


def _schedule_follow_ups(actor: Any, activity: IncomeActivity) -> list[FollowUp]:
    """The plan's visits from the start date; visits still due that the start date no
    longer calls for are cancelled."""
    started = activity.started_on
    if started is None or activity.status == ActivityStatus.PLANNED or activity.person is None:
        return []
    assert activity.person is not None
    made = follow_ups_schedule(
        actor=actor,
        person=activity.person,
        component=Component.IGA,
        reference=started,
        activity=activity,
    )
    still_due = set(
        FollowUp.objects.filter(activity=activity, status=FollowUpStatus.DUE).values_list(
            "due_on", flat=True
        )
    )
    plan = FollowUpPlan.objects.filter(component=Component.IGA, active=True).first()
    wanted = {due for due, _m in due_dates(plan, started)} if plan else set()
    stale = FollowUp.objects.filter(
        activity=activity, status=FollowUpStatus.DUE, due_on__in=still_due - wanted
    )
    stale_ids = list(stale.values_list("pk", flat=True))
    if stale_ids:
        FollowUp.objects.filter(pk__in=stale_ids).update(
            status=FollowUpStatus.CANCELLED,
            outcome=_("The activity's start date changed to %(date)s.")
            % {"date": started.isoformat()},
            updated_at=timezone.now(),
        )
        audit.record(
            actor=actor,
            action="update",
            object_type="interventions.followup",
            object_repr=str(activity)[:200],
            changes={"cancelled": stale_ids, "reason": "start date changed"},
        )
    return made


@transaction.atomic
def activity_create(
    *,
    actor: Any,
    household: Household,
    person: Person | None,
    title: str,
    sector: str,
    unit: str,
    expected_price: Decimal | str,
    expected_volume: Decimal | str,
    currency: str,
    benchmark: MigrationBenchmark | int | None = None,
    started_on: dt.date | None = None,
    status: str = ActivityStatus.PLANNED,
    market_notes: str = "",
    costs: Sequence[Mapping[str, Any]] = (),
) -> IncomeActivity:
    """A new activity with its cost lines, all or nothing; errors name the field, and
    the row for cost lines (`costs[2].amount`)."""
    access.require_in(actor, RECORD_INTERVENTIONS, household.village)
    errors: dict[str, Any] = {}
    values = _clean_activity(
        {
            "title": title,
            "sector": sector,
            "unit": unit,
            "expected_price": expected_price,
            "expected_volume": expected_volume,
            "currency": currency,
            "started_on": started_on,
            "status": status,
            "market_notes": market_notes,
        },
        errors,
    )
    _check_status(values, errors)
    _check_person(actor, household, person, errors)
    values["benchmark"] = _benchmark(benchmark, errors)
    lines = _clean_costs(costs, errors)
    if errors:
        raise ValidationError(errors)
    activity = IncomeActivity.objects.create(
        household=household, person=person, created_by=author(actor), **values
    )
    made = ActivityCost.objects.bulk_create(ActivityCost(activity=activity, **c) for c in lines)
    audit.record(
        actor=actor,
        action="create",
        obj=activity,
        changes={
            "household": household.pk,
            **snapshot(activity, ACTIVITY_FIELDS),
            "costs": _costs_snapshot(made),
        },
    )
    _schedule_follow_ups(actor, activity)
    return activity


@transaction.atomic
def activity_update(
    *,
    actor: Any,
    activity: IncomeActivity,
    costs: Sequence[Mapping[str, Any]] | None = None,
    **changes: Any,
) -> IncomeActivity:
    """Change an activity; `costs`, when given, replaces every cost line (all or nothing)."""
    household = activity.household
    access.require_in(actor, RECORD_INTERVENTIONS, household.village)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValidationError({k: _("This cannot be changed.") for k in sorted(unknown)})
    activity = (
        IncomeActivity.objects.select_for_update(of=("self",))
        .select_related("household__village", "person", "benchmark")
        .get(pk=activity.pk)
    )
    errors: dict[str, Any] = {}
    values = _clean_activity(changes, errors)
    merged = {
        "status": values.get("status", activity.status),
        "started_on": values.get("started_on", activity.started_on),
    }
    _check_status(merged, errors)
    if "person" in changes and changes["person"] != activity.person:
        _check_person(actor, household, changes["person"], errors)
        values["person"] = changes["person"]
    if "benchmark" in changes:
        values["benchmark"] = _benchmark(changes["benchmark"], errors, activity.benchmark)
    lines = _clean_costs(costs, errors) if costs is not None else None
    if errors:
        raise ValidationError(errors)
    before = {
        **snapshot(activity, ACTIVITY_FIELDS),
        "costs": _costs_snapshot(activity.costs.all()),
    }
    old_person = activity.person
    for key, value in values.items():
        setattr(activity, key, value)
    activity.save()
    if lines is not None:
        activity.costs.all().delete()
        ActivityCost.objects.bulk_create(ActivityCost(activity=activity, **c) for c in lines)
    after = {**snapshot(activity, ACTIVITY_FIELDS), "costs": _costs_snapshot(activity.costs.all())}
    changed = audit.diff(before, after)
    if changed:
        audit.record(actor=actor, action="update", obj=activity, changes=changed)
    if activity.person != old_person and activity.person is not None:
        # Visits still to make follow whoever runs the activity now.
        FollowUp.objects.filter(activity=activity, status=FollowUpStatus.DUE).update(
            person=activity.person, updated_at=timezone.now()
        )
    _schedule_follow_ups(actor, activity)
    return activity


# -- migration benchmarks ----------------------------------------------------------------


def _clean_benchmark(values: Mapping[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "destination" in values:
        out["destination"] = clean_text(
            values["destination"], "destination", errors, max_length=120, required=True
        )
    if "destination_country" in values:
        code = str(values["destination_country"] or "").strip().upper()
        if len(code) != 2 or not code.isascii() or not code.isalpha():
            errors["destination_country"] = _("Two letters: the country's ISO code (TH, MY...).")
        out["destination_country"] = code
    if "sector" in values:
        out["sector"] = clean_choice(values["sector"], "sector", errors, choices=Sector.values)
    if "monthly_wage" in values:
        out["monthly_wage"] = clean_amount(values["monthly_wage"], "monthly_wage", errors)
    if "monthly_costs" in values:
        out["monthly_costs"] = clean_amount(
            values["monthly_costs"] if values["monthly_costs"] is not None else 0,
            "monthly_costs",
            errors,
        )
    if "currency" in values:
        out["currency"] = clean_choice(
            values["currency"], "currency", errors, choices=Currency.values
        )
    if "source" in values:
        out["source"] = clean_text(
            values["source"], "source", errors, max_length=300, formula_ok=True
        )
    if "valid_from" in values:
        out["valid_from"] = clean_date(values["valid_from"], "valid_from", errors, past=False)
    if "active" in values:
        out["active"] = bool(values["active"])
    return out


@transaction.atomic
def benchmark_create(
    *,
    actor: Any,
    destination: str,
    destination_country: str,
    sector: str,
    monthly_wage: Decimal | str,
    currency: str,
    valid_from: dt.date,
    monthly_costs: Decimal | str = Decimal(0),
    source: str = "",
    active: bool = True,
) -> MigrationBenchmark:
    """What migrating to a destination and sector typically earns a month, net of living
    costs there (for programme managers and provincial officers)."""
    access.require(actor, MANAGE_INTERVENTIONS)
    errors: dict[str, Any] = {}
    values = _clean_benchmark(
        {
            "destination": destination,
            "destination_country": destination_country,
            "sector": sector,
            "monthly_wage": monthly_wage,
            "monthly_costs": monthly_costs,
            "currency": currency,
            "source": source,
            "valid_from": valid_from,
            "active": active,
        },
        errors,
    )
    if errors:
        raise ValidationError(errors)
    bench = MigrationBenchmark.objects.create(**values)
    audit.record(actor=actor, action="create", obj=bench, changes=snapshot(bench, BENCHMARK_FIELDS))
    return bench


@transaction.atomic
def benchmark_update(
    *, actor: Any, benchmark: MigrationBenchmark, **changes: Any
) -> MigrationBenchmark:
    """Change a benchmark. Activities compared with it are compared with the new figures;
    to keep an old comparison, add a new benchmark and retire this one."""
    access.require(actor, MANAGE_INTERVENTIONS)
    unknown = set(changes) - set(BENCHMARK_FIELDS)
    if unknown:
        raise ValidationError({k: _("This cannot be changed.") for k in sorted(unknown)})
    errors: dict[str, Any] = {}
    values = _clean_benchmark(changes, errors)
    if errors:
        raise ValidationError(errors)
    bench = MigrationBenchmark.objects.select_for_update().get(pk=benchmark.pk)
    before = snapshot(bench, BENCHMARK_FIELDS)
    for key, value in values.items():
        setattr(bench, key, value)
    bench.save()
    changed = audit.diff(before, snapshot(bench, BENCHMARK_FIELDS))
    if changed:
        audit.record(actor=actor, action="update", obj=bench, changes=changed)
    return bench
