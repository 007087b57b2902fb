"""Bulk import of households and persons from CSV and XLSX: what a user sees when a
file is checked (every problem by row and column, nothing written) and imported (all
rows or none; a second import of the same file updates instead of adding)."""

from __future__ import annotations

import csv
import datetime as dt
import gc
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.utils import translation

from ctip.core.actors import cli_actor
from ctip.core.models import AuditEvent
from ctip.geography.models import Area, Level
from ctip.registry import imports, services
from ctip.registry.imports import engine
from ctip.registry.models import Household, ImportJob, ImportStatus, Person
from tests.helpers import make_user

from .conftest import World

HEADERS = [
    "household_id",
    "household_code",
    "village_code",
    "address",
    "land_hectares",
    "income_sources",
    "monthly_income",
    "currency",
    "poverty_status",
    "person_id",
    "relationship",
    "family_name_local",
    "given_name_local",
    "family_name_latin",
    "given_name_latin",
    "sex",
    "date_of_birth",
    "school_status",
    "id_documents",
    "phone",
    "disability",
]


def person(
    household: str,
    ext: str,
    village: str,
    given: str,
    *,
    relationship: str = "child",
    sex: str = "female",
    born: str = "2012-05-01",
    address: str = "Phum 1",
    **extra: str,
) -> dict[str, str]:
    row = {
        "household_id": household,
        "household_code": "",
        "village_code": village,
        "address": address,
        "land_hectares": "0.5",
        "income_sources": "farming; remittances",
        "monthly_income": "300,000",
        "currency": "KHR",
        "poverty_status": "IDPoor level 1 / poor household",
        "person_id": ext,
        "relationship": relationship,
        "family_name_local": "សុខ",
        "given_name_local": "",
        "family_name_latin": "Sok",
        "given_name_latin": given,
        "sex": sex,
        "date_of_birth": born,
        "school_status": "enrolled",
        "id_documents": "birth_certificate;family_book",
        "phone": "",
        "disability": "no",
    }
    row.update(extra)
    return row


def sample_rows(village: str) -> list[dict[str, str]]:
    """Two households of a village: three persons and two."""
    return [
        person("HH-1", "P-1", village, "Dara", relationship="head", sex="male", born="1980-02-03"),
        person("HH-1", "P-2", village, "Sophea", relationship="spouse", born="15/06/1984"),
        person("HH-1", "P-3", village, "Srey Mom", born="2012-05-01", phone="+855 12 345 678"),
        person("HH-2", "P-4", village, "Vanna", relationship="head", sex="male", address="Phum 2"),
        person("HH-2", "P-5", village, "Bopha", address="Phum 2", school_status="Dropped out"),
    ]


def write_csv(
    path: Path,
    rows: Sequence[dict[str, str]],
    headers: Sequence[str] = HEADERS,
    *,
    encoding: str = "utf-8",
) -> Path:
    with path.open("w", newline="", encoding=encoding) as f:
        out = csv.DictWriter(f, fieldnames=list(headers), extrasaction="ignore")
        out.writeheader()
        out.writerows(rows)
    return path


def write_xlsx(
    path: Path, rows: Sequence[Sequence[Any]], headers: Sequence[str], sheet: str
) -> Path:
    book = openpyxl.Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "Read me"
    notes.append(["The data are on the next sheet."])
    ws = book.create_sheet(sheet)
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    book.save(path)
    return path


def job_for(actor: Any, path: Path, **kw: Any) -> ImportJob:
    return imports.import_job_create(actor=actor, path=path, original_name=path.name, **kw)


def check(actor: Any, path: Path, **kw: Any) -> imports.Outcome:
    return imports.import_job_check(actor=actor, job=job_for(actor, path, **kw))


def run(actor: Any, path: Path, **kw: Any) -> imports.Outcome:
    return imports.import_job_run(actor=actor, job=job_for(actor, path, **kw))


def problems(outcome: imports.Outcome) -> list[tuple[int, str, str]]:
    return [(p.row, p.column, p.message) for p in outcome.problems]


def registry_state() -> tuple[int, int, int]:
    return Household.objects.count(), Person.objects.count(), AuditEvent.objects.count()


@pytest.fixture
def village(world: World) -> Area:
    return world.sr_village


# --- a good file --------------------------------------------------------------------


