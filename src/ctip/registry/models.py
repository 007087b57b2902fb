from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ctip.core.models import TimeStampedModel


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNDISCLOSED = "undisclosed", _("Prefers not to say")


class Relationship(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse or partner")
    CHILD = "child", _("Son or daughter")
    GRANDCHILD = "grandchild", _("Grandchild")
    PARENT = "parent", _("Parent")
    SIBLING = "sibling", _("Brother or sister")
    OTHER_RELATIVE = "other_relative", _("Other relative")
    NON_RELATIVE = "non_relative", _("Not related")


class Household(TimeStampedModel):
    village = models.ForeignKey(
        "geography.Area", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    code = models.CharField(_("household code"), max_length=40, unique=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.code


class Person(TimeStampedModel):
    """A member of a household. Children and youth under 25 are the programme's focus."""

    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.PROTECT, related_name="members"
    )
    relationship = models.CharField(
        _("relationship to head"), max_length=20, choices=Relationship.choices
    )
    given_name_local = models.CharField(_("given name (local script)"), max_length=100, blank=True)
    family_name_local = models.CharField(
        _("family name (local script)"), max_length=100, blank=True
    )
    given_name_latin = models.CharField(_("given name (Latin)"), max_length=100, blank=True)
    family_name_latin = models.CharField(_("family name (Latin)"), max_length=100, blank=True)
    sex = models.CharField(_("sex"), max_length=12, choices=Sex.choices)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    dob_estimated = models.BooleanField(_("date of birth is estimated"), default=False)
    # Tone- and diacritic-free names in both scripts, for search.
    search_text = models.CharField(max_length=500, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Reads of a person are audited (see registry.selectors.person_get).
    SENSITIVE = True

    class Meta:
        ordering = ["household_id", "id"]
        verbose_name = _("person")
        verbose_name_plural = _("persons")

    def __str__(self) -> str:
        return self.full_name

    def age_on(self, day: dt.date) -> int | None:
        """Age in completed years on `day` (None when the date of birth is unknown)."""
        born = self.date_of_birth
        if born is None:
            return None
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def age(self) -> int | None:
        return self.age_on(timezone.localdate())

    @property
    def full_name(self) -> str:
        local = f"{self.family_name_local} {self.given_name_local}".strip()
        latin = f"{self.family_name_latin} {self.given_name_latin}".strip()
        if local and latin:
            return f"{local} ({latin})"
        return local or latin or f"#{self.pk}"
