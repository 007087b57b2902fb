"""Education support: scholarships, school materials, uniforms, transport, non-formal
education and catch-up classes given to a child, and the child's school record term
by term (enrolled, days attended of the school days, dropped out and why).

Recording needs RECORD_INTERVENTIONS where the child lives and the child's consent
(given by a parent, with the child's assent) for services. Starting support schedules
the education follow-up visits (6 and 12 months by default).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import RECORD_INTERVENTIONS
from ctip.core import audit
from ctip.registry.models import Currency, Person
from ctip.registry.selectors import persons_visible_to

from ..dates import add_months
from ..followup_plans import follow_ups_schedule
from ..models import Component, EducationSupport, FollowUp, FollowUpStatus, SchoolTerm, SupportKind
from .checks import (
    author,
    check_services_consent,
    clean_amount,
    clean_date,
    clean_text,
    clean_whole,
    snapshot,
)

MAX_SCHOOL_DAYS = 366
SCHOOL_YEAR = re.compile(r"^(\d{4})-(\d{4})$")
SUPPORT_TEXT = {"school_name": 200, "grade": 20, "provider": 200}
SUPPORT_FIELDS = (
    "kind",
    "school_name",
    "grade",
    "starts_on",
    "ends_on",
    "amount",
    "currency",
    "provider",
    "note",
)
TERM_FIELDS = (
    "school_name",
    "grade",
    "enrolled",
    "days_attended",
    "days_possible",
    "dropped_out",
    "dropout_reason",
    "support",
)


def check_child(actor: Any, person: Person, errors: dict[str, str], field: str = "person") -> None:
    """The actor may record for this child: a person they see, where they record
    interventions (else PermissionDenied), not restricted, with consent for services."""
    access.require(actor, RECORD_INTERVENTIONS)
    name = person.full_name
    if not persons_visible_to(actor).filter(pk=person.pk).exists():
        errors[field] = _("%(name)s is not a person in your areas.") % {"name": name}
        return
    person = Person.objects.select_related("household__village").get(pk=person.pk)
    access.require_in(actor, RECORD_INTERVENTIONS, person.household.village)
    check_services_consent(person, errors, field)


# --------------------------------------------------------------------------------------
# Support given.


def _clean_support(values: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    kind = values.get("kind") or ""
    if kind not in SupportKind.values:
        errors["kind"] = _("Choose the kind of support.")
    out["kind"] = kind
    for field, limit in SUPPORT_TEXT.items():
        out[field] = clean_text(values.get(field), field, errors, max_length=limit)
    out["note"] = clean_text(values.get("note"), "note", errors, max_length=None)
    out["starts_on"] = clean_date(values.get("starts_on"), "starts_on", errors)
    out["ends_on"] = clean_date(
        values.get("ends_on"), "ends_on", errors, required=False, past=False
    )
    if out["starts_on"] and out["ends_on"] and out["ends_on"] < out["starts_on"]:
        errors["ends_on"] = _("The support cannot end before it starts (%(day)s).") % {
            "day": out["starts_on"].isoformat()
        }
    out["amount"] = clean_amount(values.get("amount"), "amount", errors, required=False)
    currency = values.get("currency") or ""
    if out["amount"] is not None and currency not in Currency.values:
        errors["currency"] = _("Give the currency of the value: KHR, VND or USD.")
    elif out["amount"] is None and currency and "amount" not in errors:
        errors["amount"] = _("Give the value in %(currency)s, or leave the currency empty.") % {
            "currency": currency
        }
    out["currency"] = currency if out["amount"] is not None else ""
    return out


def _support_snapshot(s: EducationSupport) -> dict[str, Any]:
    return snapshot(s, SUPPORT_FIELDS)


@transaction.atomic
def education_support_create(*, actor: Any, person: Person, **values: Any) -> EducationSupport:
    """Record support given to a child and schedule the follow-up visits from the day
    it started."""
    errors: dict[str, str] = {}
    check_child(actor, person, errors)
    data = _clean_support(values, errors)
    if errors:
        raise ValidationError(errors)
    support = EducationSupport.objects.create(person=person, **data, created_by=author(actor))
    audit.record(
        actor=actor,
        action="create",
        obj=support,
        object_repr=f"{support} · {person.full_name}"[:200],
        changes={"person": person.pk, **_support_snapshot(support)},
    )
    follow_ups_schedule(
        actor=actor,
        person=person,
        component=Component.EDUCATION,
        reference=support.starts_on,
        education_support=support,
    )
    return support


@transaction.atomic
def education_support_update(
    *, actor: Any, support: EducationSupport, **changes: Any
) -> EducationSupport:
    """Correct a support record (the child stays the same). When its start moves, the
    visits still due move with it."""
    support = (
        EducationSupport.objects.select_for_update(of=("self",))
        .select_related("person")
        .get(pk=support.pk)
    )
    errors: dict[str, str] = {}
    check_child(actor, support.person, errors)
    values = {f: getattr(support, f) for f in SUPPORT_FIELDS}
    values.update({k: v for k, v in changes.items() if k in SUPPORT_FIELDS})
    data = _clean_support(values, errors)
    if errors:
        raise ValidationError(errors)
    before = _support_snapshot(support)
    moved = data["starts_on"] != support.starts_on
    for field, value in data.items():
        setattr(support, field, value)
    support.save()
    changed: dict[str, Any] = dict(audit.diff(before, _support_snapshot(support)))
    if moved:
        due = list(
            FollowUp.objects.filter(
                education_support=support, status=FollowUpStatus.DUE, months_after__isnull=False
            )
        )
        for visit in due:
            assert visit.months_after is not None
            visit.due_on = add_months(support.starts_on, visit.months_after)
        FollowUp.objects.bulk_update(due, ["due_on"])
        if due:
            changed["follow_ups_moved"] = len(due)
    if changed:
        audit.record(actor=actor, action="update", obj=support, changes=changed)
    return support


# --------------------------------------------------------------------------------------
# The school record, term by term.


def clean_school_year(value: Any, errors: dict[str, str]) -> str:
    """'2026-2027': two consecutive years, the first not after this year."""
    text = str(value or "").strip()
    match = SCHOOL_YEAR.match(text)
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        errors["school_year"] = _("Give the school year as two consecutive years, e.g. 2026-2027.")
    elif not 2000 <= int(match.group(1)) <= timezone.localdate().year:
        errors["school_year"] = _("The school year %(year)s is not one recorded yet.") % {
            "year": text
        }
    return text


@transaction.atomic
def school_term_record(
    *,
    actor: Any,
    person: Person,
    school_year: str,
    term: int,
    enrolled: bool = True,
    days_attended: int | None = None,
    days_possible: int | None = None,
    dropped_out: bool = False,
    dropout_reason: str = "",
    school_name: str = "",
    grade: str = "",
    support: EducationSupport | None = None,
) -> SchoolTerm:
    """Record (or correct) a supported child's school term: one record per child,
    school year and term."""
    errors: dict[str, str] = {}
    check_child(actor, person, errors)
    supports = EducationSupport.objects.filter(person_id=person.pk)
    if "person" not in errors and not supports.exists():
        errors["person"] = _(
            "%(name)s has no education support recorded: record the support first."
        ) % {"name": person.full_name}
    if support is not None and support.person_id != person.pk:
        errors["support"] = _("This support was given to someone else.")
    year = clean_school_year(school_year, errors)
    number = clean_whole(term, "term", errors, low=1, high=3, required=False)
    if number is None and "term" not in errors:
        errors["term"] = _("Give the term: 1, 2 or 3.")
    possible = clean_whole(
        days_possible, "days_possible", errors, low=0, high=MAX_SCHOOL_DAYS, required=False
    )
    attended = clean_whole(
        days_attended, "days_attended", errors, low=0, high=MAX_SCHOOL_DAYS, required=False
    )
    if attended is not None and "days_possible" not in errors:
        if possible is None:
            errors["days_possible"] = _("Give the school days of the term too.")
        elif attended > possible:
            errors["days_attended"] = _(
                "%(attended)s days attended is more than the %(possible)s school days."
            ) % {"attended": attended, "possible": possible}
    if not enrolled and attended:
        errors["days_attended"] = _("A child not enrolled this term attended no days.")
    reason = clean_text(dropout_reason, "dropout_reason", errors, max_length=300)
    if dropped_out and not reason and "dropout_reason" not in errors:
        errors["dropout_reason"] = _("Give the reason the child dropped out.")
    elif reason and not dropped_out:
        errors["dropout_reason"] = _("A reason is only given when the child dropped out.")
    values = {
        "school_name": clean_text(school_name, "school_name", errors, max_length=200),
        "grade": clean_text(grade, "grade", errors, max_length=20),
        "enrolled": bool(enrolled),
        "days_attended": attended,
        "days_possible": possible,
        "dropped_out": bool(dropped_out),
        "dropout_reason": reason,
    }
    if errors:
        raise ValidationError(errors)
    assert number is not None
    values["support"] = support or supports.order_by("-starts_on", "-id").first()
    row = (
        SchoolTerm.objects.select_for_update(of=("self",))
        .filter(person_id=person.pk, school_year=year, term=number)
        .first()
    )
    user, now = author(actor), timezone.now()
    if row is None:
        row = SchoolTerm.objects.create(
            person=person,
            school_year=year,
            term=number,
            recorded_by=user,
            recorded_at=now,
            **values,
        )
        audit.record(
            actor=actor,
            action="create",
            obj=row,
            object_repr=f"{person.full_name} {year} T{number}"[:200],
            changes={
                "person": person.pk,
                "school_year": year,
                "term": number,
                **snapshot(row, TERM_FIELDS),
            },
        )
        return row
    before = snapshot(row, TERM_FIELDS)
    for field, value in values.items():
        setattr(row, field, value)
    changed = audit.diff(before, snapshot(row, TERM_FIELDS))
    if changed:
        row.recorded_by, row.recorded_at = user, now
        row.save()
        audit.record(
            actor=actor,
            action="update",
            obj=row,
            object_repr=f"{person.full_name} {year} T{number}"[:200],
            changes=changed,
        )
    return row
