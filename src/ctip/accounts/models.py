from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ctip.core.languages import LANGUAGE_NAMES

from .roles import ROLE_CHOICES


class User(AbstractUser):
    language = models.CharField(_("language"), max_length=5, choices=LANGUAGE_NAMES, default="en")
    phone = models.CharField(_("phone"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]


class RoleAssignment(models.Model):
    """A user holds a role in an area (and everything below it)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField(_("role"), max_length=30, choices=ROLE_CHOICES)
    area = models.ForeignKey(
        "geography.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "area"], name="assignment_unique")
        ]
        verbose_name = _("role assignment")
        ordering = ["role", "area__path"]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.area}"
