"""Forms of the participation pages. They parse input; the rules are in
services/participation.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .forms_training import AreaFilterMixin, date_field
from .models import (
    GroupKind,
    ParticipantRole,
    ParticipationEventKind,
    ParticipationGroup,
    RecommendationStatus,
)

TEXTAREA = forms.Textarea(attrs={"rows": 4})


class GroupFilterForm(AreaFilterMixin):
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("any")), *GroupKind.choices]
    )
    active = forms.ChoiceField(
        label=_("Active"),
        required=False,
        choices=[("", _("any")), ("yes", _("yes")), ("no", _("no"))],
    )


class GroupForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=GroupKind.choices)
    area = forms.CharField(
        label=_("Area code"),
        max_length=30,
        help_text=_("The village or commune the club or forum is in."),
    )
    formed_on = date_field(_("Formed on"), required=False)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class EventFilterForm(AreaFilterMixin):
    kind = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("any")), *ParticipationEventKind.choices]
    )


class GroupChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} · {obj.area.name}"


class EventForm(forms.Form):
    group = GroupChoice(
        label=_("Club or forum"),
        queryset=ParticipationGroup.objects.none(),
        required=False,
        help_text=_("Empty for an event of no club."),
    )
    kind = forms.ChoiceField(label=_("Type"), choices=ParticipationEventKind.choices)
    held_on = date_field(_("Date"))
    area = forms.CharField(
        label=_("Area code"),
        max_length=30,
        required=False,
        help_text=_("Where it was held; empty: the club's area."),
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(
        label=_("What they decided or reported"), required=False, widget=TEXTAREA
    )
    monitored_activity = forms.CharField(
        label=_("Activity monitored"),
        max_length=300,
        required=False,
        help_text=_("For child-led monitoring: the community activity the children checked."),
    )

    def __init__(self, *args: Any, groups: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["group"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = groups


class ParticipantsForm(forms.Form):
    persons = forms.MultipleChoiceField(
        label=_("Who took part"), widget=forms.CheckboxSelectMultiple, choices=[]
    )
    role = forms.ChoiceField(label=_("Role"), choices=ParticipantRole.choices)

    def __init__(self, *args: Any, person_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["persons"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(str(pk), str(pk)) for pk in person_ids]


class RecommendationForm(forms.Form):
    text = forms.CharField(label=_("Recommendation"), widget=TEXTAREA)
    addressed_to = forms.CharField(
        label=_("Addressed to"),
        max_length=200,
        required=False,
        help_text=_("e.g. commune council, school director"),
    )
    due_on = date_field(_("Answer due"), required=False)


class RecommendationUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=RecommendationStatus.choices)
    response = forms.CharField(label=_("Response and follow-up"), required=False, widget=TEXTAREA)
    due_on = date_field(_("Answer due"), required=False)
    closed_on = date_field(
        _("Closed on"), required=False, help_text=_("When acted on or declined; empty: today.")
    )


class RecommendationFilterForm(AreaFilterMixin):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("any")),
            ("pending", _("Open or accepted")),
            ("overdue", _("Overdue")),
            *RecommendationStatus.choices,
        ],
    )