def test_a_csv_of_two_households_imports_with_one_audit_event(
    world: World, village: Area, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "households.csv", sample_rows(village.code))
    events = AuditEvent.objects.count()

    outcome = run(world.admin, path)

    assert problems(outcome) == []
    assert outcome.counts() == {
        "rows": 5,
        "households_created": 2,
        "households_updated": 0,
        "persons_created": 5,
        "persons_updated": 0,
    }
    first = Household.objects.get(external_id="HH-1")
    assert first.code == "HH-1"  # no code column value: derived from the external id
    assert first.village == village
    assert first.address == "Phum 1"
    assert first.land_hectares == Decimal("0.50")
    assert first.monthly_income == Decimal("300000.00")
    assert first.income_sources == ["farming", "remittances"]
    assert first.poverty_status == "poor_1"
    assert first.created_by == world.admin
    members = {p.external_id: p for p in first.members.all()}
    assert set(members) == {"P-1", "P-2", "P-3"}
    assert members["P-2"].date_of_birth == dt.date(1984, 6, 15)
    assert members["P-2"].relationship == "spouse"
    assert members["P-3"].phone == "+855 12 345 678"
    assert members["P-3"].id_documents == ["birth_certificate", "family_book"]
    assert members["P-3"].search_text == services.person_search_text(members["P-3"])
    assert "srey mom" in members["P-3"].search_text
    assert Person.objects.get(external_id="P-5").school_status == "dropped_out"

    assert AuditEvent.objects.count() == events + 1
    event = AuditEvent.objects.get(action="import")
    job = ImportJob.objects.get()
    assert (event.object_type, event.object_id) == ("registry.importjob", str(job.pk))
    assert event.changes["file"] == "households.csv"
    assert event.changes["sha256"] == job.sha256 == imports.jobs.file_sha256(path)
    assert event.changes["persons_created"] == 5
    assert job.status == ImportStatus.DONE
    assert job.summary["households_created"] == 2


def test_an_xlsx_sheet_imports_dates_numbers_and_codes_as_spreadsheets_keep_them(
    world: World, village: Area, tmp_path: Path
) -> None:
    headers = ["HH ID", "Village Code", "Person ID", "Relationship", "Given Name", "Sex", "DOB"]
    headers += ["Age", "Household Code"]
    rows = [
        ["A-1", int(village.code), 101, "Head of household", "Dara", "Male",
         dt.datetime(1980, 2, 3), None, "SR-A1"],
        ["A-1", f"KH-{village.code}", 102, "daughter", "Mony", "F", None, 7, "SR-A1"],
    ]  # fmt: skip
    path = write_xlsx(tmp_path / "people.xlsx", rows, headers, sheet="Persons")

    outcome = run(world.admin, path, sheet="Persons")

    assert problems(outcome) == []
    household = Household.objects.get(external_id="A-1")
    assert household.code == "SR-A1"
    head, child = household.members.order_by("external_id")
    assert (head.external_id, head.relationship, head.sex) == ("101", "head", "male")
    assert head.date_of_birth == dt.date(1980, 2, 3) and not head.dob_estimated
    assert child.relationship == "child"
    assert child.date_of_birth == dt.date(dt.date.today().year - 7, 1, 1)
    assert child.dob_estimated


def test_column_names_are_recognised_in_their_common_spellings() -> None:
    mapping = imports.guess_mapping(
        ["HH ID", "Village Code", " Date of Birth ", "first_name", "Gender", "Notes", "dob"]
    )
    assert mapping == {
        "HH ID": "household_external_id",
        "Village Code": "village",
        " Date of Birth ": "date_of_birth",
        "first_name": "given_name_latin",
        "Gender": "sex",
        "Notes": "",
        "dob": "",  # date_of_birth already has a column
    }


# --- bad input: every problem by row and column, nothing written ----------------------------


