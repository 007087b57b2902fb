"""Person records that may be the same person, and merging them.

Three entry points:

* `candidates_for(actor, ...)`: while someone registers a person, the records the
  actor can see that look like the same person, best first, so the form can warn
  before saving. One blocked SQL query (same village, or birth year within one
  year of the one typed and the same first letters of a family and a given name),
  at most `FETCH_LIMIT` rows scored in Python.
* `find_duplicates(actor=, area=)`: the batch job (`ctip duplicates find`). Persons
  are put into blocks by SQL (same village and first letter; same village and
  birth years; across villages, same sex, birth years and first letters of the
  name), only persons of a block are compared, a whole block at once in numpy and
  rapidfuzz (`block_scores`), and the pairs that reach `THRESHOLD` are confirmed
  with `score_pair` and stored as `DuplicateCandidate` rows. A pair already decided
  (merged, or not the same person) is never reopened; an open pair that no longer
  reaches the threshold is withdrawn. Blocks larger than `MAX_BLOCK` are skipped
  and counted. About 7 minutes and 330 MB for the 1,000,000-person demo on SQLite.
* `person_merge(...)` / `candidate_mark_distinct(...)`: the decisions. A merge moves
  every row of every model that points at the merged person to the kept one, keeps
  the merged record (pointing at the kept one) and writes a `PersonMerge` saying
  what was chosen and what moved.

A score is between 0 and 1. Its reasons are stored as codes with parameters
(`{"code": "name_similar", "similarity": 0.93}`) and turned into sentences in the
reader's language only when shown (`reason_text`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import groupby
from typing import Any

import numpy as np
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Value, Window
from django.db.models.functions import ExtractYear, Floor, StrIndex, Substr
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from rapidfuzz import fuzz, process

from ctip.accounts import access
from ctip.accounts.roles import MERGE_PERSONS, VIEW_PERSONS
from ctip.core import audit
from ctip.core.actors import author
from ctip.core.names import variant_key
from ctip.core.text import fold
from ctip.geography.models import Area

from .models import CandidateStatus, DuplicateCandidate, Person, PersonMerge, Sex
from .selectors import persons_visible_to
from .services import SENSITIVE_FIELDS, person_search_text

# Pairs scoring this or more are stored by the batch job.
THRESHOLD = 0.75
# The registration-time check warns from this score (a little lower: a warning costs
# the facilitator a glance, a missed duplicate costs a second record).
WARN_SCORE = 0.6
# Names less alike than this count for nothing (see name_weight).
NAME_ZERO = 0.6
# Blocks larger than this are skipped (and counted): comparing n persons costs n².
MAX_BLOCK = 2500
# The batch job writes what it found every so many pairs (memory stays flat).
FLUSH_EVERY = 5000
# Rows the registration-time check scores at most.
FETCH_LIMIT = 500

# Weights of the parts of a score; a phone or an external id in common adds to it.
W_NAME, W_DOB, W_SEX, W_PLACE, W_PHONE, W_EXTERNAL = 0.45, 0.3, 0.05, 0.2, 0.1, 0.2
# Facts that speak against: the score is multiplied by this.
CONFLICT_FACTOR = 0.6

Reason = dict[str, Any]

# --- features and the score of a pair ---------------------------------------------

_BINARY_SEXES = (Sex.FEMALE.value, Sex.MALE.value)
_DIGITS = re.compile(r"\D+")
_ID_NOISE = re.compile(r"[\s\-./_]+")


@dataclass(frozen=True)
class NameForm:
    """One name (family + given) in one script, in the forms compared."""

    script: str  # "local" or "latin"
    folded: str  # "sok srey"
    folded_sorted: str  # words sorted: family/given order does not matter
    key_sorted: str  # spelling-variant key, words sorted
    key_joined: str  # variant key without spaces: "Srey Mom" = "Sreymom"


@lru_cache(maxsize=50_000)
def _name_form(script: str, family: str, given: str) -> NameForm | None:
    # Names repeat a lot (small pools of family names), hence the cache.
    folded = fold(f"{family} {given}")
    if not folded:
        return None
    key = variant_key(family, given)
    if not key:
        return None
    return NameForm(
        script=script,
        folded=folded,
        folded_sorted=" ".join(sorted(folded.split())),
        key_sorted=" ".join(sorted(key.split())),
        key_joined=key.replace(" ", ""),
    )


@dataclass(frozen=True)
class Features:
    """What the score of a pair looks at, for one person (saved or being registered)."""

    id: int
    household_id: int | None
    village_id: int | None
    commune_id: int | None
    province: str  # the second id of the village's path ("" when unknown)
    country: str  # the first id of the village's path
    names: tuple[NameForm, ...]
    sex: str
    dob: dt.date | None
    dob_estimated: bool
    phone: str
    external_id: str


def _phone_key(phone: str) -> str:
    if not phone:
        return ""
    digits = _DIGITS.sub("", phone)
    # The last 8 digits: with or without the country code or a leading 0.
    return digits[-8:] if len(digits) >= 6 else ""


@lru_cache(maxsize=100_000)
def _province_and_country(path: str) -> tuple[str, str]:
    """The second and first ids of a village's materialised path."""
    ids = [p for p in (path or "").split("/") if p]
    return (ids[1] if len(ids) > 1 else ""), (ids[0] if ids else "")


def make_features(
    *,
    id: int = 0,
    household_id: int | None = None,
    village_id: int | None = None,
    commune_id: int | None = None,
    village_path: str = "",
    family_name_local: str = "",
    given_name_local: str = "",
    family_name_latin: str = "",
    given_name_latin: str = "",
    sex: str = "",
    date_of_birth: dt.date | None = None,
    dob_estimated: bool = False,
    phone: str = "",
    external_id: str = "",
) -> Features:
    province, country = _province_and_country(village_path)
    names = tuple(
        form
        for form in (
            _name_form("local", family_name_local or "", given_name_local or ""),
            _name_form("latin", family_name_latin or "", given_name_latin or ""),
        )
        if form is not None
    )
    return Features(
        id=id,
        household_id=household_id,
        village_id=village_id,
        commune_id=commune_id,
        province=province,
        country=country,
        names=names,
        sex=sex or "",
        dob=date_of_birth,
        dob_estimated=bool(dob_estimated),
        phone=_phone_key(phone),
        external_id=_ID_NOISE.sub("", external_id).casefold() if external_id else "",
    )


