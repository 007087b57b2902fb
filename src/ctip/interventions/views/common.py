"""What the interventions pages share: a filtered list's rows and their page, and an
area code typed into a form."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from ctip.geography.models import Area
from ctip.geography.selectors import AreaCodeError, resolve_area_code

PAGE_SIZE = 50

M = TypeVar("M", bound=Model)


def filtered(
    form: forms.Form,
    search: Callable[[Mapping[str, Any]], QuerySet[M]],
    empty: QuerySet[M],
    *,
    area_field: str = "area",
) -> QuerySet[M]:
    """The rows of a list page: `search` of the form's values (of no values while the
    form is not filled in); `empty` when the form is wrong or names an area code that
    does not exist (the error then stands on `area_field`)."""
    if form.is_bound and not form.is_valid():
        return empty
    try:
        return search(form.cleaned_data if form.is_bound else {})
    except AreaCodeError as exc:
        form.add_error(area_field, str(exc))
        return empty


def page_of(request: HttpRequest, rows: Any, size: int = PAGE_SIZE) -> Page:
    """The page of `rows` the request asks for (the last one when past the end)."""
    return Paginator(rows, size).get_page(request.GET.get("page"))


def area_from_code(form: forms.BaseForm, code: str, field: str = "village") -> Area | None:
    """The area an official code names; None for no code, or (with the error on
    `field`) for a code naming no area."""
    if not code:
        return None
    try:
        return resolve_area_code(code)
    except AreaCodeError as exc:
        form.add_error(field, str(exc))
        return None
