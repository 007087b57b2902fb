"""Facilitators are on slow, metered links: every page, with its CSS and JS, stays
under 100 KB compressed (a size budget, not a timing)."""

from __future__ import annotations

import gzip

import pytest
from django.contrib.staticfiles import finders

from ctip.registry.models import Household, Person
from tests.helpers import make_user

pytestmark = pytest.mark.django_db

BUDGET = 100 * 1024


def _assets() -> int:
    total = 0
    for name in ("ctip/ctip.css", "ctip/ctip.js"):
        path = finders.find(name)
        assert path, name
        with open(path, "rb") as fh:
            total += len(gzip.compress(fh.read()))
    return total


@pytest.mark.parametrize("language", ["en", "km", "vi"])
def test_pages_fit_the_budget(client, language):
    from ctip.geography.selectors import resolve_area_code
    from ctip.registry import services

    admin = make_user("admin", "administrator", "KH", "VN", language=language)
    village = resolve_area_code("20070801")
    household = services.household_create(actor=admin, village=village, code="KH-T-1")
    for i in range(60):
        services.person_create(
            actor=admin,
            household=household,
            relationship="child",
            sex="female",
            given_name_local=f"សុភា{i}",
            given_name_latin=f"Sophea{i}",
        )
    person = Person.objects.first()
    assert person and Household.objects.count() == 1
    client.force_login(admin)
    client.cookies["django_language"] = language
    pages = [
        "/",
        "/areas/?country=KH",
        "/areas/?country=VN&on=2025-06-30",
        f"/areas/{resolve_area_code('200708').pk}/",
        "/registry/households/",
        f"/registry/households/{household.pk}/",
        "/registry/persons/?q=sophea",
        f"/registry/persons/{person.pk}/",
        "/accounts/users/",
        "/accounts/users/new/",
        "/audit/",
    ]
    assets = _assets()
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        size = len(gzip.compress(response.content)) + assets
        assert size < BUDGET, (url, size)
