"""Child and community participation (R6): clubs and forums, their events, who took
part, what they decided or reported, and what became of their recommendations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ctip.core.models import TimeStampedModel


class GroupKind(models.TextChoices):
    CHILDRENS_CLUB = "childrens_club", _("Children's club")
    YOUTH_CLUB = "youth_club", _("Youth club")
    FORUM = "forum", _("Children's or youth forum")


class ParticipationGroup(TimeStampedModel):
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=GroupKind.choices)
    area = models.ForeignKey(
        "geography.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    formed_on = models.DateField(_("formed on"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("club or forum")
        verbose_name_plural = _("clubs and forums")

    def __str__(self) -> str:
        return self.name


class ParticipationEventKind(models.TextChoices):
    CLUB_MEETING = "club_meeting", _("Club meeting")
    FORUM = "forum", _("Forum")
    CULTURAL_EVENT = "cultural_event", _("Cultural event")
    CHILD_LED_MONITORING = "child_led_monitoring", _("Child-led monitoring")


class ParticipationEvent(TimeStampedModel):
    group = models.ForeignKey(
        ParticipationGroup,
        verbose_name=_("club or forum"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
    )
    kind = models.CharField(_("type"), max_length=22, choices=ParticipationEventKind.choices)
    held_on = models.DateField(_("date"))
    area = models.ForeignKey(
        "geography.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    # What the children and youth decided or reported, in their words.
    summary = models.TextField(_("what they decided or reported"), blank=True)
    # For child-led monitoring: the community activity they monitored.
    monitored_activity = models.CharField(_("activity monitored"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-held_on", "-id"]
        verbose_name = _("participation event")
        verbose_name_plural = _("participation events")

    def __str__(self) -> str:
        return f"{self.title} ({self.held_on})"


class ParticipantRole(models.TextChoices):
    PARTICIPANT = "participant", _("Participant")
    LEADER = "leader", _("Peer leader")
    SPEAKER = "speaker", _("Speaker or presenter")


class Participant(models.Model):
    event = models.ForeignKey(
        ParticipationEvent, on_delete=models.CASCADE, related_name="participants"
    )
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(
        _("role"),
        max_length=12,
        choices=ParticipantRole.choices,
        default=ParticipantRole.PARTICIPANT,
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["event_id", "id"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(fields=["event", "person"], name="interv_participant_once")
        ]

    def __str__(self) -> str:
        return f"{self.event_id}/{self.person_id}"


class RecommendationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACCEPTED = "accepted", _("Accepted, in progress")
    DONE = "done", _("Acted on")
    DECLINED = "declined", _("Declined, with reasons")


class Recommendation(TimeStampedModel):
    event = models.ForeignKey(
        ParticipationEvent, on_delete=models.CASCADE, related_name="recommendations"
    )
    text = models.TextField(_("recommendation"))
    addressed_to = models.CharField(_("addressed to"), max_length=200, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=RecommendationStatus.choices,
        default=RecommendationStatus.OPEN,
    )
    response = models.TextField(_("response and follow-up"), blank=True)
    due_on = models.DateField(_("answer due"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["event_id", "id"]
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")

    def __str__(self) -> str:
        return self.text[:80]
