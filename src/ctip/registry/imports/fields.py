"""What a registry file's columns can hold: the fields an import knows, the column
names it recognises for each, and how a cell becomes a value (or a clear problem).

Parsers take a raw cell (text from a CSV, or the str/int/float/datetime/bool an
XLSX cell holds) and return the value, or raise `Bad` with a translated message.
They are called once per cell of a possibly million-row file, so each keeps a
fast path for the common case.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from ctip.core.text import fold

from ..models import (
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
from ..services import FORMULA_PREFIXES, MAX_AGE

# The registry's own limits: a cell starting with one of FORMULA_PREFIXES runs as a
# formula when the file is opened in a spreadsheet (=HYPERLINK(...), +cmd|..., @SUM(...)).
FORMULA_START = FORMULA_PREFIXES


class Bad(ValueError):
    """A cell that cannot be imported; the message says why, in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


HOUSEHOLD = "household"
PERSON = "person"


@dataclass(frozen=True)
class Field:
    name: str  # the name used in a mapping (and by --map)
    label: Promise
    target: str  # HOUSEHOLD or PERSON
    parse: Callable[[Any], Any]
    aliases: tuple[str, ...] = ()
    required: bool = False
    # The model field written (empty for derived fields: village, age).
    attr: str = ""


# --- cells to text -----------------------------------------------------------------


def cell_text(raw: Any) -> str:
    """A cell as stripped text: XLSX numbers without a trailing .0, dates as ISO."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, dt.datetime):
        if raw.time() == dt.time(0, 0):
            return raw.date().isoformat()
        return raw.isoformat(sep=" ")
    if isinstance(raw, dt.date):
        return raw.isoformat()
    text = getattr(raw, "text", None)  # openpyxl's array and data-table formulas
    if isinstance(text, str):
        return text if text.startswith("=") else "=" + text
    return str(raw).strip()


def _refuse_formula(text: str) -> None:
    if text[:1] in FORMULA_START:
        raise Bad(
            _(
                "%(value)s starts with %(char)s, which a spreadsheet runs as a formula; "
                "remove the %(char)s or the formula."
            )
            % {"value": _shorten(text), "char": text[0]}
        )


def _shorten(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def text_parser(max_length: int) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = raw.strip() if isinstance(raw, str) else cell_text(raw)
        if not text:
            return ""
        if text[0] in "=+-@":
            _refuse_formula(text)
        if len(text) > max_length:
            raise Bad(
                _("%(value)s is longer than %(max)d characters.")
                % {"value": _shorten(text), "max": max_length}
            )
        return text

    return parse


def phone_parser(max_length: int) -> Callable[[Any], str]:
    allowed = re.compile(r"\+?[0-9][0-9 ().-]*\Z")

    def parse(raw: Any) -> str:
        text = raw.strip() if isinstance(raw, str) else cell_text(raw)
        if not text:
            return ""
        if not allowed.match(text):
            _refuse_formula(text)
            raise Bad(
                _("%(value)s is not a phone number (digits, spaces and a leading + only).")
                % {"value": _shorten(text)}
            )
        if len(text) > max_length:
            raise Bad(
                _("%(value)s is longer than %(max)d characters.")
                % {"value": _shorten(text), "max": max_length}
            )
        return text

    return parse


# --- choices -----------------------------------------------------------------------


def _key(text: str) -> str:
    return " ".join(fold(text).replace("_", " ").split())


def choice_lookup(
    choices: type[models.TextChoices], extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Every accepted spelling (code or English label, any case) -> the code."""
    lookup: dict[str, str] = {}
    with translation.override("en"):
        for value, label in choices.choices:
            lookup[_key(str(value))] = value
            lookup[_key(str(label))] = value
    for spelling, value in (extra or {}).items():
        lookup[_key(spelling)] = value
    return lookup


def _choice_list(choices: type[models.TextChoices]) -> str:
    return ", ".join(str(v) for v in choices.values)