# The columns read for scoring, in the order `_row_features` expects.
ROW_FIELDS = (
    "id",
    "household_id",
    "household__village_id",
    "household__village__parent_id",
    "household__village__path",
    "family_name_local",
    "given_name_local",
    "family_name_latin",
    "given_name_latin",
    "sex",
    "date_of_birth",
    "dob_estimated",
    "phone",
    "external_id",
)


def _row_features(row: Sequence[Any]) -> Features:
    return make_features(
        id=row[0],
        household_id=row[1],
        village_id=row[2],
        commune_id=row[3],
        village_path=row[4],
        family_name_local=row[5],
        given_name_local=row[6],
        family_name_latin=row[7],
        given_name_latin=row[8],
        sex=row[9],
        date_of_birth=row[10],
        dob_estimated=row[11],
        phone=row[12],
        external_id=row[13],
    )


def person_features(person: Person) -> Features:
    village = person.household.village
    return make_features(
        id=person.pk,
        household_id=person.household_id,
        village_id=village.pk,
        commune_id=village.parent_id,
        village_path=village.path,
        family_name_local=person.family_name_local,
        given_name_local=person.given_name_local,
        family_name_latin=person.family_name_latin,
        given_name_latin=person.given_name_latin,
        sex=person.sex,
        date_of_birth=person.date_of_birth,
        dob_estimated=person.dob_estimated,
        phone=person.phone,
        external_id=person.external_id,
    )


def _form_similarity(a: NameForm, b: NameForm) -> float:
    return max(fuzz.ratio(a.key_sorted, b.key_sorted), fuzz.ratio(a.key_joined, b.key_joined)) / 100


def name_similarity(a: Features, b: Features) -> tuple[float, Reason | None]:
    """The best similarity between any name of `a` and any name of `b` (0..1), and the
    reason saying how alike they are."""
    best: tuple[float, int, Reason] | None = None
    reason: Reason
    for fa in a.names:
        for fb in b.names:
            sim = _form_similarity(fa, fb)
            script = fa.script if fa.script == fb.script else "mixed"
            if fa.folded == fb.folded:
                rank, reason = 3, {"code": "name_same", "script": script}
            elif fa.folded_sorted == fb.folded_sorted:
                rank, reason = 3, {"code": "name_same", "script": script, "swapped": True}
            elif sim >= 1.0:
                rank, reason = 2, {"code": "name_variant", "script": script}
            else:
                rank, reason = 1, {"code": "name_similar", "script": script}
                reason["similarity"] = round(sim, 2)
            if best is None or (sim, rank) > (best[0], best[1]):
                best = (sim, rank, reason)
    if best is None:
        return 0.0, None
    return best[0], best[2]


# Values (0..1) of each finding, shared by the pair scorer and the block scorer.
DOB_VALUE = {
    "dob_same": 1.0,
    "dob_close": 0.4,  # exact dates a month apart at most, or day and month swapped
    # An estimate ("born around 1985": 1 July) says little even when it matches.
    "dob_same_estimated": 0.5,
    "dob_within_year": 0.5,  # one date estimated, the other within a year of it
    "dob_unknown": 0.25,
    "dob_same_year": 0.1,
    "dob_conflict": 0.0,
}
DOB_FACTOR = {"dob_same_year": 0.8, "dob_conflict": CONFLICT_FACTOR}
PLACE_VALUE = {
    "same_household": 1.0,
    "same_village": 0.9,
    "same_commune": 0.7,
    "same_province": 0.4,
    "unknown": 0.4,
    "different_province": 0.1,
    "different_country": 0.0,
}
CLOSE_DAYS, ESTIMATE_DAYS = 31, 366


def _dob_part(a: Features, b: Features) -> tuple[float, float, Reason | None]:
    """(value 0..1, factor, reason) for the dates of birth."""
    if a.dob is None or b.dob is None:
        reason = {"code": "dob_unknown"} if (a.dob or b.dob) else None
        return DOB_VALUE["dob_unknown"], 1.0, reason
    days = abs((a.dob - b.dob).days)
    estimated = a.dob_estimated or b.dob_estimated
    swapped = a.dob.year == b.dob.year and (a.dob.month, a.dob.day) == (b.dob.day, b.dob.month)
    extra: dict[str, Any]
    if days == 0:
        code, extra = ("dob_same_estimated" if estimated else "dob_same"), {}
    elif swapped or (not estimated and days <= CLOSE_DAYS):
        code, extra = "dob_close", {"days": days}
    elif estimated and days <= ESTIMATE_DAYS:
        code, extra = "dob_within_year", {"days": days}
    elif a.dob.year == b.dob.year:
        code, extra = "dob_same_year", {"days": days}
    else:
        code, extra = "dob_conflict", {"years": round(days / 365.25, 1)}
    return DOB_VALUE[code], DOB_FACTOR.get(code, 1.0), {"code": code, **extra}


def _sex_part(a: Features, b: Features) -> tuple[float, float, Reason | None]:
    if not a.sex or not b.sex:
        return 0.5, 1.0, None
    if a.sex in _BINARY_SEXES and b.sex in _BINARY_SEXES:
        if a.sex == b.sex:
            return 1.0, 1.0, {"code": "sex_same"}
        return 0.0, CONFLICT_FACTOR, {"code": "sex_different"}
    # "Other" or "prefers not to say" on either side: neither for nor against.
    return 0.5, 1.0, {"code": "sex_not_comparable"}


def _place_code(a: Features, b: Features) -> str:
    if a.household_id and a.household_id == b.household_id:
        return "same_household"
    if a.village_id is None or b.village_id is None:
        return "unknown"
    if a.village_id == b.village_id:
        return "same_village"
    if a.commune_id and a.commune_id == b.commune_id:
        return "same_commune"
    if a.province and a.province == b.province:
        return "same_province"
    if a.country and a.country == b.country:
        return "different_province"
    return "different_country"


def _place_part(a: Features, b: Features) -> tuple[float, Reason | None]:
    code = _place_code(a, b)
    return PLACE_VALUE[code], (None if code == "unknown" else {"code": code})


