from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from ctip.accounts.models import RoleAssignment, User
from ctip.geography.models import Area


def area(country: str, code: str, level: str, on_or_before_reform: bool = False) -> Area:
    qs = Area.objects.filter(country=country, code=code, level=level)
    return qs.get(valid_to__isnull=False) if on_or_before_reform else qs.get(valid_to__isnull=True)


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(username: str, role: str | None = None, area: Area | None = None) -> User:
        user = User.objects.create_user(username=username, password="pw-for-tests-only")
        if role and area:
            RoleAssignment.objects.create(user=user, role=role, area=area)
        return user

    return make


@pytest.fixture
def kh() -> Area:
    return Area.objects.get(level="country", code="KH")


@pytest.fixture
def vn() -> Area:
    return Area.objects.get(level="country", code="VN")


@pytest.fixture
def reader(make_user: Callable[..., User], kh: Area) -> User:
    return make_user("reader", "donor", kh)


@pytest.fixture
def api(reader: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(reader)
    return client
