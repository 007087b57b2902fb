"""Writes to the registry. Each runs in one transaction and leaves an audit event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import CHANGE_PERSONS
from ctip.core import audit
from ctip.core.actors import author
from ctip.core.names import variant_key
from ctip.core.text import fold_all
from ctip.geography.models import Area, Level

from .models import (
    Consent,
    ConsentGiver,
    ConsentMethod,
    ConsentPurpose,
    Currency,
    Household,
    IdDocument,
    IncomeSource,
    Lender,
    Person,
    PovertyStatus,
    Relationship,
    SchoolStatus,
    Sex,
)

# Values masked in the audit trail's before/after.
SENSITIVE_FIELDS = ("date_of_birth", "phone", "disability")

MAX_AGE = 120
ADULT_AGE = 18
# Below this age a child is not asked for assent (too young to understand it).
ASSENT_FROM_AGE = 7
FORMULA_PREFIXES = ("=", "+", "-", "@")

HOUSEHOLD_FACTS = (
    "address",
    "external_id",
    "land_hectares",
    "income_sources",
    "monthly_income",
    "currency",
    "debt_amount",
    "lenders",
    "members_working_away",
    "members_with_disability",
    "single_parent",
    "child_headed",
    "poverty_status",
)
PERSON_FIELDS = (
    "relationship",
    "given_name_local",
    "family_name_local",
    "given_name_latin",
    "family_name_latin",
    "sex",
    "date_of_birth",
    "dob_estimated",
    "external_id",
    "school_status",
    "id_documents",
    "phone",
    "disability",
)
TEXT_FIELDS = (
    "address",
    "external_id",
    "given_name_local",
    "family_name_local",
    "given_name_latin",
    "family_name_latin",
    "phone",
)


def search_text_for(
    family_local: str, given_local: str, family_latin: str, given_latin: str
) -> str:
    """Folded names in both scripts, then the spelling-variant keys of the Latin ones
    (see core.names), so that search finds "Sokh Srei" for "Sok Srey"."""
    folded = fold_all(family_local, given_local, family_latin, given_latin)
    key = " ".join(w for w in variant_key(family_latin, given_latin).split() if w.isascii())
    return f"{folded} || {key}"[:500] if key else folded[:500]


def person_search_text(p: Person) -> str:
    return search_text_for(
        p.family_name_local, p.given_name_local, p.family_name_latin, p.given_name_latin
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {f: _json_value(getattr(obj, f)) for f in fields}


def _person_snapshot(p: Person) -> dict[str, Any]:
    return {"household": p.household_id, **_snapshot(p, PERSON_FIELDS)}


def formula_error(value: Any) -> str | None:
    if isinstance(value, str) and value.strip().startswith(FORMULA_PREFIXES):
        return _("Text may not start with %(chars)s (it could run as a spreadsheet formula).") % {
            "chars": " ".join(FORMULA_PREFIXES)
        }
    return None


def _codes(value: Any, allowed: Iterable[str], field: str, errors: dict[str, str]) -> list[str]:
    if value in (None, ""):
        return []
    items = [v.strip() for v in value.split(";")] if isinstance(value, str) else list(value)
    allowed = set(allowed)
    unknown = [v for v in items if v not in allowed]
    if unknown:
        errors[field] = _("Unknown value %(value)s; choose from %(choices)s.") % {
            "value": ", ".join(map(str, unknown)),
            "choices": ", ".join(sorted(allowed)),
        }
    return sorted(set(items) & allowed)


def _amount(value: Any, field: str, errors: dict[str, str]) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        errors[field] = _("%(value)s is not a number.") % {"value": value}
        return None
    if amount < 0 or not amount.is_finite():
        errors[field] = _("The amount cannot be negative.")
        return None
    return amount


def clean_household_facts(values: Mapping[str, Any]) -> dict[str, Any]:
    """Checked household facts (only the keys given); ValidationError naming each field."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in HOUSEHOLD_FACTS:
            raise TypeError(f"not a household fact: {key}")
        if key in TEXT_FIELDS:
            value = (value or "").strip()
            if err := formula_error(value):
                errors[key] = err
        elif key == "income_sources":
            value = _codes(value, IncomeSource.values, key, errors)
        elif key == "lenders":
            value = _codes(value, Lender.values, key, errors)
        elif key in ("land_hectares", "monthly_income", "debt_amount"):
            value = _amount(value, key, errors)
            if key == "land_hectares" and value is not None and value > 10_000:
                errors[key] = _("More than 10,000 hectares: check the unit (hectares).")
        elif key == "currency":
            value = value or ""
            if value and value not in Currency.values:
                errors[key] = _("Unknown currency %(value)s.") % {"value": value}
        elif key == "poverty_status":
            value = value or PovertyStatus.UNKNOWN
            if value not in PovertyStatus.values:
                errors[key] = _("Unknown poverty status %(value)s.") % {"value": value}
        elif key in ("members_working_away", "members_with_disability"):
            try:
                value = int(value or 0)
            except (TypeError, ValueError):
                errors[key] = _("%(value)s is not a whole number.") % {"value": value}
                continue
            if not 0 <= value <= 50:
                errors[key] = _("Give a number between 0 and 50.")
        elif key in ("single_parent", "child_headed"):
            value = bool(value)
        out[key] = value
    has_amount = out.get("monthly_income") is not None or out.get("debt_amount") is not None
    if has_amount and "currency" in out and not out["currency"]:
        errors["currency"] = _("Give the currency of the amounts.")
    if errors:
        raise ValidationError(errors)
    return out


