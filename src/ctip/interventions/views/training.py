"""Training pages: courses, enrolling approved persons from the targeting list (or one
by one), the attendance register of a session, completion and dropping out, and the
outcomes table a provincial officer shows the committee.

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
from django.views.decorators.http import require_GET, require_http_methods

from ctip.accounts import access
from ctip.accounts.roles import MANAGE_INTERVENTIONS, RECORD_INTERVENTIONS, VIEW_PERSONS
from ctip.core.views.helpers import apply_errors, query_without_page
from ctip.geography.selectors import AreaCodeError, resolve_area_code
from ctip.registry.consent import has_consent
from ctip.registry.models import ConsentPurpose
from ctip.registry.selectors import person_search
from ctip.vulnerability.targeting import targeting_lists_visible_to

from .. import forms_training as f
from ..models import Course, Enrolment, EnrolmentStatus
from ..selectors import training as sel
from ..selectors.followups import Situations
from ..services import training as svc
from .common import PAGE_SIZE, filtered, page_of


def _lists(actor: Any) -> Any:
    return targeting_lists_visible_to(actor).order_by("-as_of", "-id")


# --------------------------------------------------------------------------------------
# Courses.


@login_required
@require_GET
def course_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    form = f.CourseFilterForm(request.GET or None)
    courses = filtered(
        form,
        lambda data: sel.course_search(
            request.user,
            area_code=data.get("area", ""),
            status=data.get("status", ""),
            q=data.get("q", ""),
        ),
        Course.objects.none(),
    )
    page = page_of(request, courses)
    return render(
        request,
        "interventions/training/course_list.html",
        {
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "can_create": access.has_permission(request.user, MANAGE_INTERVENTIONS),
        },
    )


def _course_values(form: f.CourseForm) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    data["area"] = resolve_area_code(data["area"], on=data["starts_on"])
    return data


@login_required
@require_http_methods(["GET", "POST"])
def course_create(request: HttpRequest) -> HttpResponse:
    access.require(request.user, MANAGE_INTERVENTIONS)
    form = f.CourseForm(
        request.POST or None,
        lists=_lists(request.user),
        initial={"status": "planned", "sessions_planned": 0},
    )
    if request.method == "POST" and form.is_valid():
        try:
            course = svc.course_create(actor=request.user, **_course_values(form))
        except AreaCodeError as exc:
            form.add_error("area", str(exc))
        except PermissionDenied:
            form.add_error("area", _("You may not set up courses in this area."))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The course is saved."))
            return redirect("interventions:course-detail", pk=course.pk)
    return render(request, "interventions/training/course_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def course_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, MANAGE_INTERVENTIONS)
    course = sel.course_get(request.user, pk)
    if not sel.can_manage(request.user, course):
        raise PermissionDenied(MANAGE_INTERVENTIONS)
    initial = {
        "title": course.title,
        "trade": course.trade,
        "provider": course.provider,
        "area": f"{course.area.country}-{course.area.code}",
        "location": course.location,
        "starts_on": course.starts_on,
        "ends_on": course.ends_on,
        "sessions_planned": course.sessions_planned,
        "capacity": course.capacity,
        "cost_per_trainee": course.cost_per_trainee,
        "currency": course.currency,
        "targeting_list": course.targeting_list_id,
        "status": course.status,
    }
    form = f.CourseForm(request.POST or None, lists=_lists(request.user), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            course = svc.course_update(actor=request.user, course=course, **_course_values(form))
        except AreaCodeError as exc:
            form.add_error("area", str(exc))
        except PermissionDenied:
            form.add_error("area", _("You may not set up courses in this area."))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The course is saved."))
            return redirect("interventions:course-detail", pk=course.pk)
    return render(
        request, "interventions/training/course_form.html", {"form": form, "course": course}
    )


@login_required
@require_GET
def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    course = sel.course_get(request.user, pk)
    summary = sel.course_summary(request.user, course)
    page = page_of(request, sel.course_trainees(request.user, course))
    paths = sel.record_paths(request.user)
    rows = [
        {
            "row": row,
            "can_record": any(
                row.enrolment.person.household.village.path.startswith(p) for p in paths
            ),
        }
        for row in sel.trainee_rows(page, summary.months)
    ]
    sel.course_read(request.user, course)
    may_record = svc.may_record_for(request.user, course)
    return render(
        request,
        "interventions/training/course_detail.html",
        {
            "course": course,
            "summary": summary,
            "page": page,
            "rows": rows,
            "sessions": sel.course_sessions(course),
            "query": query_without_page(request),
            "can_manage": sel.can_manage(request.user, course),
            "can_record": may_record,
            "places_left": svc.places_left(course),
        },
    )


@login_required
@require_GET
def course_outcomes(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    course = sel.course_get(request.user, pk)
    summary = sel.course_summary(request.user, course)
    trainees = sel.course_trainees(request.user, course).exclude(status=EnrolmentStatus.DROPPED_OUT)
    page = page_of(request, trainees)
    sel.course_read(request.user, course)
    # Each trainee's findings as the reader may read them; sensitive ones shown, audited.
    situations = Situations(request.user)
    rows = sel.trainee_rows(page, summary.months, situations)
    situations.audit_read(f"outcomes of course #{course.pk}")
    return render(
        request,
        "interventions/training/course_outcomes.html",
        {
            "course": course,
            "summary": summary,
            "page": page,
            "rows": rows,
            "query": query_without_page(request),
            "today": timezone.localdate(),
        },
    )


# --------------------------------------------------------------------------------------
# Enrolment.


@login_required
@require_GET
def enrolment_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    form = f.EnrolmentFilterForm(request.GET or None)
    enrolments = filtered(
        form,
        lambda data: sel.enrolment_search(
            request.user, status=data.get("status", ""), area_code=data.get("area", "")
        ),
        Enrolment.objects.none(),
    )
    page = page_of(request, enrolments.order_by("-enrolled_on", "-id"))
    return render(
        request,
        "interventions/training/enrolment_list.html",
        {"form": form, "page": page, "query": query_without_page(request)},
    )


def _require_record(request: HttpRequest, course: Course) -> None:
    access.require(request.user, RECORD_INTERVENTIONS)
    if not svc.may_record_for(request.user, course):
        raise PermissionDenied(RECORD_INTERVENTIONS)


@login_required
@require_http_methods(["GET", "POST"])
def course_enrol_from_list(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    course = sel.course_get(request.user, pk)
    _require_record(request, course)
    entries = list(sel.approved_not_enrolled(request.user, course))
    form = f.EnrolFromListForm(
        request.POST or None,
        entry_ids=[e.pk for e in entries],
        initial={"enrolled_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            made = svc.enrolments_from_list(
                actor=request.user,
                course=course,
                entries=[int(pk) for pk in form.cleaned_data["entries"]],
                enrolled_on=form.cleaned_data["enrolled_on"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(n)s persons enrolled.") % {"n": len(made)}
                if made
                else _("Everyone chosen was already enrolled."),
            )
            return redirect("interventions:course-detail", pk=course.pk)
    chosen = set(form["entries"].value() or [])
    paths = sel.record_paths(request.user)
    rows = [
        {
            "entry": e,
            "age": e.person.age_on(timezone.localdate()),
            "checked": str(e.pk) in chosen,
            "can_record": any(e.person.household.village.path.startswith(p) for p in paths),
        }
        for e in entries
    ]
    return render(
        request,
        "interventions/training/enrol_from_list.html",
        {
            "course": course,
            "form": form,
            "rows": rows,
            "places_left": svc.places_left(course),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def course_enrol_person(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    course = sel.course_get(request.user, pk)
    _require_record(request, course)
    enrol_form = f.EnrolPersonForm(
        request.POST or None, initial={"enrolled_on": timezone.localdate()}
    )
    if request.method == "POST" and enrol_form.is_valid():
        person = (
            person_search(request.user, village=course.area)
            .filter(pk=enrol_form.cleaned_data["person"])
            .first()
        )
        if person is None:
            enrol_form.add_error(None, _("This person is not in the course's area."))
        else:
            try:
                svc.enrolment_create(
                    actor=request.user,
                    course=course,
                    person=person,
                    enrolled_on=enrol_form.cleaned_data["enrolled_on"],
                )
            except ValidationError as exc:
                apply_errors(enrol_form, exc)
            else:
                messages.success(request, _("%(name)s is enrolled.") % {"name": person.full_name})
                return redirect("interventions:course-detail", pk=course.pk)
    search = f.PersonSearchForm(request.GET or None)
    found: list[Any] = []
    if search.is_bound and search.is_valid():
        found = list(
            person_search(request.user, q=search.cleaned_data["q"], village=course.area)
            .select_related("household__village")
            .annotate(consent=has_consent(ConsentPurpose.SERVICES))
            .exclude(pk__in=course.enrolments.values("person_id"))
            .order_by("family_name_latin", "given_name_latin", "id")[:PAGE_SIZE]
        )
    return render(
        request,
        "interventions/training/enrol_person.html",
        {"course": course, "search": search, "found": found, "form": enrol_form},
    )


def _enrolment_for_record(request: HttpRequest, pk: int) -> Enrolment:
    access.require(request.user, RECORD_INTERVENTIONS)
    enrolment = sel.enrolment_get(request.user, pk)
    if not access.can_act_in(
        request.user, RECORD_INTERVENTIONS, enrolment.person.household.village
    ):
        raise PermissionDenied(RECORD_INTERVENTIONS)
    return enrolment


@login_required
@require_http_methods(["GET", "POST"])
def enrolment_complete(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = _enrolment_for_record(request, pk)
    form = f.CompleteForm(
        request.POST or None,
        initial={"completed_on": min(enrolment.course.ends_on, timezone.localdate())},
    )
    if request.method == "POST" and form.is_valid():
        try:
            svc.enrolment_complete(actor=request.user, enrolment=enrolment, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s completed the course; follow-up visits are scheduled.")
                % {"name": enrolment.person.full_name},
            )
            return redirect("interventions:course-detail", pk=enrolment.course_id)
    return render(
        request,
        "interventions/training/enrolment_form.html",
        {"enrolment": enrolment, "form": form, "action": "complete"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def enrolment_drop(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = _enrolment_for_record(request, pk)
    form = f.DropForm(request.POST or None, initial={"dropped_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            svc.enrolment_drop(
                actor=request.user,
                enrolment=enrolment,
                dropped_on=form.cleaned_data["dropped_on"],
                reason=form.cleaned_data["drop_reason"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s is recorded as dropped out.") % {"name": enrolment.person.full_name},
            )
            return redirect("interventions:course-detail", pk=enrolment.course_id)
    return render(
        request,
        "interventions/training/enrolment_form.html",
        {"enrolment": enrolment, "form": form, "action": "drop"},
    )


# --------------------------------------------------------------------------------------
# Sessions and attendance.


@login_required
@require_http_methods(["GET", "POST"])
def session_add(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    course = sel.course_get(request.user, pk)
    _require_record(request, course)
    form = f.SessionForm(request.POST or None, initial={"held_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            session = svc.session_add(actor=request.user, course=course, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The session is saved: mark who came."))
            return redirect("interventions:session-attendance", pk=session.pk)
    return render(
        request, "interventions/training/session_form.html", {"course": course, "form": form}
    )


@login_required
@require_http_methods(["GET", "POST"])
def session_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    session = sel.session_get(request.user, pk)
    if request.method == "POST":
        _require_record(request, session.course)
    rows = sel.attendance_register(request.user, session)
    if request.method == "GET":
        sel.course_read(request.user, session.course)
    form = f.AttendanceForm(request.POST or None, rows=rows)
    if request.method == "POST" and form.is_valid():
        marks = form.marks()
        if "all_present" in request.POST:
            marks = {row.enrolment.pk: True for row in rows if row.can_mark}
        try:
            svc.attendance_set(actor=request.user, session=session, marks=marks)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The register is saved."))
            return redirect("interventions:session-attendance", pk=session.pk)
    grid = [
        {"row": row, "field": form[f"e{row.enrolment.pk}"] if row.can_mark else None}
        for row in rows
    ]
    return render(
        request,
        "interventions/training/attendance.html",
        {
            "session": session,
            "course": session.course,
            "form": form,
            "grid": grid,
            "can_mark": any(row.can_mark for row in rows),
        },
    )