def name_weight(similarity: float) -> float:
    """Similarity to score: below NAME_ZERO names count for nothing, then linearly to 1."""
    return min(1.0, max(0.0, (similarity - NAME_ZERO) / (1 - NAME_ZERO)))


def score_pair(a: Features, b: Features) -> tuple[float, list[Reason]]:
    """The score (0..1) that `a` and `b` are the same person, and the reasons, as codes."""
    reasons: list[Reason] = []
    sim, name_reason = name_similarity(a, b)
    if name_reason:
        reasons.append(name_reason)
    dob, dob_factor, dob_reason = _dob_part(a, b)
    sex, sex_factor, sex_reason = _sex_part(a, b)
    place, place_reason = _place_part(a, b)
    reasons += [r for r in (dob_reason, sex_reason, place_reason) if r]
    total = W_NAME * name_weight(sim) + W_DOB * dob + W_SEX * sex + W_PLACE * place
    if a.phone and a.phone == b.phone:
        total += W_PHONE
        reasons.append({"code": "same_phone"})
    if a.external_id and a.external_id == b.external_id:
        total += W_EXTERNAL
        reasons.append({"code": "same_external_id"})
    total *= dob_factor * sex_factor
    return round(min(1.0, max(0.0, total)), 3), reasons


# --- reasons as sentences ----------------------------------------------------------


def _script_label(script: str) -> str:
    return {
        "local": _("in local script"),
        "latin": _("in Latin letters"),
        "mixed": _("one in local script, one in Latin letters"),
    }.get(script, "")


def reason_text(reason: Reason) -> str:
    """One stored reason as a sentence in the active language."""
    code = reason.get("code", "")
    script = _script_label(str(reason.get("script", "")))
    if code == "name_same":
        if reason.get("swapped"):
            return _("Same name (%(script)s), with family and given name in the other order.") % {
                "script": script
            }
        return _("Same name (%(script)s).") % {"script": script}
    if code == "name_variant":
        return _("Names spelled differently but sounding the same (%(script)s).") % {
            "script": script
        }
    if code == "name_similar":
        return _("Similar names (%(script)s): %(percent)d%% alike.") % {
            "script": script,
            "percent": round(float(reason.get("similarity", 0)) * 100),
        }
    simple = {
        "dob_same": _("Same date of birth."),
        "dob_same_estimated": _("Same date of birth, estimated on one record or both."),
        "dob_unknown": _("Only one of them has a date of birth."),
        "sex_same": _("Same sex."),
        "sex_different": _("Different sex."),
        "sex_not_comparable": _("Sex recorded as other or not given: not compared."),
        "same_household": _("Same household."),
        "same_village": _("Same village."),
        "same_commune": _("Different villages of the same commune."),
        "same_province": _("Different communes of the same province."),
        "different_province": _("Different provinces."),
        "different_country": _("Different countries."),
        "same_phone": _("Same phone number."),
        "same_external_id": _("Same external id."),
    }
    if code in simple:
        return str(simple[code])
    days = int(reason.get("days", 0))
    if code == "dob_close":
        return _("Dates of birth %(days)d days apart (a typing mistake?).") % {"days": days}
    if code == "dob_within_year":
        return _("Dates of birth within a year of each other, one of them estimated.")
    if code == "dob_same_year":
        return _("Born the same year, on different days.")
    if code == "dob_conflict":
        return _("Dates of birth %(years)s years apart.") % {"years": reason.get("years", "?")}
    return str(code)


def reasons_text(reasons: Iterable[Reason]) -> list[str]:
    return [reason_text(r) for r in reasons]


# --- registration-time check ---------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    person: Person
    score: float
    reasons: list[Reason]

    @property
    def reason_sentences(self) -> list[str]:
        return reasons_text(self.reasons)


def _word_prefixes(*parts: str) -> set[str]:
    """First two letters of each word, folded and as spelling-variant key."""
    out: set[str] = set()
    for part in parts:
        for word in fold(part).split():
            out.add(word[:2])
        for word in variant_key(part).split():
            out.add(word[:2])
    return {p for p in out if p}


def _starts_a_word(prefixes: set[str]) -> Q:
    # search_text is "family given | family given || variant keys": a word starts the
    # text or follows a space.
    cond = Q(pk__in=[])
    for p in sorted(prefixes):
        cond |= Q(search_text__startswith=p) | Q(search_text__contains=f" {p}")
    return cond


# A registration is held back, for the user to confirm, from this score up.
REGISTRATION_HOLD_SCORE = 0.8


def registration_candidates(actor: Any, values: dict[str, Any], village: Area) -> list[Candidate]:
    """The possible duplicates that hold back registering a person with `values` (the
    person fields a registration form or API call carries) in `village`."""
    return candidates_for(
        actor,
        given_name_local=values.get("given_name_local", ""),
        family_name_local=values.get("family_name_local", ""),
        given_name_latin=values.get("given_name_latin", ""),
        family_name_latin=values.get("family_name_latin", ""),
        sex=values.get("sex", ""),
        date_of_birth=values.get("date_of_birth"),
        village=village,
        min_score=REGISTRATION_HOLD_SCORE,
    )


