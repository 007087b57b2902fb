"""Pages of follow-up visits: a facilitator's own visits (overdue, this month, next month;
made for a phone), the area list with filters, what is due and overdue per facilitator
and commune, one visit with the forms to record it, mark it missed or no longer needed,
or hand it over, and the plans. Views parse and render; selectors read, services write."""

from __future__ import annotations

from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ctip.accounts import access
from ctip.accounts.roles import MANAGE_INTERVENTIONS, RECORD_INTERVENTIONS, VIEW_PERSONS
from ctip.core.views.helpers import apply_errors, query_without_page

from .. import forms_followups as forms
from ..models import FollowUp, FollowUpPlan, FollowUpStatus, Situation
from ..selectors import followups as sel
from ..services import followups as svc
from .common import area_from_code, page_of


def _for_recording(request: HttpRequest, pk: int) -> FollowUp:
    """A visit the actor may record (403 without the right, 404 outside their areas);
    not audited as a read: the write that follows is."""
    access.require(request.user, VIEW_PERSONS)
    access.require(request.user, RECORD_INTERVENTIONS)
    try:
        follow_up = (
            sel.follow_ups_visible_to(request.user)
            .select_related("person__household__village", "assigned_to", "activity", "loan")
            .get(pk=pk)
        )
    except FollowUp.DoesNotExist:
        raise Http404 from None
    if not sel.can_record(request.user, follow_up):
        raise PermissionDenied(RECORD_INTERVENTIONS)
    return follow_up


def record_link(follow_up: FollowUp) -> str | None:
    """The page of the help a visit follows up (None when there is no such page)."""
    targets: list[tuple[Any, str, Any]] = [
        (follow_up.activity_id, "interventions:iga-detail", follow_up.activity_id),
        (follow_up.loan_id, "interventions:loan-detail", follow_up.loan_id),
        (
            follow_up.enrolment_id,
            "interventions:course-detail",
            follow_up.enrolment.course_id if follow_up.enrolment is not None else None,
        ),
        (
            follow_up.education_support_id,
            "interventions:education-child",
            follow_up.person_id,
        ),
    ]
    for linked, name, arg in targets:
        if linked:
            try:
                return reverse(name, args=[arg])
            except NoReverseMatch:
                return None
    return None


