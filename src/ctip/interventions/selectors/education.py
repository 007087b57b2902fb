"""Reads of education support, scoped to the acting user: the supported children with
their latest school term, the dropouts of an area, one child's supports and terms.
Lists take a fixed number of queries whatever their length."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from ctip.accounts import access
from ctip.accounts.roles import RECORD_INTERVENTIONS, VIEW_PERSONS
from ctip.geography.models import Area
from ctip.registry.models import Person
from ctip.registry.selectors import persons_visible_to, restricted

from ..models import EducationSupport, SchoolTerm
from .training import rate, under_codes

LATEST = ("school_year", "term", "enrolled", "days_attended", "days_possible", "dropped_out")


def supports_visible_to(actor: Any) -> QuerySet[EducationSupport]:
    """Support given to persons the actor sees (not to those who withdrew registration)."""
    if not access.has_permission(actor, VIEW_PERSONS):
        return EducationSupport.objects.none()
    return (
        EducationSupport.objects.filter(
            person__household__village_id__in=access.areas_in_scope(actor, VIEW_PERSONS).values(
                "id"
            )
        )
        .exclude(restricted("person_id"))
        .select_related("person__household__village")
    )


def support_search(
    actor: Any, *, person: int | None = None, kind: str = "", area_code: str = ""
) -> QuerySet[EducationSupport]:
    qs = supports_visible_to(actor)
    if person is not None:
        qs = qs.filter(person_id=person)
    if kind:
        qs = qs.filter(kind=kind)
    if area_code:
        qs = qs.filter(under_codes(area_code, "person__household__village__"))
    return qs.order_by("-starts_on", "-id")


def support_get(actor: Any, pk: int) -> EducationSupport:
    try:
        return supports_visible_to(actor).get(pk=pk)
    except EducationSupport.DoesNotExist:
        raise Http404 from None


def _latest_term(field: str) -> Subquery:
    return Subquery(
        SchoolTerm.objects.filter(person_id=OuterRef("pk"))
        .order_by("-school_year", "-term")
        .values(field)[:1]
    )


def supported_children(
    actor: Any, *, area_code: str = "", kind: str = "", dropped_out: bool | None = None
) -> QuerySet[Person]:
    """Persons the actor sees who got education support (of `kind`), each with the
    number of supports, the latest one's kind and their latest school term
    (`latest_school_year`, `latest_term`, `latest_enrolled`, `latest_days_attended`,
    `latest_days_possible`, `latest_dropped_out`); `dropped_out` filters on that term."""
    supports = EducationSupport.objects.filter(person_id=OuterRef("pk"))
    if kind:
        supports = supports.filter(kind=kind)
    qs = (
        persons_visible_to(actor)
        .exclude(restricted())
        .filter(Exists(supports))
        .annotate(
            n_supports=Subquery(
                EducationSupport.objects.filter(person_id=OuterRef("pk"))
                .order_by()
                .values("person_id")
                .annotate(n=Count("id"))
                .values("n")[:1]
            ),
            latest_kind=Subquery(
                EducationSupport.objects.filter(person_id=OuterRef("pk"))
                .order_by("-starts_on", "-id")
                .values("kind")[:1]
            ),
            **{f"latest_{f}": _latest_term(f) for f in LATEST},
        )
        .select_related("household__village")
    )
    if area_code:
        qs = qs.filter(under_codes(area_code, "household__village__"))
    # (keyword dicts: the type checker does not know the annotations)
    if dropped_out is True:
        qs = qs.filter(**{"latest_dropped_out": True})
    elif dropped_out is False:
        qs = qs.exclude(**{"latest_dropped_out": True})
    return qs.order_by("family_name_latin", "given_name_latin", "id")


def attendance_rate(person: Any) -> Decimal | None:
    """The latest term's days attended as a share of its school days (annotated rows)."""
    attended, possible = person.latest_days_attended, person.latest_days_possible
    if attended is None or not possible:
        return None
    return rate(attended, possible)


def term_attendance(term: SchoolTerm) -> Decimal | None:
    if term.days_attended is None or not term.days_possible:
        return None
    return rate(term.days_attended, term.days_possible)


def dropouts(actor: Any, *, area_code: str = "") -> QuerySet[SchoolTerm]:
    """Terms in which a supported child the actor sees dropped out, latest first."""
    if not access.has_permission(actor, VIEW_PERSONS):
        return SchoolTerm.objects.none()
    qs = (
        SchoolTerm.objects.filter(
            dropped_out=True,
            person__household__village_id__in=access.areas_in_scope(actor, VIEW_PERSONS).values(
                "id"
            ),
            person__merged_into__isnull=True,
        )
        .exclude(restricted("person_id"))
        .select_related("person__household__village", "support")
    )
    if area_code:
        qs = qs.filter(under_codes(area_code, "person__household__village__"))
    return qs.order_by("-school_year", "-term", "person_id")


@dataclass
class AreaCount:
    area: Area | None
    children: int


def dropouts_by_commune(terms: QuerySet[SchoolTerm]) -> list[AreaCount]:
    """How many children dropped out, per commune (two queries)."""
    counts = list(
        terms.order_by()
        .values("person__household__village__parent_id")
        .annotate(n=Count("person_id", distinct=True))
    )
    areas = Area.objects.in_bulk([c["person__household__village__parent_id"] for c in counts])
    rows = [
        AreaCount(areas.get(c["person__household__village__parent_id"]), c["n"]) for c in counts
    ]
    return sorted(rows, key=lambda r: (-r.children, r.area.name if r.area else ""))


@dataclass
class ChildEducation:
    supports: Sequence[EducationSupport]
    terms: Sequence[SchoolTerm]
    can_record: bool


def child_education(actor: Any, person: Person) -> ChildEducation:
    """A child's supports and school terms (the caller has checked the child is seen)."""
    supports = list(
        EducationSupport.objects.filter(person=person)
        .annotate(n_follow_ups=Count("follow_ups", filter=Q(follow_ups__status="due")))
        .order_by("-starts_on", "-id")
    )
    terms = list(
        SchoolTerm.objects.filter(person=person)
        .select_related("support")
        .order_by("-school_year", "-term")
    )
    return ChildEducation(
        supports=supports,
        terms=terms,
        can_record=access.can_act_in(actor, RECORD_INTERVENTIONS, person.household.village),
    )
