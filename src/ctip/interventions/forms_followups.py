"""Forms of the follow-up pages. They only parse; services/followups.py holds the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ctip.accounts.models import User
from ctip.registry.models import Currency

from .models import Component, FollowUpStatus, Situation
from .selectors.followups import UNASSIGNED

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class FollowUpFilterForm(forms.Form):
    component = forms.ChoiceField(
        label=_("Component"), required=False, choices=[("", _("any")), *Component.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("any")), *FollowUpStatus.choices]
    )
    facilitator = forms.ChoiceField(label=_("Facilitator"), required=False, choices=[])
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    village = forms.CharField(
        label=_("Area code"),
        required=False,
        max_length=30,
        help_text=_("Village, commune, district or province code."),
    )

    def __init__(self, *args: Any, facilitators: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["facilitator"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", _("anyone")),
            (UNASSIGNED, _("nobody")),
            *((str(u.pk), u.get_full_name() or u.username) for u in facilitators),
        ]


class AreaFilterForm(forms.Form):
    village = forms.CharField(
        label=_("Area code"),
        required=False,
        max_length=30,
        help_text=_("Village, commune, district or province code."),
    )


class VisitForm(forms.Form):
    visited_on = forms.DateField(label=_("Visited on"), widget=DATE_INPUT)
    situation = forms.ChoiceField(
        label=_("What the person is doing now"), choices=Situation.choices
    )
    monthly_income = forms.CharField(
        label=_("Their income a month"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 12}),
        help_text=_("Leave empty if they would not say."),
    )
    currency = forms.ChoiceField(
        label=_("Currency"), required=False, choices=[("", "—"), *Currency.choices]
    )
    outcome = forms.CharField(
        label=_("What was found"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Why"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.username


class ReassignForm(forms.Form):
    assigned_to = UserChoiceField(
        label=_("Facilitator"), queryset=User.objects.none(), empty_label=None
    )

    def __init__(self, *args: Any, users: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assigned_to"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = users


class PlanForm(forms.Form):
    months_after = forms.CharField(
        label=_("Months after"),
        required=False,
        max_length=200,
        help_text=_("Whole months from 1 to 60, separated by commas: 3, 6, 12."),
    )
    monthly_while_active = forms.BooleanField(label=_("Every month while active"), required=False)
    active = forms.BooleanField(label=_("In use"), required=False)