@login_required
@require_GET
def my_follow_ups(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    today = timezone.localdate()
    visits = sel.my_visits(request.user, today=today)
    return render(
        request,
        "interventions/followups/mine.html",
        {"visits": visits, "today": today, "month_end": sel.month_end(today)},
    )


@login_required
@require_GET
def follow_up_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    form = forms.FollowUpFilterForm(
        request.GET or None, facilitators=list(sel.assignable_users(request.user))
    )
    page = None
    today = timezone.localdate()
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        area = area_from_code(form, data.get("village", ""))
        if not form.errors:
            qs = sel.for_list(
                sel.follow_up_search(
                    request.user,
                    component=data.get("component", ""),
                    status=data.get("status", ""),
                    assigned_to=data.get("facilitator") or None,
                    overdue=bool(data.get("overdue")),
                    area=area,
                    today=today,
                )
            )
            page = page_of(request, qs)
    return render(
        request,
        "interventions/followups/list.html",
        {"form": form, "page": page, "today": today, "query": query_without_page(request)},
    )


@login_required
@require_GET
def due_summary(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    form = forms.AreaFilterForm(request.GET or None)
    today = timezone.localdate()
    by_facilitator = by_area = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        area = area_from_code(form, data.get("village", ""))
        if not form.errors:
            by_facilitator = sel.due_by_facilitator(request.user, today=today, area=area)
            by_area = sel.due_by_area(request.user, today=today, area=area)
    return render(
        request,
        "interventions/followups/due.html",
        {
            "form": form,
            "today": today,
            "month_end": sel.month_end(today),
            "by_facilitator": by_facilitator,
            "by_area": by_area,
        },
    )


@login_required
@require_GET
def follow_up_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    follow_up = sel.follow_up_get(request.user, pk)
    can_record = sel.can_record(request.user, follow_up)
    open_visit = follow_up.status in (FollowUpStatus.DUE, FollowUpStatus.MISSED)
    return render(
        request,
        "interventions/followups/detail.html",
        {
            "f": follow_up,
            "record_link": record_link(follow_up),
            "reference": svc.reference_date(follow_up),
            "overdue": follow_up.status == FollowUpStatus.DUE
            and follow_up.due_on < timezone.localdate(),
            "can_record": can_record,
            "open_visit": open_visit,
            "reason_form": forms.ReasonForm(),
            "reassign_form": forms.ReassignForm(users=sel.facilitators_for(follow_up))
            if can_record and open_visit
            else None,
        },
    )


def _visit_initial(follow_up: FollowUp, situation: str) -> dict[str, Any]:
    """What the form starts with: the visit as recorded (its situation as the actor may
    read it), or today and the currency of the loan or activity followed up."""
    if follow_up.status == FollowUpStatus.DONE:
        return {
            "visited_on": follow_up.visited_on,
            "situation": situation,
            "monthly_income": follow_up.monthly_income,
            "currency": follow_up.currency,
            "outcome": follow_up.outcome,
        }
    currency = ""
    if follow_up.activity is not None:
        currency = follow_up.activity.currency
    elif follow_up.loan is not None:
        currency = follow_up.loan.currency
    return {"visited_on": timezone.localdate(), "currency": currency}


def _visit_form(
    request: HttpRequest, follow_up: FollowUp, situations: sel.Situations
) -> forms.VisitForm:
    """The visit form. Someone correcting a visit whose situation is masked for them
    ("migrated": they may not read whether it was safe) is offered to keep it as
    recorded, which stays chosen; any situation can still be recorded (they were there)."""
    shown = situations.value(follow_up) if follow_up.situation else ""
    form = forms.VisitForm(request.POST or None, initial=_visit_initial(follow_up, shown))
    if shown == sel.MIGRATED:
        field = form.fields["situation"]
        assert isinstance(field, django_forms.ChoiceField)
        field.choices = [(sel.MIGRATED, _("Migrated, as recorded")), *Situation.choices]
    return form


@login_required
@require_http_methods(["GET", "POST"])
def record_visit(request: HttpRequest, pk: int) -> HttpResponse:
    follow_up = _for_recording(request, pk)
    situations = sel.Situations(request.user)
    form = _visit_form(request, follow_up, situations)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if data["situation"] == sel.MIGRATED:
            data["situation"] = follow_up.situation  # kept as recorded
        try:
            svc.follow_up_record_visit(actor=request.user, follow_up=follow_up, **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("Visit to %(person)s recorded.") % {"person": follow_up.person},
            )
            if follow_up.assigned_to_id == request.user.pk:
                return redirect("interventions:followup-mine")
            return redirect("interventions:followup-detail", follow_up.pk)
    # The form shows a sensitive finding recorded before to someone who may read it.
    situations.audit_read(f"visit form of follow-up #{follow_up.pk}")
    return render(
        request, "interventions/followups/visit_form.html", {"f": follow_up, "form": form}
    )


def _close(request: HttpRequest, pk: int, status: str) -> HttpResponse:
    follow_up = _for_recording(request, pk)
    form = forms.ReasonForm(request.POST)
    if form.is_valid():
        service = (
            svc.follow_up_mark_missed if status == FollowUpStatus.MISSED else svc.follow_up_cancel
        )
        try:
            service(actor=request.user, follow_up=follow_up, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            for msgs in exc.message_dict.values():
                for m in msgs:
                    messages.error(request, m)
        else:
            messages.success(request, _("Saved."))
    else:
        messages.error(request, _("Say why."))
    return redirect("interventions:followup-detail", follow_up.pk)


@login_required
@require_POST
def mark_missed(request: HttpRequest, pk: int) -> HttpResponse:
    return _close(request, pk, FollowUpStatus.MISSED)


@login_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _close(request, pk, FollowUpStatus.CANCELLED)


@login_required
@require_POST
def reassign(request: HttpRequest, pk: int) -> HttpResponse:
    follow_up = _for_recording(request, pk)
    form = forms.ReassignForm(request.POST, users=sel.facilitators_for(follow_up))
    if form.is_valid():
        try:
            svc.follow_up_reassign(
                actor=request.user,
                follow_up=follow_up,
                assigned_to=form.cleaned_data["assigned_to"],
            )
        except ValidationError as exc:
            for msgs in exc.message_dict.values():
                for m in msgs:
                    messages.error(request, m)
        else:
            messages.success(request, _("The visit was handed over."))
    else:
        messages.error(request, _("Choose a facilitator of the person's area."))
    return redirect("interventions:followup-detail", follow_up.pk)


@login_required
@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, MANAGE_INTERVENTIONS)
    plans = list(sel.plans())
    rows = [
        (
            plan,
            forms.PlanForm(
                prefix=f"p{plan.pk}",
                initial={
                    "months_after": ", ".join(str(m) for m in plan.months_after or []),
                    "monthly_while_active": plan.monthly_while_active,
                    "active": plan.active,
                },
            ),
        )
        for plan in plans
    ]
    return render(request, "interventions/followups/plans.html", {"rows": rows})


@login_required
@require_POST
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, MANAGE_INTERVENTIONS)
    plan = FollowUpPlan.objects.filter(pk=pk).first()
    if plan is None:
        raise Http404
    form = forms.PlanForm(request.POST, prefix=f"p{plan.pk}")
    if form.is_valid():
        try:
            svc.plan_update(actor=request.user, plan=plan, **form.cleaned_data)
        except ValidationError as exc:
            for msgs in exc.message_dict.values():
                for m in msgs:
                    messages.error(request, f"{plan.get_component_display()}: {m}")
        else:
            messages.success(
                request,
                _("Plan for %(component)s saved. It applies to what happens from now on.")
                % {"component": plan.get_component_display()},
            )
    return redirect("interventions:followup-plans")
