"""Education support and the school record of supported children, term by term."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ctip.core.models import TimeStampedModel
from ctip.registry.models import Currency


class SupportKind(models.TextChoices):
    SCHOLARSHIP = "scholarship", _("Scholarship")
    MATERIALS = "materials", _("School materials")
    UNIFORM = "uniform", _("Uniform")
    TRANSPORT = "transport", _("Transport (bicycle, fares)")
    NON_FORMAL = "non_formal", _("Non-formal education")
    CATCH_UP = "catch_up", _("Catch-up classes")


class EducationSupport(TimeStampedModel):
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("support"), max_length=12, choices=SupportKind.choices)
    school_name = models.CharField(_("school or class"), max_length=200, blank=True)
    grade = models.CharField(_("grade"), max_length=20, blank=True)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)
    amount = models.DecimalField(_("value"), null=True, blank=True, max_digits=16, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, blank=True)
    provider = models.CharField(_("provided by"), max_length=200, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("education support")
        verbose_name_plural = _("education support")
        indexes = [models.Index(fields=["person"], name="interv_edsupport_person")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gte=0),
                name="interv_edsupport_amount",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.starts_on})"


class SchoolTerm(models.Model):
    """A supported child's school enrolment and attendance in one term."""

    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    support = models.ForeignKey(
        EducationSupport, null=True, blank=True, on_delete=models.SET_NULL, related_name="terms"
    )
    school_year = models.CharField(_("school year"), max_length=9)  # "2026-2027"
    term = models.PositiveSmallIntegerField(_("term"))
    school_name = models.CharField(_("school"), max_length=200, blank=True)
    grade = models.CharField(_("grade"), max_length=20, blank=True)
    enrolled = models.BooleanField(_("enrolled"), default=True)
    days_attended = models.PositiveSmallIntegerField(_("days attended"), null=True, blank=True)
    days_possible = models.PositiveSmallIntegerField(_("school days"), null=True, blank=True)
    dropped_out = models.BooleanField(_("dropped out"), default=False)
    dropout_reason = models.CharField(_("reason for dropping out"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["person_id", "school_year", "term"]
        verbose_name = _("school term")
        verbose_name_plural = _("school terms")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "school_year", "term"], name="interv_school_term_once"
            ),
            models.CheckConstraint(
                condition=models.Q(days_attended__isnull=True)
                | models.Q(days_possible__isnull=True)
                | models.Q(days_attended__lte=models.F("days_possible")),
                name="interv_school_term_days",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.school_year} T{self.term}"