def test_the_dry_run_names_each_bad_cell_by_row_and_column_and_writes_nothing(
    world: World, village: Area, tmp_path: Path
) -> None:
    commune = village.parent
    assert commune is not None
    rows = [
        person("HH-1", "P-1", village.code, "Dara", relationship="head", born="2011-02-30"),
        person("HH-1", "P-2", village.code, "Sophea", born="2999-01-01"),
        person("HH-1", "P-3", village.code, "Chan", born="1890-01-01"),
        person("HH-2", "P-4", "99999999", "Vanna"),
        person("HH-3", "P-5", commune.code, "Bopha"),
        person("HH-4", "P-1", village.code, "Dara"),
        person("HH-4", "P-6", village.code, '=HYPERLINK("http://x.example","click")'),
        person("HH-4", "P-7", village.code, "Nary", address="@SUM(1)"),
        person("HH-4", "P-8", village.code, "Kosal", sex="yes", relationship=""),
    ]
    path = write_csv(tmp_path / "bad.csv", rows, [*HEADERS, "notes"])
    before = registry_state()

    outcome = check(world.admin, path)

    found = problems(outcome)
    assert registry_state() == before
    by_place = {(row, column): message for row, column, message in found}
    assert "'2011-02-30' is not a real date" in by_place[(2, "date_of_birth")]
    assert "in the future" in by_place[(3, "date_of_birth")]
    assert "over 120 years" in by_place[(4, "date_of_birth")]
    assert "No village has the code 99999999" in by_place[(5, "village_code")]
    assert f"{commune.code} is a commune, not a village" in by_place[(6, "village_code")]
    assert "also in row 2" in by_place[(7, "person_id")]
    assert "formula" in by_place[(8, "given_name_latin")]
    assert "formula" in by_place[(9, "address")]
    assert "not one of" in by_place[(10, "sex")]
    assert "Relationship to head is empty" in by_place[(10, "relationship")]
    assert [row for row, _c, _m in found] == sorted(row for row, _c, _m in found)
    assert outcome.ignored_columns == ["notes"]
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.INVALID
    assert job.problems[0] == {"row": 2, "column": "date_of_birth", "message": found[0][2]}
    assert job.summary["problem_count"] == len(found)


def test_an_age_over_120_is_refused(world: World, village: Area, tmp_path: Path) -> None:
    rows = [person("HH-1", "P-1", village.code, "Dara", born="", age="121")]
    outcome = check(world.admin, write_csv(tmp_path / "f.csv", rows, [*HEADERS, "age"]))
    assert [(r, c) for r, c, _m in problems(outcome)] == [(2, "age")]
    assert "over 120" in outcome.problems[0].message


def test_a_file_that_is_not_utf8_is_one_problem_naming_its_row(
    world: World, village: Area, tmp_path: Path
) -> None:
    rows = sample_rows(village.code)
    for row in rows:
        row["family_name_local"] = ""
    rows[2]["given_name_latin"] = "Sréy Mom"
    path = write_csv(tmp_path / "latin1.csv", rows, encoding="cp1252")

    outcome = check(world.admin, path)

    assert [(p.row, p.column) for p in outcome.problems] == [(4, "")]
    assert "not UTF-8" in outcome.problems[0].message
    assert "CSV UTF-8" in outcome.problems[0].message


def test_utf8_with_a_byte_order_mark_and_semicolons_reads_fine(
    world: World, village: Area, tmp_path: Path
) -> None:
    path = tmp_path / "excel.csv"
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        out = csv.DictWriter(f, fieldnames=HEADERS, delimiter=";")
        out.writeheader()
        out.writerows(sample_rows(village.code))
    outcome = run(world.admin, path)
    assert problems(outcome) == []
    assert Person.objects.get(external_id="P-1").family_name_local == "សុខ"


def test_rows_of_one_household_must_agree(world: World, village: Area, tmp_path: Path) -> None:
    rows = sample_rows(village.code)
    rows[2]["address"] = "Phum 9"
    outcome = check(world.admin, write_csv(tmp_path / "f.csv", rows))
    assert problems(outcome) == [
        (
            4,
            "address",
            "Household HH-1 has 'Phum 1' in row 2 but 'Phum 9' here; "
            "all rows of one household must agree.",
        )
    ]


def test_households_are_checked_across_batches(
    world: World, village: Area, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "BATCH_ROWS", 2)
    rows = sample_rows(village.code)
    rows[2]["land_hectares"] = "3"
    rows.append(person("HH-5", "P-2", village.code, "Again"))
    outcome = check(world.admin, write_csv(tmp_path / "f.csv", rows))
    assert [(r, c) for r, c, _m in problems(outcome)] == [(4, "land_hectares"), (7, "person_id")]
    assert "'0.50' in row 2 but '3.00' here" in outcome.problems[0].message
    assert "also in row 3" in outcome.problems[1].message


