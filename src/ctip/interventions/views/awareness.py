"""Awareness pages: the events of the user's areas, recording and editing an event, an
event with its reach and attendees, the attendance sheet (page and PDF) and the page
where a sheet is keyed back in, which is also the phone form for taking attendance.

Views parse input and render; rules, scope and audit live in services/awareness.py and
selectors/awareness.py."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ctip.accounts import access
from ctip.accounts.models import User
from ctip.accounts.roles import RECORD_INTERVENTIONS
from ctip.core.views.helpers import apply_errors, query_without_page
from ctip.geography.models import Level
from ctip.geography.selectors import AreaCodeError, resolve_area_code
from ctip.registry.models import Sex

from ..forms_awareness import (
    EventFilterForm,
    EventForm,
    HeadcountForm,
    KeyingSearchForm,
    SheetCodeForm,
    headcount_initial,
)
from ..models import AgeBand, AwarenessEvent, Material
from ..selectors import awareness as sel
from ..selectors.cells import SMALL_CELL
from ..services import awareness as svc
from .common import filtered, page_of

PERSONS_PER_PAGE = 100


def _require_events(user: Any) -> None:
    if not sel.may_see_events(user):
        raise PermissionDenied(RECORD_INTERVENTIONS)


# --------------------------------------------------------------------------------------
# Lists.


@login_required
@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    _require_events(request.user)
    form = EventFilterForm(request.GET or None)
    events = filtered(
        form,
        lambda data: sel.event_search(
            request.user,
            area_code=data.get("area", ""),
            held_from=data.get("held_from"),
            held_to=data.get("held_to"),
            kind=data.get("kind", ""),
            topic=data.get("topic", ""),
        ),
        AwarenessEvent.objects.none(),
    )
    page = page_of(request, events)
    can_record = access.has_permission(request.user, RECORD_INTERVENTIONS)
    figures = sel.event_figures(request.user, page)
    return render(
        request,
        "interventions/awareness/event_list.html",
        {
            "form": form,
            "page": page,
            "rows": [(e, sel.topic_labels(e.topics), figures[e.pk]) for e in page],
            "hidden": any(None in (n.total, n.registered, n.counted) for n in figures.values()),
            "small": SMALL_CELL,
            "query": query_without_page(request),
            "can_record": can_record,
            "code_form": SheetCodeForm() if can_record else None,
        },
    )


# --------------------------------------------------------------------------------------
# Recording an event.


def _form_choices(user: Any, event: AwarenessEvent | None) -> tuple[Any, Any]:
    """Facilitators who could run an event of the user's, and the library's latest
    materials, plus whatever the event already has."""
    current_facilitators = event.facilitators.values("pk") if event else User.objects.none()
    facilitators = User.objects.filter(
        Q(pk__in=sel.facilitator_choices(user).values("pk")) | Q(pk__in=current_facilitators)
    ).order_by("last_name", "first_name", "username")
    newer = Material.objects.filter(supersedes_id=OuterRef("pk"))
    current_materials = event.materials.values("pk") if event else Material.objects.none()
    materials = Material.objects.filter(~Exists(newer) | Q(pk__in=current_materials)).order_by(
        "title", "id"
    )
    return facilitators, materials


MAX_VILLAGE_CHOICES = 200


def _village_choices(user: Any) -> list[tuple[str, str]] | None:
    """The villages the user records interventions in, when few enough to choose from
    (a facilitator's commune); None for a province or a country (the code is typed)."""
    villages = list(
        access.areas_in_scope(user, RECORD_INTERVENTIONS)
        .filter(level=Level.VILLAGE)
        .valid_on(timezone.localdate())
        .select_related("parent")
        .order_by("parent__code", "code")[: MAX_VILLAGE_CHOICES + 1]
    )
    if not villages or len(villages) > MAX_VILLAGE_CHOICES:
        return None
    return [
        (f"{v.country}-{v.code}", f"{v.name} ({v.code}), {v.parent.name if v.parent else ''}")
        for v in villages
    ]


def _event_initial(event: AwarenessEvent) -> dict[str, Any]:
    return {
        "village": f"{event.village.country}-{event.village.code}",
        "held_on": event.held_on,
        "kind": event.kind,
        "title": event.title,
        "topics": event.topics,
        "location": event.location,
        "facilitators": list(event.facilitators.all()),
        "materials": list(event.materials.all()),
        "notes": event.notes,
    }


@login_required
@require_http_methods(["GET", "POST"])
def event_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    event = None
    if pk is not None:
        event = sel.event_get(request.user, pk)
        if not sel.may_record(request.user, event):
            raise PermissionDenied(RECORD_INTERVENTIONS)
    facilitators, materials = _form_choices(request.user, event)
    form = EventForm(
        request.POST or None,
        initial=_event_initial(event)
        if event
        else {"held_on": timezone.localdate(), "facilitators": [request.user.pk]},
        facilitators=facilitators,
        materials=materials,
        villages=_village_choices(request.user),
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            data["village"] = resolve_area_code(data["village"], on=data["held_on"])
        except AreaCodeError as exc:
            form.add_error("village", str(exc))
        else:
            try:
                if event is None:
                    saved = svc.event_create(actor=request.user, **data)
                else:
                    saved = svc.event_update(actor=request.user, event=event, **data)
            except PermissionDenied:
                form.add_error(
                    "village",
                    _("You do not record interventions in %(village)s.")
                    % {"village": data["village"]},
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("%(title)s is saved.") % {"title": saved.title})
                return redirect("interventions:awareness-event-detail", pk=saved.pk)
    return render(
        request, "interventions/awareness/event_form.html", {"form": form, "event": event}
    )


# --------------------------------------------------------------------------------------
# One event.


@login_required
@require_GET
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_events(request.user)
    event = sel.event_get(request.user, pk)
    see_names = sel.may_see_names(request.user, event)
    page = None
    if see_names:
        page = page_of(request, sel.attendees(request.user, event), PERSONS_PER_PAGE)
        if page.object_list:
            sel.event_read(request.user, event, rows=len(page.object_list))
    can_record = sel.may_record(request.user, event)
    return render(
        request,
        "interventions/awareness/event_detail.html",
        {
            "event": event,
            "area": svc.event_area(event),
            "topics": sel.topic_labels(event.topics),
            "facilitators": list(event.facilitators.order_by("username")),
            "materials": list(event.materials.order_by("title")),
            "reach": sel.event_reach_for(request.user, event),
            "small": SMALL_CELL,
            "see_names": see_names,
            "page": page,
            "rows": [(a, a.person.age_on(event.held_on)) for a in page] if page else [],
            "query": query_without_page(request),
            "can_record": can_record,
            "can_sheet": can_record and see_names,
            "sheet_code": sel.sheet_code(event) if can_record and see_names else "",
        },
    )


@login_required
@require_POST
def attendance_remove(request: HttpRequest, pk: int, person_pk: int) -> HttpResponse:
    _require_events(request.user)
    event = sel.event_get(request.user, pk)
    removed = svc.attendance_remove(actor=request.user, event=event, persons=[person_pk])
    if removed:
        messages.success(request, _("Taken off the attendance."))
    return redirect("interventions:awareness-event-detail", pk=event.pk)


# --------------------------------------------------------------------------------------
# Keying in (and taking attendance on a phone).


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit()]


@login_required
@require_http_methods(["GET", "POST"])
def attendance_keying(request: HttpRequest, pk: int) -> HttpResponse:
    _require_events(request.user)
    event = sel.event_get(request.user, pk)
    sel.require_sheet(request.user, event)
    search = KeyingSearchForm(request.GET or None)
    q = search.cleaned_data["q"] if search.is_valid() else ""
    page = page_of(request, sel.keying_persons(request.user, event, q=q), PERSONS_PER_PAGE)
    ticked: set[int] | None = None
    problems: list[str] = []
    if request.method == "POST":
        grid = HeadcountForm(request.POST)
        ticked = set(_ids(request.POST.getlist("present")))
        if grid.is_valid():
            try:
                svc.attendance_save(
                    actor=request.user,
                    event=event,
                    present=sorted(ticked),
                    absent=_ids(request.POST.getlist("shown")),
                    counts=grid.counts(),
                )
            except ValidationError as exc:
                problems = [m for ms in exc.message_dict.values() for m in ms]
            else:
                messages.success(request, _("Attendance saved."))
                url = reverse("interventions:awareness-attendance", args=[event.pk])
                query = request.GET.urlencode()
                return redirect(f"{url}?{query}" if query else url)
        else:
            problems = [_("Check the numbers in the headcount grid.")]
    else:
        grid = HeadcountForm(initial=headcount_initial(sel.headcount_grid(event)))
        if page.object_list:
            sel.event_read(request.user, event, rows=len(page.object_list))
    persons = [
        {
            "person": p,
            "age": p.age_on(event.held_on),
            "ticked": (p.pk in ticked) if ticked is not None else getattr(p, "attended", False),
            "elsewhere": p.household.village_id != event.village_id,
        }
        for p in page
    ]
    return render(
        request,
        "interventions/awareness/attendance_form.html",
        {
            "event": event,
            "area": svc.event_area(event),
            "search": search,
            "q": q,
            "page": page,
            "persons": persons,
            "grid": grid.grid(),
            "bands": AgeBand.values,
            "problems": problems,
            "query": query_without_page(request),
            "sheet_code": sel.sheet_code(event),
        },
    )


@login_required
@require_GET
def sheet_find(request: HttpRequest) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    form = SheetCodeForm(request.GET)
    event = sel.event_for_sheet_code(request.user, form.data.get("code", ""))
    if event is None:
        messages.error(
            request,
            _("No event of yours has the sheet code %(code)s: check it on the sheet.")
            % {"code": form.data.get("code", "")[:20]},
        )
        return redirect("interventions:awareness-event-list")
    return redirect("interventions:awareness-attendance", pk=event.pk)


# --------------------------------------------------------------------------------------
# The attendance sheet.


def _sheet_context(sheet: sel.Sheet) -> dict[str, Any]:
    event = sheet.event
    return {
        "sheet": sheet,
        "event": event,
        "blank_lines": range(1, sheet.blank_lines + 1),
        "sex_rows": [str(label) for _value, label in Sex.choices],
        "bands": AgeBand.values,
        "local_lang": "km" if event.village.country == "KH" else "vi",
        "printed": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
    }


@login_required
@require_GET
def sheet_page(request: HttpRequest, pk: int) -> HttpResponse:
    _require_events(request.user)
    event = sel.event_get(request.user, pk)
    sheet = sel.attendance_sheet(request.user, event, file_format="html")
    return render(request, "interventions/awareness/sheet.html", _sheet_context(sheet))


def sheet_pdf_bytes(sheet: sel.Sheet) -> bytes:
    """The sheet as an A4 PDF (WeasyPrint; Khmer in Khmer OS, from fonts-khmeros)."""
    import weasyprint  # a heavy import, only when a PDF is asked for

    html = render_to_string("interventions/awareness/sheet_pdf.html", _sheet_context(sheet))
    pdf: Any = weasyprint.HTML(string=html, base_url=None).write_pdf()
    return bytes(pdf)


@login_required
@require_GET
def sheet_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    _require_events(request.user)
    event = sel.event_get(request.user, pk)
    sheet = sel.attendance_sheet(request.user, event, file_format="pdf")
    response = HttpResponse(sheet_pdf_bytes(sheet), content_type="application/pdf")
    filename = f"attendance-{sheet.code}-{event.held_on.isoformat()}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def awareness_css(request: HttpRequest) -> HttpResponse:
    """Styles of the sheet (on screen and printed), the keying grid and the comparison,
    served by ctip itself (the Content Security Policy allows no inline style); the PDF
    embeds the same rules."""
    response = HttpResponse(
        render_to_string("interventions/awareness/awareness.css"), content_type="text/css"
    )
    response["Cache-Control"] = "private, max-age=86400"
    return response
