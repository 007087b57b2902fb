"""Pages of registry imports: upload a file, map its columns, read the dry run's
problems by row and column, confirm the import and follow its progress.

Views parse input and render; the rules are in ctip.registry.imports."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ctip.accounts import access
from ctip.accounts.roles import IMPORT_REGISTRY

from .. import imports
from ..models import ImportStatus

PAGE_SIZE = 50
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
REFRESH_SECONDS = 3


def max_upload_bytes() -> int:
    return int(getattr(settings, "CTIP_IMPORT_MAX_BYTES", MAX_UPLOAD_BYTES))


def import_dir() -> Path:
    return Path(settings.VAR_DIR) / "imports"


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "A .csv (UTF-8) or .xlsx file, one row per person with their household's columns."
        ),
    )
    sheet = forms.CharField(
        label=gettext_lazy("Sheet"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("For an .xlsx file with several sheets; the first by default."),
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if not imports.file_format(upload.name or ""):
            raise ValidationError(_("Only .csv and .xlsx files can be imported."))
        limit = max_upload_bytes()
        if (upload.size or 0) > limit:
            raise ValidationError(
                _("The file is larger than %(size)s; split it into smaller files.")
                % {"size": filesizeformat(limit)}
            )
        return upload


def _field_choices() -> list[tuple[str, str]]:
    return [("", _("— not imported —"))] + [
        (f.name, f"{f.label}{' *' if f.required else ''}") for f in imports.FIELDS
    ]


class MappingForm(forms.Form):
    """One choice per column of the file: which field it holds, or none."""

    def __init__(self, *args: Any, headers: list[str], initial_columns: dict[str, str], **kw: Any):
        super().__init__(*args, **kw)
        self.headers = headers
        choices = _field_choices()
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header,
                required=False,
                choices=choices,
                initial=initial_columns.get(header, ""),
            )

    def columns(self) -> dict[str, str]:
        return {h: self.cleaned_data.get(f"col_{i}") or "" for i, h in enumerate(self.headers)}


def _store(upload: UploadedFile, fmt: str) -> Path:
    folder = import_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(16)}.{fmt}"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return path


@login_required
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, IMPORT_REGISTRY)
    jobs = imports.import_jobs_visible_to(request.user).order_by("-created_at", "-id")
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "registry/import_list.html", {"page": page, "query": ""})


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    access.require(request.user, IMPORT_REGISTRY)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        path = _store(upload, imports.file_format(upload.name))
        try:
            job = imports.import_job_create(
                actor=request.user,
                path=path,
                original_name=upload.name,
                sheet=form.cleaned_data["sheet"].strip(),
            )
        except ValidationError as exc:
            path.unlink(missing_ok=True)
            form.add_error(None, exc)
        else:
            return redirect("registry:import-mapping", pk=job.pk)
    return render(
        request,
        "registry/import_upload.html",
        {"form": form, "fields": imports.FIELDS, "max_size": filesizeformat(max_upload_bytes())},
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, IMPORT_REGISTRY)
    job = imports.import_job_get(request.user, pk)
    if imports.is_busy(job) or job.status == ImportStatus.DONE:
        return redirect("registry:import-detail", pk=job.pk)
    headers = imports.headers_of(job)
    form = MappingForm(
        request.POST or None, headers=headers, initial_columns=imports.columns_of(job)
    )
    if request.method == "POST" and form.is_valid():
        try:
            imports.import_job_map(actor=request.user, job=job, columns=form.columns())
            imports.import_job_start(actor=request.user, job=job, action=imports.CHECK)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("registry:import-detail", pk=job.pk)
    return render(request, "registry/import_mapping.html", {"job": job, "form": form})


@login_required
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, IMPORT_REGISTRY)
    job = imports.import_job_get(request.user, pk)
    progress = imports.progress_of(job)
    running = progress is not None or job.status == ImportStatus.RUNNING
    summary = job.summary or {}
    problem_count = int(summary.get("problem_count") or len(job.problems or []))
    context = {
        "job": job,
        "progress": progress,
        "running": running,
        "refresh": REFRESH_SECONDS,
        "summary": summary,
        "problems": job.problems or [],
        "problem_count": problem_count,
        "more_problems": max(problem_count - len(job.problems or []), 0),
        "ignored": summary.get("ignored_columns") or [],
        "can_import": job.status == ImportStatus.CHECKED and not running,
        "can_map": job.status
        in (ImportStatus.UPLOADED, ImportStatus.CHECKED, ImportStatus.INVALID, ImportStatus.FAILED)
        and not running,
        "checked": job.status in (ImportStatus.CHECKED, ImportStatus.INVALID),
    }
    response = render(request, "registry/import_detail.html", context)
    if running:
        response["Refresh"] = str(REFRESH_SECONDS)
    return response


@login_required
@require_POST
def import_run(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    access.require(request.user, IMPORT_REGISTRY)
    job = imports.import_job_get(request.user, pk)
    try:
        imports.import_job_start(actor=request.user, job=job, action=imports.IMPORT)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return HttpResponseRedirect(reverse("registry:import-detail", args=[job.pk]))
