"""Reads of users: an administrator sees the users who work inside their own areas."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from . import access
from .models import RoleAssignment, User
from .roles import MANAGE_USERS


def users_visible_to(actor: Any) -> QuerySet[User]:
    """Users holding a role inside the actor's user-management scope, and users with no
    role yet (just created, or all roles removed), whom any administrator may pick up."""
    if not access.has_permission(actor, MANAGE_USERS):
        return User.objects.none()
    areas = access.areas_in_scope(actor, MANAGE_USERS).values("id")
    in_scope = RoleAssignment.objects.filter(area_id__in=areas).values("user_id")
    return User.objects.filter(Q(pk__in=in_scope) | Q(assignments__isnull=True)).distinct()
