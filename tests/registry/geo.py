"""Areas for registry tests, looked up in the real geography that tests/conftest.py
loads once per test database."""

from __future__ import annotations

import datetime as dt

from ctip.geography.models import Area

REFORM = dt.date(2025, 7, 1)


def area(code: str, *, country: str = "", level: str = "", era: str = "") -> Area:
    """One area by code; `era` 'before'/'after' picks Viet Nam's structure."""
    qs = Area.objects.filter(code=code)
    if country:
        qs = qs.filter(country=country)
    if level:
        qs = qs.filter(level=level)
    if era == "before":
        qs = qs.filter(valid_to__lt=REFORM)
    elif era == "after":
        qs = qs.filter(valid_from__gte=REFORM)
    return qs.get()
