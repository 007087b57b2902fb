"""Forms of the education pages. They parse input; the rules are in services/education.py."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ctip.registry.models import Currency

from .forms_training import AreaFilterMixin, date_field
from .models import SupportKind

YES_NO = [("", _("any")), ("yes", _("yes")), ("no", _("no"))]


class EducationFilterForm(AreaFilterMixin):
    kind = forms.ChoiceField(
        label=_("Support"), required=False, choices=[("", _("any")), *SupportKind.choices]
    )
    dropped_out = forms.ChoiceField(
        label=_("Dropped out (latest term)"), required=False, choices=YES_NO
    )


class DropoutFilterForm(AreaFilterMixin):
    pass


class SupportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Support"), choices=SupportKind.choices)
    school_name = forms.CharField(label=_("School or class"), max_length=200, required=False)
    grade = forms.CharField(label=_("Grade"), max_length=20, required=False)
    starts_on = date_field(_("From"))
    ends_on = date_field(_("Until"), required=False)
    amount = forms.DecimalField(
        label=_("Value"),
        max_digits=16,
        decimal_places=2,
        required=False,
        help_text=_("Empty when the support has no money value."),
    )
    currency = forms.ChoiceField(
        label=_("Currency"), choices=[("", "—"), *Currency.choices], required=False
    )
    provider = forms.CharField(label=_("Provided by"), max_length=200, required=False)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class TermForm(forms.Form):
    school_year = forms.CharField(
        label=_("School year"), max_length=9, help_text=_("e.g. 2026-2027")
    )
    term = forms.TypedChoiceField(
        label=_("Term"), choices=[(1, "1"), (2, "2"), (3, "3")], coerce=int
    )
    school_name = forms.CharField(label=_("School"), max_length=200, required=False)
    grade = forms.CharField(label=_("Grade"), max_length=20, required=False)
    enrolled = forms.BooleanField(label=_("Enrolled this term"), required=False, initial=True)
    days_attended = forms.IntegerField(
        label=_("Days attended"), min_value=0, max_value=366, required=False
    )
    days_possible = forms.IntegerField(
        label=_("School days"), min_value=0, max_value=366, required=False
    )
    dropped_out = forms.BooleanField(label=_("Dropped out"), required=False)
    dropout_reason = forms.CharField(
        label=_("Reason for dropping out"), max_length=300, required=False
    )