def candidates_for(
    actor: Any,
    *,
    given_name_local: str = "",
    family_name_local: str = "",
    given_name_latin: str = "",
    family_name_latin: str = "",
    sex: str = "",
    date_of_birth: dt.date | None = None,
    village: Area | None = None,
    exclude_id: int | None = None,
    limit: int = 10,
    min_score: float = WARN_SCORE,
) -> list[Candidate]:
    """Records the actor can see that may be the person being registered, best first.

    Call it from a registration form or API before saving (or after, with
    `exclude_id` set to the new record). Looked at: persons in `village` (any name
    starting like one of the names typed, or born within a year, or with no date of
    birth) and, anywhere the actor sees, persons born in the year typed or the year
    either side whose names have a word starting like the family name and one
    starting like the given name. At most `FETCH_LIMIT` rows of each are scored (the
    same date of birth first). Merged records are left out. Nothing is written or
    audited: the caller shows the names to someone entitled to see them.

    On the 1,000,000-person demo (SQLite, after ANALYZE) a facilitator's check takes
    about 40 ms, a provincial officer's about 300 ms; an index on
    Person.date_of_birth lets the database start from the birth-date range.
    """
    family_prefixes = _word_prefixes(family_name_local, family_name_latin)
    given_prefixes = _word_prefixes(given_name_local, given_name_latin)
    if not (family_prefixes or given_prefixes):
        return []
    name_q = Q()
    for prefixes in (family_prefixes, given_prefixes):
        if prefixes:
            name_q &= _starts_a_word(prefixes)
    base = persons_visible_to(actor).filter(merged_into__isnull=True)
    if exclude_id:
        base = base.exclude(pk=exclude_id)
    born_near = Q(pk__in=[])
    if date_of_birth:
        y = date_of_birth.year
        born_near = Q(date_of_birth__range=(dt.date(y - 1, 1, 1), dt.date(y + 1, 12, 31)))
    # Two queries rather than one with OR, so that each can use its index: the village's
    # households, and (with an index on date_of_birth) the birth-date range.
    queries: list[QuerySet[Person]] = []
    if village is not None:
        in_village = base.filter(household__village=village).filter(
            _starts_a_word(family_prefixes | given_prefixes)
            | born_near
            | Q(date_of_birth__isnull=True)
        )
        queries.append(in_village.order_by("-id"))
    if date_of_birth:
        exact_first = models.Case(
            models.When(date_of_birth=date_of_birth, then=Value(0)),
            default=Value(1),
            output_field=models.IntegerField(),
        )
        anywhere = base.filter(born_near & name_q).annotate(_first=exact_first)
        queries.append(anywhere.order_by("_first", "-id"))
    elif village is None:
        # Only the names to go by: the limit bounds it.
        queries.append(base.filter(name_q).order_by("-id"))
    rows_by_id: dict[int, tuple[Any, ...]] = {}
    for query in queries:
        for row in query.values_list(*ROW_FIELDS)[:FETCH_LIMIT]:
            rows_by_id.setdefault(row[0], row)
    rows = list(rows_by_id.values())
    if not rows:
        return []
    probe = make_features(
        id=0,
        village_id=village.pk if village else None,
        commune_id=village.parent_id if village else None,
        village_path=village.path if village else "",
        family_name_local=family_name_local,
        given_name_local=given_name_local,
        family_name_latin=family_name_latin,
        given_name_latin=given_name_latin,
        sex=sex,
        date_of_birth=date_of_birth,
    )
    scored: list[tuple[float, int, list[Reason]]] = []
    for row in rows:
        score, reasons = score_pair(probe, _row_features(row))
        if score >= min_score:
            scored.append((score, row[0], reasons))
    scored.sort(key=lambda s: (-s[0], s[1]))
    scored = scored[:limit]
    persons = Person.objects.select_related("household", "household__village").in_bulk(
        [pk for _, pk, _ in scored]
    )
    return [Candidate(persons[pk], score, reasons) for score, pk, reasons in scored]


# --- the batch job ----------------------------------------------------------------


@dataclass
class FindSummary:
    """What a run of `find_duplicates` did; stored in its audit event."""

    area: str = ""
    threshold: float = THRESHOLD
    persons: int = 0
    blocks: int = 0
    pairs_compared: int = 0
    found: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    already_decided: int = 0
    skipped_blocks: int = 0
    skipped_block_persons: int = 0
    # Open pairs from earlier runs not found again: scored anew, withdrawn when they no
    # longer reach the threshold (the records were corrected, or the rules changed).
    rescored: int = 0
    withdrawn: int = 0
    by_pass: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _year_bucket(shift: int) -> Any:
    # Two passes, with buckets [2k, 2k+1] and [2k-1, 2k]: any two birth years at most
    # one apart share a bucket in one of them.
    return Floor((ExtractYear("date_of_birth") + Value(shift)) / Value(2))


def _sex_class() -> Any:
    # Female and male block apart; "other" and "prefers not to say" block together.
    return models.Case(
        models.When(sex__in=_BINARY_SEXES, then=F("sex")),
        default=Value("x"),
        output_field=models.CharField(),
    )


def _variant_prefix() -> Any:
    # search_text ends with " || " and the variant keys of the Latin names (see
    # registry.services.search_text_for): two letters of the first key.
    return Substr("search_text", StrIndex("search_text", Value(" || ")) + Value(4), 2)


@dataclass(frozen=True)
class _Pass:
    name: str
    keys: dict[str, Any]
    where: Q


def _passes() -> list[_Pass]:
    has_dob = Q(date_of_birth__isnull=False)
    village = F("household__village_id")
    return [
        # Same village, same first letter of the first name written: twice in one village.
        _Pass("village_initial", {"v": village, "p": Substr("search_text", 1, 1)}, Q()),
        # Same village, birth years at most one apart: family and given name swapped,
        # or one record in local script and the other in Latin letters.
        _Pass("village_years", {"v": village, "y": _year_bucket(0)}, has_dob),
        _Pass("village_years_shifted", {"v": village, "y": _year_bucket(1)}, has_dob),
        # Anywhere: same sex, birth years at most one apart, first two letters of the
        # first name written (tones and accents folded).
        _Pass(
            "name_years",
            {"s": _sex_class(), "y": _year_bucket(0), "p": Substr("search_text", 1, 2)},
            has_dob,
        ),
        _Pass(
            "name_years_shifted",
            {"s": _sex_class(), "y": _year_bucket(1), "p": Substr("search_text", 1, 2)},
            has_dob,
        ),
        # Anywhere: same sex and birth year, first two letters of the spelling-variant key
        # of the Latin name ("Sokh" and "Sok", "Chhim" and "Chim").
        _Pass(
            "variant_year",
            {"s": _sex_class(), "y": ExtractYear("date_of_birth"), "p": _variant_prefix()},
            has_dob & Q(search_text__contains=" || "),
        ),
    ]


def _persons_for_job(actor: Any, areas: list[Area]) -> QuerySet[Person]:
    qs = Person.objects.filter(merged_into__isnull=True)
    if not access.is_system(actor):
        qs = qs.filter(
            household__village_id__in=access.areas_in_scope(actor, MERGE_PERSONS).values("id")
        )
    if areas:
        cond = Q(pk__in=[])
        for a in areas:
            cond |= Q(household__village__path__startswith=a.path)
        qs = qs.filter(cond)
    return qs


