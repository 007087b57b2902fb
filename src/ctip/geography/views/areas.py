"""The area browser: countries, their units on a given day, and villages added by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import MANAGE_AREAS, VIEW_AREAS
from ctip.core.views.helpers import apply_errors
from ctip.geography import selectors, services
from ctip.geography.forms import BrowseForm, VillageForm
from ctip.geography.models import Area, Level

PAGE_SIZE = 50


def _with_child_counts(units: QuerySet[Area], day: dt.date) -> QuerySet[Area]:
    valid_child = (Q(children__valid_from__isnull=True) | Q(children__valid_from__lte=day)) & (
        Q(children__valid_to__isnull=True) | Q(children__valid_to__gte=day)
    )
    return units.select_related("parent").annotate(
        child_count=Count("children", filter=valid_child)
    )


def _page(request: HttpRequest, units: QuerySet[Area]) -> tuple[Any, str]:
    page = Paginator(units, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode([(k, v) for k, v in request.GET.items() if k != "page" and v])
    return page, query


def _show_day(form: BrowseForm, day: dt.date) -> None:
    """Show the day the page is for in the date box even when it was not asked for."""
    if not form["on"].value():
        form.fields["on"].widget.attrs["value"] = day.isoformat()


@login_required
def browse(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_AREAS)
    form = BrowseForm(request.GET or None)
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    country = (data.get("country") or "KH").upper()
    day = data.get("on") or timezone.localdate()
    _show_day(form, day)
    term = (data.get("q") or "").strip()
    root = Area.objects.filter(level=Level.COUNTRY, code=country).first()
    if root is None:
        raise Http404(_("No country has the code %(code)s.") % {"code": country})
    units = selectors.units_below(root, day=day, term=term)
    page, query = _page(request, _with_child_counts(units, day))
    return render(
        request,
        "geography/browse.html",
        {
            "form": form,
            "root": root,
            "day": day,
            "term": term,
            "page": page,
            "query": query,
            "on_query": urlencode({"on": day.isoformat()}),
        },
    )


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_AREAS)
    area = get_object_or_404(Area.objects.select_related("parent"), pk=pk)
    form = BrowseForm(request.GET or None, with_country=False)
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    today = timezone.localdate()
    # A unit that no longer exists is shown as it was on its last day.
    default_day = today if area.is_valid_on(today) else (area.valid_to or area.valid_from or today)
    day = data.get("on") or default_day
    _show_day(form, day)
    term = (data.get("q") or "").strip()
    can_add_village = area.level == Level.COMMUNE and access.can_act_in(
        request.user, MANAGE_AREAS, area
    )

    village_form = VillageForm(request.POST or None) if can_add_village else None
    if request.method == "POST":
        if village_form is None:
            access.require_in(request.user, MANAGE_AREAS, area)  # raises: 403
            raise Http404
        if village_form.is_valid():
            try:
                village = services.village_add(
                    actor=request.user, commune=area, **village_form.cleaned_data
                )
            except ValidationError as exc:
                apply_errors(village_form, exc)
            else:
                messages.success(
                    request,
                    _("Village %(name)s (%(code)s) added.")
                    % {"name": village.name, "code": village.code},
                )
                return redirect("geography:detail", pk=area.pk)

    units = selectors.units_below(area, day=day, term=term)
    page, query = _page(request, _with_child_counts(units, day))
    return render(
        request,
        "geography/detail.html",
        {
            "area": area,
            "form": form,
            "day": day,
            "term": term,
            "page": page,
            "query": query,
            "on_query": urlencode({"on": day.isoformat()}),
            "crumbs": selectors.ancestors(area),
            "became": list(selectors.successors(area).order_by("code")),
            "formed_from": list(selectors.predecessors(area).order_by("code")),
            "village_form": village_form,
        },
        status=200 if village_form is None or not village_form.errors else 400,
    )
