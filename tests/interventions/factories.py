"""People, places and staff for the interventions tests, built through the services.

    from tests.interventions import factories as f

    sr, pv = f.village("20"), f.village("14")          # first village of Svay Rieng, Prey Veng
    child = f.consenting_person(sr, born=dt.date(2012, 3, 1), sex="female")
    no_consent = f.consenting_person(sr, purposes=())   # registered, no services consent
    fac = f.staff("fac", "facilitator", sr.parent.code) # a role in an area (code or Area)

Persons are registered by an administrator of both countries ("if-registrar") with
registration and services consent unless `purposes` says otherwise; children's
consent is given by a named parent with the child's assent.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Any

from ctip.accounts.models import RoleAssignment, User
from ctip.geography.models import Area, Level
from ctip.geography.selectors import resolve_area_code
from ctip.registry import services as registry
from ctip.registry.models import Household, Person
from tests.helpers import PASSWORD

_codes = itertools.count(1)


def village(province_code: str, country: str = "KH", index: int = 0) -> Area:
    """The index-th village (by code) of a province of the real geography."""
    province = Area.objects.get(country=country, level=Level.PROVINCE, code=province_code)
    return Area.objects.filter(level=Level.VILLAGE, path__startswith=province.path).order_by(
        "code"
    )[index]


def registrar() -> User:
    user, created = User.objects.get_or_create(username="if-registrar")
    if created:
        for country in ("KH", "VN"):
            RoleAssignment.objects.create(
                user=user, role="administrator", area=resolve_area_code(country)
            )
    return user


def staff(username: str, role: str, *areas: Area | str) -> User:
    """A user holding `role` in each area (an Area or an official code such as 'KH-20')."""
    user = User.objects.create_user(username=username, password=PASSWORD)
    for where in areas:
        area = where if isinstance(where, Area) else resolve_area_code(where)
        RoleAssignment.objects.create(user=user, role=role, area=area)
    return user


def household_in(where: Area) -> Household:
    return registry.household_create(
        actor=registrar(), village=where, code=f"IF-{next(_codes):05d}"
    )


def consenting_person(
    where: Area,
    *,
    born: dt.date | None = dt.date(2008, 5, 1),
    sex: str = "female",
    name: str = "Sophea",
    household: Household | None = None,
    purposes: Iterable[str] = ("registration", "services"),
    relationship: str = "",
) -> Person:
    """A registered person with consent for `purposes`, given on 1 January 2026."""
    actor = registrar()
    household = household or household_in(where)
    head_exists = household.members.filter(relationship="head").exists()
    person = registry.person_create(
        actor=actor,
        household=household,
        relationship=relationship or ("child" if head_exists else "head"),
        sex=sex,
        given_name_latin=name,
        family_name_latin="Chan",
        date_of_birth=born,
    )
    given_on = dt.date(2026, 1, 1)
    adult = born is None or (given_on - born).days >= 18 * 365.25
    for purpose in purposes:
        kwargs: dict[str, Any] = (
            {"given_by": "self"}
            if adult
            else {"given_by": "parent", "giver_name": "Chan Dara", "child_assent": True}
        )
        registry.consent_record(
            actor=actor,
            person=person,
            purpose=purpose,
            given_on=given_on,
            method="signed",
            **kwargs,
        )
    return person