def _blocks(qs: QuerySet[Person], p: _Pass, summary: FindSummary) -> Iterator[list[Features]]:
    """The blocks of one pass with 2..MAX_BLOCK persons, streamed in key order."""
    keyed = qs.filter(p.where).annotate(**p.keys)
    names = list(p.keys)
    giants = keyed.values(*names).annotate(n=Count("id")).filter(n__gt=MAX_BLOCK).values_list("n")
    for (n,) in giants:
        summary.skipped_blocks += 1
        summary.skipped_block_persons += n
    # The persons of blocks of a useful size, by a window count over the block key, as an
    # `id IN (...)` semi-join (selecting straight from a window-filtered query trips
    # Django's value converters).
    sized = (
        keyed.annotate(block_n=Window(Count("id"), partition_by=[F(k) for k in names]))
        .filter(block_n__gte=2, block_n__lte=MAX_BLOCK)
        .values("id")
    )
    rows = keyed.filter(id__in=sized).order_by(*names, "id").values_list(*names, *ROW_FIELDS)
    width = len(names)
    for _key, group in groupby(rows.iterator(chunk_size=5000), key=lambda r: r[:width]):
        yield [_row_features(r[width:]) for r in group]


def _name_matrix(block: list[Features]) -> np.ndarray:
    """Best name similarity (0..100) of every two persons of the block: the same rule as
    `name_similarity`, all comparisons done at once in C, once per distinct name."""
    n = len(block)
    distinct: dict[tuple[str, str], int] = {}
    # which[s][i]: the distinct name of person i in script s; -1 for none
    which = np.full((2, n), -1)
    for s, slot in enumerate(("local", "latin")):
        for i, f in enumerate(block):
            for form in f.names:
                if form.script == slot:
                    key = (form.key_sorted, form.key_joined)
                    which[s, i] = distinct.setdefault(key, len(distinct))
    m = len(distinct)
    sims = np.zeros((m + 1, m + 1), dtype=np.uint8)  # the last row and column: no name
    if m:
        sorted_keys = [k for k, _ in distinct]
        joined_keys = [j for _, j in distinct]
        cutoff = NAME_ZERO * 100
        sims[:m, :m] = np.maximum(
            process.cdist(sorted_keys, sorted_keys, scorer=fuzz.ratio, dtype=np.uint8,
                          score_cutoff=cutoff),
            process.cdist(joined_keys, joined_keys, scorer=fuzz.ratio, dtype=np.uint8,
                          score_cutoff=cutoff),
        )  # fmt: skip
    which[which < 0] = m
    return np.maximum.reduce(
        [sims[which[s][:, None], which[t][None, :]] for s in (0, 1) for t in (0, 1)]
    )


_SEX_CODE = {Sex.FEMALE.value: 1, Sex.MALE.value: 2, "": 0}  # other / undisclosed: 3


def _columns(f: Features) -> tuple[int, ...]:
    dob = f.dob
    return (
        f.household_id or 0,
        f.village_id or 0,
        f.commune_id or 0,
        int(f.province or 0),
        int(f.country or 0),
        dob.toordinal() if dob else 0,
        dob.year if dob else 0,
        dob.month if dob else 0,
        dob.day if dob else 0,
        f.dob_estimated,
        _SEX_CODE.get(f.sex, 3),
        hash(f.phone) if f.phone else 0,  # a collision only adds a pair score_pair rejects
        hash(f.external_id) if f.external_id else 0,
    )


def block_scores(block: list[Features]) -> np.ndarray:
    """`score_pair` for every two persons of the block at once, as a matrix (names
    compared to the nearest whole percent, so a score may be off by 0.01)."""
    sim = _name_matrix(block).astype(np.float32) / 100
    name = np.clip((sim - NAME_ZERO) / (1 - NAME_ZERO), 0, 1)
    cols = np.array([_columns(f) for f in block], dtype=np.int64).T
    (household, village, commune, province, country, day, year, month, dom, est, sex_code,
     phone, external) = (c[:, None] for c in cols)  # fmt: skip

    def same(c: np.ndarray) -> np.ndarray:
        return (c == c.T) & (c != 0)

    known = day != 0
    both = known & known.T
    days = np.abs(day - day.T)
    estimated = (est | est.T).astype(bool)
    same_year = year == year.T
    swapped = same_year & (month == dom.T) & (dom == month.T)
    same_day = days == 0
    close = ~same_day & (swapped | (~estimated & (days <= CLOSE_DAYS)))
    within = ~same_day & ~close & estimated & (days <= ESTIMATE_DAYS)
    year_only = ~same_day & ~close & ~within & same_year
    conflict = ~(same_day | close | within | year_only)
    dob = np.select(
        [~both, same_day & ~estimated, same_day, close, within, year_only],
        [DOB_VALUE[c] for c in ("dob_unknown", "dob_same", "dob_same_estimated", "dob_close",
                                "dob_within_year", "dob_same_year")],
        DOB_VALUE["dob_conflict"],
    )  # fmt: skip
    factor = np.where(both & conflict, DOB_FACTOR["dob_conflict"], 1.0)
    factor = np.where(both & year_only, DOB_FACTOR["dob_same_year"], factor)

    binary = (sex_code > 0) & (sex_code < 3)
    both_binary = binary & binary.T
    sex = np.where(both_binary, (sex_code == sex_code.T).astype(np.float32), 0.5)
    factor = factor * np.where(both_binary & (sex_code != sex_code.T), CONFLICT_FACTOR, 1)

    place = np.select(
        [same(household), same(village), same(commune), same(province), same(country)],
        [PLACE_VALUE[c] for c in ("same_household", "same_village", "same_commune",
                                  "same_province", "different_province")],
        PLACE_VALUE["different_country"],
    )  # fmt: skip
    extra = W_PHONE * same(phone) + W_EXTERNAL * same(external)
    total = (W_NAME * name + W_DOB * dob + W_SEX * sex + W_PLACE * place + extra) * factor
    return np.clip(total, 0, 1)


# How far below the threshold the block scorer looks, to make up for names compared to
# the whole percent; `score_pair` then decides.
BLOCK_MARGIN = 0.02


