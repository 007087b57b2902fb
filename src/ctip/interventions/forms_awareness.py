"""Forms of the awareness pages and the materials library. They parse input only: the
rules live in services/awareness.py, which the views call with the cleaned values."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ctip.accounts.models import User
from ctip.registry.models import Sex

from .models import (
    REVIEW_CRITERIA,
    AgeBand,
    Audience,
    EventKind,
    Material,
    MaterialKind,
    MaterialReview,
    ReviewerKind,
    Topic,
)
from .services.awareness import ALLOWED_EXTENSIONS, MAX_FILE_BYTES, MAX_HEADCOUNT

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _any(choices: Any) -> list[tuple[str, Any]]:
    return [("", _("any")), *choices]


# --------------------------------------------------------------------------------------
# Events.


class EventFilterForm(forms.Form):
    area = forms.CharField(
        label=_("Area code"),
        required=False,
        max_length=30,
        help_text=_("Village, commune, district or province code."),
    )
    held_from = forms.DateField(label=_("From"), required=False, widget=DATE)
    held_to = forms.DateField(label=_("To"), required=False, widget=DATE)
    kind = forms.ChoiceField(label=_("Type"), required=False, choices=_any(EventKind.choices))
    topic = forms.ChoiceField(label=_("Topic"), required=False, choices=_any(Topic.choices))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("held_from"), data.get("held_to")
        if start and end and start > end:
            self.add_error("held_to", _("The end of the range is before its start."))
        return data


class MaterialChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        parts = [str(obj), obj.get_kind_display(), obj.language]
        if obj.agency:
            parts.append(obj.agency)
        return " · ".join(parts)


class UserChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        name = obj.get_full_name()
        return f"{name} ({obj.username})" if name else obj.username


class EventForm(forms.Form):
    village = forms.CharField(
        label=_("Village code"),
        max_length=30,
        help_text=_("The official code of the village the event was held in, e.g. 20010301."),
    )
    held_on = forms.DateField(label=_("Date"), widget=DATE)
    kind = forms.ChoiceField(label=_("Type"), choices=EventKind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    topics = forms.MultipleChoiceField(
        label=_("Topics"), choices=Topic.choices, widget=forms.CheckboxSelectMultiple
    )
    location = forms.CharField(
        label=_("Place"),
        max_length=200,
        required=False,
        help_text=_("Pagoda, school, community hall, radio station..."),
    )
    facilitators = UserChoiceField(
        label=_("Facilitators"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Staff who record interventions in the event's village."),
    )
    materials = MaterialChoiceField(
        label=_("Materials used"),
        queryset=Material.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(
        self,
        *args: Any,
        facilitators: Any,
        materials: Any,
        villages: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if villages:
            # A facilitator's few villages: pick one rather than type its code.
            self.fields["village"] = forms.ChoiceField(
                label=_("Village"), choices=[("", "—"), *villages]
            )
        fac_field = self.fields["facilitators"]
        assert isinstance(fac_field, forms.ModelMultipleChoiceField)
        fac_field.queryset = facilitators
        mat_field = self.fields["materials"]
        assert isinstance(mat_field, forms.ModelMultipleChoiceField)
        mat_field.queryset = materials
        self.fields["held_on"].widget.attrs["max"] = timezone.localdate().isoformat()


class SheetCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Sheet code"),
        max_length=20,
        help_text=_("Printed at the top of the attendance sheet, e.g. AW12-KX."),
    )


def headcount_field_name(sex: str, band: str) -> str:
    return f"hc-{sex}-{band}"


class HeadcountForm(forms.Form):
    """The headcount grid: one number per sex and age band (empty means none)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for sex, label in Sex.choices:
            for band in AgeBand.values:
                self.fields[headcount_field_name(sex, band)] = forms.IntegerField(
                    label=f"{label}, {band}",
                    required=False,
                    min_value=0,
                    max_value=MAX_HEADCOUNT,
                    widget=forms.NumberInput(
                        attrs={"inputmode": "numeric", "size": 4, "min": 0, "class": "count"}
                    ),
                )

    def counts(self) -> dict[tuple[str, str], int]:
        return {
            (sex, band): self.cleaned_data.get(headcount_field_name(sex, band)) or 0
            for sex in Sex.values
            for band in AgeBand.values
        }

    def grid(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [
            (str(label), [self[headcount_field_name(sex, band)] for band in AgeBand.values])
            for sex, label in Sex.choices
        ]


def headcount_initial(grid: dict[tuple[str, str], int]) -> dict[str, int]:
    return {headcount_field_name(sex, band): n for (sex, band), n in grid.items()}


class KeyingSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Find a person"),
        required=False,
        max_length=200,
        help_text=_("Searches the whole commune the event serves, in any script."),
    )


