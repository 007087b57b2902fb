"""Filters, pagination, query counts and Viet Nam's two structures, through API and pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ctip.accounts.models import RoleAssignment
from ctip.core.models import AuditEvent
from ctip.geography.models import Area, Level
from ctip.geography.services import village_add
from ctip.registry import demo, services
from ctip.registry.models import Person

from .conftest import PV_GIVEN_LATIN, SR_GIVEN_LATIN, World, make_user
from .geo import area


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _names(response: object) -> list[str]:
    return [r["given_name_latin"] for r in response.json()["results"]]  # type: ignore[attr-defined]


def test_person_fields_and_pagination_shape(world: World) -> None:
    data = _client(world.facilitator).get("/api/v1/persons/").json()
    assert set(data) == {"count", "next", "previous", "results"}
    assert data["count"] == 1
    row = data["results"][0]
    assert row["id"] == world.sr_person.pk
    assert row["household"] == world.sr_household.pk
    assert row["household_code"] == world.sr_household.code
    assert row["village"] == world.sr_village.code
    assert row["village_name"] == world.sr_village.local_name
    assert row["family_name_local"] == "សុខ"
    assert row["sex"] == "female"
    assert row["date_of_birth"] == "2009-03-01"
    assert row["age"] == world.sr_person.age


def test_filters(world: World) -> None:
    client = _client(world.me)
    pv_commune = world.pv_village.parent
    assert pv_commune is not None
    assert _names(client.get(f"/api/v1/persons/?village={pv_commune.code}")) == [PV_GIVEN_LATIN]
    assert _names(client.get("/api/v1/persons/?village=KH-20")) == [SR_GIVEN_LATIN]
    assert _names(client.get("/api/v1/persons/?sex=male")) == [PV_GIVEN_LATIN]
    today = dt.date.today()
    band = next(b for b in ("12-14", "15-17", "18-24") if _in_band(world.sr_person.age, b))
    assert SR_GIVEN_LATIN in _names(client.get(f"/api/v1/persons/?age_band={band}"))
    assert _names(client.get("/api/v1/persons/?age_band=0-5")) == []
    # Tone- and script-insensitive names.
    services.person_create(
        actor=world.admin,
        household=world.sr_household,
        relationship="other_relative",
        sex="undisclosed",
        family_name_local="Nguyễn",
        given_name_local="Thị Hồng",
        family_name_latin="Nguyen",
        given_name_latin="Thi Hong",
        date_of_birth=today.replace(year=today.year - 20),
    )
    for q in ("nguyen hong", "NGUYỄN", "hồng", "Thi"):
        assert _names(client.get("/api/v1/persons/", {"q": q})) == ["Thi Hong"], q
    assert _names(client.get("/api/v1/persons/", {"q": "ស្រីមុំ"})) == [SR_GIVEN_LATIN]
    households = client.get("/api/v1/households/?q=t-pv").json()["results"]
    assert [h["code"] for h in households] == [world.pv_household.code]
    assert households[0]["members"] == 1
    assert households[0]["village"] == world.pv_village.code


def _in_band(age: int | None, band: str) -> bool:
    lo, hi = (int(x) for x in band.split("-"))
    return age is not None and lo <= age <= hi


@pytest.mark.parametrize(
    ("query", "field"),
    [("age_band=7-9", "age_band"), ("sex=robot", "sex"), ("village=NOPE-1", "village")],
)
def test_bad_filters_answer_400_naming_the_field(world: World, query: str, field: str) -> None:
    response = _client(world.me).get(f"/api/v1/persons/?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_bad_area_code_on_the_page_is_shown_on_the_form(world: World) -> None:
    response = _client(world.me).get("/registry/persons/?village=NOPE-1")
    assert response.status_code == 200
    assert "NOPE-1" in response.content.decode()
    assert response.context["page"] is None


def test_household_detail_lists_members_and_audits_one_read(world: World) -> None:
    reads = AuditEvent.objects.filter(action="read").count()
    response = _client(world.facilitator).get(f"/api/v1/households/{world.sr_household.pk}/")
    assert response.status_code == 200
    assert [m["given_name_latin"] for m in response.json()["member_list"]] == [SR_GIVEN_LATIN]
    assert AuditEvent.objects.filter(action="read").count() == reads + 1
    page = _client(world.facilitator).get(f"/registry/households/{world.sr_household.pk}/")
    assert SR_GIVEN_LATIN in page.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/persons/?page_size={n}",
        "/api/v1/households/?page_size={n}",
        # Pages show 50 rows; the last page shows fewer.
        "/registry/persons/?q=&page={p}",
        "/registry/households/?page={p}",
    ],
)
def test_fixed_number_of_queries_whatever_the_page_size(geography: None, url: str) -> None:
    demo.generate(size="small", seed=1)
    kh = area("KH", level=Level.COUNTRY)
    client = _client(make_user("me2", ("me_officer", kh)))
    counts = []
    for n, p in ((2, 9999), (40, 1)):
        client.get(url.format(n=n, p=p))  # warm the session and caches alike
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url.format(n=n, p=p))
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    if url.startswith("/api/"):
        assert len(response.json()["results"]) == 40
    assert counts[0] == counts[1]


def test_csv_export_streams_every_row_in_scope(geography: None) -> None:
    demo.generate(size="small", seed=1)
    sr = area("20", country="KH", level=Level.PROVINCE)
    officer = make_user("officer_sr", ("provincial_officer", sr))
    response = _client(officer).get("/registry/persons/export.csv")
    lines = b"".join(response.streaming_content).decode("utf-8").strip().splitlines()  # type: ignore[attr-defined]
    in_sr = Person.objects.filter(household__village__path__startswith=sr.path)
    # Only persons who consented to sharing their data leave in an export.
    expected = in_sr.filter(consents__purpose="data_sharing").count()
    assert 100 < expected < in_sr.count()
    assert len(lines) == expected + 1
    assert all(",KH-20-" in line for line in lines[1:])
    changes = AuditEvent.objects.filter(action="export").latest("id").changes
    assert changes["rows"] == expected
    assert changes["left_out_without_consent"] == in_sr.count() - expected


def _hamlet(admin: object, commune: Area, code: str) -> Area:
    return village_add(actor=admin, commune=commune, code=code, name_local=f"Ấp {code}")


def test_new_tay_ninh_officer_sees_old_tay_ninh_records_but_not_can_tho(world: World) -> None:
    old_tay_ninh = area("72", country="VN", level=Level.PROVINCE, era="before")
    new_tay_ninh = area("80", country="VN", level=Level.PROVINCE, era="after")
    old_can_tho = area("92", country="VN", level=Level.PROVINCE, era="before")
    new_can_tho = area("92", country="VN", level=Level.PROVINCE, era="after")
    assert new_tay_ninh.valid_from == dt.date(2025, 7, 1)

    def commune_of(province: Area) -> Area:
        return (
            Area.objects.filter(level=Level.COMMUNE, path__startswith=province.path)
            .order_by("code")
            .first()
        )  # type: ignore[return-value]

    places = {
        "TayNinhOld": _hamlet(world.admin, commune_of(old_tay_ninh), "T1"),
        "CanThoOld": _hamlet(world.admin, commune_of(old_can_tho), "C1"),
        "CanThoNew": _hamlet(world.admin, commune_of(new_can_tho), "C2"),
    }
    for name, hamlet in places.items():
        household = services.household_create(actor=world.admin, village=hamlet, code=f"VN-{name}")
        services.person_create(
            actor=world.admin,
            household=household,
            relationship="head",
            sex="female",
            given_name_local=name,
            given_name_latin=name,
        )
    officer = make_user("officer_tn")
    RoleAssignment.objects.create(user=officer, role="provincial_officer", area=new_tay_ninh)
    client = _client(officer)
    assert _names(client.get("/api/v1/persons/")) == ["TayNinhOld"]
    households = client.get("/api/v1/households/").json()["results"]
    assert [h["code"] for h in households] == ["VN-TayNinhOld"]
    page = client.get("/registry/persons/?q=").content.decode()
    assert "TayNinhOld" in page and "CanTho" not in page
    hidden = Person.objects.get(given_name_latin="CanThoOld")
    assert client.get(f"/api/v1/persons/{hidden.pk}/").status_code == 404
    assert client.get(f"/registry/persons/{hidden.pk}/").status_code == 404
    # The old code still filters the records made under it.
    assert _names(client.get(f"/api/v1/persons/?village=VN-{old_tay_ninh.code}")) == ["TayNinhOld"]
