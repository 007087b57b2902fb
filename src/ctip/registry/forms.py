"""Forms of the registry pages. They only parse; the services hold the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import (
    ConsentGiver,
    ConsentMethod,
    ConsentPurpose,
    Currency,
    IdDocument,
    IncomeSource,
    Lender,
    PovertyStatus,
    Relationship,
    SchoolStatus,
    Sex,
)

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class HouseholdFactsForm(forms.Form):
    address = forms.CharField(label=_("Address"), max_length=255, required=False)
    poverty_status = forms.ChoiceField(
        label=_("Poverty status"), choices=PovertyStatus.choices, initial=PovertyStatus.UNKNOWN
    )
    income_sources = forms.MultipleChoiceField(
        label=_("Income sources"),
        choices=IncomeSource.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    land_hectares = forms.DecimalField(
        label=_("Farm land (hectares)"), max_digits=7, decimal_places=2, required=False, min_value=0
    )
    currency = forms.ChoiceField(
        label=_("Currency"), choices=[("", "—"), *Currency.choices], required=False
    )
    monthly_income = forms.DecimalField(
        label=_("Monthly cash income"), max_digits=14, decimal_places=2, required=False, min_value=0
    )
    debt_amount = forms.DecimalField(
        label=_("Debt outstanding"), max_digits=14, decimal_places=2, required=False, min_value=0
    )
    lenders = forms.MultipleChoiceField(
        label=_("Owed to"),
        choices=Lender.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    members_working_away = forms.IntegerField(
        label=_("Members working away"), min_value=0, max_value=50, initial=0
    )
    members_with_disability = forms.IntegerField(
        label=_("Members with a disability"), min_value=0, max_value=50, initial=0
    )
    single_parent = forms.BooleanField(label=_("Single-parent household"), required=False)
    child_headed = forms.BooleanField(label=_("Child-headed household"), required=False)


class HouseholdCreateForm(HouseholdFactsForm):
    village = forms.CharField(
        label=_("Village code"),
        max_length=30,
        help_text=_("The official code of the village (e.g. 20010301)."),
    )
    code = forms.CharField(label=_("Household code"), max_length=40)
    field_order = ["village", "code"]


class PersonForm(forms.Form):
    relationship = forms.ChoiceField(label=_("Relationship to head"), choices=Relationship.choices)
    family_name_local = forms.CharField(
        label=_("Family name (local script)"), max_length=100, required=False
    )
    given_name_local = forms.CharField(
        label=_("Given name (local script)"), max_length=100, required=False
    )
    family_name_latin = forms.CharField(
        label=_("Family name (Latin)"), max_length=100, required=False
    )
    given_name_latin = forms.CharField(
        label=_("Given name (Latin)"), max_length=100, required=False
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices)
    date_of_birth = forms.DateField(label=_("Date of birth"), required=False, widget=DATE_INPUT)
    age = forms.IntegerField(
        label=_("or age in years"),
        required=False,
        min_value=0,
        max_value=120,
        help_text=_("When the date of birth is not known: it is then estimated."),
    )
    school_status = forms.ChoiceField(
        label=_("School"), choices=SchoolStatus.choices, initial=SchoolStatus.UNKNOWN
    )
    id_documents = forms.MultipleChoiceField(
        label=_("Identity documents held"),
        choices=IdDocument.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    disability = forms.BooleanField(label=_("Has a disability"), required=False)

    def service_values(self, today: Any) -> dict[str, Any]:
        """The cleaned data as person_create/person_update take it."""
        data = dict(self.cleaned_data)
        age = data.pop("age", None)
        data.pop("confirm", None)
        if data.get("date_of_birth") is None and age is not None:
            data["date_of_birth"] = today.replace(year=today.year - age, month=7, day=1)
            data["dob_estimated"] = True
        elif data.get("date_of_birth") is not None:
            data["dob_estimated"] = False
        return data


class MemberForm(PersonForm):
    """A row of the household registration: empty rows are skipped."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("relationship", "sex", "school_status"):
            self.fields[name].required = False
            self.fields[name].choices = [("", "—"), *self.fields[name].choices]  # type: ignore[attr-defined]

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not any(
            data.get(f)
            for f in (
                "family_name_local",
                "given_name_local",
                "family_name_latin",
                "given_name_latin",
            )
        )


MemberFormSet = forms.formset_factory(MemberForm, extra=6, max_num=20)


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    given_on = forms.DateField(label=_("Given on"), widget=DATE_INPUT)
    given_by = forms.ChoiceField(label=_("Given by"), choices=ConsentGiver.choices)
    giver_name = forms.CharField(
        label=_("Name of parent or guardian"),
        max_length=200,
        required=False,
        help_text=_("Under 18: the parent or guardian who gave consent."),
    )
    child_assent = forms.NullBooleanField(
        label=_("The child agrees"),
        required=False,
        widget=forms.Select(
            choices=[
                ("unknown", _("Not asked (under 7, or an adult)")),
                ("true", _("Yes")),
                ("false", _("No")),
            ]
        ),
    )
    method = forms.ChoiceField(label=_("How"), choices=ConsentMethod.choices)
    note = forms.CharField(label=_("Note"), max_length=255, required=False)


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)
