"""Forms of the savings group pages. They only parse; services/savings.py holds the rules
(amounts, the fund never below zero, who may join), and its errors are put back next to
the field they name."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ctip.registry.models import Currency

from .models import LedgerKind, MemberRole, SavingsMember
from .services.savings import RECORDABLE_KINDS

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
AMOUNT_INPUT = forms.TextInput(attrs={"inputmode": "decimal", "size": 10})
COUNT_INPUT = forms.TextInput(attrs={"inputmode": "numeric", "size": 4})


class GroupFilterForm(forms.Form):
    q = forms.CharField(label=_("Name"), required=False, max_length=100)
    village = forms.CharField(
        label=_("Area code"),
        required=False,
        max_length=30,
        help_text=_("Village, commune, district or province code."),
    )
    active = forms.ChoiceField(
        label=_("Meeting"),
        required=False,
        choices=[("", _("any")), ("yes", _("still meeting")), ("no", _("closed"))],
    )


class GroupForm(forms.Form):
    name = forms.CharField(label=_("Name of the group"), max_length=200)
    village = forms.CharField(
        label=_("Village code"),
        max_length=30,
        help_text=_("The official code of the village where the group meets (e.g. 20010301)."),
    )
    formed_on = forms.DateField(label=_("Formed on"), widget=DATE_INPUT)
    share_value = forms.DecimalField(
        label=_("Value of one share"), max_digits=16, decimal_places=2, widget=AMOUNT_INPUT
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    loan_rate = forms.DecimalField(
        label=_("Monthly interest on loans from the fund (%)"),
        max_digits=6,
        decimal_places=3,
        initial=0,
        widget=AMOUNT_INPUT,
    )


class GroupEditForm(forms.Form):
    name = forms.CharField(label=_("Name of the group"), max_length=200)
    share_value = forms.DecimalField(
        label=_("Value of one share"),
        max_digits=16,
        decimal_places=2,
        widget=AMOUNT_INPUT,
        help_text=_("Can change only before anyone buys shares in the cycle."),
    )
    loan_rate = forms.DecimalField(
        label=_("Monthly interest on loans from the fund (%)"),
        max_digits=6,
        decimal_places=3,
        widget=AMOUNT_INPUT,
    )
    active = forms.BooleanField(
        label=_("The group still meets"),
        required=False,
        help_text=_("A group is closed once its loans are repaid and its fund shared out."),
    )


class PersonSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=200,
        help_text=_("Khmer, Vietnamese or Latin letters; tones and accents do not matter."),
    )


class MemberAddForm(forms.Form):
    person = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    role = forms.ChoiceField(label=_("Role"), choices=MemberRole.choices, initial=MemberRole.MEMBER)
    joined_on = forms.DateField(label=_("Joined on"), widget=DATE_INPUT)


class LeaveForm(forms.Form):
    left_on = forms.DateField(label=_("Left on"), widget=DATE_INPUT)


class EntryForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[(k, LedgerKind(k).label) for k in RECORDABLE_KINDS]
    )
    entry_on = forms.DateField(label=_("Date"), widget=DATE_INPUT)
    member = forms.TypedChoiceField(label=_("Member"), coerce=int, required=False, choices=[])
    shares = forms.CharField(
        label=_("Shares"),
        required=False,
        max_length=6,
        widget=COUNT_INPUT,
        help_text=_("For shares bought: the amount is the number of shares times their value."),
    )
    amount = forms.CharField(label=_("Amount"), required=False, max_length=20, widget=AMOUNT_INPUT)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)

    def __init__(self, *args: Any, members: list[SavingsMember], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["member"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [
            ("", "—"),
            *((m.pk, getattr(m, "label", None) or str(m.person)) for m in members),
        ]


class ShareOutForm(forms.Form):
    on = forms.DateField(label=_("Day of the share-out"), widget=DATE_INPUT)


# The money columns of a meeting, one row per member: (ledger kind, form field suffix).
MEETING_COLUMNS: list[tuple[str, Any]] = [
    (LedgerKind.SHARES, _("Shares bought")),
    (LedgerKind.SOCIAL_FUND, _("Social fund")),
    (LedgerKind.FINE, _("Fine")),
    (LedgerKind.LOAN_REPAYMENT, _("Loan repaid")),
    (LedgerKind.LOAN_INTEREST, _("Interest")),
    (LedgerKind.LOAN_OUT, _("New loan")),
]


class MeetingForm(forms.Form):
    """The date, notes, and per member: present, shares bought (a count) and amounts for
    the social fund, a fine, a repayment, interest and a new loan. Field names are
    `m<member id>_<kind>`; `entries()` turns them into the service's list and
    `field_for` finds the field an error of that list belongs to."""

    held_on = forms.DateField(label=_("Date of the meeting"), widget=DATE_INPUT)
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, members: list[SavingsMember], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.members = members
        for m in members:
            self.fields[f"m{m.pk}_present"] = forms.BooleanField(label=_("Present"), required=False)
            for kind, label in MEETING_COLUMNS:
                self.fields[f"m{m.pk}_{kind}"] = forms.CharField(
                    label=label,
                    required=False,
                    max_length=20,
                    widget=COUNT_INPUT if kind == LedgerKind.SHARES else AMOUNT_INPUT,
                )
        self._rows: list[str] = []

    def member_rows(self) -> list[tuple[SavingsMember, forms.BoundField, list[forms.BoundField]]]:
        return [
            (
                m,
                self[f"m{m.pk}_present"],
                [self[f"m{m.pk}_{kind}"] for kind, _label in MEETING_COLUMNS],
            )
            for m in self.members
        ]

    def present(self) -> list[int]:
        return [m.pk for m in self.members if self.cleaned_data.get(f"m{m.pk}_present")]

    def entries(self) -> list[dict[str, Any]]:
        """The non-empty cells as ledger entries, remembering which field each came from."""
        out: list[dict[str, Any]] = []
        self._rows = []
        for m in self.members:
            for kind, _label in MEETING_COLUMNS:
                name = f"m{m.pk}_{kind}"
                value = (self.cleaned_data.get(name) or "").strip()
                if not value:
                    continue
                entry: dict[str, Any] = {"kind": kind, "member": m.pk}
                entry["shares" if kind == LedgerKind.SHARES else "amount"] = value
                out.append(entry)
                self._rows.append(name)
        return out

    def apply_errors(self, exc: ValidationError) -> None:
        """Put the service's errors (`entries[n].field`, `held_on`...) on the fields."""
        for key, messages in exc.message_dict.items():
            if key.startswith("entries[") and "]" in key:
                index = int(key[len("entries[") : key.index("]")]) - 1
                name = self._rows[index] if 0 <= index < len(self._rows) else None
                self.add_error(name, messages)
            else:
                self.add_error(key if key in self.fields else None, messages)
