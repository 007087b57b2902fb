from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ctip.accounts.models import User
from ctip.geography.models import Area

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(reader: User) -> Client:
    client = Client()
    client.force_login(reader)
    return client


def test_anonymous_is_sent_to_sign_in(kh: Area) -> None:
    for url in (reverse("geography:browse"), reverse("geography:detail", args=[kh.pk])):
        response = Client().get(url)
        assert response.status_code == 302
        assert reverse("accounts:login") in response["Location"]


def test_a_user_without_a_role_is_refused(make_user: Callable[..., User]) -> None:
    client = Client()
    client.force_login(make_user("nobody"))
    assert client.get(reverse("geography:browse")).status_code == 403


def test_browse_shows_the_provinces_of_cambodia(browser: Client) -> None:
    response = browser.get(reverse("geography:browse"))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 25
    assert "Battambang" in response.content.decode()


def test_browse_viet_nam_before_the_reform(browser: Client) -> None:
    now = browser.get(reverse("geography:browse"), {"country": "VN"})
    before = browser.get(reverse("geography:browse"), {"country": "VN", "on": "2025-06-30"})
    assert now.context["page"].paginator.count == 34
    assert before.context["page"].paginator.count == 63
    assert "Hà Giang" in before.content.decode()
    assert "Hà Giang" not in now.content.decode()
    today = timezone.localdate().isoformat()
    assert f'value="{today}"' in now.content.decode()  # the date box shows the day used
    assert 'value="2025-06-30"' in before.content.decode()


def test_search_in_the_browser(browser: Client) -> None:
    response = browser.get(reverse("geography:browse"), {"country": "KH", "q": "ស្វាយរៀង"})
    assert "Svay Rieng" in response.content.decode()


def test_detail_shows_breadcrumbs_children_and_succession(browser: Client) -> None:
    old = Area.objects.get(country="VN", level="province", code="93")
    response = browser.get(reverse("geography:detail", args=[old.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["day"].isoformat() == "2025-06-30"
    assert response.context["page"].paginator.count == old.children.count() > 0
    assert [a.code for a in response.context["became"]] == ["92"]
    assert "Thành phố Cần Thơ" in html
    assert [a.code for a in response.context["crumbs"]] == ["VN"]


def test_a_commune_list_is_paginated(browser: Client) -> None:
    district = Area.objects.get(country="VN", level="province", code="01", valid_to__isnull=True)
    response = browser.get(reverse("geography:detail", args=[district.pk]))
    page = response.context["page"]
    assert page.paginator.count > 100
    assert len(page.object_list) == 50
    assert "page=2" in response.content.decode()


def test_village_form_only_for_those_who_may_add(
    make_user: Callable[..., User], browser: Client, kh: Area
) -> None:
    commune = Area.objects.get(country="KH", code="010201")
    assert (
        browser.get(reverse("geography:detail", args=[commune.pk])).context["village_form"] is None
    )
    response = browser.post(
        reverse("geography:detail", args=[commune.pk]), {"code": "X1", "name_local": "ភូមិ"}
    )
    assert response.status_code == 403
    assert not Area.objects.filter(parent=commune, code="X1").exists()

    admin = Client()
    admin.force_login(make_user("admin", "administrator", kh))
    assert admin.get(reverse("geography:detail", args=[commune.pk])).context["village_form"]


def test_adding_a_village_through_the_page(make_user: Callable[..., User], kh: Area) -> None:
    commune = Area.objects.get(country="KH", code="010201")
    client = Client()
    client.force_login(make_user("admin", "administrator", kh))
    url = reverse("geography:detail", args=[commune.pk])

    response = client.post(url, {"code": "", "name_local": ""})
    assert response.status_code == 400
    form = response.context["village_form"]
    assert set(form.errors) == {"code", "name_local"}

    response = client.post(url, {"code": "01020101", "name_local": "ភូមិថ្មី"})
    assert response.status_code == 400
    assert "already used" in response.context["village_form"].errors["code"][0]

    response = client.post(url, {"code": "01020199", "name_local": "ភូមិថ្មី", "name_en": "Thmei"})
    assert response.status_code == 302
    village = Area.objects.get(parent=commune, code="01020199")
    assert village.source == "manual"
    assert village.path == f"{commune.path}{village.pk}/"
