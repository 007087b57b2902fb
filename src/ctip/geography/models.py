from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    COUNTRY = "country", _("Country")
    PROVINCE = "province", _("Province")
    DISTRICT = "district", _("District")
    COMMUNE = "commune", _("Commune")
    VILLAGE = "village", _("Village")


LEVEL_DEPTH = {
    Level.COUNTRY: 0,
    Level.PROVINCE: 1,
    Level.DISTRICT: 2,
    Level.COMMUNE: 3,
    Level.VILLAGE: 4,
}


class AreaQuerySet(models.QuerySet["Area"]):
    def valid_on(self, day: dt.date) -> AreaQuerySet:
        return self.filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=day),
            Q(valid_to__isnull=True) | Q(valid_to__gte=day),
        )

    def within(self, paths: list[str]) -> AreaQuerySet:
        """Areas at or below any of the given materialised paths."""
        if not paths:
            return self.none()
        cond = Q()
        for p in paths:
            cond |= Q(path__startswith=p)
        return self.filter(cond)


class Area(models.Model):
    """An administrative unit (or a country) valid over a period.

    Identity is the published code *and* the validity period: Viet Nam reused
    GSO codes in July 2025 (80 was Long An, is now Tây Ninh).
    """

    country = models.CharField(_("country"), max_length=2, db_index=True)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    code = models.CharField(_("code"), max_length=20, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Materialised path of ids ("/1/27/311/"): descendants are one indexed prefix scan.
    path = models.CharField(max_length=255, db_index=True, editable=False)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    name_km = models.CharField(_("name (Khmer)"), max_length=200, blank=True)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=200, blank=True)
    division_type = models.CharField(_("type"), max_length=60, blank=True)
    # Case-, tone- and diacritic-free names in every script, for search.
    search_text = models.CharField(max_length=700, blank=True, editable=False)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=60)
    note = models.CharField(_("note"), max_length=300, blank=True)
    # The published list gives this code to more than one unit (a source error); the
    # code alone cannot identify the unit, so it is exempt from the per-parent uniqueness.
    code_shared = models.BooleanField(_("code shared in source"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = AreaQuerySet.as_manager()

    class Meta:
        ordering = ["country", "path"]
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "code"],
                condition=Q(valid_from__isnull=True)
                & Q(parent__isnull=False)
                & Q(code_shared=False),
                name="area_unique_code_under_parent",
            ),
            models.UniqueConstraint(
                fields=["parent", "code", "valid_from"],
                condition=Q(valid_from__isnull=False)
                & Q(parent__isnull=False)
                & Q(code_shared=False),
                name="area_unique_code_under_parent_from",
            ),
            models.UniqueConstraint(
                fields=["code"], condition=Q(parent__isnull=True), name="area_unique_country_code"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gte=models.F("valid_from")),
                name="area_valid_period_ordered",
            ),
        ]
        indexes = [models.Index(fields=["country", "level", "code"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def name(self) -> str:
        """The name in the active language, falling back to the local then English name."""
        lang = translation.get_language() or "en"
        local = self.name_km if self.country == "KH" else self.name_vi
        by_lang = {"en": self.name_en, "km": self.name_km, "vi": self.name_vi}
        return by_lang.get(lang[:2]) or local or self.name_en or self.code

    @property
    def local_name(self) -> str:
        return (self.name_km if self.country == "KH" else self.name_vi) or self.name_en

    def is_valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or self.valid_to >= day
        )


class AreaSuccession(models.Model):
    """`predecessor` became (all or part of) `successor` on `effective`."""

    predecessor = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="successions")
    successor = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="predecessions")
    effective = models.DateField(_("effective"))
    legal_basis = models.CharField(_("legal basis"), max_length=120, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["predecessor", "successor"], name="area_succession_unique"
            )
        ]
        verbose_name = _("area succession")

    def __str__(self) -> str:
        return f"{self.predecessor} → {self.successor} ({self.effective})"


class GeographySource(models.Model):
    """What `ctip geography load` loaded, so running it again is a no-op."""

    name = models.CharField(max_length=60, unique=True)
    checksum = models.CharField(max_length=64)
    rows = models.IntegerField(default=0)
    loaded_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