def choice_parser(
    choices: type[models.TextChoices],
    extra: Mapping[str, str] | None = None,
    empty: str = "",
) -> Callable[[Any], str]:
    """One choice, by code or English label; an empty cell gives `empty`."""
    lookup = choice_lookup(choices, extra)
    # The exact codes are by far the most common cells: skip folding for them.
    exact = {v: v for v in choices.values}
    exact[""] = empty

    def parse(raw: Any) -> str:
        if isinstance(raw, str):
            hit = exact.get(raw)
            if hit is not None:
                return hit
        text = cell_text(raw)
        if not text:
            return empty
        hit = lookup.get(_key(text))
        if hit is None:
            if text[0] in "=+-@":
                _refuse_formula(text)
            raise Bad(
                _("%(value)s is not one of: %(choices)s.")
                % {"value": _shorten(text), "choices": _choice_list(choices)}
            )
        return hit

    return parse


def multi_choice_parser(choices: type[models.TextChoices]) -> Callable[[Any], tuple[str, ...]]:
    """A ;-separated list of choices, e.g. "farming; remittances"."""
    one = choice_parser(choices)
    cache: dict[str, tuple[str, ...]] = {}

    def parse(raw: Any) -> tuple[str, ...]:
        text = raw.strip() if isinstance(raw, str) else cell_text(raw)
        if not text:
            return ()
        hit = cache.get(text)
        if hit is not None:
            return hit
        values: list[str] = []
        for part in text.split(";"):
            value = one(part.strip()) if part.strip() else ""
            if value and value not in values:
                values.append(value)
        result = tuple(values)
        if len(cache) < 1000:
            cache[text] = result
        return result

    return parse


# --- booleans and numbers ------------------------------------------------------------

_TRUE = {"yes", "y", "true", "t", "1", "x", "ha", "co", "có", "បាទ", "ចាស", "មាន"}
_FALSE = {"no", "n", "false", "f", "0", "", "khong", "không", "ទេ", "គ្មាន"}


# The spellings as they are most often written: found without stripping and folding.
_EXACT_BOOL = {
    **{t: True for t in _TRUE},
    **{t: False for t in _FALSE},
    **{t.upper(): True for t in ("yes", "y", "true", "t", "x")},
    **{t.upper(): False for t in ("no", "n", "false", "f")},
    **{t.capitalize(): True for t in ("yes", "true")},
    **{t.capitalize(): False for t in ("no", "false")},
}


def parse_bool(raw: Any) -> bool:
    if isinstance(raw, str):
        hit = _EXACT_BOOL.get(raw)
        if hit is not None:
            return hit
    elif isinstance(raw, bool):
        return raw
    text = cell_text(raw).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Bad(_("%(value)s is not yes or no.") % {"value": _shorten(cell_text(raw))})


_GROUPED = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?\Z")


def _number_text(raw: Any) -> str:
    text = cell_text(raw).replace(" ", "").replace("\u00a0", "")
    if _GROUPED.match(text):
        text = text.replace(",", "")
    return text


def _cached(parse: Callable[[Any], Any], size: int = 2000) -> Callable[[Any], Any]:
    """`parse` remembering its results for the text cells it has seen (up to `size`):
    amounts, counts and dates repeat a lot down a column."""
    cache: dict[str, Any] = {}

    def cached(raw: Any) -> Any:
        if isinstance(raw, str):
            hit = cache.get(raw, cache)
            if hit is not cache:
                return hit
            value = parse(raw)
            if len(cache) < size:
                cache[raw] = value
            return value
        return parse(raw)

    return cached


def decimal_parser(max_digits: int, decimal_places: int) -> Callable[[Any], Decimal | None]:
    quantum = Decimal(1).scaleb(-decimal_places)
    limit = Decimal(10) ** (max_digits - decimal_places)

    @_cached
    def parse(raw: Any) -> Decimal | None:
        if raw is None or raw == "":
            return None
        text = _number_text(raw)
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise Bad(_("%(value)s is not a number.") % {"value": _shorten(text)}) from None
        if not value.is_finite():
            raise Bad(_("%(value)s is not a number.") % {"value": _shorten(text)})
        if value < 0:
            raise Bad(_("%(value)s is negative.") % {"value": text})
        value = value.quantize(quantum, rounding=ROUND_HALF_UP)
        if value >= limit:
            raise Bad(_("%(value)s is too large.") % {"value": text})
        return value

    return parse


