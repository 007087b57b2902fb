"""The import pages: upload, columns, the dry run's problems, the import and its progress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from ctip.core.models import AuditEvent
from ctip.registry import imports
from ctip.registry.imports import jobs
from ctip.registry.models import Household, ImportJob, ImportStatus, Person
from tests.helpers import make_user

from .conftest import World
from .test_import import HEADERS, registry_state, sample_rows, write_csv


@pytest.fixture
def web(settings: Any, tmp_path: Path) -> Path:
    settings.CTIP_IMPORTS_INLINE = True
    settings.VAR_DIR = tmp_path / "var"
    return tmp_path


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _upload(client: Client, path: Path, sheet: str = "") -> Any:
    upload = SimpleUploadedFile(path.name, path.read_bytes())
    return client.post("/registry/imports/new/", {"file": upload, "sheet": sheet})


def _mapping_post(job: ImportJob, **changes: str) -> dict[str, str]:
    columns = {**imports.columns_of(job), **changes}
    return {f"col_{i}": columns.get(h, "") for i, h in enumerate(imports.headers_of(job))}


def test_upload_columns_check_and_import(world: World, web: Path) -> None:
    officer = make_user("officer_sr", "provincial_officer", "KH-20")
    client = _client(officer)
    rows = sample_rows(world.sr_village.code)
    for row in rows:
        row["Nom"] = row.pop("given_name_latin")
    headers = [h if h != "given_name_latin" else "Nom" for h in HEADERS]
    path = write_csv(web / "village.csv", rows, headers)

    response = _upload(client, path)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == f"/registry/imports/{job.pk}/columns/"
    stored = Path(job.stored_path)
    assert stored.parent == web / "var" / "imports"
    assert stored.name != "village.csv" and stored.read_bytes() == path.read_bytes()

    page = client.get(response.url).content.decode()
    assert "Nom" in page and "— not imported —" in page
    assert '<option value="village" selected>' in page  # "village_code" recognised

    response = client.post(response.url, _mapping_post(job, Nom="given_name_latin"))
    assert response.status_code == 302
    assert response.url == f"/registry/imports/{job.pk}/"
    job.refresh_from_db()
    assert job.status == ImportStatus.CHECKED
    assert not Person.objects.filter(external_id="P-1").exists()

    page = client.get(response.url).content.decode()
    assert "No problems found" in page
    assert "Importing will create 2 households and 5 persons" in page
    assert f'action="/registry/imports/{job.pk}/import/"' in page

    response = client.post(f"/registry/imports/{job.pk}/import/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert Person.objects.get(external_id="P-1").given_name_latin == "Dara"
    assert AuditEvent.objects.filter(action="import", actor=officer).count() == 1
    page = client.get(f"/registry/imports/{job.pk}/").content.decode()
    assert "Created 2 households and 5 persons" in page
    assert "/import/" not in page  # no second import of the same job

    listing = client.get("/registry/imports/").content.decode()
    assert "village.csv" in listing and "Imported" in listing


def test_the_dry_run_page_lists_problems_by_row_and_column_and_offers_no_import(
    world: World, web: Path
) -> None:
    client = _client(world.admin)
    rows = sample_rows(world.sr_village.code)
    rows[1]["date_of_birth"] = "2011-02-30"
    rows[3]["given_name_latin"] = '=HYPERLINK("http://x.example","click")'
    response = _upload(client, write_csv(web / "bad.csv", rows))
    job = ImportJob.objects.get()
    before = registry_state()

    response = client.post(response.url, _mapping_post(job))
    page = client.get(response.url).content.decode()

    assert registry_state() == before
    assert "Problems to fix" in page
    assert "2 problems; nothing is written until the file has none." in page
    assert "<td>3</td><td>date_of_birth</td><td>&#x27;2011-02-30&#x27; is not a real date" in page
    assert "<td>5</td><td>given_name_latin</td>" in page
    assert "=HYPERLINK" in page and '<a href="http://x.example' not in page
    assert "/import/" not in page
    assert client.post(f"/registry/imports/{job.pk}/import/").status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.INVALID
    assert registry_state() == before


def test_an_upload_that_is_not_csv_or_xlsx_or_not_utf8_is_refused(world: World, web: Path) -> None:
    client = _client(world.admin)
    response = client.post(
        "/registry/imports/new/", {"file": SimpleUploadedFile("people.txt", b"a,b\n")}
    )
    assert "Only .csv and .xlsx files can be imported." in response.content.decode()
    latin1 = "household_id,village,Prénom\n".encode("cp1252")
    response = client.post(
        "/registry/imports/new/", {"file": SimpleUploadedFile("people.csv", latin1)}
    )
    page = response.content.decode()
    assert "Row 1: The file is not UTF-8 text" in page
    assert not ImportJob.objects.exists()
    assert not (web / "var" / "imports").exists() or not any((web / "var" / "imports").iterdir())


def test_an_upload_over_the_size_limit_is_refused(world: World, web: Path, settings: Any) -> None:
    settings.CTIP_IMPORT_MAX_BYTES = 10
    response = _client(world.admin).post(
        "/registry/imports/new/",
        {"file": SimpleUploadedFile("people.csv", b"household_id,village\n1,2\n")},
    )
    assert "The file is larger than 10\xa0bytes" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_running_job_shows_its_progress_and_refreshes_itself(world: World, web: Path) -> None:
    client = _client(world.admin)
    _upload(client, write_csv(web / "f.csv", sample_rows(world.sr_village.code)))
    job = ImportJob.objects.get()
    job.total_rows = 5
    jobs._set_progress(job, imports.IMPORT, 2)
    try:
        response = client.get(f"/registry/imports/{job.pk}/")
        columns = client.get(f"/registry/imports/{job.pk}/columns/")
    finally:
        jobs.cache.delete(jobs._progress_key(job.pk))
    page = response.content.decode()
    assert response["Refresh"] == "3"
    assert '<meta http-equiv="refresh" content="3">' in page
    assert '<progress id="import-progress" max="5" value="2">' in page
    assert "2 of about 5 rows" in page
    assert columns.status_code == 302  # no change of columns while it runs


def test_imports_are_for_those_allowed_and_each_sees_only_their_own(
    world: World, web: Path
) -> None:
    _upload(_client(world.admin), write_csv(web / "f.csv", sample_rows(world.sr_village.code)))
    job = ImportJob.objects.get()
    other = make_user("officer_sr", "provincial_officer", "KH-20")
    for url in (f"/registry/imports/{job.pk}/", f"/registry/imports/{job.pk}/columns/"):
        assert _client(other).get(url).status_code == 404
        assert _client(world.facilitator).get(url).status_code == 403
    assert _client(other).post(f"/registry/imports/{job.pk}/import/").status_code == 404
    assert "f.csv" not in _client(other).get("/registry/imports/").content.decode()
    for url in ("/registry/imports/", "/registry/imports/new/"):
        assert _client(world.facilitator).get(url).status_code == 403
        assert _client(world.donor).get(url).status_code == 403
    count = Household.objects.count()
    response = _client(world.facilitator).post(
        "/registry/imports/new/",
        {"file": SimpleUploadedFile("f.csv", (web / "f.csv").read_bytes())},
    )
    assert response.status_code == 403
    assert ImportJob.objects.count() == 1 and Household.objects.count() == count


def test_without_inline_imports_the_work_goes_to_a_background_thread(
    world: World, web: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CTIP_IMPORTS_INLINE = False
    started: list[tuple[Any, tuple[Any, ...]]] = []

    class FakeThread:
        def __init__(self, *, target: Any, args: tuple[Any, ...], **kw: Any) -> None:
            self.target, self.args = target, args

        def start(self) -> None:
            started.append((self.target, self.args))

    monkeypatch.setattr(jobs.threading, "Thread", FakeThread)
    client = _client(world.admin)
    response = _upload(client, write_csv(web / "f.csv", sample_rows(world.sr_village.code)))
    job = ImportJob.objects.get()
    try:
        response = client.post(response.url, _mapping_post(job))
        page = client.get(response.url)
        assert started == [(jobs._work_in_thread, (job.pk, world.admin.pk, "check", "en"))]
        assert page["Refresh"] == "3"
        assert "Checking" in page.content.decode()
        job.refresh_from_db()
        assert job.status == ImportStatus.UPLOADED
    finally:
        jobs.cache.delete(jobs._progress_key(job.pk))
