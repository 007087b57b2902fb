"""Who may do what, where. Every person-level selector starts here.

A user's scope for a permission is the set of areas they hold a role with that
permission in, plus everything below them. Areas that a held area succeeded
(Viet Nam's pre-July-2025 provinces merged into today's) are included, so
records made under the old units stay visible to today's officers.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from ctip.geography.models import Area, AreaQuerySet, AreaSuccession

from .models import RoleAssignment
from .roles import ROLES

_CACHE_ATTR = "_ctip_access_cache"


def _assignments(user: Any) -> list[tuple[str, int, str]]:
    cache = getattr(user, _CACHE_ATTR, None)
    if cache is None:
        cache = list(
            RoleAssignment.objects.filter(user_id=user.pk).values_list(
                "role", "area_id", "area__path"
            )
        )
        setattr(user, _CACHE_ATTR, cache)
    return cache


def forget(user: Any) -> None:
    """Drop the per-object cache after the user's assignments changed."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def is_system(user: Any) -> bool:
    return bool(getattr(user, "is_system", False))


def is_active_user(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def has_permission(user: Any, permission: str) -> bool:
    if is_system(user):
        return True
    if not is_active_user(user):
        return False
    return any(permission in ROLES[role].permissions for role, _, _ in _assignments(user))


def require(user: Any, permission: str) -> None:
    if not has_permission(user, permission):
        raise PermissionDenied(permission)


def role_slugs(user: Any) -> set[str]:
    if not is_active_user(user):
        return set()
    return {role for role, _, _ in _assignments(user)}


def scope_paths(user: Any, permission: str) -> list[str]:
    """Materialised paths of the areas (and predecessors) the permission is held in."""
    if is_system(user):
        return ["/"]
    if not is_active_user(user):
        return []
    held = [
        (area_id, path)
        for role, area_id, path in _assignments(user)
        if permission in ROLES[role].permissions
    ]
    if not held:
        return []
    paths = {path for _, path in held}
    predecessor_paths = AreaSuccession.objects.filter(
        successor_id__in=[area_id for area_id, _ in held]
    ).values_list("predecessor__path", flat=True)
    paths.update(predecessor_paths)
    # Drop paths already covered by a shorter one.
    ordered = sorted(paths, key=len)
    kept: list[str] = []
    for p in ordered:
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    return kept


def areas_in_scope(user: Any, permission: str) -> AreaQuerySet:
    return Area.objects.within(scope_paths(user, permission))


def can_act_in(user: Any, permission: str, area: Area) -> bool:
    return any(area.path.startswith(p) for p in scope_paths(user, permission))


def require_in(user: Any, permission: str, area: Area) -> None:
    if not can_act_in(user, permission, area):
        raise PermissionDenied(permission)