def clean_person_fields(
    values: Mapping[str, Any], *, current: Person | None = None
) -> dict[str, Any]:
    """Checked person fields (only the keys given); ValidationError naming each field."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in PERSON_FIELDS:
            raise TypeError(f"not a person field: {key}")
        if key in TEXT_FIELDS:
            value = (value or "").strip()
            if err := formula_error(value):
                errors[key] = err
        elif key == "sex" and value not in Sex.values:
            errors["sex"] = _("Unknown sex %(value)r.") % {"value": value}
        elif key == "relationship" and value not in Relationship.values:
            errors["relationship"] = _("Unknown relationship %(value)r.") % {"value": value}
        elif key == "school_status":
            value = value or SchoolStatus.UNKNOWN
            if value not in SchoolStatus.values:
                errors[key] = _("Unknown school status %(value)r.") % {"value": value}
        elif key == "id_documents":
            value = _codes(value, IdDocument.values, key, errors)
        elif key in ("dob_estimated", "disability"):
            value = bool(value)
        elif key == "date_of_birth" and value is not None:
            today = timezone.localdate()
            if value > today:
                errors[key] = _("The date of birth is in the future.")
            elif today.year - value.year > MAX_AGE:
                errors[key] = _("That makes the person older than %(max)s years.") % {
                    "max": MAX_AGE
                }
        out[key] = value

    def final(name: str) -> Any:
        return out[name] if name in out else getattr(current, name, "") if current else ""

    if ("given_name_local" in out or "given_name_latin" in out or current is None) and not (
        final("given_name_local") or final("given_name_latin")
    ):
        errors["given_name_local"] = _("Give the person's name in local script or Latin letters.")
    if errors:
        raise ValidationError(errors)
    return out


def _check_external_id(model: type[Household] | type[Person], value: str, pk: int | None) -> None:
    others = model.objects.filter(external_id=value)
    if pk is not None:
        others = others.exclude(pk=pk)
    if value and others.exists():
        raise ValidationError(
            {"external_id": _("External id %(value)s is already used.") % {"value": value}}
        )


@transaction.atomic
def household_create(
    *, actor: Any, village: Area, code: str, address: str = "", **facts: Any
) -> Household:
    if village.level != Level.VILLAGE:
        raise ValidationError(
            {
                "village": _("Choose a village, not a %(level)s.")
                % {"level": village.get_level_display()}
            }
        )
    access.require_in(actor, CHANGE_PERSONS, village)
    code = (code or "").strip()
    if not code:
        raise ValidationError({"code": _("Give the household a code.")})
    if Household.objects.filter(code=code).exists():
        raise ValidationError(
            {"code": _("Household code %(code)s is already used.") % {"code": code}}
        )
    cleaned = clean_household_facts({"address": address, **facts})
    _check_external_id(Household, cleaned.get("external_id", ""), None)
    household = Household.objects.create(
        village=village, code=code, created_by=author(actor), **cleaned
    )
    audit.record(
        actor=actor,
        action="create",
        obj=household,
        changes=audit.diff(
            None, {"village": village.code, "code": code, **_snapshot(household, cleaned)}
        ),
    )
    return household


@transaction.atomic
def household_update(*, actor: Any, household: Household, **changes: Any) -> Household:
    """Change a household's facts (and, with `village`, move it to another village)."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    access.require_in(actor, CHANGE_PERSONS, household.village)
    before: dict[str, Any] = {"village": household.village.code}
    village = changes.pop("village", None)
    cleaned = clean_household_facts(changes)
    if "external_id" in cleaned:
        _check_external_id(Household, cleaned["external_id"], household.pk)
    before |= _snapshot(household, cleaned)
    if village is not None and village.pk != household.village_id:
        if village.level != Level.VILLAGE:
            raise ValidationError({"village": _("Choose a village.")})
        access.require_in(actor, CHANGE_PERSONS, village)
        household.village = village
    for key, value in cleaned.items():
        setattr(household, key, value)
    household.save()
    after = {"village": household.village.code, **_snapshot(household, cleaned)}
    changed = audit.diff(before, after)
    if changed:
        audit.record(actor=actor, action="update", obj=household, changes=changed)
    return household