def count_parser(maximum: int = 32767, empty: int = 0) -> Callable[[Any], int]:
    """A whole number from 0 to `maximum`; an empty cell gives `empty`."""

    @_cached
    def parse(raw: Any) -> int:
        if raw is None or raw == "":
            return empty
        text = _number_text(raw)
        if not text:
            return empty
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise Bad(_("%(value)s is not a whole number.") % {"value": _shorten(text)}) from None
        if not number.is_finite() or number != number.to_integral_value():
            raise Bad(_("%(value)s is not a whole number.") % {"value": _shorten(text)})
        if number < 0:
            raise Bad(_("%(value)s is negative.") % {"value": text})
        if number > maximum:
            raise Bad(_("%(value)s is too large.") % {"value": text})
        return int(number)

    return parse


@_cached
def parse_age(raw: Any) -> int | None:
    if raw is None or raw == "":
        return None
    text = _number_text(raw)
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        message = _("The age %(value)s is not a number of years.") % {"value": _shorten(text)}
        raise Bad(message) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise Bad(_("The age %(value)s is not a whole number of years.") % {"value": text})
    if number < 0:
        raise Bad(_("The age %(value)s is negative.") % {"value": text})
    if number > MAX_AGE:
        raise Bad(_("An age of %(value)s is over %(max)d years.") % {"value": text, "max": MAX_AGE})
    return int(number)


# --- dates ---------------------------------------------------------------------------

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?\Z")
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\Z")