def _likely_pairs(block: list[Features], threshold: float) -> Iterator[tuple[int, int]]:
    """Index pairs (i < j) of the block that may score `threshold` or more."""
    scores = np.triu(block_scores(block), k=1)
    rows, cols = np.nonzero(scores >= threshold - BLOCK_MARGIN)
    yield from zip(rows.tolist(), cols.tolist(), strict=True)


def _upsert(found: dict[tuple[int, int], tuple[float, list[Reason]]], summary: FindSummary) -> None:
    pairs = sorted(found)
    now = timezone.now()
    for start in range(0, len(pairs), 500):
        chunk = pairs[start : start + 500]
        existing = {
            (c.person_a_id, c.person_b_id): c
            for c in DuplicateCandidate.objects.filter(
                person_a_id__in={a for a, _ in chunk}, person_b_id__in={b for _, b in chunk}
            )
        }
        new: list[DuplicateCandidate] = []
        changed: list[DuplicateCandidate] = []
        for pair in chunk:
            score, reasons = found[pair]
            current = existing.get(pair)
            if current is None:
                new.append(
                    DuplicateCandidate(
                        person_a_id=pair[0],
                        person_b_id=pair[1],
                        score=score,
                        reasons=reasons,
                        found_at=now,
                    )
                )
            elif current.status != CandidateStatus.OPEN:
                summary.already_decided += 1
            elif current.score != score or current.reasons != reasons:
                current.score, current.reasons = score, reasons
                changed.append(current)
            else:
                summary.unchanged += 1
        DuplicateCandidate.objects.bulk_create(new)
        DuplicateCandidate.objects.bulk_update(changed, ["score", "reasons"])
        summary.created += len(new)
        summary.updated += len(changed)


def _refresh_stale(
    qs: QuerySet[Person],
    seen: set[tuple[int, int]],
    threshold: float,
    summary: FindSummary,
) -> None:
    """Open pairs within the job's persons that this run did not find: score each again
    (a giant block may have hidden it) and withdraw those below the threshold. Open
    pairs are suggestions, not decisions: nothing decided is touched."""
    ids = qs.values("id")
    open_pairs = DuplicateCandidate.objects.filter(
        status=CandidateStatus.OPEN, person_a_id__in=ids, person_b_id__in=ids
    ).values_list("id", "person_a_id", "person_b_id")
    stale = [row for row in open_pairs.iterator(chunk_size=5000) if row[1:] not in seen]
    for start in range(0, len(stale), 1000):
        chunk = stale[start : start + 1000]
        persons = {
            row[0]: _row_features(row)
            for row in Person.objects.filter(
                id__in={pid for _, a, b in chunk for pid in (a, b)}
            ).values_list(*ROW_FIELDS)
        }
        gone: list[int] = []
        changed: list[DuplicateCandidate] = []
        for cid, a, b in chunk:
            score, reasons = score_pair(persons[a], persons[b])
            if score < threshold:
                gone.append(cid)
            else:
                changed.append(DuplicateCandidate(id=cid, score=score, reasons=reasons))
        DuplicateCandidate.objects.filter(id__in=gone, status=CandidateStatus.OPEN).delete()
        DuplicateCandidate.objects.bulk_update(changed, ["score", "reasons"])
        summary.withdrawn += len(gone)
        summary.rescored += len(changed)


def _as_areas(area: Area | Iterable[Area] | None) -> list[Area]:
    if area is None:
        return []
    if isinstance(area, Area):
        return [area]
    return list(area)


@transaction.atomic
def find_duplicates(
    *, actor: Any, area: Area | Iterable[Area] | None = None, threshold: float = THRESHOLD
) -> FindSummary:
    """Find possible duplicates among the persons in `area` (and below; everywhere the
    actor may merge when None), store pairs scoring `threshold` or more as open
    candidates, refresh the score of open ones, leave decided ones alone. One audit
    event per run, with the summary."""
    access.require(actor, MERGE_PERSONS)
    areas = _as_areas(area)
    summary = FindSummary(
        area=", ".join(f"{a.country}-{a.code}" for a in areas), threshold=threshold
    )
    qs = _persons_for_job(actor, areas)
    summary.persons = qs.count()
    found: dict[tuple[int, int], tuple[float, list[Reason]]] = {}
    stored: set[tuple[int, int]] = set()  # found earlier in this run, already written
    for p in _passes():
        new_in_pass = 0
        for block in _blocks(qs, p, summary):
            summary.blocks += 1
            summary.pairs_compared += len(block) * (len(block) - 1) // 2
            for i, j in _likely_pairs(block, threshold):
                a, b = block[i], block[j]
                pair = (a.id, b.id) if a.id < b.id else (b.id, a.id)
                if pair in found or pair in stored:
                    continue
                score, reasons = score_pair(a, b)
                if score >= threshold:
                    found[pair] = (score, reasons)
                    new_in_pass += 1
            if len(found) >= FLUSH_EVERY:
                _upsert(found, summary)
                stored.update(found)
                found.clear()
        summary.by_pass[p.name] = new_in_pass
    _upsert(found, summary)
    stored.update(found)
    summary.found = len(stored)
    _refresh_stale(qs, stored, threshold, summary)
    audit.record(
        actor=actor,
        action="duplicate.find",
        object_type="registry.duplicatecandidate",
        object_repr=summary.area or "*",
        changes=summary.as_dict(),
    )
    return summary


# --- reading candidates and merges ---------------------------------------------------


def candidates_visible_to(actor: Any) -> QuerySet[DuplicateCandidate]:
    """Candidates both of whose persons are in the actor's areas, for a reviewer (who
    holds MERGE_PERSONS). Decided pairs stay readable after a merge, so the villages are
    checked rather than the person lists, which leave merged records out."""
    if not access.has_permission(actor, MERGE_PERSONS) or not access.has_permission(
        actor, VIEW_PERSONS
    ):
        return DuplicateCandidate.objects.none()
    if access.is_system(actor):
        return DuplicateCandidate.objects.all()
    villages = access.areas_in_scope(actor, VIEW_PERSONS).values("id")
    return DuplicateCandidate.objects.filter(
        person_a__household__village_id__in=villages,
        person_b__household__village_id__in=villages,
    )


