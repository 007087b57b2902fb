"""Forms of the training pages. They parse input; the rules are in services/training.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ctip.registry.models import Currency
from ctip.vulnerability.models import TargetingList

from .models import CourseStatus, EnrolmentStatus

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def date_field(label: Any, *, required: bool = True, help_text: Any = "") -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=DATE, help_text=help_text)


class AreaFilterMixin(forms.Form):
    area = forms.CharField(
        label=_("Area code"),
        required=False,
        max_length=30,
        help_text=_("Village, commune, district or province code."),
    )


class CourseFilterForm(AreaFilterMixin):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("any")), *CourseStatus.choices]
    )
    q = forms.CharField(label=_("Title, trade or provider"), required=False, max_length=100)


class TargetingListChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        tl: TargetingList = obj
        return f"{tl} · {tl.area.name} ({tl.area.code}) · {tl.as_of:%Y-%m-%d}"


class CourseForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    trade = forms.CharField(
        label=_("Trade"), max_length=100, help_text=_("e.g. motorbike repair, tailoring")
    )
    provider = forms.CharField(label=_("Provider"), max_length=200)
    area = forms.CharField(
        label=_("Area code"),
        max_length=30,
        help_text=_("The village, commune, district or province the course serves."),
    )
    location = forms.CharField(label=_("Place"), max_length=200, required=False)
    starts_on = date_field(_("Starts"))
    ends_on = date_field(_("Ends"))
    sessions_planned = forms.IntegerField(
        label=_("Sessions planned"), min_value=0, max_value=500, initial=0
    )
    capacity = forms.IntegerField(
        label=_("Places"),
        min_value=1,
        max_value=10000,
        required=False,
        help_text=_("Empty: no limit."),
    )
    cost_per_trainee = forms.DecimalField(
        label=_("Cost per trainee"), max_digits=16, decimal_places=2
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    targeting_list = TargetingListChoice(
        label=_("Targeting list"),
        queryset=TargetingList.objects.none(),
        required=False,
        help_text=_("Trainees are enrolled from the persons the committee approved on it."),
    )
    status = forms.ChoiceField(label=_("Status"), choices=CourseStatus.choices)

    def __init__(self, *args: Any, lists: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["targeting_list"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = lists


class EnrolFromListForm(forms.Form):
    entries = forms.MultipleChoiceField(
        label=_("Approved persons"), widget=forms.CheckboxSelectMultiple, choices=[]
    )
    enrolled_on = date_field(_("Enrolled on"))

    def __init__(self, *args: Any, entry_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["entries"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(str(pk), str(pk)) for pk in entry_ids]


class PersonSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name"),
        max_length=200,
        help_text=_("Khmer, Vietnamese or Latin letters; tones and accents do not matter."),
    )


class EnrolPersonForm(forms.Form):
    person = forms.IntegerField(widget=forms.HiddenInput)
    enrolled_on = date_field(_("Enrolled on"))


class SessionForm(forms.Form):
    held_on = date_field(_("Date"))
    topic = forms.CharField(label=_("Topic"), max_length=200, required=False)


MARKS = [("present", _("Present")), ("absent", _("Absent"))]


class AttendanceForm(forms.Form):
    """One radio pair per trainee the reader may mark ("e<enrolment id>")."""

    def __init__(self, *args: Any, rows: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for row in rows:
            if not row.can_mark:
                continue
            name = f"e{row.enrolment.pk}"
            self.fields[name] = forms.ChoiceField(
                label=row.enrolment.person.full_name,
                choices=MARKS,
                required=False,
                widget=forms.RadioSelect,
                initial=(None if row.present is None else ("present" if row.present else "absent")),
            )

    def marks(self) -> dict[int, bool]:
        return {
            int(name[1:]): value == "present"
            for name, value in self.cleaned_data.items()
            if name.startswith("e") and value
        }


class CompleteForm(forms.Form):
    completed_on = date_field(_("Completed on"))
    certificate = forms.BooleanField(label=_("Certificate awarded"), required=False)
    certificate_number = forms.CharField(
        label=_("Certificate number"), max_length=60, required=False
    )


class DropForm(forms.Form):
    dropped_on = date_field(_("Dropped out on"))
    drop_reason = forms.CharField(label=_("Reason for dropping out"), max_length=300)


class EnrolmentFilterForm(AreaFilterMixin):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("any")), *EnrolmentStatus.choices]
    )
