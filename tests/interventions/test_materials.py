"""The materials library (R7): adding materials with their files (size and type checked,
never served publicly), reviews by staff and by children and youth (by sex and age, never
by name), the average scores and the side-by-side comparison a programme uses to pick
the best elements; through the services, the pages and the API."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ctip.accounts.models import User
from ctip.core.models import AuditEvent
from ctip.interventions.models import Material, MaterialReview
from ctip.interventions.selectors import awareness as sel
from ctip.interventions.services import awareness as svc
from tests.interventions import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
MP3 = b"ID3\x03\x00\x00\x00" + b"\x00" * 32
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32


def office_file(part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(part, "<document/>")
    return buffer.getvalue()


def upload(name: str, content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


@dataclass
class Team:
    manager: User  # programme manager, Cambodia: sets up the library
    officer: User  # provincial officer, Svay Rieng: sets up too
    fac: User  # facilitator: reviews, does not add
    donor: User  # figures only: browses
    nobody: User  # no role at all
    media: Path


@pytest.fixture
def team(settings: Any, tmp_path: Path) -> Team:
    settings.MEDIA_ROOT = tmp_path / "media"
    sr = f.village("20")
    return Team(
        manager=f.staff("manager", "programme_manager", "KH"),
        officer=f.staff("officer", "provincial_officer", "KH-20"),
        fac=f.staff("fac", "facilitator", sr.code[:6]),
        donor=f.staff("donor", "donor", "KH"),
        nobody=User.objects.create_user(username="nobody", password="x-long-password-1"),
        media=tmp_path / "media",
    )


def stored_files(team: Team) -> list[Path]:
    return [p for p in team.media.rglob("*") if p.is_file()] if team.media.exists() else []


def material(team: Team, **fields: Any) -> Material:
    values: dict[str, Any] = {
        "title": "Safe migration leaflet",
        "kind": "leaflet",
        "language": "km",
        "audiences": ["youth", "parents"],
        "topics": ["safe_migration_steps", "hotlines"],
        "agency": "Agency A",
        "version": "2",
    }
    values.update(fields)
    return svc.material_create(actor=team.manager, **values)


def review(team: Team, m: Material, scores: tuple[int, int, int, int, int], **extra: Any) -> None:
    kind = extra.pop("reviewer_kind", "staff")
    if kind != "staff":
        extra.setdefault("reviewer_sex", "female")
        extra.setdefault("reviewer_age", 12 if kind == "child" else 17)
    svc.material_review_record(
        actor=team.fac,
        material=m,
        reviewer_kind=kind,
        reviewed_on=extra.pop("reviewed_on", TODAY - dt.timedelta(days=2)),
        **dict(zip(svc.REVIEW_CRITERIA, scores, strict=True)),
        **extra,
    )


# --------------------------------------------------------------------------------------
# Adding materials and their files.


def test_a_manager_adds_a_material_with_its_file_under_a_name_no_one_can_guess(team: Team) -> None:
    m = material(team, file=upload("Leaflet final.pdf"))
    assert m.file.name.startswith(f"materials/{timezone.now().year}/leaflet-final-")
    assert m.file.name.endswith(".pdf")
    assert m.file.read() == PDF
    (path,) = stored_files(team)
    assert path.read_bytes() == PDF
    audit = AuditEvent.objects.get(action="create", object_type="interventions.material")
    assert audit.changes["title"]["after"] == "Safe migration leaflet"
    assert audit.changes["file_size"]["after"] == len(PDF)
    assert m.topics == ["safe_migration_steps", "hotlines"] and m.created_by == team.manager


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("poster.png", PNG),
        ("song.mp3", MP3),
        ("clip.mp4", MP4),
        ("spot.m4a", MP4),
        ("song.ogg", b"OggS" + b"\x00" * 20),
        ("clip.webm", b"\x1a\x45\xdf\xa3" + b"\x00" * 20),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20),
        ("guide.docx", office_file("word/document.xml")),
        ("slides.pptx", office_file("ppt/presentation.xml")),
    ],
)
def test_each_accepted_type_is_stored(team: Team, name: str, content: bytes) -> None:
    m = material(team, file=upload(name, content))
    assert m.file.name.endswith("." + name.rsplit(".", 1)[1])


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("setup.exe", b"MZ\x90\x00", "not accepted"),
        ("noextension", PDF, "not accepted"),
        ("page.html", b"<html>", "not accepted"),
        ("renamed.pdf", b"MZ\x90\x00 a program", "is not that of a .pdf file"),
        ("renamed.docx", office_file("xl/workbook.xml"), "is not that of a .docx file"),
        ("broken.pptx", b"PK\x03\x04 not really a zip", "is not that of a .pptx file"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_a_file_of_another_type_is_refused_and_nothing_is_stored(
    team: Team, name: str, content: bytes, says: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        material(team, file=upload(name, content))
    assert says in exc.value.message_dict["file"][0]
    assert not Material.objects.exists() and stored_files(team) == []


def test_a_file_over_25_mb_is_refused(team: Team) -> None:
    big = upload("video.mp4", MP4 + b"\x00" * (svc.MAX_FILE_BYTES - len(MP4) + 1))
    with pytest.raises(ValidationError) as exc:
        material(team, file=big)
    assert "the limit is 25 MB" in exc.value.message_dict["file"][0]
    assert not Material.objects.exists() and stored_files(team) == []
    exactly = upload("video.mp4", MP4 + b"\x00" * (svc.MAX_FILE_BYTES - len(MP4)))
    assert material(team, file=exactly).file.size == svc.MAX_FILE_BYTES


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": ""}, "title"),
        ({"kind": "tv_show"}, "kind"),
        ({"language": "Khmer"}, "language"),
        ({"audiences": ["aliens"]}, "audiences"),
        ({"topics": ["weather"]}, "topics"),
        ({"supersedes": 999999}, "supersedes"),
    ],
)
def test_bad_fields_are_refused_by_name(team: Team, fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        material(team, **fields)
    assert field in exc.value.message_dict
    assert not Material.objects.exists()


@pytest.mark.parametrize("who", ["fac", "donor", "nobody"])
def test_only_those_who_set_up_interventions_add_materials(team: Team, who: str) -> None:
    with pytest.raises(PermissionDenied):
        svc.material_create(
            actor=getattr(team, who),
            title="x",
            kind="leaflet",
            language="km",
            file=upload("a.pdf"),
        )
    assert not Material.objects.exists() and stored_files(team) == []


def test_a_new_file_replaces_the_old_one_once_committed(
    team: Team, django_capture_on_commit_callbacks: Any
) -> None:
    m = material(team, file=upload("first.pdf"))
    old = m.file.name
    with django_capture_on_commit_callbacks(execute=True):
        svc.material_update(
            actor=team.officer, material=m, file=upload("second.png", PNG), version="3"
        )
    m.refresh_from_db()
    assert m.file.name.endswith(".png") and m.version == "3"
    assert [p.name for p in stored_files(team)] == [m.file.name.rsplit("/", 1)[1]]
    change = AuditEvent.objects.get(action="update")
    assert change.changes["file"]["before"] == old and change.changes["version"]["after"] == "3"


def test_a_refused_update_keeps_the_old_file(team: Team) -> None:
    m = material(team, file=upload("first.pdf"))
    with pytest.raises(ValidationError):
        svc.material_update(actor=team.manager, material=m, file=upload("x.exe", b"MZ"))
    with pytest.raises(PermissionDenied):
        svc.material_update(actor=team.fac, material=m, title="Mine")
    m.refresh_from_db()
    assert m.title == "Safe migration leaflet" and len(stored_files(team)) == 1


def test_a_new_version_supersedes_the_old_one(team: Team) -> None:
    old = material(team, version="1")
    new = material(team, version="2", supersedes=old)
    assert list(sel.material_search(team.donor, current_only=True)) == [new]
    listed = {m.pk: m for m in sel.material_search(team.donor)}
    flags: dict[int, Any] = {pk: m.superseded for pk, m in listed.items()}  # type: ignore[attr-defined]
    assert flags == {old.pk: True, new.pk: False}
    with pytest.raises(ValidationError) as exc:
        svc.material_update(actor=team.manager, material=new, supersedes=new)
    assert "supersedes" in exc.value.message_dict


def test_search_by_kind_language_audience_topic_and_agency(team: Team) -> None:
    a = material(team)
    b = material(
        team,
        title="Rights at work video",
        kind="video",
        language="vi",
        audiences=["community"],
        topics=["rights_at_work"],
        agency="Agency B",
    )
    assert list(sel.material_search(team.fac, kind="video")) == [b]
    assert list(sel.material_search(team.fac, language="KM")) == [a]
    assert list(sel.material_search(team.fac, audience="parents")) == [a]
    assert list(sel.material_search(team.fac, topic="rights_at_work")) == [b]
    assert list(sel.material_search(team.fac, agency="agency b")) == [b]
    assert list(sel.material_search(team.fac, q="leaflet")) == [a]
    assert list(sel.material_search(team.nobody)) == []


# --------------------------------------------------------------------------------------
# Reviews.


def test_a_child_reviewer_is_recorded_by_sex_and_age_only(team: Team) -> None:
    m = material(team)
    review(team, m, (4, 4, 5, 5, 3), reviewer_kind="child", best_elements="The comic strip")
    r = MaterialReview.objects.get()
    assert (r.reviewer_kind, r.reviewer_sex, r.reviewer_age) == ("child", "female", 12)
    assert not any("name" in f.name for f in MaterialReview._meta.get_fields())
    audit = AuditEvent.objects.get(action="create", object_type="interventions.materialreview")
    assert audit.changes["reviewer_age"] == 12 and audit.changes["accuracy"] == 4


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"reviewer_kind": "child", "reviewer_sex": ""}, "reviewer_sex"),
        ({"reviewer_kind": "child", "reviewer_age": None}, "reviewer_age"),
        ({"reviewer_kind": "child", "reviewer_age": 16}, "reviewer_age"),
        ({"reviewer_kind": "youth", "reviewer_age": 30}, "reviewer_age"),
        ({"reviewer_kind": "parent"}, "reviewer_kind"),
        ({"reviewed_on": TODAY + dt.timedelta(days=1)}, "reviewed_on"),
        ({"comments": "=cmd|' /C calc'!A0"}, "comments"),
    ],
)
def test_bad_reviews_are_refused_by_field(team: Team, extra: dict[str, Any], field: str) -> None:
    m = material(team)
    with pytest.raises(ValidationError) as exc:
        review(team, m, (3, 3, 3, 3, 3), **extra)
    assert field in exc.value.message_dict
    assert not MaterialReview.objects.exists()


@pytest.mark.parametrize("scores", [(0, 3, 3, 3, 3), (3, 3, 3, 3, 6)])
def test_each_score_is_from_1_to_5(team: Team, scores: tuple[int, int, int, int, int]) -> None:
    m = material(team)
    with pytest.raises(ValidationError) as exc:
        review(team, m, scores)
    assert set(exc.value.message_dict) <= set(svc.REVIEW_CRITERIA)
    assert not MaterialReview.objects.exists()


@pytest.mark.parametrize("who", ["donor", "nobody"])
def test_reviews_need_the_right_to_record_or_set_up_interventions(team: Team, who: str) -> None:
    m = material(team)
    with pytest.raises(PermissionDenied):
        svc.material_review_record(
            actor=getattr(team, who),
            material=m,
            reviewer_kind="staff",
            reviewed_on=TODAY,
            **dict.fromkeys(svc.REVIEW_CRITERIA, 3),
        )
    assert not MaterialReview.objects.exists()


# --------------------------------------------------------------------------------------
# The comparison.


@pytest.fixture
def three(team: Team) -> tuple[Material, Material, Material]:
    """A: two staff reviews and a child's; B: a young person's and a staff review; C: none.

    A overall: accuracy 12/3 = 4.0, practical 4.0, referral 4.0, age 8/3 = 2.7,
    language 6/3 = 2.0, all 50/15 = 3.3; B: 4.0, 4.0, 1.5, 5.0, 5.0, all 39/10 = 3.9.
    """
    a = material(team, title="A leaflet", agency="Agency A")
    b = material(team, title="B video", kind="video", agency="Agency B")
    c = material(team, title="C poster", kind="poster", agency="Agency C")
    review(team, a, (5, 4, 3, 2, 1), best_elements="Hotline number on every page")
    review(team, a, (3, 4, 5, 2, 1))
    review(team, a, (4, 4, 4, 4, 4), reviewer_kind="child", best_elements="The comic strip")
    review(team, b, (4, 5, 1, 5, 5), reviewer_kind="youth", reviewer_sex="male")
    review(team, b, (4, 3, 2, 5, 5), best_elements="Short and in plain Khmer")
    return a, b, c


def test_the_comparison_averages_by_reviewer_and_marks_the_best(
    team: Team, three: tuple[Material, Material, Material]
) -> None:
    a, b, c = three
    comparison = sel.material_scores([a, b, c])
    rows = {r.code: r for r in comparison.rows}
    assert list(rows) == [*svc.REVIEW_CRITERIA, "all"]

    def cells(code: str) -> list[tuple[Any, Any, Any, bool]]:
        return [(s.overall, s.staff, s.young, s.best) for s in rows[code].scores]

    d = Decimal
    assert cells("accuracy") == [
        (d("4.0"), d("4.0"), d("4.0"), True),
        (d("4.0"), d("4.0"), d("4.0"), True),  # a tie: both marked
        (None, None, None, False),
    ]
    assert cells("practical_guidance") == [
        (d("4.0"), d("4.0"), d("4.0"), True),
        (d("4.0"), d("3.0"), d("5.0"), True),
        (None, None, None, False),
    ]
    assert cells("referral_information")[:2] == [
        (d("4.0"), d("4.0"), d("4.0"), True),
        (d("1.5"), d("2.0"), d("1.0"), False),
    ]
    assert cells("age_appropriate")[:2] == [
        (d("2.7"), d("2.0"), d("4.0"), False),
        (d("5.0"), d("5.0"), d("5.0"), True),
    ]
    assert cells("language")[:2] == [
        (d("2.0"), d("1.0"), d("4.0"), False),
        (d("5.0"), d("5.0"), d("5.0"), True),
    ]
    assert cells("all")[:2] == [
        (d("3.3"), d("3.0"), d("4.0"), False),
        (d("3.9"), d("3.8"), d("4.0"), True),
    ]
    counts = [(col.reviews, col.staff_reviews, col.young_reviews) for col in comparison.columns]
    assert counts == [(3, 2, 1), (2, 1, 1), (0, 0, 0)]
    # Newest first: the same day, the child's review was recorded last.
    assert [(b.reviewer, b.text) for b in comparison.columns[0].best_elements] == [
        ("Child (under 15)", "The comic strip"),
        ("Staff", "Hotline number on every page"),
    ]
    assert [b.reviewer for b in comparison.columns[1].best_elements] == ["Staff"]


def test_the_comparison_takes_two_to_six_materials(
    team: Team, three: tuple[Material, Material, Material]
) -> None:
    a, _b, c = three
    with pytest.raises(ValueError, match="from 2 to 6"):
        sel.materials_for_comparison(team.donor, [a.pk])
    with pytest.raises(ValueError, match="from 2 to 6"):
        sel.materials_for_comparison(team.donor, [a.pk, a.pk])
    with pytest.raises(ValueError, match="no material 999999"):
        sel.materials_for_comparison(team.donor, [a.pk, 999999])
    assert sel.materials_for_comparison(team.donor, [c.pk, a.pk]) == [c, a]


# --------------------------------------------------------------------------------------
# Pages.


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_anonymous_users_and_users_without_a_role_get_nothing(team: Team) -> None:
    m = material(team, file=upload("a.pdf"))
    urls = [
        "/materials/",
        "/materials/new/",
        f"/materials/{m.pk}/",
        f"/materials/{m.pk}/edit/",
        f"/materials/{m.pk}/review/",
        f"/materials/{m.pk}/file/",
        f"/materials/compare/?m={m.pk}",
    ]
    for url in urls:
        response = Client().get(url)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/"), url
        assert client_for(team.nobody).get(url).status_code == 403, url
    assert Client().post("/materials/new/", {"title": "x"}).status_code == 302
    assert Material.objects.count() == 1


def test_a_donor_browses_and_downloads_but_neither_adds_nor_reviews(team: Team) -> None:
    m = material(team, file=upload("Leaflet.pdf"))
    client = client_for(team.donor)
    listing = client.get("/materials/").content.decode()
    assert "Safe migration leaflet (2)" in listing and "Add a material" not in listing
    page = client.get(f"/materials/{m.pk}/").content.decode()
    assert "Download" in page and "Add a review" not in page and "Edit" not in page
    assert client.get("/materials/new/").status_code == 403
    assert client.get(f"/materials/{m.pk}/review/").status_code == 403
    response = client.post(f"/materials/{m.pk}/review/", {"reviewer_kind": "staff"})
    assert response.status_code == 403 and not MaterialReview.objects.exists()


def test_the_file_is_downloaded_through_the_permission_check(team: Team) -> None:
    m = material(team, title="Leaflet", version="2", file=upload("whatever.pdf"))
    response = client_for(team.fac).get(f"/materials/{m.pk}/file/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="leaflet-2.pdf"'
    assert b"".join(response.streaming_content) == PDF  # type: ignore[attr-defined]
    docx = material(
        team, title="Guide", version="", file=upload("g.docx", office_file("word/document.xml"))
    )
    response = client_for(team.fac).get(f"/materials/{docx.pk}/file/")
    assert response["Content-Type"] == svc.CONTENT_TYPES["docx"]
    assert client_for(team.fac).get(f"/materials/{material(team).pk}/file/").status_code == 404


def test_media_are_not_served_at_their_storage_address(team: Team) -> None:
    m = material(team, file=upload("a.pdf"))
    response = client_for(team.manager).get(f"/media/{m.file.name}")
    assert response.status_code == 404


def test_a_manager_adds_a_material_through_the_form(team: Team) -> None:
    client = client_for(team.officer)
    assert 'enctype="multipart/form-data"' in client.get("/materials/new/").content.decode()
    data = {
        "title": "Hotlines poster",
        "kind": "poster",
        "language": "km",
        "audiences": ["children", "youth"],
        "topics": ["hotlines"],
        "agency": "Agency C",
        "version": "1",
        "description": "Where to call",
        "file": upload("poster.png", PNG),
    }
    response = client.post("/materials/new/", data)
    m = Material.objects.get()
    assert response.status_code == 302 and response.url == f"/materials/{m.pk}/"
    assert m.audiences == ["children", "youth"] and m.file.name.endswith(".png")
    page = client.get(response.url).content.decode()
    assert "Hotlines poster" in page and "Children, Youth" in page


def test_a_refused_file_is_shown_next_to_the_field(team: Team) -> None:
    response = client_for(team.manager).post(
        "/materials/new/",
        {"title": "Bad", "kind": "leaflet", "language": "km", "file": upload("x.exe", b"MZ")},
    )
    assert response.status_code == 200
    assert "Files of type .exe are not accepted" in response.content.decode()
    assert not Material.objects.exists() and stored_files(team) == []


def test_a_facilitator_reviews_through_the_form(team: Team) -> None:
    m = material(team)
    client = client_for(team.fac)
    assert client.get("/materials/new/").status_code == 403
    data = {
        "reviewer_kind": "youth",
        "reviewer_sex": "male",
        "reviewer_age": "16",
        "reviewed_on": TODAY.isoformat(),
        "accuracy": "5",
        "practical_guidance": "4",
        "referral_information": "3",
        "age_appropriate": "4",
        "language": "5",
        "best_elements": "The checklist before leaving",
    }
    response = client.post(f"/materials/{m.pk}/review/", data)
    assert response.status_code == 302
    page = client.get(f"/materials/{m.pk}/").content.decode()
    assert "The checklist before leaving" in page and "Male, 16" in page
    bad = client.post(f"/materials/{m.pk}/review/", {**data, "reviewer_age": "40"})
    assert "is 15 to 24 years old" in bad.content.decode()
    assert MaterialReview.objects.count() == 1


def test_the_comparison_page_lists_the_figures_the_best_and_the_notes(
    team: Team, three: tuple[Material, Material, Material]
) -> None:
    a, b, c = three
    client = client_for(team.donor)
    page = client.get(f"/materials/compare/?m={a.pk}&m={b.pk}&m={c.pk}").content.decode()
    # Accuracy and practical guidance: A and B tie; referral: A; age, language, all: B.
    assert page.count('class="best"') == 8
    for text in ("Hotline number on every page", "The comic strip", "Short and in plain Khmer"):
        assert text in page
    assert "3.9" in page and "2.7" in page
    response = client.get(f"/materials/compare/?m={a.pk}", follow=True)
    assert "Choose from 2 to 6 materials to compare (you chose 1)." in response.content.decode()


def test_the_list_reads_a_fixed_number_of_queries_whatever_its_length(team: Team) -> None:
    client = client_for(team.fac)
    counts = []
    for n in (1, 6):
        while Material.objects.count() < n:
            m = material(team, title=f"Material {Material.objects.count()}")
            review(team, m, (3, 4, 5, 4, 3))
        client.get("/materials/")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/materials/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


# --------------------------------------------------------------------------------------
# API.


def api(user: User | None) -> Client:
    return client_for(user)


def test_the_api_lists_filters_and_shows_materials_without_media_addresses(team: Team) -> None:
    m = material(team, file=upload("a.pdf"))
    material(team, title="Video", kind="video")
    response = api(team.donor).get("/api/v1/materials/?kind=leaflet")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["id"] == m.pk and row["file_url"] == f"/api/v1/materials/{m.pk}/file/"
    assert "/media/" not in response.content.decode()
    assert row["review_count"] == 0 and row["average"] is None
    file = api(team.donor).get(row["file_url"])
    assert file.status_code == 200 and file["Content-Type"] == "application/pdf"
    assert api(None).get("/api/v1/materials/").status_code in (401, 403)
    assert api(team.nobody).get("/api/v1/materials/").status_code == 403
    assert api(team.nobody).get(row["file_url"]).status_code == 403


def test_the_api_adds_a_material_with_a_multipart_upload(team: Team) -> None:
    response = api(team.manager).post(
        "/api/v1/materials/",
        {
            "title": "Song",
            "kind": "song",
            "language": "km",
            "topics": ["hotlines", "safe_migration_steps"],
            "file": upload("song.mp3", MP3),
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["topics"] == ["safe_migration_steps", "hotlines"]
    assert body["file_name"].endswith(".mp3") and "file" not in body
    bad = api(team.manager).post(
        "/api/v1/materials/",
        {"title": "X", "kind": "song", "language": "km", "file": upload("x.exe", b"MZ")},
    )
    assert bad.status_code == 400 and "file" in bad.json()
    denied = api(team.fac).post(
        "/api/v1/materials/", {"title": "X", "kind": "song", "language": "km"}
    )
    assert denied.status_code == 403
    assert Material.objects.count() == 1


def test_the_api_changes_a_material(team: Team) -> None:
    m = material(team)
    response = api(team.officer).patch(
        f"/api/v1/materials/{m.pk}/", {"version": "3"}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["version"] == "3"
    denied = api(team.fac).patch(
        f"/api/v1/materials/{m.pk}/", {"version": "9"}, content_type="application/json"
    )
    assert denied.status_code == 403
    m.refresh_from_db()
    assert m.version == "3"


def test_the_api_records_and_lists_reviews_and_compares(
    team: Team, three: tuple[Material, Material, Material]
) -> None:
    a, b, _c = three
    url = f"/api/v1/materials/{a.pk}/reviews/"
    data = {
        "reviewer_kind": "child",
        "reviewer_sex": "male",
        "reviewer_age": 11,
        "reviewed_on": TODAY.isoformat(),
        "accuracy": 5,
        "practical_guidance": 5,
        "referral_information": 5,
        "age_appropriate": 5,
        "language": 5,
    }
    response = api(team.fac).post(url, data, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert response.json()["reviewer_age"] == 11
    assert api(team.donor).post(url, data, content_type="application/json").status_code == 403
    bad = api(team.fac).post(url, {**data, "accuracy": 6}, content_type="application/json")
    assert bad.status_code == 400 and "accuracy" in bad.json()
    listed = api(team.donor).get(url).json()
    assert len(listed) == 4
    compared = api(team.donor).get(f"/api/v1/materials/compare/?ids={a.pk},{b.pk}").json()
    assert [c["material"]["id"] for c in compared["columns"]] == [a.pk, b.pk]
    accuracy = compared["rows"][0]
    assert accuracy["code"] == "accuracy"
    assert accuracy["scores"][0]["overall"] == "4.3"  # (5+3+4+5)/4
    assert accuracy["scores"][0]["best"] is True
    one = api(team.donor).get(f"/api/v1/materials/compare/?ids={a.pk}")
    assert one.status_code == 400 and "ids" in one.json()
    scores = api(team.donor).get(f"/api/v1/materials/{b.pk}/scores/").json()
    assert scores["rows"][-1]["scores"][0]["overall"] == "3.9"


def test_the_list_page_filters(team: Team) -> None:
    old = material(team, title="Old leaflet", version="1")
    material(team, title="New leaflet", version="2", supersedes=old)
    material(
        team,
        title="Work rights video",
        kind="video",
        language="vi",
        audiences=["community"],
        topics=["rights_at_work"],
        agency="Agency B",
    )
    client = client_for(team.fac)

    def titles(query: str) -> set[str]:
        page = client.get(f"/materials/?{query}").content.decode()
        return {t for t in ("Old leaflet", "New leaflet", "Work rights video") if t in page}

    assert titles("") == {"Old leaflet", "New leaflet", "Work rights video"}
    assert titles("kind=video") == {"Work rights video"}
    assert titles("language=vi") == {"Work rights video"}
    assert titles("audience=parents") == {"Old leaflet", "New leaflet"}
    assert titles("topic=rights_at_work") == {"Work rights video"}
    assert titles("agency=agency+b") == {"Work rights video"}
    assert titles("current=on&kind=leaflet") == {"New leaflet"}
    assert "replaced" in client.get("/materials/?kind=leaflet").content.decode()
