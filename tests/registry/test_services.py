"""household_create and person_create: audited, clear errors, nothing half written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ctip.core.audit import MASK
from ctip.core.models import AuditEvent
from ctip.registry import services
from ctip.registry.models import Household, Person

from .conftest import World


def _counts() -> tuple[int, int, int]:
    return Household.objects.count(), Person.objects.count(), AuditEvent.objects.count()


def test_household_create_writes_an_audit_event(world: World) -> None:
    household = services.household_create(
        actor=world.facilitator, village=world.sr_village, code="SR-NEW-1", address="Road 1"
    )
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.object_type, event.object_id) == (
        "create",
        "registry.household",
        str(household.pk),
    )
    assert event.actor_id == world.facilitator.pk
    assert event.changes["village"]["after"] == world.sr_village.code
    assert household.created_by == world.facilitator


def test_person_create_writes_an_audit_event_with_the_birth_date_masked(world: World) -> None:
    person = services.person_create(
        actor=world.facilitator,
        household=world.sr_household,
        relationship="child",
        sex="other",
        given_name_local="រស្មី",
        given_name_latin="Reaksmey",
        family_name_latin="Sok",
        date_of_birth=dt.date(2015, 1, 2),
    )
    assert person.search_text == services.person_search_text(person)
    assert "reaksmey" in person.search_text and "រស្មី" in person.search_text
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.object_id) == ("create", str(person.pk))
    assert event.changes["date_of_birth"] == {"before": None, "after": MASK}
    assert event.changes["sex"]["after"] == "other"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sex": "x"}, "sex"),
        ({"relationship": "cousin"}, "relationship"),
        ({"given_name_local": "", "given_name_latin": ""}, "given_name_local"),
        ({"date_of_birth": dt.date.today() + dt.timedelta(days=3)}, "date_of_birth"),
    ],
)
def test_person_create_names_the_bad_field_and_writes_nothing(
    world: World, kwargs: dict[str, object], field: str
) -> None:
    before = _counts()
    args: dict[str, object] = {
        "relationship": "child",
        "sex": "female",
        "given_name_latin": "Dara",
        **kwargs,
    }
    with pytest.raises(ValidationError) as caught:
        services.person_create(actor=world.facilitator, household=world.sr_household, **args)  # type: ignore[arg-type]
    assert list(caught.value.message_dict) == [field]
    assert _counts() == before


def test_household_create_wants_a_village_and_a_fresh_code(world: World) -> None:
    before = _counts()
    with pytest.raises(ValidationError) as caught:
        services.household_create(actor=world.facilitator, village=world.sr_commune, code="X-1")
    assert "village" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.household_create(
            actor=world.admin, village=world.sr_village, code=world.sr_household.code
        )
    assert "code" in caught.value.message_dict
    assert _counts() == before


def test_wrong_area_is_denied_with_nothing_written(world: World) -> None:
    before = _counts()
    with pytest.raises(PermissionDenied):
        services.household_create(actor=world.facilitator, village=world.pv_village, code="X-2")
    with pytest.raises(PermissionDenied):
        services.person_create(
            actor=world.facilitator,
            household=world.pv_household,
            relationship="child",
            sex="male",
            given_name_latin="Dara",
        )
    assert _counts() == before


@pytest.mark.parametrize("who", ["donor", "me"])
def test_roles_without_change_rights_are_denied(world: World, who: str) -> None:
    before = _counts()
    with pytest.raises(PermissionDenied):
        services.household_create(actor=getattr(world, who), village=world.sr_village, code="X-3")
    assert _counts() == before
