"""Whether a person may be used for a purpose: set-based, for querysets of persons.

A person may be used for a purpose while a consent for it is recorded and not
withdrawn. Use it in every selector that feeds a purpose: services and targeting
need SERVICES, exports to partners DATA_SHARING, photographs PHOTOS.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from .models import Consent


def has_consent(purpose: str, person_ref: str = "pk") -> Exists:
    """An expression true for persons (rows whose `person_ref` is a person id) with an
    active consent for `purpose`: `Person.objects.filter(has_consent("services"))`."""
    return Exists(
        Consent.objects.filter(
            person_id=OuterRef(person_ref), purpose=purpose, withdrawn_at__isnull=True
        )
    )
