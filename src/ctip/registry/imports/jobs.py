"""Import jobs: a file, its column mapping, its dry run and its import.

Services (`import_job_*`) change jobs and the registry; selectors (`import_jobs_visible_to`,
`import_job_get`) read them for an actor. The check (dry run) writes nothing to the
registry; the import writes everything in one transaction or nothing, with one audit
event. On the web both run in a background thread: progress goes to Django's cache
(visible while the import's transaction is still open), the outcome to the job.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import IMPORT_REGISTRY
from ctip.core import audit

from ..models import ImportJob, ImportStatus
from .engine import Outcome, Problem, Progress, _Pass
from .fields import guess_mapping, mapping_errors
from .reader import FileProblem, file_format, open_table

log = logging.getLogger(__name__)

CHECK, IMPORT = "check", "import"
_PROGRESS_TTL = 24 * 3600


def problem_text(row: int, column: str, message: str) -> str:
    if row and column:
        return _("Row %(row)d, column %(column)s: %(message)s") % {
            "row": row,
            "column": column,
            "message": message,
        }
    if row:
        return _("Row %(row)d: %(message)s") % {"row": row, "message": message}
    return message


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


# --- selectors ---------------------------------------------------------------------------


def import_jobs_visible_to(actor: Any) -> QuerySet[ImportJob]:
    """The imports an actor may see: their own (every import for the command line)."""
    if not access.has_permission(actor, IMPORT_REGISTRY):
        return ImportJob.objects.none()
    if access.is_system(actor):
        return ImportJob.objects.all()
    return ImportJob.objects.filter(created_by_id=actor.pk)


def import_job_get(actor: Any, pk: int) -> ImportJob:
    try:
        return import_jobs_visible_to(actor).get(pk=pk)
    except ImportJob.DoesNotExist:
        raise Http404 from None


def columns_of(job: ImportJob) -> dict[str, str]:
    return dict((job.mapping or {}).get("columns") or {})


def sheet_of(job: ImportJob) -> str:
    return str((job.mapping or {}).get("sheet") or "")


def headers_of(job: ImportJob) -> list[str]:
    return list((job.summary or {}).get("headers") or columns_of(job))


# --- progress ----------------------------------------------------------------------------


def _progress_key(job_id: int) -> str:
    return f"ctip:registry-import:{job_id}"


def progress_of(job: ImportJob) -> dict[str, Any] | None:
    """{"action": "check"|"import", "done": rows, "total": rows or None} while a job runs."""
    value = cache.get(_progress_key(job.pk))
    return value if isinstance(value, dict) else None


def _set_progress(job: ImportJob, action: str, done: int) -> None:
    total = job.total_rows or None
    cache.set(
        _progress_key(job.pk), {"action": action, "done": done, "total": total}, _PROGRESS_TTL
    )


def is_busy(job: ImportJob) -> bool:
    return job.status == ImportStatus.RUNNING or progress_of(job) is not None


# --- services ----------------------------------------------------------------------------


@transaction.atomic
def import_job_create(
    *,
    actor: Any,
    path: Path,
    original_name: str,
    sheet: str = "",
    columns: dict[str, str] | None = None,
) -> ImportJob:
    """A job for a stored file: its columns read and recognised; `columns` overrides the
    recognised mapping for some columns ('' to ignore one)."""
    access.require(actor, IMPORT_REGISTRY)
    fmt = file_format(original_name)
    if not fmt:
        raise ValidationError(_("Only .csv and .xlsx files can be imported."))
    if fmt == "csv" and sheet:
        raise ValidationError(_("A CSV file has no sheets; leave the sheet empty."))
    try:
        with open_table(path, fmt, sheet) as table:
            headers = table.headers
            total_hint = table.total_hint or 0
    except FileProblem as exc:
        raise ValidationError(problem_text(exc.row, "", exc.message)) from None
    mapping = guess_mapping(headers)
    for header, field in (columns or {}).items():
        if header not in mapping:
            raise ValidationError(
                _("The file has no column %(column)s; its columns are: %(columns)s.")
                % {"column": repr(header), "columns": ", ".join(headers)}
            )
        mapping[header] = field
    return ImportJob.objects.create(
        original_name=original_name[:255],
        stored_path=str(path),
        file_format=fmt,
        sha256=file_sha256(path),
        mapping={"sheet": sheet, "columns": mapping},
        summary={"headers": headers},
        total_rows=total_hint,
        created_by=_user(actor),
    )


def _require_own(actor: Any, job: ImportJob) -> None:
    access.require(actor, IMPORT_REGISTRY)
    if not import_jobs_visible_to(actor).filter(pk=job.pk).exists():
        raise Http404


def import_job_map(*, actor: Any, job: ImportJob, columns: dict[str, str]) -> ImportJob:
    """Set which field each column of the file holds; the job then needs a new check."""
    _require_own(actor, job)
    if is_busy(job) or job.status == ImportStatus.DONE:
        raise ValidationError(_("This import can no longer be changed."))
    headers = headers_of(job)
    errors = mapping_errors(headers, columns)
    if errors:
        raise ValidationError(errors)
    job.mapping = {"sheet": sheet_of(job), "columns": {h: columns.get(h, "") for h in headers}}
    job.status = ImportStatus.UPLOADED
    job.problems = []
    job.save(update_fields=["mapping", "status", "problems"])
    return job


def _finish(job: ImportJob, outcome: Outcome, status: str) -> None:
    job.status = status
    job.total_rows = outcome.rows
    job.processed_rows = outcome.rows
    job.problems = [p.as_dict() for p in outcome.problems]
    job.summary = {"headers": headers_of(job), **outcome.summary()}
    job.finished_at = timezone.now()
    job.save(
        update_fields=[
            "status",
            "total_rows",
            "processed_rows",
            "problems",
            "summary",
            "finished_at",
        ]
    )


def _file_outcome(exc: FileProblem) -> Outcome:
    outcome = Outcome()
    outcome.add(Problem(exc.row, "", exc.message))
    return outcome


def import_job_check(*, actor: Any, job: ImportJob, progress: Progress | None = None) -> Outcome:
    """The dry run: every problem of the file, by row and column; nothing is written to
    the registry. The job records the problems (the first 1,000) and what an import
    would create and update."""
    _require_own(actor, job)
    if job.status in (ImportStatus.RUNNING, ImportStatus.DONE):
        raise ValidationError(_("This import can no longer be checked."))
    try:
        with open_table(job.stored_path, job.file_format, sheet_of(job)) as table:
            outcome = _Pass(
                actor=actor, table=table, columns=columns_of(job), write=False, progress=progress
            ).run()
    except FileProblem as exc:
        outcome = _file_outcome(exc)
    _finish(job, outcome, ImportStatus.CHECKED if outcome.ok else ImportStatus.INVALID)
    return outcome


class _Invalid(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__("invalid import")
        self.outcome = outcome


def import_job_run(*, actor: Any, job: ImportJob, progress: Progress | None = None) -> Outcome:
    """The import: the file checked again and written in one transaction, all or nothing.

    Households and persons whose external id is already in the registry are updated
    (only in the columns the file maps), the others created. One audit event records
    the file, its SHA-256 and the counts.
    """
    _require_own(actor, job)
    if job.status not in (ImportStatus.UPLOADED, ImportStatus.CHECKED):
        raise ValidationError(_("Only a checked import without problems can be run."))
    job.status = ImportStatus.RUNNING
    job.save(update_fields=["status"])
    try:
        with transaction.atomic():
            try:
                with open_table(job.stored_path, job.file_format, sheet_of(job)) as table:
                    outcome = _Pass(
                        actor=actor,
                        table=table,
                        columns=columns_of(job),
                        write=True,
                        progress=progress,
                    ).run()
            except FileProblem as exc:
                outcome = _file_outcome(exc)
            if not outcome.ok:
                raise _Invalid(outcome)
            audit.record(
                actor=actor,
                action="import",
                object_type="registry.importjob",
                object_id=job.pk,
                object_repr=job.original_name,
                changes={"file": job.original_name, "sha256": job.sha256, **outcome.counts()},
            )
            # Saved with the rows: the job says "imported" exactly when they are.
            _finish(job, outcome, ImportStatus.DONE)
    except _Invalid as exc:
        _finish(job, exc.outcome, ImportStatus.FAILED)
        return exc.outcome
    except Exception as exc:
        outcome = Outcome()
        message = _("The import stopped: %(error)s. Nothing was written.") % {"error": exc}
        outcome.add(Problem(0, "", message))
        _finish(job, outcome, ImportStatus.FAILED)
        raise
    return outcome


def import_job_start(*, actor: Any, job: ImportJob, action: str) -> None:
    """Run the check or the import in a background thread (inline when
    settings.CTIP_IMPORTS_INLINE is true); follow it with progress_of(job)."""
    _require_own(actor, job)
    if is_busy(job):
        raise ValidationError(_("This import is already running."))
    if action == IMPORT and job.status != ImportStatus.CHECKED:
        raise ValidationError(_("Only a checked import without problems can be run."))
    _set_progress(job, action, 0)
    language = translation.get_language() or settings.LANGUAGE_CODE
    if getattr(settings, "CTIP_IMPORTS_INLINE", False):
        _work(job.pk, actor, action, language)
        return
    thread = threading.Thread(
        target=_work_in_thread,
        args=(job.pk, actor.pk, action, language),
        name=f"ctip-import-{job.pk}",
        daemon=True,
    )
    thread.start()


def _work_in_thread(job_id: int, actor_id: int, action: str, language: str) -> None:
    from ctip.accounts.models import User

    try:
        actor = User.objects.get(pk=actor_id)
        _work(job_id, actor, action, language)
    except Exception:
        log.exception("Import job %s (%s) failed", job_id, action)
    finally:
        connection.close()


def _work(job_id: int, actor: Any, action: str, language: str) -> None:
    job = ImportJob.objects.get(pk=job_id)

    def progress(done: int) -> None:
        _set_progress(job, action, done)

    try:
        with translation.override(language):
            if action == CHECK:
                import_job_check(actor=actor, job=job, progress=progress)
            else:
                import_job_run(actor=actor, job=job, progress=progress)
    finally:
        cache.delete(_progress_key(job_id))