def test_a_row_lists_its_problems_in_the_order_of_its_cells(
    world: World, village: Area, tmp_path: Path
) -> None:
    path = tmp_path / "f.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADERS)
        out.writerow(person("HH-1", "P-1", village.code, "Dara", relationship="head").values())
        bad = person("HH-2", "P-2", "99999999", "Vanna", land_hectares="a lot", sex="")
        out.writerow([*bad.values(), "", "a cell past the last column"])
    outcome = check(world.admin, path)
    assert [(r, c) for r, c, _m in problems(outcome)] == [
        (3, ""),
        (3, "land_hectares"),
        (3, "village_code"),
        (3, "sex"),
    ]
    assert "23 cells but the file has 21 columns" in outcome.problems[0].message
    assert "No village has the code 99999999" in outcome.problems[2].message


def test_problems_are_written_in_the_language_of_whoever_checks_the_file(
    world: World, village: Area, tmp_path: Path
) -> None:
    rows = sample_rows(village.code)
    rows[1]["date_of_birth"] = "2011-02-30"
    rows[3]["village_code"] = "99999999"
    path = write_csv(tmp_path / "f.csv", rows)
    with translation.override("km"):
        outcome = check(world.admin, path)
        no_village = translation.gettext("No village has the code %(code)s.")
    assert not no_village.startswith("No village")
    assert problems(outcome) == [
        (3, "date_of_birth", "'2011-02-30' មិនមែនជាកាលបរិច្ឆេទពិតប្រាកដទេ៖ ខែនោះគ្មានថ្ងៃទី 30 ទេ។"),
        (5, "village_code", no_village % {"code": "99999999"}),
    ]


def test_a_household_code_used_by_another_household_is_refused(
    world: World, village: Area, tmp_path: Path
) -> None:
    rows = sample_rows(village.code)
    for row in rows[3:]:
        row["household_code"] = world.sr_household.code
    outcome = check(world.admin, write_csv(tmp_path / "f.csv", rows))
    assert [(r, c) for r, c, _m in problems(outcome)] == [(5, "household_code")]
    assert "already used by another household" in outcome.problems[0].message


def test_problems_are_listed_up_to_a_limit_and_all_counted(
    world: World, village: Area, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "MAX_PROBLEMS", 3)
    rows = [person(f"H{i}", f"P{i}", "99999999", "X") for i in range(5)]
    outcome = check(world.admin, write_csv(tmp_path / "f.csv", rows))
    assert len(outcome.problems) == 3
    assert outcome.problem_count == 5


