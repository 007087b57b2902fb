"""Participation pages: clubs and forums (with their members over time), events with
who took part and what they decided or reported, and the tracker of their
recommendations.

Views parse input and render; rules, scope and audit live in services/selectors."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ctip.accounts import access
from ctip.accounts.roles import RECORD_INTERVENTIONS, VIEW_PERSONS
from ctip.core.views.helpers import apply_errors, query_without_page
from ctip.geography.selectors import AreaCodeError, resolve_area_code
from ctip.registry.consent import has_consent
from ctip.registry.models import ConsentPurpose
from ctip.registry.selectors import person_search

from .. import forms_participation as f
from ..forms_training import PersonSearchForm
from ..models import ParticipationEvent, ParticipationGroup, Recommendation
from ..selectors import participation as sel
from ..services import participation as svc
from .common import PAGE_SIZE, filtered, page_of


def _require_record_in(request: HttpRequest, area: Any) -> None:
    access.require(request.user, RECORD_INTERVENTIONS)
    if not sel.may_record_in(request.user, area):
        raise PermissionDenied(RECORD_INTERVENTIONS)


# --------------------------------------------------------------------------------------
# Clubs and forums.


@login_required
@require_GET
def group_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    form = f.GroupFilterForm(request.GET or None)
    groups = filtered(
        form,
        lambda data: sel.group_search(
            request.user,
            area_code=data.get("area", ""),
            kind=data.get("kind", ""),
            active={"yes": True, "no": False}.get(data.get("active", "")),
        ),
        ParticipationGroup.objects.none(),
    )
    page = page_of(request, groups)
    return render(
        request,
        "interventions/participation/group_list.html",
        {
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "can_record": access.has_permission(request.user, RECORD_INTERVENTIONS),
        },
    )


def _group_values(form: f.GroupForm) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    data["area"] = resolve_area_code(data["area"])
    return data


@login_required
@require_http_methods(["GET", "POST"])
def group_create(request: HttpRequest) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    form = f.GroupForm(request.POST or None, initial={"active": True})
    if request.method == "POST" and form.is_valid():
        try:
            group = svc.group_create(actor=request.user, **_group_values(form))
        except AreaCodeError as exc:
            form.add_error("area", str(exc))
        except PermissionDenied:
            form.add_error("area", _("You may not record interventions in this area."))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("%(name)s is saved.") % {"name": group.name})
            return redirect("interventions:participation-group-detail", pk=group.pk)
    return render(request, "interventions/participation/group_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    group = sel.group_get(request.user, pk)
    _require_record_in(request, group.area)
    initial = {
        "name": group.name,
        "kind": group.kind,
        "area": f"{group.area.country}-{group.area.code}",
        "formed_on": group.formed_on,
        "active": group.active,
    }
    form = f.GroupForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            group = svc.group_update(actor=request.user, group=group, **_group_values(form))
        except AreaCodeError as exc:
            form.add_error("area", str(exc))
        except PermissionDenied:
            form.add_error("area", _("You may not record interventions in this area."))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("%(name)s is saved.") % {"name": group.name})
            return redirect("interventions:participation-group-detail", pk=group.pk)
    return render(
        request, "interventions/participation/group_form.html", {"form": form, "group": group}
    )


@login_required
@require_GET
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    group = sel.group_get(request.user, pk)
    events = sel.event_search(request.user, group=group.pk)
    page = page_of(request, events)
    sel.group_read(request.user, group)
    return render(
        request,
        "interventions/participation/group_detail.html",
        {
            "group": group,
            "periods": sel.members_over_time(request.user, group),
            "members": sel.group_members(request.user, group),
            "page": page,
            "query": query_without_page(request),
            "can_record": sel.may_record_in(request.user, group.area),
        },
    )


# --------------------------------------------------------------------------------------
# Events.


@login_required
@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    form = f.EventFilterForm(request.GET or None)
    events = filtered(
        form,
        lambda data: sel.event_search(
            request.user, area_code=data.get("area", ""), kind=data.get("kind", "")
        ),
        ParticipationEvent.objects.none(),
    )
    page = page_of(request, events)
    return render(
        request,
        "interventions/participation/event_list.html",
        {
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "can_record": access.has_permission(request.user, RECORD_INTERVENTIONS),
        },
    )


def _event_values(form: f.EventForm) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    code = data.pop("area")
    data["area"] = resolve_area_code(code, on=data["held_on"]) if code else None
    return data


def _groups(request: HttpRequest) -> Any:
    return sel.groups_visible_to(request.user).filter(active=True).order_by("name")


@login_required
@require_http_methods(["GET", "POST"])
def event_create(request: HttpRequest) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    group_pk = request.GET.get("group", "")
    initial: dict[str, Any] = {"held_on": timezone.localdate()}
    if group_pk.isdigit():
        initial["group"] = int(group_pk)
    form = f.EventForm(request.POST or None, groups=_groups(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            event = svc.event_create(actor=request.user, **_event_values(form))
        except AreaCodeError as exc:
            form.add_error("area", str(exc))
        except PermissionDenied:
            form.add_error("area", _("You may not record interventions in this area."))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The event is saved: now record who took part."))
            return redirect("interventions:participation-event-participants", pk=event.pk)
    return render(request, "interventions/participation/event_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def event_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    event = sel.event_get(request.user, pk)
    _require_record_in(request, event.area)
    initial = {
        "group": event.group_id,
        "kind": event.kind,
        "held_on": event.held_on,
        "area": f"{event.area.country}-{event.area.code}",
        "title": event.title,
        "summary": event.summary,
        "monitored_activity": event.monitored_activity,
    }
    groups = sel.groups_visible_to(request.user).order_by("name")
    form = f.EventForm(request.POST or None, groups=groups, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            event = svc.event_update(actor=request.user, event=event, **_event_values(form))
        except AreaCodeError as exc:
            form.add_error("area", str(exc))
        except PermissionDenied:
            form.add_error("area", _("You may not record interventions in this area."))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The event is saved."))
            return redirect("interventions:participation-event-detail", pk=event.pk)
    return render(
        request, "interventions/participation/event_form.html", {"form": form, "event": event}
    )


@login_required
@require_GET
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    event = sel.event_get(request.user, pk)
    participants = list(sel.event_participants(request.user, event))
    recommendations = list(
        sel.recommendations_visible_to(request.user).filter(event=event).order_by("id")
    )
    sel.event_read(request.user, event)
    return render(
        request,
        "interventions/participation/event_detail.html",
        {
            "event": event,
            "participants": participants,
            "recommendations": recommendations,
            "can_record": sel.may_record_in(request.user, event.area),
            "recommendation_form": f.RecommendationForm(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def event_participants(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    event = sel.event_get(request.user, pk)
    _require_record_in(request, event.area)
    posted = [int(v) for v in request.POST.getlist("persons") if v.isdigit()]
    form = f.ParticipantsForm(request.POST or None, person_ids=posted)
    if request.method == "POST" and form.is_valid():
        try:
            added = svc.participants_add(
                actor=request.user,
                event=event,
                persons=[int(v) for v in form.cleaned_data["persons"]],
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("%(n)s persons recorded.") % {"n": len(added)})
            return redirect("interventions:participation-event-detail", pk=event.pk)
    already = set(event.participants.values_list("person_id", flat=True))
    members = []
    if event.group_id is not None:
        assert event.group is not None
        members = [
            m.person
            for m in sel.group_members(request.user, event.group)
            if m.person.pk not in already
        ]
    consenting = set()
    search = PersonSearchForm(request.GET or None)
    found: list[Any] = []
    if search.is_bound and search.is_valid():
        found = list(
            person_search(request.user, q=search.cleaned_data["q"], village=event.area)
            .exclude(pk__in=already)
            .select_related("household__village")
            .order_by("family_name_latin", "given_name_latin", "id")[:PAGE_SIZE]
        )
    ids = [p.pk for p in members + found]
    if ids:
        consenting = set(
            person_search(request.user)
            .filter(pk__in=ids)
            .filter(has_consent(ConsentPurpose.SERVICES))
            .values_list("pk", flat=True)
        )
    chosen = set(posted)
    return render(
        request,
        "interventions/participation/participants_form.html",
        {
            "event": event,
            "form": form,
            "search": search,
            "members": [(p, p.pk in consenting, p.pk in chosen) for p in members],
            "found": [(p, p.pk in consenting, p.pk in chosen) for p in found],
            "participants": sel.event_participants(request.user, event),
        },
    )


@login_required
@require_POST
def participant_remove(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    participant = sel.participant_get(request.user, pk)
    svc.participant_remove(actor=request.user, participant=participant)
    messages.success(
        request,
        _("%(name)s is no longer recorded as taking part.")
        % {"name": participant.person.full_name},
    )
    return redirect("interventions:participation-event-detail", pk=participant.event_id)


# --------------------------------------------------------------------------------------
# Recommendations.


@login_required
@require_http_methods(["GET", "POST"])
def recommendation_add(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    event = sel.event_get(request.user, pk)
    _require_record_in(request, event.area)
    form = f.RecommendationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            svc.recommendation_add(actor=request.user, event=event, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The recommendation is recorded."))
            return redirect("interventions:participation-event-detail", pk=event.pk)
    return render(
        request,
        "interventions/participation/recommendation_form.html",
        {"form": form, "event": event, "recommendation": None, "can_record": True},
    )


@login_required
@require_GET
def recommendation_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    # Without a status chosen, the tracker shows what still waits for an answer.
    form = f.RecommendationFilterForm(request.GET or None, initial={"status": "pending"})
    recs = Recommendation.objects.none()
    per_area: list[Any] = []
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        status = data.get("status", "") if "status" in request.GET else "pending"
        try:
            recs = sel.recommendation_search(
                request.user, status=status, area_code=data.get("area", "")
            )
            per_area = sel.pending_per_area(request.user, area_code=data.get("area", ""))
        except AreaCodeError as exc:
            form.add_error("area", str(exc))
            recs = Recommendation.objects.none()
    page = page_of(request, recs)
    return render(
        request,
        "interventions/participation/recommendation_list.html",
        {"form": form, "page": page, "per_area": per_area, "query": query_without_page(request)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def recommendation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    rec = sel.recommendation_get(request.user, pk)
    can_record = sel.may_record_in(request.user, rec.event.area)
    if request.method == "POST":
        _require_record_in(request, rec.event.area)
    initial = {
        "status": rec.status,
        "response": rec.response,
        "due_on": rec.due_on,
        "closed_on": rec.closed_on,
    }
    form = f.RecommendationUpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            svc.recommendation_update(actor=request.user, recommendation=rec, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The recommendation is updated."))
            return redirect("interventions:recommendation-list")
    return render(
        request,
        "interventions/participation/recommendation_form.html",
        {"form": form, "event": rec.event, "recommendation": rec, "can_record": can_record},
    )
