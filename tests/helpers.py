"""Small helpers shared by tests: users with roles in real areas."""

from __future__ import annotations

from ctip.accounts.models import RoleAssignment, User
from ctip.geography.selectors import resolve_area_code

PASSWORD = "a-long-test-password-1"


def make_user(username: str, role: str, *codes: str, **extra: object) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, **extra)  # type: ignore[arg-type]
    for code in codes:
        RoleAssignment.objects.create(user=user, role=role, area=resolve_area_code(code))
    return user
