"""What the interventions pages share: a filtered list shows everything before the
filter is used, the filtered rows after, nothing (and the error by the field) for a
wrong filter or an area code naming no area."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from django import forms
from django.test import RequestFactory

from ctip.geography.models import Area
from ctip.geography.selectors import resolve_area_code
from ctip.interventions.views.common import area_from_code, filtered, page_of

pytestmark = pytest.mark.django_db


class FilterForm(forms.Form):
    area = forms.CharField(required=False)
    village = forms.CharField(required=False)
    year = forms.IntegerField(required=False)


def provinces(data: Mapping[str, Any]) -> Any:
    """Cambodia's provinces, or the one the form's area code names."""
    qs = Area.objects.filter(country="KH", level="province")
    if data.get("area"):
        qs = qs.filter(pk=resolve_area_code(data["area"]).pk)
    return qs.order_by("code")


def test_a_list_shows_everything_before_the_filter_is_used() -> None:
    rows = filtered(FilterForm(None), provinces, Area.objects.none())
    assert rows.count() == Area.objects.filter(country="KH", level="province").count() > 1


def test_a_filtered_list_shows_the_rows_the_filter_asks_for() -> None:
    form = FilterForm({"area": "KH-20"})
    assert [a.code for a in filtered(form, provinces, Area.objects.none())] == ["20"]
    assert not form.errors


def test_an_area_code_naming_no_area_shows_nothing_and_says_why_by_the_field() -> None:
    form = FilterForm({"area": "KH-999"})
    assert not filtered(form, provinces, Area.objects.none()).exists()
    assert form.errors["area"] and "village" not in form.errors


def test_a_wrong_filter_shows_nothing_without_searching() -> None:
    def search(data: Mapping[str, Any]) -> Any:
        raise AssertionError("searched with a wrong filter")

    form = FilterForm({"year": "last year"})
    assert not filtered(form, search, Area.objects.none()).exists()
    assert "year" in form.errors


def test_a_page_of_rows_and_the_last_page_past_the_end() -> None:
    rows = list(range(120))
    page = page_of(RequestFactory().get("/", {"page": "2"}), rows)
    assert list(page) == list(range(50, 100))
    assert list(page_of(RequestFactory().get("/", {"page": "9"}), rows)) == list(range(100, 120))
    assert page_of(RequestFactory().get("/"), rows, 100).number == 1


def test_an_area_code_typed_into_a_form() -> None:
    form = FilterForm({"village": "KH-999"})
    assert form.is_valid()
    assert area_from_code(form, "") is None and not form.errors
    assert area_from_code(form, "KH-20") == resolve_area_code("KH-20")
    assert area_from_code(form, "KH-999") is None
    assert form.errors["village"]