# --------------------------------------------------------------------------------------
# Materials.

LANGUAGE_SUGGESTIONS = [
    ("km", _("Khmer")),
    ("vi", _("Vietnamese")),
    ("en", _("English")),
    ("th", _("Thai")),
    ("lo", _("Lao")),
]


def language_label(code: str) -> str:
    return str(dict(LANGUAGE_SUGGESTIONS).get(code, code))


class MaterialFilterForm(forms.Form):
    q = forms.CharField(label=_("Title"), required=False, max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=_any(MaterialKind.choices))
    language = forms.CharField(label=_("Language code"), required=False, max_length=10)
    audience = forms.ChoiceField(
        label=_("Audience"), required=False, choices=_any(Audience.choices)
    )
    topic = forms.ChoiceField(label=_("Topic"), required=False, choices=_any(Topic.choices))
    agency = forms.CharField(label=_("Agency"), required=False, max_length=200)
    current = forms.BooleanField(label=_("Latest versions only"), required=False)


class SupersedesField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj} · {obj.agency}" if obj.agency else str(obj)


class MaterialForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=MaterialKind.choices)
    language = forms.CharField(
        label=_("Language"),
        max_length=10,
        widget=forms.TextInput(attrs={"list": "language-codes", "autocomplete": "off"}),
        help_text=_("A language code: km (Khmer), vi (Vietnamese), en (English), or another."),
    )
    audiences = forms.MultipleChoiceField(
        label=_("Audiences"),
        choices=Audience.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    topics = forms.MultipleChoiceField(
        label=_("Topics"),
        choices=Topic.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    agency = forms.CharField(label=_("Agency"), max_length=200, required=False)
    version = forms.CharField(label=_("Version"), max_length=40, required=False)
    description = forms.CharField(
        label=_("Description"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    file = forms.FileField(
        label=_("File"),
        required=False,
        help_text=_("At most %(mb)s MB: %(types)s.")
        % {"mb": MAX_FILE_BYTES // 1024 // 1024, "types": ", ".join(ALLOWED_EXTENSIONS)},
        widget=forms.ClearableFileInput(
            attrs={"accept": ",".join(f".{ext}" for ext in ALLOWED_EXTENSIONS)}
        ),
    )
    supersedes = SupersedesField(
        label=_("Replaces"),
        queryset=Material.objects.none(),
        required=False,
        help_text=_("The older version this material replaces, if any."),
    )

    def __init__(self, *args: Any, current: Material | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["supersedes"]
        assert isinstance(field, forms.ModelChoiceField)
        others = Material.objects.order_by("title", "id")
        field.queryset = others.exclude(pk=current.pk) if current else others
        # The clear box of ClearableFileInput would suggest removing a file; a file is
        # only ever replaced.
        self.fields["file"].widget = forms.FileInput(attrs=self.fields["file"].widget.attrs)


SCORE_CHOICES = [
    ("", "—"),
    ("1", _("1 — poor")),
    ("2", _("2 — weak")),
    ("3", _("3 — fair")),
    ("4", _("4 — good")),
    ("5", _("5 — very good")),
]


class ReviewForm(forms.Form):
    reviewer_kind = forms.ChoiceField(
        label=_("Reviewer"), choices=ReviewerKind.choices, widget=forms.RadioSelect
    )
    reviewer_sex = forms.ChoiceField(
        label=_("Reviewer's sex"), required=False, choices=[("", "—"), *Sex.choices]
    )
    reviewer_age = forms.IntegerField(
        label=_("Reviewer's age"),
        required=False,
        min_value=5,
        max_value=99,
        help_text=_("Needed for a child or young reviewer, who is never named."),
    )
    reviewed_on = forms.DateField(label=_("Reviewed on"), widget=DATE)
    best_elements = forms.CharField(
        label=_("Best elements to keep"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What other agencies' materials should borrow from this one."),
    )
    comments = forms.CharField(
        label=_("Comments"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Do not write a child's name."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields = MaterialReview._meta
        for criterion in REVIEW_CRITERIA:
            self.fields[criterion] = forms.TypedChoiceField(
                label=str(getattr(fields.get_field(criterion), "verbose_name", criterion)),
                choices=SCORE_CHOICES,
                coerce=int,
            )
        self.order_fields(
            ["reviewer_kind", "reviewer_sex", "reviewer_age", "reviewed_on", *REVIEW_CRITERIA]
        )
        self.fields["reviewed_on"].widget.attrs["max"] = timezone.localdate().isoformat()
