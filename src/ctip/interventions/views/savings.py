"""Pages of savings groups: the scoped list, a group with its members, meetings, ledger
and the checks that it balances, a member's statement, and the forms that record a
meeting (one card per member, usable on a phone), an entry, a new member, a member
leaving and the share-out. Views parse and render; selectors read, services write."""

from __future__ import annotations

from typing import TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ctip.accounts import access
from ctip.accounts.roles import RECORD_INTERVENTIONS, VIEW_PERSONS
from ctip.core.views.helpers import apply_errors, query_without_page
from ctip.registry import selectors as registry
from ctip.registry.consent import has_consent
from ctip.registry.models import ConsentPurpose

from .. import forms_savings as forms
from ..iga import money
from ..models import SavingsGroup, SavingsMeeting, SavingsMember
from ..selectors import savings as sel
from ..services import savings as svc
from .common import area_from_code, page_of

R = TypeVar("R", SavingsMeeting, SavingsMember)

LEDGER_PAGE_SIZE = 50
RECENT = 10
CANDIDATES = 20


def _group_for_recording(request: HttpRequest, pk: int) -> SavingsGroup:
    """The group, for someone who may record in its village (403 otherwise, 404 outside
    the reader's areas); not audited as a read, the write that follows is."""
    access.require(request.user, VIEW_PERSONS)
    access.require(request.user, RECORD_INTERVENTIONS)
    group = sel.group_get(request.user, pk, audit_read=False)
    access.require_in(request.user, RECORD_INTERVENTIONS, group.village)
    return group


def _of_visible_group(request: HttpRequest, rows: QuerySet[R], pk: int) -> R:
    """A meeting or member of a group the reader sees (404 otherwise)."""
    return get_object_or_404(
        rows.filter(group__in=sel.groups_visible_to(request.user).values("id")), pk=pk
    )