def _parse_date(raw: Any) -> dt.date | None:
    """ISO (2011-02-28) or day/month/year (28/02/2011); an XLSX date cell as it is."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = raw.strip() if isinstance(raw, str) else cell_text(raw)
    if not text:
        return None
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass  # not digits, or not a real day: the slow path says which
    match = _ISO.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _DMY.match(text)
        if not match:
            if text[0] in "=+-@":
                _refuse_formula(text)
            raise Bad(
                _("%(value)s is not a date: write it as 2011-02-28 or 28/02/2011.")
                % {"value": _shorten(text)}
            )
        day, month, year = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise Bad(
            _("%(value)s is not a real date: that month has no day %(day)d.")
            % {"value": _shorten(text), "day": day}
            if 1 <= month <= 12
            else _("%(value)s is not a real date: there is no month %(month)d.")
            % {"value": _shorten(text), "month": month}
        ) from None


parse_date = _cached(_parse_date, 8192)

# --- the fields ------------------------------------------------------------------------


def _max_length(model: type[models.Model], name: str) -> int:
    return int(model._meta.get_field(name).max_length or 255)  # type: ignore[union-attr]


def _decimal(model: type[models.Model], name: str) -> Callable[[Any], Decimal | None]:
    field = model._meta.get_field(name)
    assert isinstance(field, models.DecimalField)
    return decimal_parser(int(field.max_digits or 14), int(field.decimal_places or 2))


_SEX_EXTRA = {"f": Sex.FEMALE, "m": Sex.MALE, "woman": Sex.FEMALE, "man": Sex.MALE}
_RELATIONSHIP_EXTRA = {
    "wife": Relationship.SPOUSE,
    "husband": Relationship.SPOUSE,
    "partner": Relationship.SPOUSE,
    "son": Relationship.CHILD,
    "daughter": Relationship.CHILD,
    "mother": Relationship.PARENT,
    "father": Relationship.PARENT,
    "brother": Relationship.SIBLING,
    "sister": Relationship.SIBLING,
    "relative": Relationship.OTHER_RELATIVE,
}


def _fields() -> list[Field]:
    h, p = Household, Person
    return [
        Field(
            "household_external_id",
            _lazy("Household external id"),
            HOUSEHOLD,
            text_parser(_max_length(h, "external_id")),
            (
                "household id",
                "household ext id",
                "hh id",
                "hhid",
                "household ref",
                "household reference",
                "household key",
                "household number",
                "hh external id",
            ),
            required=True,
            attr="external_id",
        ),
        Field(
            "household_code",
            _lazy("Household code"),
            HOUSEHOLD,
            text_parser(_max_length(h, "code")),
            ("household code", "hh code"),
            attr="code",
        ),
        Field(
            "village",
            _lazy("Village code"),
            HOUSEHOLD,
            text_parser(30),
            (
                "village",
                "village code",
                "village id",
                "village official code",
                "hamlet",
                "hamlet code",
                "phum",
                "phum code",
                "ap",
            ),
            required=True,
        ),
        Field(
            "address",
            _lazy("Address"),
            HOUSEHOLD,
            text_parser(255),
            ("household address",),
            attr="address",
        ),
        Field(
            "land_hectares",
            _lazy("Farm land (hectares)"),
            HOUSEHOLD,
            _decimal(h, "land_hectares"),
            ("land", "land ha", "farm land", "land size", "land area", "land hectare"),
            attr="land_hectares",
        ),
        Field(
            "income_sources",
            _lazy("Income sources"),
            HOUSEHOLD,
            multi_choice_parser(IncomeSource),
            ("income source", "sources of income", "source of income"),
            attr="income_sources",
        ),
        Field(
            "monthly_income",
            _lazy("Monthly cash income"),
            HOUSEHOLD,
            _decimal(h, "monthly_income"),
            ("income", "monthly cash income", "income per month"),
            attr="monthly_income",
        ),
        Field(
            "currency", _lazy("Currency"), HOUSEHOLD, choice_parser(Currency), (), attr="currency"
        ),
        Field(
            "debt_amount",
            _lazy("Debt outstanding"),
            HOUSEHOLD,
            _decimal(h, "debt_amount"),
            ("debt", "debt outstanding", "debts"),
            attr="debt_amount",
        ),
        Field(
            "lenders",
            _lazy("Owed to"),
            HOUSEHOLD,
            multi_choice_parser(Lender),
            ("owed to", "lender", "creditors", "creditor"),
            attr="lenders",
        ),
        Field(
            "members_working_away",
            _lazy("Members working away"),
            HOUSEHOLD,
            count_parser(),
            ("working away", "migrant members", "members away"),
            attr="members_working_away",
        ),
        Field(
            "members_with_disability",
            _lazy("Members with a disability"),
            HOUSEHOLD,
            count_parser(),
            ("members with a disability", "members disabled"),
            attr="members_with_disability",
        ),
        Field(
            "single_parent",
            _lazy("Single-parent household"),
            HOUSEHOLD,
            parse_bool,
            ("single parent household",),
            attr="single_parent",
        ),
        Field(
            "child_headed",
            _lazy("Child-headed household"),
            HOUSEHOLD,
            parse_bool,
            ("child headed household",),
            attr="child_headed",
        ),
        Field(
            "poverty_status",
            _lazy("Poverty status"),
            HOUSEHOLD,
            choice_parser(
                PovertyStatus,
                {
                    "idpoor 1": PovertyStatus.POOR_1,
                    "idpoor 2": PovertyStatus.POOR_2,
                    "poor": PovertyStatus.POOR_1,
                    "near poor": PovertyStatus.POOR_2,
                },
                empty=PovertyStatus.UNKNOWN,
            ),
            ("idpoor", "id poor", "poverty", "idpoor level"),
            attr="poverty_status",
        ),
        Field(
            "person_external_id",
            _lazy("Person external id"),
            PERSON,
            text_parser(_max_length(p, "external_id")),
            (
                "person id",
                "person ext id",
                "member id",
                "individual id",
                "pid",
                "member external id",
            ),
            required=True,
            attr="external_id",
        ),
        Field(
            "relationship",
            _lazy("Relationship to head"),
            PERSON,
            choice_parser(Relationship, _RELATIONSHIP_EXTRA),
            ("relationship to head", "relation", "relation to head"),
            required=True,
            attr="relationship",
        ),
        Field(
            "family_name_local",
            _lazy("Family name (local script)"),
            PERSON,
            text_parser(_max_length(p, "family_name_local")),
            (
                "family name local script",
                "surname local",
                "last name local",
                "family name khmer",
                "family name vietnamese",
            ),
            attr="family_name_local",
        ),
        Field(
            "given_name_local",
            _lazy("Given name (local script)"),
            PERSON,
            text_parser(_max_length(p, "given_name_local")),
            (
                "given name local script",
                "first name local",
                "given name khmer",
                "given name vietnamese",
            ),
            attr="given_name_local",
        ),
        Field(
            "family_name_latin",
            _lazy("Family name (Latin)"),
            PERSON,
            text_parser(_max_length(p, "family_name_latin")),
            ("family name", "surname", "last name", "surname latin", "last name latin"),
            attr="family_name_latin",
        ),
        Field(
            "given_name_latin",
            _lazy("Given name (Latin)"),
            PERSON,
            text_parser(_max_length(p, "given_name_latin")),
            ("given name", "first name", "first name latin"),
            attr="given_name_latin",
        ),
        Field(
            "sex",
            _lazy("Sex"),
            PERSON,
            choice_parser(Sex, _SEX_EXTRA),
            ("gender",),
            required=True,
            attr="sex",
        ),
        Field(
            "date_of_birth",
            _lazy("Date of birth"),
            PERSON,
            parse_date,
            ("dob", "birth date", "birthdate", "born", "date born"),
            attr="date_of_birth",
        ),
        Field("age", _lazy("Age (years)"), PERSON, parse_age, ("age years", "age in years")),
        Field(
            "dob_estimated",
            _lazy("Date of birth is estimated"),
            PERSON,
            parse_bool,
            ("dob estimated", "estimated dob", "date of birth estimated", "estimated"),
            attr="dob_estimated",
        ),
        Field(
            "school_status",
            _lazy("School status"),
            PERSON,
            choice_parser(
                SchoolStatus, {"in school": SchoolStatus.ENROLLED}, empty=SchoolStatus.UNKNOWN
            ),
            ("school", "schooling", "education status"),
            attr="school_status",
        ),
        Field(
            "id_documents",
            _lazy("Identity documents held"),
            PERSON,
            multi_choice_parser(IdDocument),
            ("id documents", "identity documents", "documents", "id document"),
            attr="id_documents",
        ),
        Field(
            "phone",
            _lazy("Phone"),
            PERSON,
            phone_parser(_max_length(p, "phone")),
            ("phone number", "telephone", "mobile", "mobile phone", "tel"),
            attr="phone",
        ),
        Field(
            "disability",
            _lazy("Has a disability"),
            PERSON,
            parse_bool,
            ("has disability", "has a disability", "disabled"),
            attr="disability",
        ),
    ]


FIELDS: list[Field] = _fields()
FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
REQUIRED = [f.name for f in FIELDS if f.required]
NAME_FIELDS = ("family_name_local", "given_name_local", "family_name_latin", "given_name_latin")


def header_key(header: str) -> str:
    """'Date of Birth', 'date_of_birth' and ' DATE-OF-BIRTH ' all give 'date of birth'."""
    return " ".join(re.sub(r"[^\w]+|_", " ", fold(header)).split())


def _recognised() -> dict[str, str]:
    names: dict[str, str] = {}
    with translation.override("en"):
        for f in FIELDS:
            for spelling in (f.name, str(f.label), *f.aliases):
                names.setdefault(header_key(spelling), f.name)
    return names


RECOGNISED: dict[str, str] = _recognised()


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Each file column -> the field its name says ('' for a column to ignore); a field
    goes to the first column that names it."""
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for header in headers:
        field = RECOGNISED.get(header_key(header), "")
        if field in taken:
            field = ""
        if field:
            taken.add(field)
        mapping[header] = field
    return mapping


