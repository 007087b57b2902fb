"""Education pages: the supported children (with their latest term), the dropouts of
an area, a child's education page (supports and terms), and the forms to record
support and a school term.

Views parse input and render; rules, scope and audit live in services/selectors."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ctip.accounts import access
from ctip.accounts.roles import RECORD_INTERVENTIONS, VIEW_PERSONS
from ctip.core.views.helpers import apply_errors, query_without_page
from ctip.registry.consent import has_consent
from ctip.registry.models import ConsentPurpose, Person
from ctip.registry.selectors import person_get, person_search, persons_visible_to

from .. import forms_education as f
from ..forms_training import PersonSearchForm
from ..models import SchoolTerm, SupportKind
from ..selectors import education as sel
from ..services import education as svc
from .common import PAGE_SIZE, filtered, page_of


def _kind_label(kind: str) -> str:
    return str(SupportKind(kind).label) if kind in SupportKind.values else ""


@login_required
@require_GET
def education_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    form = f.EducationFilterForm(request.GET or None)
    children = filtered(
        form,
        lambda data: sel.supported_children(
            request.user,
            area_code=data.get("area", ""),
            kind=data.get("kind", ""),
            dropped_out={"yes": True, "no": False}.get(data.get("dropped_out", "")),
        ),
        Person.objects.none(),
    )
    page = page_of(request, children)
    rows = [
        {
            "child": c,
            "attendance": sel.attendance_rate(c),
            "kind": _kind_label(getattr(c, "latest_kind", "")),
        }
        for c in page
    ]
    return render(
        request,
        "interventions/education/child_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query_without_page(request),
            "can_record": access.has_permission(request.user, RECORD_INTERVENTIONS),
        },
    )


@login_required
@require_GET
def education_dropouts(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    form = f.DropoutFilterForm(request.GET or None)
    terms = filtered(
        form,
        lambda data: sel.dropouts(request.user, area_code=data.get("area", "")),
        SchoolTerm.objects.none(),
    )
    page = page_of(request, terms)
    return render(
        request,
        "interventions/education/dropouts.html",
        {
            "form": form,
            "page": page,
            "by_commune": sel.dropouts_by_commune(terms),
            "query": query_without_page(request),
        },
    )


@login_required
@require_GET
def education_child(request: HttpRequest, person_pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    person = person_get(request.user, person_pk)  # audited as a read of the person
    record = sel.child_education(request.user, person)
    return render(
        request,
        "interventions/education/child_detail.html",
        {
            "person": person,
            "record": record,
            "terms": [(t, sel.term_attendance(t)) for t in record.terms],
        },
    )


@login_required
@require_GET
def support_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A support record is shown on its child's education page."""
    access.require(request.user, VIEW_PERSONS)
    support = sel.support_get(request.user, pk)
    url = reverse("interventions:education-child", kwargs={"person_pk": support.person_id})
    return redirect(f"{url}#support-{support.pk}")


def _child_for_record(request: HttpRequest, pk: Any) -> Person:
    access.require(request.user, RECORD_INTERVENTIONS)
    try:
        person = (
            persons_visible_to(request.user).select_related("household__village").get(pk=int(pk))
        )
    except (Person.DoesNotExist, TypeError, ValueError):
        raise Http404 from None
    if not access.can_act_in(request.user, RECORD_INTERVENTIONS, person.household.village):
        raise PermissionDenied(RECORD_INTERVENTIONS)
    return person


@login_required
@require_http_methods(["GET", "POST"])
def support_create(request: HttpRequest) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    person_pk = request.POST.get("person") or request.GET.get("person")
    if not person_pk:
        search = PersonSearchForm(request.GET or None)
        found: list[Any] = []
        if search.is_bound and search.is_valid():
            found = list(
                person_search(request.user, q=search.cleaned_data["q"])
                .select_related("household__village")
                .annotate(consent=has_consent(ConsentPurpose.SERVICES))
                .order_by("family_name_latin", "given_name_latin", "id")[:PAGE_SIZE]
            )
        return render(
            request,
            "interventions/education/choose_child.html",
            {"search": search, "found": found},
        )
    person = _child_for_record(request, person_pk)
    form = f.SupportForm(request.POST or None, initial={"starts_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            svc.education_support_create(actor=request.user, person=person, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The support is saved; follow-up visits are scheduled."))
            return redirect("interventions:education-child", person_pk=person.pk)
    return render(
        request,
        "interventions/education/support_form.html",
        {"form": form, "person": person, "support": None},
    )


@login_required
@require_http_methods(["GET", "POST"])
def support_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    support = sel.support_get(request.user, pk)
    person = _child_for_record(request, support.person_id)
    initial = {
        name: getattr(support, name) for name in f.SupportForm.base_fields if hasattr(support, name)
    }
    form = f.SupportForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            svc.education_support_update(actor=request.user, support=support, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The support is saved."))
            return redirect("interventions:education-child", person_pk=person.pk)
    return render(
        request,
        "interventions/education/support_form.html",
        {"form": form, "person": person, "support": support},
    )


def _current_school_year() -> str:
    # Cambodian and Vietnamese school years start in the autumn (October, September).
    today = timezone.localdate()
    start = today.year if today.month >= 9 else today.year - 1
    return f"{start}-{start + 1}"


@login_required
@require_http_methods(["GET", "POST"])
def term_record(request: HttpRequest, person_pk: int) -> HttpResponse:
    person = _child_for_record(request, person_pk)
    initial: dict[str, Any] = {"school_year": _current_school_year(), "enrolled": True}
    year, term = request.GET.get("year", ""), request.GET.get("term", "")
    existing = None
    if year and term.isdigit():
        existing = SchoolTerm.objects.filter(
            person=person, school_year=year, term=int(term)
        ).first()
    if existing is not None:
        initial = {name: getattr(existing, name) for name in f.TermForm.base_fields}
    else:
        latest = SchoolTerm.objects.filter(person=person).order_by("-school_year", "-term").first()
        if latest is not None:
            initial.update(school_name=latest.school_name, grade=latest.grade)
    form = f.TermForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            svc.school_term_record(actor=request.user, person=person, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The school term is saved."))
            return redirect("interventions:education-child", person_pk=person.pk)
    return render(
        request,
        "interventions/education/term_form.html",
        {"form": form, "person": person, "existing": existing},
    )
