"""The input checks every interventions service shares, so that a date, an amount or
a piece of text is accepted (and refused, with the same message) alike in each part.

A `clean_*` check takes the raw value (from a form, the API or code), the field's name
and the dict of errors the service is collecting. It returns the cleaned value, or
None when the value is missing or refused, and then says why in `errors[field]`. The
service raises ValidationError(errors) once everything is checked: every bad field is
named at once and nothing is written.

Registry rules are reused, not copied: the formula check comes from
ctip.registry.services, the author of a change from ctip.core.actors, and a person is
named as the registry names them (`Person.full_name`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.core.actors import author
from ctip.geography.models import Area
from ctip.registry.consent import has_consent
from ctip.registry.models import ConsentPurpose, Person
from ctip.registry.selectors import restricted
from ctip.registry.services import formula_error

from ..schedule import MINOR_UNIT

__all__ = [
    "MAX_AMOUNT",
    "author",
    "check_services_consent",
    "clean_amount",
    "clean_choice",
    "clean_date",
    "clean_rate",
    "clean_text",
    "clean_whole",
    "json_value",
    "paths_overlap",
    "services_consent_problems",
    "snapshot",
]

# What a money column holds (max_digits=16, decimal_places=2).
MAX_AMOUNT = Decimal("99999999999999.99")
CENT = Decimal("0.01")
# Thousands grouped with commas, as people write money: 1,250,000 or 1,250.50. Other
# commas are refused rather than guessed at ("12,50" is not taken for 1250).
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --------------------------------------------------------------------------------------
# Dates, numbers, text, choices.


def clean_date(
    value: Any, field: str, errors: dict[str, Any], *, required: bool = True, past: bool = True
) -> dt.date | None:
    """A date, or ISO text (YYYY-MM-DD). With `past` (the default: the service records
    what happened) a day after today is refused."""
    if _blank(value):
        if required:
            errors[field] = _("This field is required.")
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    elif isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, dt.date):
        errors[field] = _("Give the date as YYYY-MM-DD.")
        return None
    if past and value > timezone.localdate():
        errors[field] = _("%(day)s is in the future.") % {"day": value.isoformat()}
        return None
    return value


def _decimal(value: Any) -> Decimal | None:
    """The finite number a value gives, or None."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, bool):
        return None
    else:
        text = str(value).strip()
        if _GROUPED.fullmatch(text):
            text = text.replace(",", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
    return number if number.is_finite() else None


def _places_error(places: int) -> str:
    return _("At most %(n)s decimal places.") % {"n": places}


def clean_amount(
    value: Any,
    field: str,
    errors: dict[str, Any],
    *,
    required: bool = True,
    positive: bool = False,
    currency: str | None = None,
    maximum: Decimal = MAX_AMOUNT,
) -> Decimal | None:
    """A sum of money as a Decimal with 2 places: not negative (more than 0 with
    `positive`), at most `maximum`, and in whole units when `currency` counts no
    smaller coin (KHR, VND). Commas may group the thousands."""
    if _blank(value):
        if required:
            errors[field] = _("This field is required.")
        return None
    number = _decimal(value)
    if number is None:
        errors[field] = _("Give an amount such as 150000 or 12.50.")
    elif number < 0:
        errors[field] = _("The amount must not be negative.")
    elif positive and number == 0:
        errors[field] = _("The amount must be more than 0.")
    elif number > maximum:
        errors[field] = _("The amount is too large.")
    elif currency and MINOR_UNIT.get(currency) == 1 and number % 1:
        errors[field] = _("%(currency)s amounts are whole numbers.") % {"currency": currency}
    elif number != number.quantize(CENT):
        errors[field] = _places_error(2)
    else:
        return number.quantize(CENT)
    return None


def clean_rate(
    value: Any,
    field: str,
    errors: dict[str, Any],
    *,
    maximum: Decimal = Decimal(100),
    places: int = 3,
) -> Decimal | None:
    """A percentage from 0 to `maximum` with at most `places` decimals."""
    if _blank(value):
        errors[field] = _("This field is required.")
        return None
    step = Decimal(1).scaleb(-places)
    number = _decimal(value)
    if number is None:
        errors[field] = _("Give a rate such as 2 or 1.5.")
    elif not 0 <= number <= maximum:
        errors[field] = _("Give a rate from 0 to %(max)s.") % {"max": maximum}
    elif number != number.quantize(step):
        errors[field] = _places_error(places)
    else:
        return number.quantize(step)
    return None


def clean_whole(
    value: Any, field: str, errors: dict[str, Any], *, low: int, high: int, required: bool = True
) -> int | None:
    """A whole number from `low` to `high`."""
    if _blank(value):
        if required:
            errors[field] = _("This field is required.")
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


def clean_text(
    value: Any,
    field: str,
    errors: dict[str, Any],
    *,
    max_length: int | None,
    required: bool = False,
    formula_ok: bool = False,
) -> str:
    """Trimmed text of at most `max_length` characters. Text that a spreadsheet would
    run as a formula (starting with = + - @: exports put it in cells) is refused unless
    `formula_ok`."""
    text = "" if value is None else str(value).strip()
    problem = None if formula_ok else formula_error(text)
    if required and not text:
        errors[field] = _("This field is required.")
    elif problem:
        errors[field] = problem
    elif max_length is not None and len(text) > max_length:
        errors[field] = _("At most %(n)s characters.") % {"n": max_length}
    return text


def clean_choice(value: Any, field: str, errors: dict[str, Any], *, choices: Sequence[str]) -> str:
    """One of `choices` (the values of a TextChoices)."""
    if value not in choices:
        errors[field] = _("Choose one of %(choices)s.") % {"choices": ", ".join(choices)}
    return str(value or "")


# --------------------------------------------------------------------------------------
# Persons and areas.


def services_consent_problems(persons: Iterable[Person]) -> dict[int, str]:
    """Why each person may not receive services, for those who may not: their consent
    to registration was withdrawn (the record is no longer used), or they have no
    consent for services. One query whatever the number of persons."""
    persons = list(persons)
    rows = (
        Person.objects.filter(pk__in=[p.pk for p in persons])
        .annotate(
            registration_withdrawn=ExpressionWrapper(restricted(), output_field=BooleanField()),
            services_consent=has_consent(ConsentPurpose.SERVICES),
        )
        .values_list("pk", "registration_withdrawn", "services_consent")
    )
    state = {pk: (withdrawn, consents) for pk, withdrawn, consents in rows}
    problems: dict[int, str] = {}
    for p in persons:
        withdrawn, consents = state.get(p.pk, (False, False))
        if withdrawn:
            problems[p.pk] = _(
                "%(name)s withdrew consent to registration: their record is no longer used."
            ) % {"name": p.full_name}
        elif not consents:
            problems[p.pk] = _(
                "%(name)s has no consent for referral to and delivery of services."
            ) % {"name": p.full_name}
    return problems


def check_services_consent(person: Person, errors: dict[str, Any], field: str = "person") -> bool:
    """Whether the person may receive services (ConsentPurpose.SERVICES, registration
    consent not withdrawn); if not, the reason, naming the person, is put on `field`."""
    problem = services_consent_problems([person]).get(person.pk)
    if problem:
        errors[field] = problem
    return problem is None


def paths_overlap(a: str, b: str) -> bool:
    """One area's materialised path lies within the other's (or it is the same area)."""
    return a.startswith(b) or b.startswith(a)


# --------------------------------------------------------------------------------------
# Values as the audit trail keeps them.


def json_value(value: Any) -> Any:
    """A field's value for an audit event: a date as ISO text, a Decimal as text, an
    area by its code and another row by its id."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Area):
        return value.code
    if hasattr(value, "pk"):
        return value.pk
    return value


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The audit values of an object's fields, to diff before and after a change."""
    return {f: json_value(getattr(obj, f)) for f in fields}
