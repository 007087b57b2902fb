"""Education support: scholarships, school materials, uniforms, transport, non-formal
education and catch-up classes given to a child, and the child's school record term
by term (enrolled, days attended of the school days, dropped out and why).

Recording needs RECORD_INTERVENTIONS where the child lives and the child's consent
(given by a parent, with the child's assent) for services. Starting support schedules
the education follow-up visits (6 and 12 months by default).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import RECORD_INTERVENTIONS
from ctip.core import audit
from ctip.registry.consent import has_consent
from ctip.registry.models import ConsentPurpose, Currency, Person
from ctip.registry.selectors import persons_visible_to, restricted
from ctip.registry.services import FORMULA_PREFIXES

from ..dates import add_months
from ..followup_plans import follow_ups_schedule
from ..models import Component, EducationSupport, FollowUp, FollowUpStatus, SchoolTerm, SupportKind

MAX_AMOUNT = Decimal("99999999999999.99")
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


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _json(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


def _name(person: Person) -> str:
    return person.full_name or _("Person %(id)s") % {"id": person.pk}


def _text(value: Any, field: str, errors: dict[str, str], *, limit: int | None) -> str:
    text = str(value or "").strip()
    if text.startswith(FORMULA_PREFIXES):
        errors[field] = _(
            "Text may not start with %(chars)s (it could run as a spreadsheet formula)."
        ) % {"chars": " ".join(FORMULA_PREFIXES)}
    elif limit is not None and len(text) > limit:
        errors[field] = _("At most %(n)s characters.") % {"n": limit}
    return text


def _date(
    value: Any, field: str, errors: dict[str, str], *, past: bool, optional: bool = False
) -> dt.date | None:
    if value in (None, ""):
        if not optional:
            errors[field] = _("Give the date.")
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value))
        except ValueError:
            errors[field] = _("Give the date as YYYY-MM-DD.")
            return None
    if past and value > timezone.localdate():
        errors[field] = _("%(day)s is in the future.") % {"day": value.isoformat()}
    return value


def _amount(value: Any, field: str, errors: dict[str, str]) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        amount = Decimal("NaN")
    if not amount.is_finite():
        errors[field] = _("Give an amount such as 150000 or 12.50.")
    elif amount < 0:
        errors[field] = _("The amount cannot be negative.")
    elif amount != amount.quantize(Decimal("0.01")):
        errors[field] = _("At most 2 decimal places.")
    elif amount > MAX_AMOUNT:
        errors[field] = _("The amount is too large.")
    else:
        return amount.quantize(Decimal("0.01"))
    return None


def _whole(value: Any, field: str, errors: dict[str, str], *, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(str(value).strip())
    except (TypeError, ValueError):
        errors[field] = _("Give a whole number.")
        return None
    if not low <= number <= high:
        errors[field] = _("Give a number from %(low)s to %(high)s.") % {"low": low, "high": high}
        return None
    return number


def check_child(actor: Any, person: Person, errors: dict[str, str], field: str = "person") -> None:
    """The actor may record for this child: a person they see, where they record
    interventions (else PermissionDenied), not restricted, with consent for services."""
    access.require(actor, RECORD_INTERVENTIONS)
    name = _name(person)
    if not persons_visible_to(actor).filter(pk=person.pk).exists():
        errors[field] = _("%(name)s is not a person in your areas.") % {"name": name}
        return
    person = Person.objects.select_related("household__village").get(pk=person.pk)
    access.require_in(actor, RECORD_INTERVENTIONS, person.household.village)
    rows = Person.objects.filter(pk=person.pk)
    if rows.filter(restricted()).exists():
        errors[field] = _(
            "%(name)s withdrew consent to registration: their record is no longer used."
        ) % {"name": name}
    elif not rows.filter(has_consent(ConsentPurpose.SERVICES)).exists():
        errors[field] = _("%(name)s has no consent for referral to and delivery of services.") % {
            "name": name
        }


# --------------------------------------------------------------------------------------
# Support given.


def _clean_support(values: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    kind = values.get("kind") or ""
    if kind not in SupportKind.values:
        errors["kind"] = _("Choose the kind of support.")
    out["kind"] = kind
    for field, limit in SUPPORT_TEXT.items():
        out[field] = _text(values.get(field), field, errors, limit=limit)
    out["note"] = _text(values.get("note"), "note", errors, limit=None)
    out["starts_on"] = _date(values.get("starts_on"), "starts_on", errors, past=True)
    out["ends_on"] = _date(values.get("ends_on"), "ends_on", errors, past=False, optional=True)
    if out["starts_on"] and out["ends_on"] and out["ends_on"] < out["starts_on"]:
        errors["ends_on"] = _("The support cannot end before it starts (%(day)s).") % {
            "day": out["starts_on"].isoformat()
        }
    out["amount"] = _amount(values.get("amount"), "amount", errors)
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
    return {f: _json(getattr(s, f)) for f in SUPPORT_FIELDS}


@transaction.atomic
def education_support_create(*, actor: Any, person: Person, **values: Any) -> EducationSupport:
    """Record support given to a child and schedule the follow-up visits from the day
    it started."""
    errors: dict[str, str] = {}
    check_child(actor, person, errors)
    data = _clean_support(values, errors)
    if errors:
        raise ValidationError(errors)
    support = EducationSupport.objects.create(person=person, **data, created_by=_user(actor))
    audit.record(
        actor=actor,
        action="create",
        obj=support,
        object_repr=f"{support} · {_name(person)}"[:200],
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
        ) % {"name": _name(person)}
    if support is not None and support.person_id != person.pk:
        errors["support"] = _("This support was given to someone else.")
    year = clean_school_year(school_year, errors)
    number = _whole(term, "term", errors, low=1, high=3)
    if number is None and "term" not in errors:
        errors["term"] = _("Give the term: 1, 2 or 3.")
    possible = _whole(days_possible, "days_possible", errors, low=0, high=MAX_SCHOOL_DAYS)
    attended = _whole(days_attended, "days_attended", errors, low=0, high=MAX_SCHOOL_DAYS)
    if attended is not None and "days_possible" not in errors:
        if possible is None:
            errors["days_possible"] = _("Give the school days of the term too.")
        elif attended > possible:
            errors["days_attended"] = _(
                "%(attended)s days attended is more than the %(possible)s school days."
            ) % {"attended": attended, "possible": possible}
    if not enrolled and attended:
        errors["days_attended"] = _("A child not enrolled this term attended no days.")
    reason = _text(dropout_reason, "dropout_reason", errors, limit=300)
    if dropped_out and not reason and "dropout_reason" not in errors:
        errors["dropout_reason"] = _("Give the reason the child dropped out.")
    elif reason and not dropped_out:
        errors["dropout_reason"] = _("A reason is only given when the child dropped out.")
    values = {
        "school_name": _text(school_name, "school_name", errors, limit=200),
        "grade": _text(grade, "grade", errors, limit=20),
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
    user, now = _user(actor), timezone.now()
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
            object_repr=f"{_name(person)} {year} T{number}"[:200],
            changes={
                "person": person.pk,
                "school_year": year,
                "term": number,
                **{f: _json(getattr(row, f)) for f in TERM_FIELDS},
            },
        )
        return row
    before = {f: _json(getattr(row, f)) for f in TERM_FIELDS}
    for field, value in values.items():
        setattr(row, field, value)
    changed = audit.diff(before, {f: _json(getattr(row, f)) for f in TERM_FIELDS})
    if changed:
        row.recorded_by, row.recorded_at = user, now
        row.save()
        audit.record(
            actor=actor,
            action="update",
            obj=row,
            object_repr=f"{_name(person)} {year} T{number}"[:200],
            changes=changed,
        )
    return row
