"""Vocational training (R9, R10): courses, enrolment of targeted persons, session
attendance, completion and certificates. What happened afterwards is recorded at the
follow-ups (3, 6 and 12 months after completion by default)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ctip.core.models import TimeStampedModel
from ctip.registry.models import Currency


class CourseStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    CANCELLED = "cancelled", _("Cancelled")


class Course(TimeStampedModel):
    title = models.CharField(_("title"), max_length=200)
    trade = models.CharField(_("trade"), max_length=100)
    provider = models.CharField(_("provider"), max_length=200)
    # The area the course serves and is scoped by (a village, commune or province).
    area = models.ForeignKey(
        "geography.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    location = models.CharField(_("place"), max_length=200, blank=True)
    starts_on = models.DateField(_("starts"))
    ends_on = models.DateField(_("ends"))
    sessions_planned = models.PositiveSmallIntegerField(_("sessions planned"), default=0)
    capacity = models.PositiveIntegerField(_("places"), null=True, blank=True)
    cost_per_trainee = models.DecimalField(_("cost per trainee"), max_digits=16, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    targeting_list = models.ForeignKey(
        "vulnerability.TargetingList",
        verbose_name=_("targeting list"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=CourseStatus.choices, default=CourseStatus.PLANNED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="interv_course_dates"
            ),
            models.CheckConstraint(
                condition=models.Q(cost_per_trainee__gte=0), name="interv_course_cost"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.starts_on})"


class EnrolmentStatus(models.TextChoices):
    ENROLLED = "enrolled", _("Enrolled")
    COMPLETED = "completed", _("Completed")
    DROPPED_OUT = "dropped_out", _("Dropped out")


class Enrolment(TimeStampedModel):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrolments")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    # The approved targeting entry that made the person eligible, when there was one.
    targeting_entry = models.ForeignKey(
        "vulnerability.TargetingEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    enrolled_on = models.DateField(_("enrolled on"))
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=EnrolmentStatus.choices,
        default=EnrolmentStatus.ENROLLED,
    )
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    certificate = models.BooleanField(_("certificate awarded"), default=False)
    certificate_number = models.CharField(_("certificate number"), max_length=60, blank=True)
    dropped_on = models.DateField(_("dropped out on"), null=True, blank=True)
    drop_reason = models.CharField(_("reason for dropping out"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["course_id", "id"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.UniqueConstraint(fields=["course", "person"], name="interv_enrolment_once")
        ]
        indexes = [models.Index(fields=["person"], name="interv_enrolment_person")]

    def __str__(self) -> str:
        return f"{self.course_id}/{self.person_id}"


class CourseSession(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sessions")
    held_on = models.DateField(_("date"))
    topic = models.CharField(_("topic"), max_length=200, blank=True)

    class Meta:
        ordering = ["course_id", "held_on", "id"]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")

    def __str__(self) -> str:
        return f"{self.course_id} {self.held_on}"


class SessionAttendance(models.Model):
    session = models.ForeignKey(CourseSession, on_delete=models.CASCADE, related_name="attendance")
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="attendance")
    present = models.BooleanField(_("present"), default=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session_id", "enrolment_id"]
        verbose_name = _("session attendance")
        verbose_name_plural = _("session attendance")
        constraints = [
            models.UniqueConstraint(
                fields=["session", "enrolment"], name="interv_session_attendance_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.session_id}/{self.enrolment_id}"
