"""People and places for the registry tests: a Svay Rieng commune with its facilitator,
a Prey Veng province with its officer, a donor, an M&E officer, an administrator."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from ctip.accounts.models import RoleAssignment, User
from ctip.geography.models import Area, Level
from ctip.registry import services
from ctip.registry.models import Household, Person

from .geo import area

# The Prey Veng person: the name that must never reach someone outside Prey Veng.
PV_FAMILY_LOCAL, PV_GIVEN_LOCAL = "យូស", "ភក្ត្រា"
PV_FAMILY_LATIN, PV_GIVEN_LATIN = "Yous", "Pheaktra"
SR_GIVEN_LATIN = "Sreymom"


@dataclass
class World:
    admin: Any
    facilitator: Any  # Svay Rieng, one commune
    officer_pv: Any  # Prey Veng province
    donor: Any
    me: Any  # M&E officer, all of Cambodia
    sr_commune: Area
    sr_village: Area
    pv_village: Area
    sr_household: Household
    pv_household: Household
    sr_person: Person
    pv_person: Person


def make_user(username: str, *assignments: tuple[str, Area]) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username)
    for role, where in assignments:
        RoleAssignment.objects.create(user=user, role=role, area=where)
    return user


def first_village_under(province: Area) -> Area:
    return (
        Area.objects.filter(level=Level.VILLAGE, path__startswith=province.path)
        .order_by("code")
        .first()
    )  # type: ignore[return-value]


@pytest.fixture
def geography(db: None) -> None:
    """The real geography, loaded once per test database by tests/conftest.py."""


@pytest.fixture
def world(geography: None) -> World:
    kh = area("KH", level=Level.COUNTRY)
    vn = area("VN", level=Level.COUNTRY)
    sr = area("20", country="KH", level=Level.PROVINCE)
    pv = area("14", country="KH", level=Level.PROVINCE)
    sr_village = first_village_under(sr)
    sr_commune = sr_village.parent
    assert sr_commune is not None and sr_commune.level == Level.COMMUNE
    pv_village = first_village_under(pv)
    admin = make_user("admin", ("administrator", kh), ("administrator", vn))
    facilitator = make_user("fac_sr", ("facilitator", sr_commune))
    officer_pv = make_user("officer_pv", ("provincial_officer", pv))
    donor = make_user("donor", ("donor", kh))
    me = make_user("me", ("me_officer", kh))
    sr_household = services.household_create(actor=admin, village=sr_village, code="T-SR-1")
    pv_household = services.household_create(actor=admin, village=pv_village, code="T-PV-1")
    sr_person = services.person_create(
        actor=admin,
        household=sr_household,
        relationship="head",
        sex="female",
        family_name_local="សុខ",
        given_name_local="ស្រីមុំ",
        family_name_latin="Sok",
        given_name_latin=SR_GIVEN_LATIN,
        date_of_birth=dt.date(2009, 3, 1),
    )
    pv_person = services.person_create(
        actor=admin,
        household=pv_household,
        relationship="head",
        sex="male",
        family_name_local=PV_FAMILY_LOCAL,
        given_name_local=PV_GIVEN_LOCAL,
        family_name_latin=PV_FAMILY_LATIN,
        given_name_latin=PV_GIVEN_LATIN,
        date_of_birth=dt.date(2006, 8, 15),
    )
    # Both consented to sharing (the export includes only such persons).
    services.consent_record(
        actor=admin,
        person=sr_person,
        purpose="data_sharing",
        given_on=dt.date(2024, 1, 10),
        given_by="parent",
        giver_name="Sok Sophal",
        child_assent=True,
        method="signed",
    )
    services.consent_record(
        actor=admin,
        person=pv_person,
        purpose="data_sharing",
        given_on=dt.date(2024, 9, 1),
        given_by="self",
        method="thumbprint",
    )
    return World(
        admin,
        facilitator,
        officer_pv,
        donor,
        me,
        sr_commune,
        sr_village,
        pv_village,
        sr_household,
        pv_household,
        sr_person,
        pv_person,
    )
