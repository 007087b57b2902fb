"""Follow-up (R10): plans per component, visits that fall due, and what was found."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ctip.core.models import TimeStampedModel
from ctip.registry.models import Currency

from .common import Component


class FollowUpPlan(models.Model):
    """When visits fall due for one component: months after the reference date (course
    completion, start of support...), and/or every month while a loan is being repaid."""

    component = models.CharField(
        _("component"), max_length=14, choices=Component.choices, unique=True
    )
    months_after = models.JSONField(_("months after"), default=list, blank=True)
    monthly_while_active = models.BooleanField(_("every month while active"), default=False)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["component"]
        verbose_name = _("follow-up plan")
        verbose_name_plural = _("follow-up plans")

    def __str__(self) -> str:
        return self.get_component_display()


class FollowUpStatus(models.TextChoices):
    DUE = "due", _("Due")
    DONE = "done", _("Visited")
    MISSED = "missed", _("Could not be visited")
    CANCELLED = "cancelled", _("No longer needed")


class Situation(models.TextChoices):
    """What a person was doing at a follow-up (after training, a loan, support)."""

    EMPLOYED_LOCALLY = "employed_locally", _("Employed locally")
    SELF_EMPLOYED = "self_employed", _("Self-employed")
    MIGRATED_SAFELY = "migrated_safely", _("Migrated, safely")
    MIGRATED_UNSAFELY = "migrated_unsafely", _("Migrated, unsafely")
    UNEMPLOYED = "unemployed", _("Unemployed")
    IN_SCHOOL = "in_school", _("In school or training")


class FollowUp(TimeStampedModel):
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    component = models.CharField(_("component"), max_length=14, choices=Component.choices)
    enrolment = models.ForeignKey(
        "Enrolment", null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups"
    )
    loan = models.ForeignKey(
        "Loan", null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups"
    )
    activity = models.ForeignKey(
        "IncomeActivity", null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups"
    )
    education_support = models.ForeignKey(
        "EducationSupport",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="follow_ups",
    )
    due_on = models.DateField(_("due on"))
    months_after = models.PositiveSmallIntegerField(_("months after"), null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("facilitator"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=FollowUpStatus.choices, default=FollowUpStatus.DUE
    )
    visited_on = models.DateField(_("visited on"), null=True, blank=True)
    visited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    situation = models.CharField(
        _("situation"), max_length=18, choices=Situation.choices, blank=True
    )
    monthly_income = models.DecimalField(
        _("monthly income"), null=True, blank=True, max_digits=16, decimal_places=2
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, blank=True)
    outcome = models.TextField(_("what was found"), blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            models.Index(fields=["status", "due_on"], name="interv_followup_status_due"),
            models.Index(fields=["person"], name="interv_followup_person"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_income__isnull=True) | models.Q(monthly_income__gte=0),
                name="interv_followup_income",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_component_display()} {self.due_on}"
