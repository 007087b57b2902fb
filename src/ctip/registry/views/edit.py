"""Registry pages that write: register a household with its members, add and edit
persons, change household facts, record and withdraw consent. Views parse and render;
the services check scope and rules and write the audit trail."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ctip.accounts import access
from ctip.accounts.roles import CHANGE_PERSONS
from ctip.core.views.helpers import apply_errors
from ctip.geography.selectors import AreaCodeError, resolve_area_code

from .. import selectors, services
from ..dedup import registration_candidates
from ..forms import (
    ConsentForm,
    HouseholdCreateForm,
    HouseholdFactsForm,
    MemberFormSet,
    PersonForm,
    WithdrawForm,
)
from ..models import Consent, Person

_MEMBER_KEY = re.compile(r"^members\[(\d+)\]\.(\w+)$")


class _Confirm(forms.Form):
    confirm = forms.BooleanField(required=False)


@login_required
@require_http_methods(["GET", "POST"])
def household_create(request: HttpRequest) -> HttpResponse:
    access.require(request.user, CHANGE_PERSONS)
    today = timezone.localdate()
    form = HouseholdCreateForm(request.POST or None, initial=request.GET or None)
    members = MemberFormSet(request.POST or None, prefix="m")
    confirm = _Confirm(request.POST or None)
    duplicates: list[tuple[int, Any]] = []
    if request.method == "POST" and form.is_valid() and members.is_valid() and confirm.is_valid():
        facts = dict(form.cleaned_data)
        village_code = facts.pop("village")
        code = facts.pop("code")
        rows = [(i, f) for i, f in enumerate(members.forms) if not f.is_blank()]
        values = [f.service_values(today) for _i, f in rows]
        try:
            village = resolve_area_code(village_code)
        except AreaCodeError as exc:
            form.add_error("village", str(exc))
            village = None
        if village is not None and not rows:
            form.add_error(None, _("Register at least one member."))
        elif village is not None:
            if not confirm.cleaned_data["confirm"]:
                for (i, _f), v in zip(rows, values, strict=True):
                    duplicates.extend(
                        (i + 1, c) for c in registration_candidates(request.user, v, village)
                    )
            if not duplicates:
                try:
                    household = services.household_register(
                        actor=request.user, village=village, code=code, members=values, **facts
                    )
                except ValidationError as exc:
                    for key, msgs in exc.message_dict.items():
                        match = _MEMBER_KEY.match(key)
                        if match:
                            row = rows[int(match.group(1)) - 1][1]
                            field = match.group(2)
                            row.add_error(field if field in row.fields else None, msgs)
                        else:
                            form.add_error(key if key in form.fields else None, msgs)
                else:
                    messages.success(
                        request,
                        _("Household %(code)s registered. Record each member's consent now.")
                        % {"code": household.code},
                    )
                    return redirect("registry:household-detail", household.pk)
    return render(
        request,
        "registry/household_form.html",
        {"form": form, "members": members, "duplicates": duplicates, "creating": True},
    )


@login_required
@require_http_methods(["GET", "POST"])
def household_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, CHANGE_PERSONS)
    household = selectors.household_get(request.user, pk)
    initial = {f: getattr(household, f) for f in HouseholdFactsForm.base_fields}
    form = HouseholdFactsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.household_update(actor=request.user, household=household, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("registry:household-detail", household.pk)
    return render(
        request,
        "registry/household_form.html",
        {"form": form, "household": household, "creating": False},
    )


@login_required
@require_http_methods(["GET", "POST"])
def person_add(request: HttpRequest, household_pk: int) -> HttpResponse:
    access.require(request.user, CHANGE_PERSONS)
    household = selectors.household_get(request.user, household_pk)
    form = PersonForm(request.POST or None)
    confirm = _Confirm(request.POST or None)
    duplicates: list[Any] = []
    if request.method == "POST" and form.is_valid() and confirm.is_valid():
        values = form.service_values(timezone.localdate())
        if not confirm.cleaned_data["confirm"]:
            duplicates = registration_candidates(request.user, values, household.village)
        if not duplicates:
            try:
                person = services.person_create(actor=request.user, household=household, **values)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(
                    request, _("%(name)s registered. Record their consent now.") % {"name": person}
                )
                return redirect("registry:person-detail", person.pk)
    return render(
        request,
        "registry/person_form.html",
        {"form": form, "household": household, "duplicates": duplicates},
    )


@login_required
@require_http_methods(["GET", "POST"])
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, CHANGE_PERSONS)
    person = selectors.person_get(request.user, pk)
    initial = {f: getattr(person, f) for f in PersonForm.base_fields if hasattr(person, f)}
    form = PersonForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.person_update(
                actor=request.user, person=person, **form.service_values(timezone.localdate())
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("registry:person-detail", person.pk)
    return render(
        request,
        "registry/person_form.html",
        {"form": form, "household": person.household, "person": person},
    )


@login_required
@require_http_methods(["GET", "POST"])
def consent_add(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, CHANGE_PERSONS)
    person: Person = selectors.person_get(request.user, pk)
    age = person.age
    initial = {
        "given_on": timezone.localdate(),
        "given_by": "self" if age is not None and age >= services.ADULT_AGE else "parent",
        "purpose": request.GET.get("purpose", "registration"),
    }
    form = ConsentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_record(actor=request.user, person=person, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Consent recorded."))
            return redirect("registry:person-detail", person.pk)
    return render(
        request, "registry/consent_form.html", {"form": form, "person": person, "age": age}
    )


@login_required
@require_POST
def consent_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, CHANGE_PERSONS)
    persons = selectors.persons_visible_to(request.user, include_merged=True)
    consent = get_object_or_404(Consent.objects.filter(person__in=persons.values("pk")), pk=pk)
    form = WithdrawForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.consent_withdraw(actor=request.user, consent=consent, reason=reason)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Consent for %(purpose)s withdrawn: from now on it is not used for that.")
            % {"purpose": consent.get_purpose_display()},
        )
    return redirect("registry:person-detail", consent.person_id)
