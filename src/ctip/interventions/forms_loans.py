"""Forms of the loan pages. They only parse; the services and the schedule engine hold
the rules (amounts are taken as text so "1,500,000" works and errors come from one place)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ctip.registry.models import Currency, Person

from .models import Frequency, IncomeActivity, InterestMethod, LoanProduct, LoanStatus

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
AMOUNT_INPUT = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})


def _amount(label: Any, *, required: bool = True, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label, max_length=24, required=required, widget=AMOUNT_INPUT, help_text=help_text
    )


class LoanProductForm(forms.Form):
    code = forms.SlugField(
        label=_("Code"), max_length=40, help_text=_("Short and unique, e.g. pigs-12m.")
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    method = forms.ChoiceField(label=_("Interest method"), choices=InterestMethod.choices)
    annual_rate = forms.CharField(
        label=_("Yearly interest rate (%)"),
        max_length=10,
        widget=AMOUNT_INPUT,
        help_text=_("Nominal, e.g. 18 or 18.5; at most 3 decimal places."),
    )
    term = forms.IntegerField(label=_("Number of instalments"), min_value=1, max_value=520)
    frequency = forms.ChoiceField(label=_("Repayment frequency"), choices=Frequency.choices)
    grace = forms.IntegerField(
        label=_("Grace instalments"),
        min_value=0,
        max_value=519,
        initial=0,
        help_text=_("The first instalments pay interest only."),
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    min_principal = _amount(_("Smallest loan"), required=False)
    max_principal = _amount(_("Largest loan"), required=False)
    active = forms.BooleanField(label=_("Offered"), required=False, initial=True)


class LoanFilterForm(forms.Form):
    q = forms.CharField(label=_("Borrower's name"), required=False, max_length=200)
    area = forms.CharField(
        label=_("Area code"),
        required=False,
        max_length=30,
        help_text=_("Village, commune, district or province code."),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("any")), *LoanStatus.choices]
    )
    arrears_over = forms.IntegerField(
        label=_("In arrears more than (days)"), required=False, min_value=0, max_value=3650
    )


class HouseholdPickForm(forms.Form):
    household = forms.CharField(label=_("Household code"), max_length=40)


class LoanCreateForm(forms.Form):
    product = forms.ModelChoiceField(
        label=_("Loan product"), queryset=LoanProduct.objects.none(), empty_label=None
    )
    person = forms.ModelChoiceField(
        label=_("Borrower"),
        queryset=Person.objects.none(),
        required=False,
        empty_label=_("The head of the household"),
    )
    principal = _amount(_("Amount lent"))
    disbursed_on = forms.DateField(label=_("Disbursed on"), widget=DATE_INPUT)
    purpose = forms.CharField(label=_("Purpose"), max_length=300, required=False)
    iga = forms.ModelChoiceField(
        label=_("Income-generating activity"),
        queryset=IncomeActivity.objects.none(),
        required=False,
        empty_label="—",
    )

    def __init__(self, *args: Any, members: Any, activities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        product: Any = self.fields["product"]
        product.queryset = LoanProduct.objects.filter(active=True).order_by("name", "id")
        person: Any = self.fields["person"]
        person.queryset = members
        person.label_from_instance = lambda p: p.full_name
        iga: Any = self.fields["iga"]
        iga.queryset = activities


class RepaymentForm(forms.Form):
    amount = _amount(_("Amount paid"))
    paid_on = forms.DateField(label=_("Paid on"), widget=DATE_INPUT)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class WriteOffForm(forms.Form):
    reason = forms.CharField(label=_("Reason for writing off"), max_length=300)
    written_off_on = forms.DateField(label=_("Written off on"), widget=DATE_INPUT, required=False)


class PortfolioForm(forms.Form):
    area = forms.CharField(
        label=_("Area code"),
        required=False,
        max_length=30,
        help_text=_("Country, province, district, commune or village code."),
    )
    as_of = forms.DateField(label=_("As of"), widget=DATE_INPUT, required=False)
