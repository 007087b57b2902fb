from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from ctip.accounts import access
from ctip.accounts.models import RoleAssignment
from ctip.accounts.roles import ROLES, VIEW_AGGREGATES, VIEW_AUDIT
from ctip.core.models import AuditEvent
from ctip.core.templatetags.ctip import action_label, object_type_label
from ctip.core.views.helpers import query_without_page
from ctip.registry import selectors as registry_selectors
from ctip.registry.models import Sex


@login_required
def home(request: HttpRequest) -> HttpResponse:
    counts = (
        registry_selectors.person_counts(request.user)
        if access.has_permission(request.user, VIEW_AGGREGATES)
        else None
    )
    assignments = RoleAssignment.objects.filter(user_id=request.user.pk or 0).select_related("area")
    sex_rows = band_rows = None
    if counts:
        sex_rows = [(label, counts["by_sex"].get(value, 0)) for value, label in Sex.choices]
        band_rows = [(band, counts["by_band"][band]) for band in registry_selectors.AGE_BANDS]
    return render(
        request,
        "core/home.html",
        {
            "counts": counts,
            "sex_rows": sex_rows,
            "band_rows": band_rows,
            "assignments": [(ROLES[a.role].name, a.area) for a in assignments],
        },
    )


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Actor"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    object_id = forms.CharField(label=_("Object id"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        events = AuditEvent.objects.order_by()
        actions = events.values_list("action", flat=True).distinct()
        types = events.exclude(object_type="").values_list("object_type", flat=True).distinct()
        any_ = ("", _("any"))
        self.fields["action"].choices = [any_, *sorted((a, action_label(a)) for a in actions)]  # type: ignore[attr-defined]
        self.fields["object_type"].choices = [  # type: ignore[attr-defined]
            any_,
            *sorted((t, object_type_label(t)) for t in types),
        ]


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_AUDIT)
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.all()
    if form.is_bound and not form.is_valid():
        events = events.none()  # the errors show on the form; never a silently wider list
    elif form.is_valid():
        data: dict[str, Any] = form.cleaned_data
        if data["actor"]:
            events = events.filter(actor_username__icontains=data["actor"])
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["object_type"]:
            events = events.filter(object_type=data["object_type"])
        if data["object_id"]:
            events = events.filter(object_id=data["object_id"])
        if data["date_from"]:
            events = events.filter(occurred_at__date__gte=data["date_from"])
        if data["date_to"]:
            events = events.filter(occurred_at__date__lte=data["date_to"])
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "core/audit_list.html",
        {
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "today": dt.date.today(),
        },
    )


def _error(request: HttpRequest, status: int, title: Any, text: Any) -> HttpResponse:
    return render(request, "error.html", {"title": title, "text": text}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, _("Bad request"), _("The request could not be understood."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request,
        403,
        _("Not allowed"),
        _("Your role or your areas do not give you access to this page."),
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request,
        404,
        _("Not found"),
        _("There is nothing here, or it is outside the areas you work in."),
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(
        request,
        500,
        _("Something went wrong"),
        _("The error was recorded. Nothing you entered was half saved: please try again."),
    )
