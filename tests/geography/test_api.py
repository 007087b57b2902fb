from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from ctip.geography.models import Area

pytestmark = pytest.mark.django_db
URL = "/api/v1/areas/"


def get(api: APIClient, **params: Any) -> dict[str, Any]:
    response = api.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_url_is_named() -> None:
    assert reverse("api:area-list") == URL


@pytest.mark.parametrize("method", ["get"])
def test_anonymous_is_refused(method: str, kh: Area) -> None:
    client = APIClient()
    assert client.get(URL).status_code in (401, 403)
    assert client.get(f"{URL}{kh.pk}/").status_code in (401, 403)


@pytest.mark.parametrize(
    ("country", "level", "on", "count"),
    [
        ("KH", "province", None, 25),
        ("KH", "district", None, 210),
        # 1,661 published communes and 120913, inferred from the villages that name it.
        ("KH", "commune", None, 1662),
        ("KH", "village", None, 14576),
        ("VN", "province", None, 34),
        ("VN", "commune", None, 3321),
        ("VN", "district", None, 0),
        ("VN", "province", "2025-07-01", 34),
        ("VN", "province", "2025-06-30", 63),
        ("VN", "district", "2025-06-30", 696),
        ("VN", "commune", "2025-06-30", 10051),
        ("KH", "province", "2025-06-30", 25),
    ],
)
def test_counts(api: APIClient, country: str, level: str, on: str | None, count: int) -> None:
    params = {"country": country, "level": level, **({"on": on} if on else {})}
    assert get(api, **params)["count"] == count


def test_countries_include_destinations(api: APIClient) -> None:
    body = get(api, level="country", code="TH")
    assert body["count"] == 1
    thailand = body["results"][0]
    assert thailand["name_en"] == "Thailand"
    assert thailand["name_km"] == "ថៃ"
    assert thailand["name_vi"] == "Thái Lan"
    assert thailand["parent"] is None


def test_list_fields_and_parent(api: APIClient) -> None:
    body = get(api, country="KH", code="01020101")
    assert body["count"] == 1
    village = body["results"][0]
    assert set(village) == {
        "id", "country", "code", "level", "name_en", "name_km", "name_vi", "division_type",
        "parent", "parent_code", "valid_from", "valid_to", "note",
    }  # fmt: skip
    assert village["parent_code"] == "010201"
    assert village["name_en"] == "Ou Thum"
    assert village["parent"] == Area.objects.get(country="KH", code="010201").pk
    children = get(api, parent=village["parent"])
    assert village["id"] in {r["id"] for r in children["results"]}
    assert get(api, parent_code="010201")["count"] == children["count"]


def test_codes_keep_leading_zeros(api: APIClient) -> None:
    assert [r["code"] for r in get(api, country="VN", level="province", code="01")["results"]] == [
        "01"
    ]
    assert get(api, country="VN", level="commune", code="00070")["count"] == 1


def test_bad_date_is_a_400_naming_the_parameter(api: APIClient) -> None:
    response = api.get(URL, {"on": "30/06/2025"})
    assert response.status_code == 400
    assert "on" in response.json()


@pytest.mark.parametrize(
    ("term", "expected_code"),
    [
        ("tay ninh", "80"),
        ("Tây Ninh", "80"),
        ("TAY NINH", "80"),
        ("ស្វាយរៀង", "20"),
        ("svay rieng", "20"),
    ],
)
def test_search_in_any_script(api: APIClient, term: str, expected_code: str) -> None:
    body = get(api, search=term, level="province")
    assert expected_code in {r["code"] for r in body["results"]}


def test_search_before_the_reform_finds_the_old_province(api: APIClient) -> None:
    body = get(api, search="hau giang", level="province", on="2025-06-30")
    assert [(r["code"], r["name_vi"]) for r in body["results"]] == [("93", "Tỉnh Hậu Giang")]
    assert get(api, search="hau giang", level="province")["count"] == 0


def test_code_80_was_long_an_and_is_now_tay_ninh(api: APIClient) -> None:
    before = get(api, country="VN", level="province", code="80", on="2025-06-30")["results"]
    after = get(api, country="VN", level="province", code="80")["results"]
    assert [(r["name_vi"], r["valid_to"]) for r in before] == [("Tỉnh Long An", "2025-06-30")]
    assert [(r["name_vi"], r["valid_from"]) for r in after] == [("Tây Ninh", "2025-07-01")]
    assert before[0]["id"] != after[0]["id"]

    detail = api.get(f"{URL}{after[0]['id']}/").json()
    formed_from = {(p["code"], p["name"], p["valid_to"]) for p in detail["predecessors"]}
    assert formed_from == {
        ("72", "Tỉnh Tây Ninh", "2025-06-30"),
        ("80", "Tỉnh Long An", "2025-06-30"),
    }
    assert detail["successors"] == []

    old = api.get(f"{URL}{before[0]['id']}/").json()
    assert [(s["code"], s["valid_from"]) for s in old["successors"]] == [("80", "2025-07-01")]


def test_can_tho_was_formed_from_three_provinces(api: APIClient) -> None:
    can_tho = get(api, country="VN", level="province", code="92")["results"][0]
    detail = api.get(f"{URL}{can_tho['id']}/").json()
    assert sorted(p["code"] for p in detail["predecessors"]) == ["92", "93", "94"]


def test_detail_of_an_old_unit_needs_no_date(api: APIClient) -> None:
    old = Area.objects.get(country="VN", level="province", code="93")
    response = api.get(f"{URL}{old.pk}/")
    assert response.status_code == 200
    assert response.json()["valid_to"] == "2025-06-30"


def test_read_only(api: APIClient, kh: Area) -> None:
    assert api.post(URL, {"code": "X"}).status_code == 405
    assert api.delete(f"{URL}{kh.pk}/").status_code == 405


def test_queries_do_not_grow_with_page_size(api: APIClient) -> None:
    counts = []
    for size in (10, 200):
        with CaptureQueriesContext(connection) as ctx:
            body = get(api, country="KH", level="village", page_size=size)
        assert len(body["results"]) == size
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
