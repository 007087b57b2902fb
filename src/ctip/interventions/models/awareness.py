"""Awareness raising: events with their attendance, and the materials library with
reviews by staff and by children and youth (R7: practical guidance, referral info)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ctip.core.models import TimeStampedModel


class EventKind(models.TextChoices):
    VILLAGE_MEETING = "village_meeting", _("Village meeting")
    SCHOOL_SESSION = "school_session", _("School session")
    RADIO_TV = "radio_tv", _("Radio or TV")
    CULTURAL = "cultural", _("Cultural event")
    PEER_EDUCATION = "peer_education", _("Peer education")
    DOOR_TO_DOOR = "door_to_door", _("Door-to-door visits")


class Topic(models.TextChoices):
    UNSAFE_MIGRATION_RISKS = "unsafe_migration_risks", _("Risks of unsafe migration")
    SAFE_MIGRATION_STEPS = "safe_migration_steps", _("Steps to migrate safely")
    HOTLINES = "hotlines", _("Hotlines and where to get help")
    RIGHTS_AT_WORK = "rights_at_work", _("Rights at work")
    LEGAL_CHANNELS = "legal_channels", _("Legal migration channels")
    CHILD_RIGHTS = "child_rights", _("Children's rights and protection")
    OTHER = "other", _("Other")


class MaterialKind(models.TextChoices):
    LEAFLET = "leaflet", _("Leaflet")
    POSTER = "poster", _("Poster")
    BOOKLET = "booklet", _("Booklet")
    VIDEO = "video", _("Video")
    SONG = "song", _("Song")
    RADIO_SPOT = "radio_spot", _("Radio spot")
    GAME = "game", _("Game")
    OTHER = "other", _("Other")


class Audience(models.TextChoices):
    CHILDREN = "children", _("Children")
    YOUTH = "youth", _("Youth")
    PARENTS = "parents", _("Parents and caregivers")
    COMMUNITY = "community", _("Whole community")
    TEACHERS = "teachers", _("Teachers")
    LEADERS = "leaders", _("Local leaders")


class Material(TimeStampedModel):
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=MaterialKind.choices)
    # A language code: km, vi, en, or another (ethnic minority languages).
    language = models.CharField(_("language"), max_length=10)
    audiences = models.JSONField(_("audiences"), default=list, blank=True)
    topics = models.JSONField(_("topics"), default=list, blank=True)
    agency = models.CharField(_("agency"), max_length=200, blank=True)
    version = models.CharField(_("version"), max_length=40, blank=True)
    description = models.TextField(_("description"), blank=True)
    file = models.FileField(_("file"), upload_to="materials/%Y/", blank=True)
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["title", "id"]
        verbose_name = _("material")
        verbose_name_plural = _("materials")

    def __str__(self) -> str:
        return f"{self.title} ({self.version})" if self.version else self.title


class ReviewerKind(models.TextChoices):
    STAFF = "staff", _("Staff")
    CHILD = "child", _("Child (under 15)")
    YOUTH = "youth", _("Young person (15-24)")


REVIEW_CRITERIA = (
    "accuracy",
    "practical_guidance",
    "referral_information",
    "age_appropriate",
    "language",
)


class MaterialReview(models.Model):
    """One reviewer's scores (1 poor to 5 very good) on the criteria of R7. A child or
    young reviewer is recorded by kind, sex and age only, never by name."""

    material = models.ForeignKey(Material, on_delete=models.CASCADE, related_name="reviews")
    reviewer_kind = models.CharField(_("reviewer"), max_length=6, choices=ReviewerKind.choices)
    reviewer_sex = models.CharField(_("reviewer's sex"), max_length=12, blank=True)
    reviewer_age = models.PositiveSmallIntegerField(_("reviewer's age"), null=True, blank=True)
    reviewed_on = models.DateField(_("reviewed on"))
    accuracy = models.PositiveSmallIntegerField(_("accurate"))
    practical_guidance = models.PositiveSmallIntegerField(_("practical guidance"))
    referral_information = models.PositiveSmallIntegerField(_("referral information present"))
    age_appropriate = models.PositiveSmallIntegerField(_("age-appropriate"))
    language = models.PositiveSmallIntegerField(_("language"))
    best_elements = models.TextField(_("best elements to keep"), blank=True)
    comments = models.TextField(_("comments"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["material_id", "-reviewed_on", "id"]
        verbose_name = _("material review")
        verbose_name_plural = _("material reviews")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    **{f"{c}__gte": 1 for c in REVIEW_CRITERIA},
                    **{f"{c}__lte": 5 for c in REVIEW_CRITERIA},
                ),
                name="interv_review_scores_1_5",
            )
        ]

    def __str__(self) -> str:
        return f"{self.material} / {self.reviewer_kind} {self.reviewed_on}"


class AwarenessEvent(TimeStampedModel):
    held_on = models.DateField(_("date"))
    village = models.ForeignKey(
        "geography.Area", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("type"), max_length=16, choices=EventKind.choices)
    title = models.CharField(_("title"), max_length=200)
    topics = models.JSONField(_("topics"), default=list, blank=True)
    location = models.CharField(_("place"), max_length=200, blank=True)
    facilitators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("facilitators")
    )
    materials = models.ManyToManyField(
        Material, blank=True, related_name="events", verbose_name=_("materials used")
    )
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-held_on", "-id"]
        verbose_name = _("awareness event")
        verbose_name_plural = _("awareness events")
        indexes = [models.Index(fields=["village", "held_on"], name="interv_event_village_date")]

    def __str__(self) -> str:
        return f"{self.title} ({self.held_on})"


class EventAttendance(models.Model):
    """A registered person who attended an awareness event."""

    event = models.ForeignKey(AwarenessEvent, on_delete=models.CASCADE, related_name="attendance")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["event_id", "id"]
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        constraints = [
            models.UniqueConstraint(fields=["event", "person"], name="interv_attendance_once")
        ]

    def __str__(self) -> str:
        return f"{self.event_id}/{self.person_id}"


class EventHeadcount(models.Model):
    """For large events: how many attended, by sex and age band, without names."""

    event = models.ForeignKey(AwarenessEvent, on_delete=models.CASCADE, related_name="headcounts")
    sex = models.CharField(_("sex"), max_length=12)
    age_band = models.CharField(_("age band"), max_length=6)
    count = models.PositiveIntegerField(_("number"))

    class Meta:
        ordering = ["event_id", "sex", "age_band"]
        verbose_name = _("headcount")
        verbose_name_plural = _("headcounts")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "sex", "age_band"], name="interv_headcount_cell"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.sex} {self.age_band}: {self.count}"
