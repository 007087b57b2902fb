"""Writes to the registry. Each runs in one transaction and leaves an audit event."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import CHANGE_PERSONS
from ctip.core import audit
from ctip.core.text import fold_all
from ctip.geography.models import Area, Level

from .models import Household, Person, Relationship, Sex

# Values masked in the audit trail's before/after.
SENSITIVE_FIELDS = ("date_of_birth",)


def person_search_text(p: Person) -> str:
    return fold_all(
        p.family_name_local, p.given_name_local, p.family_name_latin, p.given_name_latin
    )


def _person_snapshot(p: Person) -> dict[str, Any]:
    return {
        "household": p.household_id,
        "relationship": p.relationship,
        "given_name_local": p.given_name_local,
        "family_name_local": p.family_name_local,
        "given_name_latin": p.given_name_latin,
        "family_name_latin": p.family_name_latin,
        "sex": p.sex,
        "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None,
        "dob_estimated": p.dob_estimated,
    }


@transaction.atomic
def household_create(*, actor: Any, village: Area, code: str, address: str = "") -> Household:
    if village.level != Level.VILLAGE:
        raise ValidationError(
            {
                "village": _("Choose a village, not a %(level)s.")
                % {"level": village.get_level_display()}
            }
        )
    access.require_in(actor, CHANGE_PERSONS, village)
    if Household.objects.filter(code=code).exists():
        raise ValidationError(
            {"code": _("Household code %(code)s is already used.") % {"code": code}}
        )
    household = Household.objects.create(
        village=village, code=code, address=address, created_by=actor
    )
    audit.record(
        actor=actor,
        action="create",
        obj=household,
        changes=audit.diff(None, {"village": village.code, "code": code, "address": address}),
    )
    return household


@transaction.atomic
def person_create(
    *,
    actor: Any,
    household: Household,
    relationship: str,
    sex: str,
    given_name_local: str = "",
    family_name_local: str = "",
    given_name_latin: str = "",
    family_name_latin: str = "",
    date_of_birth: dt.date | None = None,
    dob_estimated: bool = False,
) -> Person:
    access.require_in(actor, CHANGE_PERSONS, household.village)
    errors: dict[str, str] = {}
    if sex not in Sex.values:
        errors["sex"] = _("Unknown sex %(value)r.") % {"value": sex}
    if relationship not in Relationship.values:
        errors["relationship"] = _("Unknown relationship %(value)r.") % {"value": relationship}
    if not (given_name_local or given_name_latin):
        errors["given_name_local"] = _("Give the person's name in local script or Latin letters.")
    if date_of_birth and date_of_birth > dt.date.today():
        errors["date_of_birth"] = _("The date of birth is in the future.")
    if errors:
        raise ValidationError(errors)
    person = Person(
        household=household,
        relationship=relationship,
        sex=sex,
        given_name_local=given_name_local,
        family_name_local=family_name_local,
        given_name_latin=given_name_latin,
        family_name_latin=family_name_latin,
        date_of_birth=date_of_birth,
        dob_estimated=dob_estimated,
        created_by=actor,
    )
    person.search_text = person_search_text(person)
    person.save()
    audit.record(
        actor=actor,
        action="create",
        obj=person,
        changes=audit.diff(None, _person_snapshot(person), sensitive=SENSITIVE_FIELDS),
    )
    return person