def candidates_in_area(
    qs: QuerySet[DuplicateCandidate], areas: list[Area]
) -> QuerySet[DuplicateCandidate]:
    """Candidates with at least one of the two persons in one of `areas` (or below)."""
    cond = Q(pk__in=[])
    for a in areas:
        cond |= Q(person_a__household__village__path__startswith=a.path)
        cond |= Q(person_b__household__village__path__startswith=a.path)
    return qs.filter(cond)


def merges_visible_to(actor: Any) -> QuerySet[PersonMerge]:
    """Merges whose two records are both in the actor's areas (merged records included:
    they are kept so that the merge can be explained)."""
    if not access.has_permission(actor, VIEW_PERSONS):
        return PersonMerge.objects.none()
    villages = access.areas_in_scope(actor, VIEW_PERSONS).values("id")
    return PersonMerge.objects.filter(
        kept__household__village_id__in=villages, merged__household__village_id__in=villages
    )


def merge_get(actor: Any, pk: int) -> PersonMerge:
    """One merge with both records, for someone who may see both; both reads audited.

    The merged record is loaded by id with an explicit check of its village: lists
    leave merged records out, this page must still show it."""
    try:
        merge = PersonMerge.objects.select_related(
            "kept__household__village", "merged__household__village", "candidate", "merged_by"
        ).get(pk=pk)
    except PersonMerge.DoesNotExist:
        raise Http404 from None
    for person in (merge.kept, merge.merged):
        if not access.can_act_in(actor, VIEW_PERSONS, person.household.village):
            raise Http404
    for person in (merge.kept, merge.merged):
        audit.record(actor=actor, action="read", obj=person)
    return merge


# --- merging ---------------------------------------------------------------------

# Fields whose value can be taken from the merged record. dob_estimated goes with
# date_of_birth unless chosen on its own.
MERGE_FIELDS = (
    "household",
    "relationship",
    "family_name_local",
    "given_name_local",
    "family_name_latin",
    "given_name_latin",
    "sex",
    "date_of_birth",
    "dob_estimated",
    "external_id",
    "school_status",
    "id_documents",
    "phone",
    "disability",
)
KEPT, MERGED = "kept", "merged"
# Left-behind rows (a unique constraint kept the kept person's row) go in
# PersonMerge.moved under this key: {"_left": {model label: count}}.
LEFT_KEY = "_left"


def field_value(person: Person, name: str) -> Any:
    if name == "household":
        return person.household_id
    value = getattr(person, name)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _is_blank(value: Any) -> bool:
    return value in (None, "", [], "unknown")


def default_choice(name: str, kept_value: Any, merged_value: Any) -> str:
    """Which value a merge keeps when nobody chose: the kept record's, unless it is blank
    and the merged record's is not (an exact date beats an estimated one)."""
    if name == "dob_estimated":
        return MERGED if kept_value and not merged_value else KEPT
    if _is_blank(kept_value) and not _is_blank(merged_value):
        return MERGED
    return KEPT


@dataclass(frozen=True)
class PersonLink:
    """A foreign key from some model to Person, whose rows a merge moves."""

    model: type[models.Model]
    field: models.ForeignKey[Any, Any]
    key: str  # "registry.consent" (or "app.model:field" when a model has several)

    @property
    def label(self) -> str:
        return str(self.model._meta.verbose_name_plural)


_NOT_MOVED = {
    ("registry.person", "merged_into"),  # the merge's own pointer
}
# Decisions about pairs of records, not data of one person.
_DECISION_MODELS = ("registry.duplicatecandidate", "registry.personmerge")


def person_links() -> list[PersonLink]:
    """Every foreign key to Person in every installed model, found at run time so that
    models added later (assessments, outcomes, referrals...) are moved without change."""
    out: list[PersonLink] = []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or meta.label_lower in _DECISION_MODELS:
            continue
        fks = [
            f
            for f in meta.concrete_fields
            if isinstance(f, models.ForeignKey)
            and f.related_model is Person
            and (meta.label_lower, f.name) not in _NOT_MOVED
        ]
        for f in fks:
            key = meta.label_lower if len(fks) == 1 else f"{meta.label_lower}:{f.name}"
            out.append(PersonLink(model, f, key))
    return out


def link_for_key(key: str) -> PersonLink | None:
    return next((link for link in person_links() if link.key == key), None)


def _unique_sets(link: PersonLink) -> list[tuple[tuple[str, ...], Q | None]]:
    """The other fields of each uniqueness rule that includes the link's field."""
    name = link.field.name
    meta = link.model._meta
    sets: list[tuple[tuple[str, ...], Q | None]] = []
    if link.field.unique:
        sets.append(((), None))
    for together in meta.unique_together:
        if name in together:
            sets.append((tuple(f for f in together if f != name), None))
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and name in constraint.fields:
            others = tuple(f for f in constraint.fields if f != name)
            sets.append((others, constraint.condition))
    return sets


def _move_rows(link: PersonLink, kept: Person, merged: Person) -> tuple[int, int]:
    """Point the merged person's rows at the kept one; a row that would break a
    uniqueness rule (one entry per list and person...) stays with the merged record,
    the kept person's row wins. Returns (moved, left)."""
    manager = link.model._base_manager
    name = link.field.name
    rows = manager.filter(**{name: merged})
    clash = Q(pk__in=[])
    for others, condition in _unique_sets(link):
        theirs = manager.filter(**{name: kept}, **{o: OuterRef(o) for o in others})
        if condition is not None:
            theirs = theirs.filter(condition)
            clash |= Q(Exists(theirs)) & condition
        else:
            clash |= Q(Exists(theirs))
    left = rows.filter(clash).count()
    moved = rows.exclude(clash).update(**{name: kept})
    return moved, left


def _person_state(p: Person) -> dict[str, Any]:
    return {
        **{f: field_value(p, f) for f in MERGE_FIELDS},
        "merged_into": p.merged_into_id,
    }


