from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ctip.accounts import access
from ctip.accounts.roles import (
    IMPORT_REGISTRY,
    MANAGE_INSTRUMENTS,
    MANAGE_USERS,
    MERGE_PERSONS,
    VIEW_AGGREGATES,
    VIEW_AREAS,
    VIEW_AUDIT,
    VIEW_PERSONS,
)
from ctip.core.languages import LANGUAGE_NAMES

# (url name, label, permission needed or None)
NAV = [
    ("core:home", _("Home"), None),
    ("registry:household-list", _("Households"), VIEW_PERSONS),
    ("registry:person-list", _("Persons"), VIEW_PERSONS),
    ("vulnerability:assessment-list", _("Assessments"), VIEW_PERSONS),
    ("vulnerability:targeting-list", _("Targeting"), VIEW_PERSONS),
    # Everyone who records interventions also sees figures; donors reach the summary here.
    ("interventions:home", _("Interventions"), VIEW_AGGREGATES),
    ("registry:duplicate-list", _("Duplicates"), MERGE_PERSONS),
    ("registry:import-list", _("Imports"), IMPORT_REGISTRY),
    ("vulnerability:instrument-list", _("Instruments"), MANAGE_INSTRUMENTS),
    ("vulnerability:calibration-list", _("Calibration"), MANAGE_INSTRUMENTS),
    ("geography:browse", _("Areas"), VIEW_AREAS),
    ("accounts:user-list", _("Users"), MANAGE_USERS),
    ("core:audit-list", _("Audit trail"), VIEW_AUDIT),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not access.is_active_user(user):
        return {"nav_items": [], "language_names": LANGUAGE_NAMES}
    items = []
    for name, label, permission in NAV:
        if permission and not access.has_permission(user, permission):
            continue
        url = reverse(name)
        active = request.path == url if url == "/" else request.path.startswith(url)
        items.append({"url": url, "label": label, "active": active})
    return {"nav_items": items, "language_names": LANGUAGE_NAMES}
