"""Fixtures shared by the whole suite.

The test database (one per xdist worker) is created once per session and the
full geography is loaded into it, so tests see the real areas of Cambodia and
Viet Nam. Tests run in transactions that roll back; a `transaction=True` test
flushes the database and would take the geography with it, so avoid those or
reload in the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    from ctip.geography import loaders

    with django_db_blocker.unblock():
        loaders.load()


@pytest.fixture(autouse=True)
def _english_until_asked() -> Iterator[None]:
    """Each test starts in English: a page served in Khmer must not leak its language
    into the next test's messages (the active language is per thread)."""
    translation.activate("en")
    yield
    translation.deactivate()
