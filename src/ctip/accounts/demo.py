"""One demo user per role, in the evaluation's provinces, for `make demo`."""

from __future__ import annotations

from dataclasses import dataclass

from ctip.geography.selectors import resolve_area_code
from ctip.registry.demo import demo_area

from . import services
from .models import User

DEMO_PASSWORD = "ctip-demo-2026"  # noqa: S105  (printed on purpose: demo only)


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    areas: tuple[str, ...]
    first_name: str
    last_name: str
    language: str


def facilitator_commune() -> str:
    """A Svay Rieng commune that holds demo households."""
    return demo_area("20").code


def demo_users() -> list[DemoUser]:
    return [
        DemoUser("admin", "administrator", ("KH", "VN"), "Sokha", "Chan", "en"),
        DemoUser("manager", "programme_manager", ("KH", "VN"), "Lan", "Nguyễn", "vi"),
        DemoUser("mande", "me_officer", ("KH", "VN"), "Dara", "Kim", "en"),
        DemoUser("officer.svayrieng", "provincial_officer", ("KH-20",), "Vanna", "Sok", "km"),
        DemoUser("officer.tayninh", "provincial_officer", ("VN-80",), "Minh", "Trần", "vi"),
        DemoUser("facilitator", "facilitator", (facilitator_commune(),), "Sreymom", "Phan", "km"),
        DemoUser("donor", "donor", ("KH", "VN"), "Alex", "Morgan", "en"),
    ]


def ensure_demo_users(actor: object) -> list[tuple[DemoUser, bool]]:
    """Create the demo users that do not exist yet; returns (user, created)."""
    out = []
    for spec in demo_users():
        if User.objects.filter(username=spec.username).exists():
            out.append((spec, False))
            continue
        areas = [resolve_area_code(code) for code in spec.areas]
        services.user_create(
            actor=actor,
            username=spec.username,
            role=spec.role,
            areas=areas,
            password=DEMO_PASSWORD,
            first_name=spec.first_name,
            last_name=spec.last_name,
            language=spec.language,
        )
        out.append((spec, True))
    return out
