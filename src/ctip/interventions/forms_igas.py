"""Forms of the income-generating activity and benchmark pages. They only parse;
services/igas.py holds the rules, and its errors (`costs[2].amount`) are put back on the
field and row they name."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ctip.registry.models import Currency, Person

from .models import ActivityStatus, CostKind, MigrationBenchmark, Sector
from .selectors.igas import VERDICT_FILTERS

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
AMOUNT_INPUT = forms.TextInput(attrs={"inputmode": "decimal", "size": 12})
_COST_KEY = re.compile(r"^costs\[(\d+)\]\.(\w+)$")


class ActivityFilterForm(forms.Form):
    q = forms.CharField(label=_("Activity"), required=False, max_length=100)
    village = forms.CharField(
        label=_("Area code"),
        required=False,
        max_length=30,
        help_text=_("Village, commune, district or province code."),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("any")), *ActivityStatus.choices]
    )
    sector = forms.ChoiceField(
        label=_("Sector"), required=False, choices=[("", _("any")), *Sector.choices]
    )
    verdict = forms.ChoiceField(
        label=_("Against migrating"),
        required=False,
        choices=[
            ("", _("any")),
            *zip(
                VERDICT_FILTERS,
                [_("earns more"), _("earns less"), _("cannot be compared")],
                strict=True,
            ),
        ],
    )


class HouseholdPickForm(forms.Form):
    household = forms.CharField(
        label=_("Household code"),
        max_length=40,
        help_text=_("The household whose member runs the activity."),
    )


class ActivityForm(forms.Form):
    person = forms.TypedChoiceField(label=_("Run by"), coerce=int, choices=[])
    title = forms.CharField(label=_("Activity"), max_length=200)
    sector = forms.ChoiceField(label=_("Sector"), choices=Sector.choices)
    unit = forms.CharField(
        label=_("Unit sold"), max_length=40, help_text=_("kg, piece, haircut, bag...")
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    expected_price = forms.CharField(
        label=_("Expected price per unit"), max_length=20, widget=AMOUNT_INPUT
    )
    expected_volume = forms.CharField(
        label=_("Expected units sold per month"), max_length=20, widget=AMOUNT_INPUT
    )
    benchmark = forms.TypedChoiceField(
        label=_("Compare with migrating to"),
        coerce=int,
        required=False,
        empty_value=None,
        choices=[],
        help_text=_("A benchmark in the same currency as the activity can be compared."),
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=ActivityStatus.choices, initial=ActivityStatus.PLANNED
    )
    started_on = forms.DateField(
        label=_("Started on"),
        required=False,
        widget=DATE_INPUT,
        help_text=_("Follow-up visits are scheduled from this day."),
    )
    market_notes = forms.CharField(
        label=_("Market analysis"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Who buys, at what price, competitors, seasons, risks."),
    )

    def __init__(
        self,
        *args: Any,
        persons: list[Person],
        benchmarks: list[MigrationBenchmark],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        person = self.fields["person"]
        assert isinstance(person, forms.TypedChoiceField)
        person.choices = [(p.pk, p.full_name) for p in persons]
        bench = self.fields["benchmark"]
        assert isinstance(bench, forms.TypedChoiceField)
        bench.choices = [
            ("", "—"),
            *(
                (
                    b.pk,
                    f"{b.destination}, {b.get_sector_display()} "
                    f"({b.monthly_wage - b.monthly_costs:,.0f} {b.currency})",
                )
                for b in benchmarks
            ),
        ]


class CostForm(forms.Form):
    item = forms.CharField(label=_("Item"), max_length=200, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", "—"), *CostKind.choices], required=False
    )
    amount = forms.CharField(label=_("Amount"), max_length=20, required=False, widget=AMOUNT_INPUT)

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not any(str(data.get(f) or "").strip() for f in ("item", "kind", "amount"))


CostFormSet = forms.formset_factory(CostForm, extra=3, max_num=100, absolute_max=100)


def cost_values(costs: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """The filled rows of the cost formset for the service, and the form index of each."""
    rows, index = [], []
    for i, form in enumerate(costs.forms):
        if form.is_blank():
            continue
        rows.append({k: form.cleaned_data.get(k) for k in ("item", "kind", "amount")})
        index.append(i)
    return rows, index


def apply_errors(form: forms.Form, costs: Any, index: list[int], exc: ValidationError) -> None:
    """Put the service's errors next to their field, and cost-line errors on their row."""
    for key, messages in exc.message_dict.items():
        match = _COST_KEY.match(key)
        if match:
            n = int(match.group(1)) - 1
            if 0 <= n < len(index):
                row = costs.forms[index[n]]
                field = match.group(2)
                row.add_error(field if field in row.fields else None, messages)
                continue
        form.add_error(key if key in form.fields else None, messages)


class BenchmarkForm(forms.Form):
    destination = forms.CharField(label=_("Destination"), max_length=120)
    destination_country = forms.CharField(
        label=_("Destination country"),
        max_length=2,
        help_text=_("Two letters: TH for Thailand, MY for Malaysia, KH for Cambodia..."),
    )
    sector = forms.ChoiceField(label=_("Sector"), choices=Sector.choices)
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    monthly_wage = forms.CharField(label=_("Monthly wage"), max_length=20, widget=AMOUNT_INPUT)
    monthly_costs = forms.CharField(
        label=_("Monthly living costs there"),
        max_length=20,
        widget=AMOUNT_INPUT,
        initial="0",
        help_text=_("Rent, food, transport, recruitment debt repaid each month."),
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE_INPUT)
    source = forms.CharField(label=_("Source"), max_length=300, required=False)
    active = forms.BooleanField(label=_("In use"), required=False, initial=True)
