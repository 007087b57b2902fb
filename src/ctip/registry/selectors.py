"""Reads of households and persons. Each takes the acting user and returns only
what that user's roles and areas allow; there is no unscoped variant."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from ctip.accounts import access
from ctip.accounts.roles import VIEW_AGGREGATES, VIEW_PERSONS
from ctip.core import audit
from ctip.core.text import fold
from ctip.geography.models import Area

from .models import Household, Person


def _village_ids(actor: Any, permission: str) -> QuerySet[Area, int]:
    return access.areas_in_scope(actor, permission).values_list("id", flat=True)


def households_visible_to(actor: Any) -> QuerySet[Household]:
    if not access.has_permission(actor, VIEW_PERSONS):
        return Household.objects.none()
    return Household.objects.filter(village_id__in=_village_ids(actor, VIEW_PERSONS))


def persons_visible_to(actor: Any) -> QuerySet[Person]:
    if not access.has_permission(actor, VIEW_PERSONS):
        return Person.objects.none()
    return Person.objects.filter(household__village_id__in=_village_ids(actor, VIEW_PERSONS))


def age_band_bounds(band: str, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """Birth-date range [earliest, latest] for an age band such as '0-5', '18-24' or '25+'."""
    lo_s, _, hi_s = band.replace("+", "-").partition("-")
    lo = int(lo_s)
    latest = today.replace(year=today.year - lo)
    earliest = None
    if hi_s:
        hi = int(hi_s)
        earliest = today.replace(year=today.year - hi - 1) + dt.timedelta(days=1)
    return earliest, latest


def person_search(
    actor: Any,
    *,
    q: str = "",
    village: Area | None = None,
    sex: str = "",
    age_band: str = "",
) -> QuerySet[Person]:
    qs = persons_visible_to(actor)
    if q:
        for term in fold(q).split():
            qs = qs.filter(search_text__contains=term)
    if village is not None:
        qs = qs.filter(household__village__path__startswith=village.path)
    if sex:
        qs = qs.filter(sex=sex)
    if age_band:
        earliest, latest = age_band_bounds(age_band, timezone.localdate())
        qs = qs.filter(date_of_birth__lte=latest)
        if earliest:
            qs = qs.filter(date_of_birth__gte=earliest)
    return qs


def household_get(actor: Any, pk: int) -> Household:
    try:
        household = households_visible_to(actor).select_related("village").get(pk=pk)
    except Household.DoesNotExist:
        raise Http404 from None
    audit.record(actor=actor, action="read", obj=household)
    return household


def person_get(actor: Any, pk: int) -> Person:
    """One person, for someone allowed to see them; the read is audited."""
    try:
        person = (
            persons_visible_to(actor).select_related("household", "household__village").get(pk=pk)
        )
    except Person.DoesNotExist:
        # Same answer whether the person does not exist or is outside the actor's areas.
        raise Http404 from None
    audit.record(actor=actor, action="read", obj=person)
    return person


AGE_BANDS = ["0-5", "6-11", "12-14", "15-17", "18-24", "25+"]


def person_counts(actor: Any) -> dict[str, Any]:
    """Aggregate counts (no names) by sex and age band, in the areas the actor may see figures for."""
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
