"""Registry pages: households, persons, the person search and its CSV export.

Views only parse input and render; reads go through the scoped selectors."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from ctip.accounts import access
from ctip.accounts.roles import (
    CHANGE_PERSONS,
    EXPORT_PERSONS,
    RECORD_INTERVENTIONS,
    VIEW_PERSONS,
)
from ctip.core.views.helpers import query_without_page
from ctip.geography.selectors import AreaCodeError

from .. import selectors
from ..models import ConsentPurpose, Household, Person, PersonMerge, Sex

PAGE_SIZE = 50


class HouseholdFilterForm(forms.Form):
    q = forms.CharField(label=_("Household code"), required=False, max_length=60)
    village = forms.CharField(
        label=_("Area code"),
        required=False,
        max_length=30,
        help_text=_("Village, commune, district or province code."),
    )


class PersonFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=200,
        help_text=_("Khmer, Vietnamese or Latin letters; tones and accents do not matter."),
    )
    village = forms.CharField(label=_("Area code"), required=False, max_length=30)
    sex = forms.ChoiceField(label=_("Sex"), required=False, choices=[("", _("any")), *Sex.choices])
    age_band = forms.ChoiceField(
        label=_("Age"),
        required=False,
        choices=[("", _("any")), *((b, b) for b in selectors.AGE_BANDS)],
    )


def _person_results(request: HttpRequest, form: PersonFilterForm) -> QuerySet[Person] | None:
    """The scoped search for a valid form; None (with the error on the form) otherwise."""
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        qs = selectors.person_search(
            request.user,
            q=data["q"],
            area_code=data["village"],
            sex=data["sex"],
            age_band=data["age_band"],
        )
    except AreaCodeError as exc:
        form.add_error("village", str(exc))
        return None
    return qs.select_related("household", "household__village").order_by("household_id", "id")


@login_required
@require_GET
def household_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    form = HouseholdFilterForm(request.GET or None)
    households: QuerySet[Household] | None = None
    if form.is_bound and not form.is_valid():
        households = None
    else:
        data = form.cleaned_data if form.is_bound else {"q": "", "village": ""}
        try:
            households = selectors.household_search(
                request.user, q=data["q"], area_code=data["village"]
            )
        except AreaCodeError as exc:
            form.add_error("village", str(exc))
    page = None
    if households is not None:
        households = (
            households.select_related("village")
            .annotate(member_count=Count("members"))
            .order_by("code")
        )
        page = Paginator(households, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/household_list.html",
        {
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "can_register": access.has_permission(request.user, CHANGE_PERSONS),
        },
    )


@login_required
@require_GET
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    household = selectors.household_get(request.user, pk)
    members = selectors.persons_visible_to(request.user).filter(household=household).order_by("id")
    return render(
        request,
        "registry/household_detail.html",
        {
            "household": household,
            "members": members,
            "today": timezone.localdate(),
            "can_change": access.can_act_in(request.user, CHANGE_PERSONS, household.village),
            "can_record": access.can_act_in(request.user, RECORD_INTERVENTIONS, household.village),
        },
    )


@login_required
@require_GET
def person_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    form = PersonFilterForm(request.GET or None)
    page = None
    if form.is_bound:
        persons = _person_results(request, form)
        if persons is not None:
            page = Paginator(persons, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/person_list.html",
        {
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "can_export": access.has_permission(request.user, EXPORT_PERSONS),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_GET
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    person = selectors.person_get(request.user, pk)
    consents = list(person.consents.select_related("recorded_by", "withdrawn_by"))
    active = {c.purpose for c in consents if c.active}
    return render(
        request,
        "registry/person_detail.html",
        {
            "person": person,
            "age": person.age,
            "consents": consents,
            "missing_purposes": [
                (value, label) for value, label in ConsentPurpose.choices if value not in active
            ],
            "restricted": Person.objects.filter(pk=person.pk)
            .filter(selectors.restricted())
            .exists(),
            "merge": PersonMerge.objects.filter(merged=person).order_by("-merged_at").first(),
            "can_change": access.can_act_in(request.user, CHANGE_PERSONS, person.household.village),
        },
    )


EXPORT_COLUMNS = [
    "id",
    "household_code",
    "village",
    "relationship",
    "family_name_local",
    "given_name_local",
    "family_name_latin",
    "given_name_latin",
    "sex",
    "date_of_birth",
    "dob_estimated",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A name starting with = + - @ must not run as a spreadsheet formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_rows(persons: QuerySet[Person]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(EXPORT_COLUMNS)  # BOM: Excel then reads Khmer as UTF-8
    for p in persons.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                _cell(v)
                for v in (
                    p.pk,
                    p.household.code,
                    p.household.village.code,
                    p.relationship,
                    p.family_name_local,
                    p.given_name_local,
                    p.family_name_latin,
                    p.given_name_latin,
                    p.sex,
                    p.date_of_birth.isoformat() if p.date_of_birth else "",
                    "yes" if p.dob_estimated else "no",
                )
            ]
        )


@login_required
@require_GET
def person_export(request: HttpRequest) -> HttpResponseBase:
    access.require(request.user, EXPORT_PERSONS)
    form = PersonFilterForm(request.GET)
    persons = _person_results(request, form)
    if persons is None:
        return HttpResponseBadRequest(form.errors.as_text(), content_type="text/plain")
    persons = selectors.persons_for_export(request.user, persons, form.cleaned_data)
    response = StreamingHttpResponse(_csv_rows(persons), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="persons-{stamp}.csv"'
    return response