@transaction.atomic
def person_merge(
    *,
    actor: Any,
    kept: Person,
    merged: Person,
    candidate: DuplicateCandidate | None = None,
    reason: str = "",
    choose: dict[str, str] | None = None,
) -> PersonMerge:
    """Merge `merged` into `kept`: every row pointing at `merged` moves to `kept`, the
    chosen field values (`{"phone": "merged"}`; unchosen fields follow
    `default_choice`) are copied onto `kept`, and `merged` is kept, pointing at `kept`.
    Needs MERGE_PERSONS in both villages."""
    locked = Person.objects.select_for_update().select_related("household__village")
    kept = locked.get(pk=kept.pk)
    merged = locked.get(pk=merged.pk)
    access.require_in(actor, MERGE_PERSONS, kept.household.village)
    access.require_in(actor, MERGE_PERSONS, merged.household.village)
    if kept.pk == merged.pk:
        raise ValidationError(_("A record cannot be merged into itself."))
    if merged.merged_into_id:
        raise ValidationError(
            _("Record #%(id)s was already merged into record #%(into)s.")
            % {"id": merged.pk, "into": merged.merged_into_id}
        )
    if kept.merged_into_id:
        raise ValidationError(
            _("Record #%(id)s was merged into record #%(into)s: merge into that one instead.")
            % {"id": kept.pk, "into": kept.merged_into_id}
        )
    # Cannot happen while the kept record is not itself merged, but a cycle would make
    # "which record is this person now" unanswerable: check the chain anyway.
    seen, step = {kept.pk}, kept
    while step.merged_into_id:
        if step.merged_into_id in seen or step.merged_into_id == merged.pk:
            raise ValidationError(_("This merge would make a cycle of merged records."))
        seen.add(step.merged_into_id)
        step = Person.objects.get(pk=step.merged_into_id)
    pair = (min(kept.pk, merged.pk), max(kept.pk, merged.pk))
    if candidate is not None:
        candidate = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
        if (candidate.person_a_id, candidate.person_b_id) != pair:
            raise ValidationError(_("This possible duplicate is about other records."))
        if candidate.status == CandidateStatus.MERGED:
            raise ValidationError(_("These records were already merged."))
    else:
        candidate = (
            DuplicateCandidate.objects.select_for_update()
            .filter(person_a_id=pair[0], person_b_id=pair[1])
            .first()
        )
    choose = dict(choose or {})
    unknown = sorted(set(choose) - set(MERGE_FIELDS))
    if unknown:
        raise ValidationError(
            _("These fields cannot be chosen in a merge: %(fields)s.")
            % {"fields": ", ".join(unknown)}
        )
    bad = sorted(k for k, v in choose.items() if v not in (KEPT, MERGED))
    if bad:
        raise ValidationError(
            {k: _("Choose %(kept)s or %(merged)s.") % {"kept": KEPT, "merged": MERGED} for k in bad}
        )

    kept_before, merged_before = _person_state(kept), _person_state(merged)
    fields: dict[str, list[Any]] = {}
    for name in MERGE_FIELDS:
        kv, mv = kept_before[name], merged_before[name]
        if kv == mv:
            continue
        side = choose.get(name) or default_choice(name, kv, mv)
        if name == "dob_estimated" and name not in choose and "date_of_birth" in fields:
            side = fields["date_of_birth"][2]  # the flag belongs to the date taken
        fields[name] = [kv, mv, side]
        if side == MERGED:
            attname = "household_id" if name == "household" else name
            setattr(kept, attname, getattr(merged, attname))
    if fields.get("external_id", [None, None, KEPT])[2] == MERGED:
        merged.external_id = ""  # one record holds an external id (unique)
    merged.merged_into = kept
    merged.save()
    kept.search_text = person_search_text(kept)
    kept.save()

    moved: dict[str, Any] = {}
    left: dict[str, int] = {}
    for link in person_links():
        n_moved, n_left = _move_rows(link, kept, merged)
        if n_moved:
            moved[link.key] = n_moved
        if n_left:
            left[link.key] = n_left
    if left:
        moved[LEFT_KEY] = left

    user = author(actor)
    now = timezone.now()
    if candidate is not None:
        candidate.status = CandidateStatus.MERGED
        candidate.decided_by = user
        candidate.decided_at = now
        candidate.save(update_fields=["status", "decided_by", "decided_at"])
    others = DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN).filter(
        Q(person_a=merged) | Q(person_b=merged)
    )
    closed = others.update(status=CandidateStatus.MERGED, decided_by=user, decided_at=now)
    merge = PersonMerge.objects.create(
        kept=kept,
        merged=merged,
        candidate=candidate,
        reason=reason[:255],
        fields=fields,
        moved=moved,
        merged_by=user,
        merged_at=now,
    )
    common = {"merge": merge.pk, "reason": reason, "moved": moved, "candidates_closed": closed}
    audit.record(
        actor=actor,
        action="merge",
        obj=kept,
        changes={
            **common,
            "kept": kept.pk,
            "merged": merged.pk,
            "fields": audit.diff(kept_before, _person_state(kept), sensitive=SENSITIVE_FIELDS),
        },
    )
    audit.record(
        actor=actor,
        action="merge",
        obj=merged,
        changes={
            **common,
            "kept": kept.pk,
            "merged": merged.pk,
            "fields": audit.diff(merged_before, _person_state(merged), sensitive=SENSITIVE_FIELDS),
        },
    )
    return merge


@transaction.atomic
def candidate_mark_distinct(
    *, actor: Any, candidate: DuplicateCandidate, reason: str
) -> DuplicateCandidate:
    """Record that the two persons of a candidate are not the same person; the batch
    job will not propose the pair again."""
    candidate = (
        DuplicateCandidate.objects.select_for_update()
        .select_related("person_a__household__village", "person_b__household__village")
        .get(pk=candidate.pk)
    )
    access.require_in(actor, MERGE_PERSONS, candidate.person_a.household.village)
    access.require_in(actor, MERGE_PERSONS, candidate.person_b.household.village)
    if candidate.status != CandidateStatus.OPEN:
        raise ValidationError(
            _("This pair was already decided: %(status)s.")
            % {"status": candidate.get_status_display()}
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why these are not the same person.")})
    candidate.status = CandidateStatus.DISTINCT
    candidate.decided_by = author(actor)
    candidate.decided_at = timezone.now()
    candidate.save(update_fields=["status", "decided_by", "decided_at"])
    audit.record(
        actor=actor,
        action="duplicate.distinct",
        obj=candidate,
        changes={
            "status": {"before": CandidateStatus.OPEN.value, "after": candidate.status},
            "persons": [candidate.person_a_id, candidate.person_b_id],
            "reason": reason,
        },
    )
    return candidate