@login_required
@require_GET
def group_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    form = forms.GroupFilterForm(request.GET or None)
    page = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        area = area_from_code(form, data.get("village", ""))
        if not form.errors:
            active = {"yes": True, "no": False}.get(data.get("active", ""))
            qs = sel.group_search(request.user, q=data.get("q", ""), area=area, active=active)
            page = page_of(request, qs)
    return render(
        request,
        "interventions/savings/group_list.html",
        {
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "can_create": access.has_permission(request.user, RECORD_INTERVENTIONS),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def group_create(request: HttpRequest) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    form = forms.GroupForm(
        request.POST or None, initial={"formed_on": timezone.localdate(), "loan_rate": 0}
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        village = area_from_code(form, data.pop("village"))
        if village is not None:
            try:
                group = svc.group_create(actor=request.user, village=village, **data)
            except ValidationError as exc:
                apply_errors(form, exc)
            except PermissionDenied:
                form.add_error(
                    "village", _("You do not record interventions in %(area)s.") % {"area": village}
                )
            else:
                messages.success(request, _("Group %(name)s formed.") % {"name": group.name})
                return redirect("interventions:savings-detail", group.pk)
    return render(request, "interventions/savings/group_form.html", {"form": form, "group": None})


@login_required
@require_http_methods(["GET", "POST"])
def group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    group = _group_for_recording(request, pk)
    initial = {f: getattr(group, f) for f in ("name", "share_value", "loan_rate", "active")}
    form = forms.GroupEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            svc.group_update(actor=request.user, group=group, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("interventions:savings-detail", group.pk)
    return render(request, "interventions/savings/group_form.html", {"form": form, "group": group})


@login_required
@require_GET
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    group = sel.group_get(request.user, pk)
    statements = sel.statements(request.user, group)
    return render(
        request,
        "interventions/savings/group_detail.html",
        {
            "group": group,
            "statements": statements,
            "current": [s for s in statements if s.member.left_on is None],
            "former": [s for s in statements if s.member.left_on is not None],
            "fund": sel.fund_balance(group),
            "outstanding": sum((s.outstanding for s in statements), svc.ZERO),
            "reconciliation": sel.reconciliation(group),
            "meetings": list(sel.meetings(group)[:RECENT]),
            "entries": list(sel.ledger(group)[:RECENT]),
            "visible": {s.member.person_id for s in statements if s.name_visible},
            "can_record": sel.can_record(request.user, group),
        },
    )


@login_required
@require_GET
def group_ledger(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    group = sel.group_get(request.user, pk)
    page = page_of(request, sel.ledger(group), LEDGER_PAGE_SIZE)
    return render(
        request,
        "interventions/savings/ledger.html",
        {
            "group": group,
            "page": page,
            "query": "",
            "reconciliation": sel.reconciliation(group),
            "visible": _visible_people(request, [e.member for e in page if e.member]),
        },
    )


def _visible_people(request: HttpRequest, members: list[SavingsMember]) -> set[int]:
    """Ids of the members whose names the reader may see."""
    return set(
        registry.persons_visible_to(request.user, include_merged=True)
        .filter(pk__in={m.person_id for m in members})
        .values_list("pk", flat=True)
    )


def _named(request: HttpRequest, members: list[SavingsMember]) -> list[SavingsMember]:
    """Members with `label`: their name, or their number when they live outside the
    reader's areas (a group may take members from the whole commune)."""
    visible = _visible_people(request, members)
    for m in members:
        m.label = (  # type: ignore[attr-defined]
            str(m.person)
            if m.person_id in visible
            else _("Member #%(id)s (outside your areas)") % {"id": m.pk}
        )
    return members


@login_required
@require_GET
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    meeting = _of_visible_group(
        request, SavingsMeeting.objects.select_related("group__village", "recorded_by"), pk
    )
    group = sel.group_get(request.user, meeting.group_id)
    entries = list(meeting.entries.select_related("member__person").order_by("id"))
    present = list(meeting.present.select_related("person").order_by("id"))
    return render(
        request,
        "interventions/savings/meeting_detail.html",
        {
            "group": group,
            "meeting": meeting,
            "entries": entries,
            "present": present,
            "visible": _visible_people(request, present + [e.member for e in entries if e.member]),
        },
    )


@login_required
@require_GET
def member_statement(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    member = sel.member_get(request.user, pk)
    group = member.group
    (statement,) = sel.statements(request.user, group, members=[member])
    entries = list(sel.ledger(group).filter(member=member).select_related("meeting")[:200])
    return render(
        request,
        "interventions/savings/member_statement.html",
        {
            "group": group,
            "member": member,
            "statement": statement,
            "entries": entries,
            "can_record": sel.can_record(request.user, group),
            "leave_form": forms.LeaveForm(initial={"left_on": timezone.localdate()}),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def member_add(request: HttpRequest, pk: int) -> HttpResponse:
    group = _group_for_recording(request, pk)
    search = forms.PersonSearchForm(request.GET or None)
    form = forms.MemberAddForm(request.POST or None, initial={"joined_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        person = (
            registry.persons_visible_to(request.user)
            .select_related("household__village")
            .filter(pk=data["person"])
            .first()
        )
        if person is None:
            messages.error(request, _("No person #%(id)s in your areas.") % {"id": data["person"]})
        else:
            try:
                svc.member_add(
                    actor=request.user,
                    group=group,
                    person=person,
                    role=data["role"],
                    joined_on=data["joined_on"],
                )
            except ValidationError as exc:
                for msgs in exc.message_dict.values():
                    for m in msgs:
                        messages.error(request, m)
            else:
                messages.success(
                    request,
                    _("%(person)s joined %(group)s.") % {"person": person, "group": group},
                )
                return redirect("interventions:savings-detail", group.pk)
    candidates = None
    if search.is_valid() and search.cleaned_data["q"]:
        village = group.village
        near = Q(household__village=village)
        if village.parent_id:
            near |= Q(household__village__parent_id=village.parent_id)
        current = group.members.filter(left_on__isnull=True).values("person_id")
        candidates = list(
            registry.person_search(request.user, q=search.cleaned_data["q"])
            .filter(near)
            .filter(has_consent(ConsentPurpose.SERVICES))
            .exclude(pk__in=current)
            .select_related("household__village")
            .order_by("family_name_latin", "given_name_latin", "id")[:CANDIDATES]
        )
    return render(
        request,
        "interventions/savings/member_add.html",
        {"group": group, "search": search, "form": form, "candidates": candidates},
    )


@login_required
@require_http_methods(["POST"])
def member_leave(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    access.require(request.user, RECORD_INTERVENTIONS)
    member = _of_visible_group(
        request, SavingsMember.objects.select_related("group__village", "person"), pk
    )
    access.require_in(request.user, RECORD_INTERVENTIONS, member.group.village)
    form = forms.LeaveForm(request.POST)
    if form.is_valid():
        try:
            svc.member_leave(
                actor=request.user, member=member, left_on=form.cleaned_data["left_on"]
            )
        except ValidationError as exc:
            for msgs in exc.message_dict.values():
                for m in msgs:
                    messages.error(request, m)
        else:
            messages.success(request, _("%(person)s left the group.") % {"person": member.person})
    else:
        messages.error(request, _("Enter the day they left."))
    return redirect("interventions:savings-member", member.pk)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request: HttpRequest, pk: int) -> HttpResponse:
    group = _group_for_recording(request, pk)
    members = _named(request, sel.members_for_meeting(group))
    form = forms.MeetingForm(
        request.POST or None, members=members, initial={"held_on": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            meeting = svc.meeting_record(
                actor=request.user,
                group=group,
                held_on=form.cleaned_data["held_on"],
                present=form.present(),
                entries=form.entries(),
                notes=form.cleaned_data["notes"],
            )
        except ValidationError as exc:
            form.apply_errors(exc)
        else:
            messages.success(
                request,
                _("Meeting of %(date)s recorded: %(n)s entries.")
                % {"date": meeting.held_on.isoformat(), "n": meeting.entries.count()},
            )
            return redirect("interventions:savings-detail", group.pk)
    return render(
        request,
        "interventions/savings/meeting_form.html",
        {
            "group": group,
            "form": form,
            "columns": forms.MEETING_COLUMNS,
            "fund": sel.fund_balance(group),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def entry_create(request: HttpRequest, pk: int) -> HttpResponse:
    group = _group_for_recording(request, pk)
    members = _named(
        request, list(group.members.select_related("person").order_by("left_on", "id"))
    )
    form = forms.EntryForm(
        request.POST or None,
        members=members,
        initial={"entry_on": timezone.localdate(), "kind": request.GET.get("kind", "")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            svc.ledger_entry_record(
                actor=request.user,
                group=group,
                kind=data["kind"],
                entry_on=data["entry_on"],
                amount=data["amount"] or None,
                shares=data["shares"] or None,
                member=data["member"] or None,
                note=data["note"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Entry recorded."))
            return redirect("interventions:savings-detail", group.pk)
    return render(
        request,
        "interventions/savings/entry_form.html",
        {"group": group, "form": form, "fund": sel.fund_balance(group)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def share_out(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what each member would receive on the day chosen; POST: pay it out."""
    group = _group_for_recording(request, pk)
    data = request.POST if request.method == "POST" else request.GET
    form = forms.ShareOutForm(data or None, initial={"on": timezone.localdate()})
    plan = None
    if not form.is_bound:
        form = forms.ShareOutForm({"on": timezone.localdate().isoformat()})
    if form.is_valid():
        try:
            if request.method == "POST":
                done = svc.share_out(actor=request.user, group=group, on=form.cleaned_data["on"])
                messages.success(
                    request,
                    _("%(amount)s shared out to %(n)s members. A new cycle starts on %(date)s.")
                    % {
                        "amount": money(done.fund, group.currency),
                        "n": len(done.payouts),
                        "date": done.next_cycle.isoformat(),
                    },
                )
                return redirect("interventions:savings-detail", group.pk)
            plan = svc.share_out_plan(group, form.cleaned_data["on"])
        except ValidationError as exc:
            apply_errors(form, exc)
    return render(
        request,
        "interventions/savings/share_out.html",
        {
            "group": group,
            "form": form,
            "plan": plan,
            "visible": _visible_people(request, [p.member for p in plan.payouts] if plan else []),
        },
    )