@transaction.atomic
def person_create(*, actor: Any, household: Household, **fields: Any) -> Person:
    access.require_in(actor, CHANGE_PERSONS, household.village)
    fields.setdefault("sex", "")
    fields.setdefault("relationship", "")
    cleaned = clean_person_fields(fields)
    _check_external_id(Person, cleaned.get("external_id", ""), None)
    person = Person(household=household, created_by=author(actor), **cleaned)
    person.search_text = person_search_text(person)
    person.save()
    audit.record(
        actor=actor,
        action="create",
        obj=person,
        changes=audit.diff(None, _person_snapshot(person), sensitive=SENSITIVE_FIELDS),
    )
    return person


@transaction.atomic
def person_update(*, actor: Any, person: Person, **changes: Any) -> Person:
    """Change a person's record (with `household`, move them to another household)."""
    person = (
        Person.objects.select_related("household__village").select_for_update().get(pk=person.pk)
    )
    if person.merged_into_id:
        raise ValidationError(_("This record was merged into another; edit that one."))
    access.require_in(actor, CHANGE_PERSONS, person.household.village)
    before = _person_snapshot(person)
    household = changes.pop("household", None)
    cleaned = clean_person_fields(changes, current=person)
    if "external_id" in cleaned:
        _check_external_id(Person, cleaned["external_id"], person.pk)
    if household is not None and household.pk != person.household_id:
        access.require_in(actor, CHANGE_PERSONS, household.village)
        person.household = household
    for key, value in cleaned.items():
        setattr(person, key, value)
    person.search_text = person_search_text(person)
    person.save()
    changed = audit.diff(before, _person_snapshot(person), sensitive=SENSITIVE_FIELDS)
    if changed:
        audit.record(actor=actor, action="update", obj=person, changes=changed)
    return person


@transaction.atomic
def household_register(
    *,
    actor: Any,
    village: Area,
    code: str,
    members: list[dict[str, Any]],
    consents: list[dict[str, Any]] | None = None,
    **facts: Any,
) -> Household:
    """A household with its members (and their consents) in one go: all or nothing.

    Errors name the member and field: {"members[2].sex": [...], "consents[1].given_by": [...]},
    counting from 1 as a user would.
    `consents` items carry `member` (index into members) and consent_record's arguments.
    """
    household = household_create(actor=actor, village=village, code=code, **facts)
    errors: dict[str, list[str]] = {}
    created: list[Person] = []
    for i, member in enumerate(members):
        try:
            created.append(person_create(actor=actor, household=household, **member))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors[f"members[{i + 1}].{field}"] = messages
    if not members:
        errors["members"] = [_("Register at least one member.")]
    elif sum(1 for m in members if m.get("relationship") == Relationship.HEAD) != 1:
        errors["members"] = [
            _("Exactly one member must be the head of the household (a child, if child-headed).")
        ]
    for i, consent in enumerate(consents or []):
        item = dict(consent)
        index = int(item.pop("member"))
        if not 0 <= index < len(created):
            errors[f"consents[{i + 1}].member"] = [_("No such member.")]
            continue
        try:
            consent_record(actor=actor, person=created[index], **item)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors[f"consents[{i + 1}].{field}"] = messages
    if errors:
        raise ValidationError(errors)
    return household


