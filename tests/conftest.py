"""Fixtures shared by the whole suite.

The test database (one per xdist worker) is created once per session and the
full geography is loaded into it, so tests see the real areas of Cambodia and
Viet Nam. Tests run in transactions that roll back; a `transaction=True` test
flushes the database and would take the geography with it, so avoid those or
reload in the test.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    from ctip.geography import loaders

    with django_db_blocker.unblock():
        loaders.load()
