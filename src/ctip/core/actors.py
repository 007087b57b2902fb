"""Actors that are not signed-in users: the command line and the system itself."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SystemActor:
    """Someone with shell access to the server (the `ctip` command), or ctip itself.

    They hold every permission everywhere: whoever runs `ctip` can read the database
    anyway. What they do is still audited under this name.
    """

    username: str
    is_system: bool = True
    is_authenticated: bool = False
    is_active: bool = True
    pk: None = None


def cli_actor() -> SystemActor:
    try:
        who = getpass.getuser()
    except Exception:  # no login name in some containers
        who = "unknown"
    return SystemActor(username=f"cli:{who}")


SYSTEM = SystemActor(username="system")


def author(actor: object) -> Any:
    """The user to store in a `*_by` column: the signed-in user, or None when the
    system or the command line acts (they are named in the audit trail instead)."""
    return actor if getattr(actor, "is_authenticated", False) else None