def mapping_errors(headers: list[str], columns: dict[str, str]) -> list[str]:
    """What is wrong with a mapping of the file's columns to fields (nothing when usable)."""
    errors: list[str] = []
    seen: dict[str, str] = {}
    known = set(headers)
    for header, field in columns.items():
        if header not in known:
            errors.append(_("The file has no column %(column)s.") % {"column": repr(header)})
            continue
        if not field:
            continue
        if field not in FIELDS_BY_NAME:
            errors.append(
                _("%(field)s is not a field that can be imported (column %(column)s).")
                % {"field": repr(field), "column": repr(header)}
            )
            continue
        if field in seen:
            errors.append(
                _("Columns %(first)s and %(second)s are both mapped to %(field)s.")
                % {
                    "first": repr(seen[field]),
                    "second": repr(header),
                    "field": FIELDS_BY_NAME[field].label,
                }
            )
            continue
        seen[field] = header
    for name in REQUIRED:
        if name not in seen:
            errors.append(
                _("No column is mapped to %(field)s, which every row needs.")
                % {"field": FIELDS_BY_NAME[name].label}
            )
    if not ({"given_name_local", "given_name_latin"} & set(seen)):
        errors.append(
            _(
                "No column is mapped to a given name (local script or Latin); "
                "every person needs one."
            )
        )
    return errors