def test_a_file_without_the_needed_columns_says_which(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", [], ["Name", "Village"])
    outcome = check(world.admin, path)
    messages = " ".join(p.message for p in outcome.problems)
    assert "Household external id" in messages
    assert "Person external id" in messages
    assert "given name" in messages


# --- all or nothing, and updates ---------------------------------------------------------------


def test_an_invalid_file_leaves_the_registry_unchanged_even_after_writing_batches(
    world: World, village: Area, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "BATCH_ROWS", 2)
    rows = sample_rows(village.code)
    rows.append(person("HH-9", "P-9", village.code, "Late", born="2011-02-30"))
    before = registry_state()

    outcome = run(world.admin, write_csv(tmp_path / "f.csv", rows))

    assert [(r, c) for r, c, _m in problems(outcome)] == [(7, "date_of_birth")]
    assert registry_state() == before
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED
    assert job.problems[0]["row"] == 7


def test_a_file_unreadable_after_some_written_batches_imports_nothing(
    world: World, village: Area, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "BATCH_ROWS", 2)
    path = write_csv(tmp_path / "f.csv", sample_rows(village.code))
    late = person("HH-9", "P-9", village.code, "Sréy Late", family_name_local="")
    with path.open("ab") as f:  # a last row saved in another encoding
        f.write(",".join(late[h] for h in HEADERS).encode("cp1252") + b"\r\n")
    before = registry_state()

    outcome = run(world.admin, path)

    assert [(r, c) for r, c, _m in problems(outcome)] == [(7, "")]
    assert "not UTF-8" in outcome.problems[0].message
    assert outcome.rows == 5
    assert registry_state() == before
    assert ImportJob.objects.get().status == ImportStatus.FAILED


def test_an_import_stopped_half_way_writes_nothing(
    world: World, village: Area, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "BATCH_ROWS", 2)
    rows = [person(f"HH-{n // 3}", f"P-{n}", village.code, "Dara") for n in range(40)]
    job = job_for(world.admin, write_csv(tmp_path / "f.csv", rows))
    before = registry_state()

    def progress(done: int) -> None:
        if done >= 4:  # after two batches were written
            raise OSError("the progress cannot be recorded")

    with pytest.raises(OSError, match="cannot be recorded"):
        imports.import_job_run(actor=world.admin, job=job, progress=progress)

    assert registry_state() == before
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "Nothing was written" in job.problems[0]["message"]


def test_an_import_stopped_by_a_database_error_reports_that_error(
    world: World, village: Area, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "BATCH_ROWS", 2)
    job = job_for(world.admin, write_csv(tmp_path / "f.csv", sample_rows(village.code)))
    before = registry_state()

    def progress(done: int) -> None:
        with connection.cursor() as c:  # on PostgreSQL this aborts the transaction
            c.execute("SELECT * FROM ctip_no_such_table")

    with pytest.raises(DatabaseError, match="ctip_no_such_table"):
        imports.import_job_run(actor=world.admin, job=job, progress=progress)

    assert registry_state() == before
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "ctip_no_such_table" in job.problems[0]["message"]


def test_an_import_finds_a_person_repeated_in_a_later_batch_and_writes_nothing(
    world: World, village: Area, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(world.admin, write_csv(tmp_path / "v1.csv", sample_rows(village.code)))
    monkeypatch.setattr(engine, "BATCH_ROWS", 2)
    rows = sample_rows(village.code)
    rows[0]["address"] = rows[1]["address"] = rows[2]["address"] = "Changed"
    rows.append(person("HH-7", "P-1", village.code, "Again"))  # updated in the first batch
    rows.append(person("HH-7", "P-8", village.code, "New"))
    rows.append(person("HH-7", "P-8", village.code, "New"))  # created two rows above
    rows.append(person("HH-8", "P-8", village.code, "New"))  # in another batch
    before = registry_state()

    outcome = run(world.admin, write_csv(tmp_path / "v2.csv", rows))

    assert [(r, c) for r, c, _m in problems(outcome)] == [
        (7, "person_id"),
        (9, "person_id"),
        (10, "person_id"),
    ]
    assert "P-1 is also in an earlier row" in outcome.problems[0].message
    assert "P-8 is also in row 8" in outcome.problems[1].message
    assert registry_state() == before
    assert Household.objects.get(external_id="HH-1").address == "Phum 1"


def test_importing_the_same_file_again_updates_instead_of_adding(
    world: World, village: Area, tmp_path: Path
) -> None:
    rows = sample_rows(village.code)
    run(world.admin, write_csv(tmp_path / "v1.csv", rows))
    counts = (Household.objects.count(), Person.objects.count())
    household_id = Household.objects.get(external_id="HH-1").pk

    for row in rows[:3]:
        row["address"] = "Phum Thmey"
    rows[1]["given_name_latin"] = "Sophy"
    outcome = run(world.admin, write_csv(tmp_path / "v2.csv", rows))

    assert problems(outcome) == []
    assert outcome.counts() == {
        "rows": 5,
        "households_created": 0,
        "households_updated": 2,
        "persons_created": 0,
        "persons_updated": 5,
    }
    assert (Household.objects.count(), Person.objects.count()) == counts
    household = Household.objects.get(external_id="HH-1")
    assert household.pk == household_id and household.address == "Phum Thmey"
    sophy = Person.objects.get(external_id="P-2")
    assert sophy.given_name_latin == "Sophy"
    assert "sophy" in sophy.search_text and "sophea" not in sophy.search_text


def test_households_spanning_batches_are_written_once_with_all_their_members(
    world: World, village: Area, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "BATCH_ROWS", 2)
    rows = [person(f"HH-{n // 3}", f"P-{n}", village.code, f"Name {n}") for n in range(9)]
    path = write_csv(tmp_path / "v1.csv", rows)

    outcome = run(world.admin, path)

    assert problems(outcome) == []
    assert (outcome.households_created, outcome.persons_created) == (3, 9)
    for n in range(3):
        household = Household.objects.get(external_id=f"HH-{n}")
        assert household.village == village
        members = household.members.order_by("external_id").values_list("external_id", flat=True)
        assert list(members) == [f"P-{3 * n + k}" for k in range(3)]

    rows.append(person("HH-3", "P-9", village.code, "Name 9"))
    for row in rows[3:6]:
        row["address"] = "Phum Thmey"
    counts = (Household.objects.count(), Person.objects.count())
    outcome = run(world.admin, write_csv(tmp_path / "v2.csv", rows))
    assert problems(outcome) == []
    assert outcome.counts() == {
        "rows": 10,
        "households_created": 1,
        "households_updated": 3,
        "persons_created": 1,
        "persons_updated": 9,
    }
    assert (Household.objects.count(), Person.objects.count()) == (counts[0] + 1, counts[1] + 1)
    assert Household.objects.get(external_id="HH-1").address == "Phum Thmey"
    assert Person.objects.get(external_id="P-9").household.external_id == "HH-3"


def test_villages_are_found_when_more_codes_come_than_are_remembered(
    world: World, village: Area, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "BATCH_ROWS", 2)
    monkeypatch.setattr(engine, "_VILLAGE_CACHE", 1)
    other = Area.objects.filter(level=Level.VILLAGE, parent=village.parent).exclude(pk=village.pk)
    second = other.order_by("code").first()
    assert second is not None
    rows = sample_rows(village.code)
    for row in rows[3:]:
        row["village_code"] = f"KH-{second.code}"
    rows.append(person("HH-3", "P-6", "99999999", "Nowhere"))

    outcome = check(world.admin, write_csv(tmp_path / "f.csv", rows))

    assert [(r, c) for r, c, _m in problems(outcome)] == [(7, "village_code")]
    assert problems(run(world.admin, write_csv(tmp_path / "g.csv", rows[:-1]))) == []
    assert Household.objects.get(external_id="HH-1").village == village
    assert Household.objects.get(external_id="HH-2").village == second


def test_a_pass_leaves_the_process_and_the_database_session_as_it_found_them(
    world: World, village: Area, tmp_path: Path
) -> None:
    def state() -> tuple[tuple[int, ...], str]:
        if connection.vendor != "postgresql":
            return gc.get_threshold(), ""
        with connection.cursor() as c:
            c.execute("SHOW max_parallel_workers_per_gather")
            return gc.get_threshold(), str(c.fetchone()[0])

    before = state()
    path = write_csv(tmp_path / "f.csv", sample_rows(village.code))
    assert check(world.admin, path).ok
    assert state() == before
    assert run(world.admin, path).ok
    assert state() == before


def test_an_update_changes_only_the_columns_the_file_has(
    world: World, village: Area, tmp_path: Path
) -> None:
    run(world.admin, write_csv(tmp_path / "v1.csv", sample_rows(village.code)))
    headers = [
        "household_id",
        "village_code",
        "person_id",
        "relationship",
        "sex",
        "given_name_latin",
    ]
    rows = [person("HH-1", "P-3", village.code, "Srey Mom", school_status="")]
    outcome = run(world.admin, write_csv(tmp_path / "v2.csv", rows, headers))
    assert problems(outcome) == []
    child = Person.objects.get(external_id="P-3")
    assert child.school_status == "enrolled"
    assert child.date_of_birth == dt.date(2012, 5, 1)
    assert child.family_name_latin == "Sok"
    assert Household.objects.get(external_id="HH-1").address == "Phum 1"


# --- who may import where ------------------------------------------------------------------------


def test_a_facilitator_may_not_import_at_all(world: World, village: Area, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", sample_rows(village.code))
    with pytest.raises(PermissionDenied):
        job_for(world.facilitator, path)


def test_an_officer_cannot_import_into_another_province(
    world: World, village: Area, tmp_path: Path
) -> None:
    before = registry_state()
    # Prey Veng's officer, a Svay Rieng file.
    outcome = run(world.officer_pv, write_csv(tmp_path / "f.csv", sample_rows(village.code)))
    assert registry_state() == before
    assert {(r, c) for r, c, _m in problems(outcome)} == {(n, "village_code") for n in range(2, 7)}
    assert "outside the areas where you may register people" in outcome.problems[0].message


def test_an_officer_cannot_take_over_a_household_of_another_province_by_its_external_id(
    world: World, tmp_path: Path
) -> None:
    Household.objects.filter(pk=world.sr_household.pk).update(external_id="SR-EXT")
    rows = [person("SR-EXT", "P-1", world.pv_village.code, "Dara", relationship="head")]
    before = registry_state()
    outcome = run(world.officer_pv, write_csv(tmp_path / "f.csv", rows))
    assert registry_state() == before
    assert [(r, c) for r, c, _m in problems(outcome)] == [(2, "household_id")]
    assert "registered in a village outside" in outcome.problems[0].message


def test_a_provincial_officer_imports_into_their_province(
    world: World, village: Area, tmp_path: Path
) -> None:
    officer = make_user("officer_sr", "provincial_officer", "KH-20")
    outcome = run(officer, write_csv(tmp_path / "f.csv", sample_rows(village.code)))
    assert problems(outcome) == []
    assert Household.objects.filter(external_id__in=["HH-1", "HH-2"]).count() == 2


# --- the command line ----------------------------------------------------------------------------


def test_the_command_checks_maps_and_imports(
    world: World, village: Area, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = sample_rows(village.code)
    headers = [h if h != "given_name_latin" else "Nom" for h in HEADERS]
    for row in rows:
        row["Nom"] = row.pop("given_name_latin")
    path = write_csv(tmp_path / "cli.csv", rows, headers)

    with pytest.raises(CommandError, match="5 problems in 5 rows; fix them"):
        call_command("import", "registry", str(path), "--dry-run", "--no-progress")
    err = capsys.readouterr().err
    assert "Columns not imported (use --map COLUMN=field to import one): Nom" in err
    assert "Row 2, column given_name_local: Give the person's given name" in err
    call_command(
        "import", "registry", str(path), "--dry-run", "--map", "Nom=given_name_latin",
        "--no-progress",
    )  # fmt: skip
    assert "5 rows checked, no problems" in capsys.readouterr().out
    assert not Person.objects.filter(external_id="P-1").exists()

    call_command("import", "registry", str(path), "--map", "Nom=given_name_latin", "--no-progress")
    assert "Created 2 households and 5 persons" in capsys.readouterr().out
    assert Person.objects.get(external_id="P-1").given_name_latin == "Dara"
    event = AuditEvent.objects.get(action="import")
    assert event.actor_username == cli_actor().username


def test_the_command_lists_problems_and_writes_nothing(
    world: World, village: Area, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = sample_rows(village.code)
    rows[3]["date_of_birth"] = "2011-02-30"
    before = registry_state()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(
            "import", "registry", str(write_csv(tmp_path / "f.csv", rows)), "--no-progress"
        )
    assert "Row 5, column date_of_birth: '2011-02-30' is not a real date" in capsys.readouterr().err
    assert registry_state() == before


def test_the_command_refuses_other_formats(world: World, tmp_path: Path) -> None:
    path = tmp_path / "people.txt"
    path.write_text("a,b\n")
    with pytest.raises(CommandError, match=r"Only \.csv and \.xlsx"):
        call_command("import", "registry", str(path), "--no-progress")
    renamed = tmp_path / "people.xlsx"
    renamed.write_text("a,b\n")
    with pytest.raises(CommandError, match="not an Excel workbook"):
        call_command("import", "registry", str(renamed), "--no-progress")


def test_a_formula_in_an_xlsx_cell_is_refused(world: World, village: Area, tmp_path: Path) -> None:
    headers = ["household_id", "village", "person_id", "relationship", "sex", "given_name_latin"]
    rows = [["H-1", village.code, "P-1", "head", "female", '=HYPERLINK("http://x.example","x")']]
    path = write_xlsx(tmp_path / "f.xlsx", rows, headers, sheet="Data")
    outcome = check(world.admin, path, sheet="Data")
    assert [(r, c) for r, c, _m in problems(outcome)] == [(2, "given_name_latin")]
    with pytest.raises(ValidationError, match="no sheet"):
        job_for(world.admin, path, sheet="Missing")


def test_the_village_list_of_an_actor_is_computed_once(world: World) -> None:
    villages = engine._allowed_villages(world.facilitator)
    assert villages is not None
    assert world.sr_village.pk in villages and world.pv_village.pk not in villages
    assert all(
        level == Level.VILLAGE
        for level in Area.objects.filter(pk__in=list(villages)[:50]).values_list("level", flat=True)
    )
