"""The helpers every app's pages share: a service's errors land next to the fields they
name (the rest on top of the form), and a list's pager links keep its filters."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from ctip.core.views.helpers import apply_errors, query_without_page


class LoanForm(forms.Form):
    amount = forms.DecimalField(required=False)
    paid_on = forms.DateField(required=False)


def bound() -> LoanForm:
    form = LoanForm({"amount": "10", "paid_on": ""})
    assert form.is_valid()
    return form


def test_errors_naming_fields_go_next_to_them_and_the_others_on_top() -> None:
    form = bound()
    apply_errors(
        form,
        ValidationError(
            {
                "amount": "Larger than the outstanding 5.00.",
                "schedule": "The schedule no longer balances.",  # no such field
            }
        ),
    )
    assert form.errors["amount"] == ["Larger than the outstanding 5.00."]
    assert form.non_field_errors() == ["The schedule no longer balances."]
    assert "paid_on" not in form.errors


def test_errors_naming_no_field_go_on_top_of_the_form() -> None:
    form = bound()
    apply_errors(form, ValidationError(["The loan is written off.", "Nothing was saved."]))
    assert form.non_field_errors() == ["The loan is written off.", "Nothing was saved."]
    form = bound()
    apply_errors(form, ValidationError("The loan is closed."))
    assert form.non_field_errors() == ["The loan is closed."]


def test_the_pager_keeps_the_filters_but_not_the_page() -> None:
    request = RequestFactory().get("/loans/", {"area": "KH-20", "status": "active", "page": "3"})
    assert query_without_page(request) == "area=KH-20&status=active"
    assert query_without_page(RequestFactory().get("/loans/?page=2")) == ""
