"""Reads of households and persons. Each takes the acting user and returns only
what that user's roles and areas allow; there is no unscoped variant."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import EXPORT_PERSONS, VIEW_AGGREGATES, VIEW_PERSONS
from ctip.core import audit
from ctip.core.names import variant_key_word
from ctip.core.text import fold
from ctip.geography.models import Area, Level
from ctip.geography.selectors import AreaCodeError

from .consent import has_consent
from .models import Consent, ConsentPurpose, Household, Person


def _village_ids(actor: Any, permission: str) -> QuerySet[Area, int]:
    return access.areas_in_scope(actor, permission).values_list("id", flat=True)


def households_visible_to(actor: Any) -> QuerySet[Household]:
    if not access.has_permission(actor, VIEW_PERSONS):
        return Household.objects.none()
    return Household.objects.filter(village_id__in=_village_ids(actor, VIEW_PERSONS))


def persons_visible_to(actor: Any, *, include_merged: bool = False) -> QuerySet[Person]:
    """Persons in the actor's areas. Records merged into another are left out of lists
    unless asked for (their page still explains the merge)."""
    if not access.has_permission(actor, VIEW_PERSONS):
        return Person.objects.none()
    qs = Person.objects.filter(household__village_id__in=_village_ids(actor, VIEW_PERSONS))
    return qs if include_merged else qs.filter(merged_into__isnull=True)


def restricted(person_ref: str = "pk") -> Q:
    """Persons whose registration consent was withdrawn (and not given again): kept, but
    no longer processed: left out of searches, exports, assessments and targeting.
    `person_ref` names the person id on other rows (e.g. "person_id" for entries)."""
    withdrawn = Consent.objects.filter(
        person_id=OuterRef(person_ref),
        purpose=ConsentPurpose.REGISTRATION,
        withdrawn_at__isnull=False,
    )
    return Q(Exists(withdrawn)) & ~Q(has_consent(ConsentPurpose.REGISTRATION, person_ref))


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def age_band_bounds(band: str, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """Birth-date range [earliest, latest] for an age band such as '0-5', '18-24' or '25+'."""
    lo_s, _, hi_s = band.replace("+", "-").partition("-")
    lo = int(lo_s)
    latest = _years_before(today, lo)
    earliest = None
    if hi_s:
        hi = int(hi_s)
        earliest = _years_before(today, hi + 1) + dt.timedelta(days=1)
    return earliest, latest


def areas_for_code(code: str) -> list[Area]:
    """Every area an official code names, in any period (records keep their old areas).

    `KH-20` or `VN-92` restricts to one country; a bare code may name several areas.
    Raises AreaCodeError when none has it.
    """
    raw = (code or "").strip()
    qs = Area.objects.exclude(level=Level.COUNTRY)
    if len(raw) > 3 and raw[2] == "-" and raw[:2].isalpha():
        qs = qs.filter(country=raw[:2].upper())
        raw = raw[3:]
    areas = list(qs.filter(code=raw).order_by("path")) if raw else []
    if not areas:
        raise AreaCodeError(_("No area has the code %(code)s.") % {"code": code})
    return areas


def _under(prefix: str, areas: list[Area]) -> Q:
    cond = Q()
    for a in areas:
        cond |= Q(**{f"{prefix}path__startswith": a.path})
    return cond


def household_search(actor: Any, *, q: str = "", area_code: str = "") -> QuerySet[Household]:
    """Households the actor may see, by code and by area (the area and everything below)."""
    qs = households_visible_to(actor)
    if q:
        qs = qs.filter(code__icontains=q.strip())
    if area_code:
        qs = qs.filter(_under("village__", areas_for_code(area_code)))
    return qs


def person_search(
    actor: Any,
    *,
    q: str = "",
    village: Area | None = None,
    area_code: str = "",
    sex: str = "",
    age_band: str = "",
) -> QuerySet[Person]:
    """Persons the actor may see, by name in any script (case, tone and diacritics ignored),
    area (an Area or an official code; everything below it too), sex and age band."""
    qs = persons_visible_to(actor).exclude(restricted())
    if q:
        for term in fold(q).split():
            cond = Q(search_text__contains=term)
            key = variant_key_word(term)
            if key != term and term.isascii():
                # Spelling variants: "srei" finds Srey and Srei, "sokh" finds Sok.
                cond |= Q(search_text__contains=f" {key}") | Q(search_text__contains=f"|{key}")
            qs = qs.filter(cond)
    if village is not None:
        qs = qs.filter(household__village__path__startswith=village.path)
    if area_code:
        qs = qs.filter(_under("household__village__", areas_for_code(area_code)))
    if sex:
        qs = qs.filter(sex=sex)
    if age_band:
        if age_band not in AGE_BANDS:
            raise ValueError(age_band)
        earliest, latest = age_band_bounds(age_band, timezone.localdate())
        qs = qs.filter(date_of_birth__lte=latest)
        if earliest:
            qs = qs.filter(date_of_birth__gte=earliest)
    return qs


def persons_for_export(
    actor: Any, persons: QuerySet[Person], filters: dict[str, Any]
) -> QuerySet[Person]:
    """The rows of a person-level export, for someone allowed to export: only persons who
    consented to their data being shared. The export (its filter, its row count and how
    many were left out for want of consent) is audited before a single row leaves."""
    access.require(actor, EXPORT_PERSONS)
    allowed = persons.filter(has_consent(ConsentPurpose.DATA_SHARING)).exclude(restricted())
    rows = allowed.count()
    audit.record(
        actor=actor,
        action="export",
        object_type="registry.person",
        object_repr="persons.csv",
        changes={
            "filter": {k: v for k, v in filters.items() if v},
            "rows": rows,
            "left_out_without_consent": persons.count() - rows,
        },
    )
    return allowed


def household_get(actor: Any, pk: int) -> Household:
    try:
        household = households_visible_to(actor).select_related("village").get(pk=pk)
    except Household.DoesNotExist:
        raise Http404 from None
    audit.record(actor=actor, action="read", obj=household)
    return household


def person_get(actor: Any, pk: int) -> Person:
    """One person, for someone allowed to see them; the read is audited. A merged record
    is returned too (its page says where it went)."""
    try:
        person = (
            persons_visible_to(actor, include_merged=True)
            .select_related("household", "household__village", "merged_into")
            .get(pk=pk)
        )
    except Person.DoesNotExist:
        # Same answer whether the person does not exist or is outside the actor's areas.
        raise Http404 from None
    audit.record(actor=actor, action="read", obj=person)
    return person


AGE_BANDS = ["0-5", "6-11", "12-14", "15-17", "18-24", "25+"]


def person_counts(actor: Any) -> dict[str, Any]:
    """Aggregate counts (no names) by sex and age band, in the areas the actor sees figures for."""
    if not access.has_permission(actor, VIEW_AGGREGATES):
        return {"total": 0, "households": 0, "by_sex": {}, "by_band": {}}
    villages = _village_ids(actor, VIEW_AGGREGATES)
    persons = Person.objects.filter(household__village_id__in=villages)
    today = timezone.localdate()
    band_aggs = {}
    for band in AGE_BANDS:
        earliest, latest = age_band_bounds(band, today)
        cond = Q(date_of_birth__lte=latest)
        if earliest:
            cond &= Q(date_of_birth__gte=earliest)
        band_aggs[band] = Count("id", filter=cond)
    sexes = dict(persons.values_list("sex").annotate(n=Count("id")).order_by())
    bands = persons.aggregate(total=Count("id"), **band_aggs)
    total = bands.pop("total")
    return {
        "total": total,
        "households": Household.objects.filter(village_id__in=villages).count(),
        "by_sex": sexes,
        "by_band": bands,
    }
