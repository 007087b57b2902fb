"""The registry pages that write, as a facilitator on a phone would use them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client

from ctip.core.models import AuditEvent
from ctip.registry.models import Consent, Household, Person

from .conftest import World


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _member(n: int, **values: Any) -> dict[str, Any]:
    return {f"m-{n}-{k}": v for k, v in values.items()}


def _form(world: World, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "m-TOTAL_FORMS": "6",
        "m-INITIAL_FORMS": "0",
        "m-MIN_NUM_FORMS": "0",
        "m-MAX_NUM_FORMS": "20",
        "village": world.sr_village.code,
        "code": "SR-WEB-1",
        "poverty_status": "poor_2",
        "income_sources": ["farming", "wage_labour"],
        "members_working_away": "2",
        "members_with_disability": "0",
        "currency": "KHR",
        "debt_amount": "900000",
        "lenders": ["relatives"],
        **_member(
            0,
            relationship="head",
            sex="male",
            family_name_latin="Keo",
            given_name_latin="Samnang",
            age="44",
            school_status="unknown",
        ),
        **_member(
            1,
            relationship="child",
            sex="female",
            family_name_latin="Keo",
            given_name_latin="Bopha",
            date_of_birth="2011-05-02",
            school_status="at_risk",
            id_documents=["birth_certificate"],
        ),
        **_member(
            2,
            relationship="child",
            sex="male",
            family_name_latin="Keo",
            given_name_latin="Rithy",
            age="17",
            school_status="dropped_out",
        ),
        **_member(
            3,
            relationship="child",
            sex="other",
            family_name_latin="Keo",
            given_name_latin="Mealea",
            age="9",
            school_status="enrolled",
        ),
    }
    data.update(extra)
    return data


def test_facilitator_registers_a_household_on_the_web(world: World) -> None:
    client = _client(world.facilitator)
    assert client.get("/registry/households/new/").status_code == 200
    response = client.post("/registry/households/new/", _form(world))
    household = Household.objects.get(code="SR-WEB-1")
    assert response.status_code == 302
    assert response["Location"] == f"/registry/households/{household.pk}/"
    assert household.members_working_away == 2 and household.lenders == ["relatives"]
    members = list(household.members.order_by("id"))
    assert [m.given_name_latin for m in members] == ["Samnang", "Bopha", "Rithy", "Mealea"]
    assert members[0].dob_estimated and members[0].age == 44
    assert members[1].school_status == "at_risk"
    page = client.get(f"/registry/households/{household.pk}/").content.decode()
    assert "Bopha" in page and "Relatives or neighbours" in page


def test_member_errors_show_on_the_member_and_nothing_is_written(world: World) -> None:
    before = (Household.objects.count(), Person.objects.count())
    data = _form(
        world, **_member(1, date_of_birth=(dt.date.today() + dt.timedelta(days=3)).isoformat())
    )
    response = _client(world.facilitator).post("/registry/households/new/", data)
    assert response.status_code == 200
    assert "The date of birth is in the future." in response.content.decode()
    assert (Household.objects.count(), Person.objects.count()) == before


def test_a_possible_duplicate_is_shown_before_saving(world: World) -> None:
    client = _client(world.facilitator)
    data = _form(
        world,
        **_member(
            1,
            family_name_latin="Sok",
            given_name_latin="Sreymom",
            family_name_local="សុខ",
            given_name_local="ស្រីមុំ",
            sex="female",
            date_of_birth="2009-03-01",
        ),
    )
    response = client.post("/registry/households/new/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "may already be registered" in page and f"/registry/persons/{world.sr_person.pk}/" in page
    )
    assert not Household.objects.filter(code="SR-WEB-1").exists()
    response = client.post("/registry/households/new/", {**data, "confirm": "on"})
    assert response.status_code == 302
    assert Household.objects.filter(code="SR-WEB-1").exists()


def test_consent_is_recorded_and_withdrawn_from_the_person_page(world: World) -> None:
    client = _client(world.facilitator)
    person = world.sr_person
    page = client.get(f"/registry/persons/{person.pk}/").content.decode()
    assert "Record consent: Referral to and delivery of services" in page
    response = client.post(
        f"/registry/persons/{person.pk}/consent/",
        {
            "purpose": "services",
            "given_on": "2025-01-05",
            "given_by": "self",
            "method": "signed",
            "child_assent": "unknown",
        },
    )
    # She was 15 then: her parent must consent.
    assert response.status_code == 200
    assert "a parent or guardian must give consent under 18" in response.content.decode()
    response = client.post(
        f"/registry/persons/{person.pk}/consent/",
        {
            "purpose": "services",
            "given_on": "2025-01-05",
            "given_by": "parent",
            "giver_name": "Sok Sophal",
            "child_assent": "true",
            "method": "signed",
        },
    )
    assert response.status_code == 302
    consent = Consent.objects.get(person=person, purpose="services")
    response = client.post(f"/registry/consents/{consent.pk}/withdraw/", {"reason": "Moved"})
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None and consent.withdrawal_reason == "Moved"
    assert AuditEvent.objects.filter(action="consent.withdraw", actor=world.facilitator).exists()


def test_edit_pages_are_scoped(world: World) -> None:
    client = _client(world.facilitator)
    assert client.get(f"/registry/persons/{world.pv_person.pk}/edit/").status_code == 404
    assert client.get(f"/registry/households/{world.pv_household.pk}/edit/").status_code == 404
    response = client.post(
        f"/registry/persons/{world.sr_person.pk}/edit/",
        {
            "relationship": "head",
            "sex": "female",
            "family_name_latin": "Sok",
            "given_name_latin": "Sreymom",
            "date_of_birth": "2009-03-01",
            "school_status": "dropped_out",
        },
    )
    assert response.status_code == 302
    world.sr_person.refresh_from_db()
    assert world.sr_person.school_status == "dropped_out"
    # An M&E officer reads but does not edit.
    assert _client(world.me).get(f"/registry/persons/{world.sr_person.pk}/edit/").status_code == 403
