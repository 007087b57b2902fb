from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Area, Level

FIRST_COUNTRIES = ("KH", "VN")


def country_choices() -> list[tuple[str, Any]]:
    """Cambodia and Viet Nam first, then every other country (destinations) by name."""
    countries = list(
        Area.objects.filter(level=Level.COUNTRY).only(
            "code", "country", "name_en", "name_km", "name_vi"
        )
    )
    first = [c for code in FIRST_COUNTRIES for c in countries if c.code == code]
    others = sorted((c for c in countries if c.code not in FIRST_COUNTRIES), key=lambda c: c.name)
    choices: list[tuple[str, Any]] = [(c.code, c.name) for c in first]
    if others:
        choices.append((str(_("Destinations")), [(c.code, c.name) for c in others]))
    return choices


class BrowseForm(forms.Form):
    country = forms.ChoiceField(label=_("Country"), required=False)
    on = forms.DateField(
        label=_("Valid on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=100)

    def __init__(self, *args: Any, with_country: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if with_country:
            country = self.fields["country"]
            assert isinstance(country, forms.ChoiceField)
            country.choices = country_choices()
        else:
            del self.fields["country"]


class VillageForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=20)
    name_local = forms.CharField(
        label=_("Name (Khmer or Vietnamese)"),
        max_length=200,
        help_text=_("As people in the commune write it."),
    )
    name_en = forms.CharField(label=_("Name (English)"), max_length=200, required=False)
