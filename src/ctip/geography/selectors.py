"""Reads of the geography (not person-level: every signed-in user may browse areas)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Area, AreaQuerySet


class AreaCodeError(ValueError):
    """An area code that names no area, or more than one."""


def resolve_area_code(code: str, *, on: dt.date | None = None) -> Area:
    """The area an official code names, valid on `on` (default today).

    Accepts `KH`/`VN` (the country), a bare code (`01020101`, `80`) or a code
    qualified by country (`KH-01`, `VN-80`) where the bare code is ambiguous:
    Cambodian and Vietnamese province codes overlap.
    """
    raw = (code or "").strip()
    if not raw:
        raise AreaCodeError(_("An area code is empty."))
    day = on or timezone.localdate()
    country = ""
    bare = raw
    if "-" in raw and raw[:2].isalpha() and raw[2] == "-":
        country, bare = raw[:2].upper(), raw[3:]
    elif raw.isalpha() and len(raw) == 2:
        area = Area.objects.filter(level="country", code=raw.upper()).first()
        if area is None:
            raise AreaCodeError(_("No country has the code %(code)s.") % {"code": raw})
        return area
    qs: AreaQuerySet = Area.objects.filter(code=bare).exclude(level="country")
    if country:
        qs = qs.filter(country=country)
    matches = list(qs.valid_on(day).select_related("parent")[:5])
    if not matches:
        if qs.exists():
            raise AreaCodeError(
                _("Area code %(code)s was not valid on %(day)s.") % {"code": raw, "day": day}
            )
        raise AreaCodeError(_("No area has the code %(code)s.") % {"code": raw})
    if len(matches) > 1:
        names = "; ".join(
            f"{a.country}-{a.code} {a.name_en or a.local_name} ({a.get_level_display()}"
            + (f", {a.parent.name_en or a.parent.local_name}" if a.parent else "")
            + ")"
            for a in matches
        )
        raise AreaCodeError(
            _("Area code %(code)s is ambiguous: %(names)s. Prefix the country, e.g. KH-%(bare)s.")
            % {"code": raw, "names": names, "bare": bare}
        )
    return matches[0]


def resolve_area_codes(codes: list[str], *, on: dt.date | None = None) -> list[Area]:
    """All of the codes, or an error naming every bad one (nothing partial)."""
    areas: list[Area] = []
    errors: list[str] = []
    for code in codes:
        try:
            areas.append(resolve_area_code(code, on=on))
        except AreaCodeError as exc:
            errors.append(str(exc))
    if errors:
        raise AreaCodeError(" ".join(errors))
    return areas


def areas_valid_on(day: dt.date | None = None) -> AreaQuerySet:
    return Area.objects.valid_on(day or timezone.localdate())


def ancestors(area: Area) -> list[Area]:
    ids = [int(x) for x in area.path.strip("/").split("/")[:-1] if x]
    by_id = Area.objects.in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


def successors(area: Area) -> AreaQuerySet:
    return Area.objects.filter(predecessions__predecessor=area)


def predecessors(area: Area) -> AreaQuerySet:
    return Area.objects.filter(successions__successor=area)


def equivalents_today(area: Area) -> AreaQuerySet:
    """Where a record made under `area` reports today: itself if still valid, else successors."""
    today = timezone.localdate()
    if area.is_valid_on(today):
        return Area.objects.filter(pk=area.pk)
    return successors(area).valid_on(today)


def search_filter(term: str) -> Q:
    from ctip.core.text import fold

    q = Q()
    for part in fold(term).split():
        q &= Q(search_text__contains=part)
    return q


def units_below(area: Area, *, day: dt.date, term: str = "") -> AreaQuerySet:
    """The units directly below `area` valid on `day`; with a search term, every
    unit below it (any depth) whose names match."""
    if term:
        units = Area.objects.within([area.path]).exclude(pk=area.pk).filter(search_filter(term))
    else:
        units = area.children.all()
    return units.valid_on(day).order_by("code", "id")
