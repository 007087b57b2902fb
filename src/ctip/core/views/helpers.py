"""Small helpers every app's pages share: putting a service's errors on a form, and the
query string of a filtered list without its page number (for the pager's links)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest


def apply_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a service's errors next to the fields they name; errors naming no field of
    the form, or no field at all, go on top of the form."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def query_without_page(request: HttpRequest) -> str:
    """The request's query string without `page`, for links to the other pages."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