def _consent_snapshot(c: Consent) -> dict[str, Any]:
    return {
        "purpose": c.purpose,
        "given_on": c.given_on.isoformat(),
        "given_by": c.given_by,
        "giver_name": c.giver_name,
        "child_assent": c.child_assent,
        "method": c.method,
    }


@transaction.atomic
def consent_record(
    *,
    actor: Any,
    person: Person,
    purpose: str,
    given_on: dt.date,
    given_by: str,
    method: str,
    giver_name: str = "",
    child_assent: bool | None = None,
    note: str = "",
) -> Consent:
    """Record consent for one purpose, as the person's age on `given_on` requires:
    under 18 a parent's or guardian's consent (named) and, from 7, the child's assent;
    from 18 the person's own consent."""
    person = Person.objects.select_related("household__village").get(pk=person.pk)
    access.require_in(actor, CHANGE_PERSONS, person.household.village)
    errors: dict[str, str] = {}
    if purpose not in ConsentPurpose.values:
        errors["purpose"] = _("Unknown purpose %(value)r.") % {"value": purpose}
    if given_by not in ConsentGiver.values:
        errors["given_by"] = _("Unknown value %(value)r.") % {"value": given_by}
    if method not in ConsentMethod.values:
        errors["method"] = _("Unknown value %(value)r.") % {"value": method}
    if given_on > timezone.localdate():
        errors["given_on"] = _("The date is in the future.")
    elif person.date_of_birth and given_on < person.date_of_birth:
        errors["given_on"] = _("The date is before the person was born.")
    age = person.age_on(given_on)
    if age is None:
        errors["given_on"] = _(
            "Record the date of birth (or an estimate) first: who must consent depends on age."
        )
    elif age < ADULT_AGE:
        if given_by == ConsentGiver.SELF:
            errors["given_by"] = _(
                "The person was %(age)s: a parent or guardian must give consent under 18."
            ) % {"age": age}
        if not giver_name.strip():
            errors["giver_name"] = _("Name the parent or guardian who gave consent.")
        if age >= ASSENT_FROM_AGE and child_assent is not True:
            errors["child_assent"] = _(
                "The child must agree too (assent): without it, consent is not recorded."
            )
    elif given_by != ConsentGiver.SELF:
        errors["given_by"] = _("From 18 the person gives consent themself.")
    if err := formula_error(giver_name):
        errors["giver_name"] = err
    if errors:
        raise ValidationError(errors)
    if age is not None and age < ASSENT_FROM_AGE:
        child_assent = None
    # A new consent for a purpose replaces an active one (which stays in the history).
    Consent.objects.filter(person=person, purpose=purpose, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now(), withdrawn_by=author(actor), withdrawal_reason=_("Replaced")
    )
    consent = Consent.objects.create(
        person=person,
        purpose=purpose,
        given_on=given_on,
        given_by=given_by,
        giver_name=giver_name.strip(),
        child_assent=child_assent,
        method=method,
        note=note,
        recorded_by=author(actor),
    )
    audit.record(
        actor=actor,
        action="consent.give",
        obj=person,
        changes=audit.diff(None, _consent_snapshot(consent)),
    )
    return consent


@transaction.atomic
def consent_withdraw(*, actor: Any, consent: Consent, reason: str = "") -> Consent:
    """Withdraw a consent: from this moment the person is not used for its purpose."""
    consent = Consent.objects.select_related("person__household__village").get(pk=consent.pk)
    access.require_in(actor, CHANGE_PERSONS, consent.person.household.village)
    if consent.withdrawn_at is not None:
        raise ValidationError(_("This consent was already withdrawn."))
    consent.withdrawn_at = timezone.now()
    consent.withdrawn_by = author(actor)
    consent.withdrawal_reason = reason.strip()
    consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
    audit.record(
        actor=actor,
        action="consent.withdraw",
        obj=consent.person,
        changes={"purpose": consent.purpose, "reason": consent.withdrawal_reason},
    )
    return consent


def require_consent(person: Person, purpose: str) -> None:
    """Refuse to use a person for a purpose they have not consented to (or withdrew)."""
    if not Consent.objects.filter(
        person=person, purpose=purpose, withdrawn_at__isnull=True
    ).exists():
        raise PermissionDenied(
            _("%(person)s has no consent for %(purpose)s.")
            % {"person": person, "purpose": ConsentPurpose(purpose).label}
        )
