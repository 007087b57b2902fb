"""Choices shared by every component of the prevention model."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Component(models.TextChoices):
    """The prevention model's components plus participation: what a person was reached by."""

    AWARENESS = "awareness", _("Awareness raising")
    TRAINING = "training", _("Vocational training")
    LOAN = "loan", _("Micro-finance loan")
    SAVINGS = "savings", _("Savings group")
    IGA = "iga", _("Income-generating activity")
    EDUCATION = "education", _("Education support")
    PARTICIPATION = "participation", _("Child and youth participation")


class AgeBand(models.TextChoices):
    """The age bands figures are split by (the results framework's defaults)."""

    B0_11 = "0-11", "0-11"
    B12_14 = "12-14", "12-14"
    B15_17 = "15-17", "15-17"
    B18_24 = "18-24", "18-24"
    B25_PLUS = "25+", "25+"


AGE_BAND_LIMITS: list[tuple[str, int, int | None]] = [
    ("0-11", 0, 11),
    ("12-14", 12, 14),
    ("15-17", 15, 17),
    ("18-24", 18, 24),
    ("25+", 25, None),
]


def age_band_for(age: int | None) -> str:
    """The band of an age in whole years ('' when unknown)."""
    if age is None or age < 0:
        return ""
    for band, lo, hi in AGE_BAND_LIMITS:
        if age >= lo and (hi is None or age <= hi):
            return band
    return ""
