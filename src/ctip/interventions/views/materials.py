"""The materials library: browse and filter, one material with its reviews and average
scores, add and edit (managers), review (staff, or children and youth by kind, sex and
age), download the file through a permission check, and compare materials side by side."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ctip.accounts.roles import MANAGE_INTERVENTIONS, VIEW_AGGREGATES
from ctip.core.views.helpers import apply_errors, query_without_page
from ctip.registry.models import Sex

from ..forms_awareness import (
    LANGUAGE_SUGGESTIONS,
    MaterialFilterForm,
    MaterialForm,
    ReviewForm,
    language_label,
)
from ..models import Audience, Material, Topic
from ..selectors import awareness as sel
from ..services import awareness as svc
from .common import page_of


def _require_browse(user: Any) -> None:
    if not sel.may_browse_materials(user):
        raise PermissionDenied(VIEW_AGGREGATES)


def _labels(values: list[str], choices: Any) -> list[str]:
    labels = dict(choices)
    return [str(labels.get(v, v)) for v in values]


@login_required
@require_GET
def material_list(request: HttpRequest) -> HttpResponse:
    _require_browse(request.user)
    form = MaterialFilterForm(request.GET or None)
    materials: QuerySet[Material] = Material.objects.none()
    if not form.is_bound:
        materials = sel.material_search(request.user)
    elif form.is_valid():
        filters = dict(form.cleaned_data)
        materials = sel.material_search(
            request.user, current_only=filters.pop("current"), **filters
        )
    page = page_of(request, materials)
    rows = [
        {
            "material": m,
            "language": language_label(m.language),
            "audiences": _labels(m.audiences, Audience.choices),
            "topics": _labels(m.topics, Topic.choices),
        }
        for m in page
    ]
    return render(
        request,
        "interventions/materials/material_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query_without_page(request),
            "can_manage": svc.material_may_manage(request.user),
            "compare_min": sel.COMPARE_MIN,
            "compare_max": sel.COMPARE_MAX,
        },
    )


@login_required
@require_GET
def material_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_browse(request.user)
    material = sel.material_get(request.user, pk)
    sexes = {value: str(label) for value, label in Sex.choices}
    criteria = sel.criterion_labels()
    return render(
        request,
        "interventions/materials/material_detail.html",
        {
            "material": material,
            "language": language_label(material.language),
            "audiences": _labels(material.audiences, Audience.choices),
            "topics": _labels(material.topics, Topic.choices),
            "scores": sel.material_scores([material]),
            "reviews": [
                (
                    r,
                    sexes.get(r.reviewer_sex, r.reviewer_sex),
                    [(label, getattr(r, c)) for c, label in criteria.items()],
                )
                for r in sel.material_reviews(request.user, material)
            ],
            "newer": list(sel.newer_versions(material)),
            "can_manage": svc.material_may_manage(request.user),
            "can_review": svc.may_review(request.user),
            "file_name": material.file.name.rsplit("/", 1)[-1] if material.file else "",
        },
    )


def _material_initial(m: Material) -> dict[str, Any]:
    return {
        "title": m.title,
        "kind": m.kind,
        "language": m.language,
        "audiences": m.audiences,
        "topics": m.topics,
        "agency": m.agency,
        "version": m.version,
        "description": m.description,
        "supersedes": m.supersedes_id,
    }


@login_required
@require_http_methods(["GET", "POST"])
def material_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if not svc.material_may_manage(request.user):
        raise PermissionDenied(MANAGE_INTERVENTIONS)
    current = sel.material_get(request.user, pk) if pk is not None else None
    form = MaterialForm(
        request.POST or None,
        request.FILES or None,
        initial=_material_initial(current) if current else {"language": "km"},
        current=current,
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if data.get("file") is None:
            data.pop("file", None)
        try:
            if current is None:
                saved = svc.material_create(actor=request.user, **data)
            else:
                saved = svc.material_update(actor=request.user, material=current, **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("%(title)s is saved.") % {"title": saved.title})
            return redirect("interventions:material-detail", pk=saved.pk)
    return render(
        request,
        "interventions/materials/material_form.html",
        {"form": form, "current": current, "languages": LANGUAGE_SUGGESTIONS},
    )


@login_required
@require_http_methods(["GET", "POST"])
def material_review(request: HttpRequest, pk: int) -> HttpResponse:
    if not svc.may_review(request.user):
        raise PermissionDenied(MANAGE_INTERVENTIONS)
    material = sel.material_get(request.user, pk)
    form = ReviewForm(request.POST or None, initial={"reviewed_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            svc.material_review_record(actor=request.user, material=material, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The review is saved."))
            return redirect("interventions:material-detail", pk=material.pk)
    return render(
        request,
        "interventions/materials/review_form.html",
        {"form": form, "material": material},
    )


@login_required
@require_GET
def material_file(request: HttpRequest, pk: int) -> FileResponse:
    """The material's file, to signed-in users who may browse the library only (media
    are never served publicly), as an attachment with its own content type."""
    _require_browse(request.user)
    material = sel.material_get(request.user, pk)
    if not material.file:
        raise Http404
    ext = svc.extension_of(material.file.name)
    try:
        handle = material.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    stem = slugify(f"{material.title} {material.version}")[:80] or "material"
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"{stem}.{ext}",
        content_type=svc.CONTENT_TYPES.get(ext, "application/octet-stream"),
    )


@login_required
@require_GET
def material_compare(request: HttpRequest) -> HttpResponse:
    _require_browse(request.user)
    ids = [int(v) for v in request.GET.getlist("m") if v.isdigit()]
    try:
        chosen = sel.materials_for_comparison(request.user, ids)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("interventions:material-list")
    return render(
        request,
        "interventions/materials/material_compare.html",
        {"comparison": sel.material_scores(chosen)},
    )
