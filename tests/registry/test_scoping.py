"""The scoping proof: every registry endpoint and page, for every kind of user.

Nobody sees a person outside the areas they hold a role in; a denied read changes
nothing and leaves no 'read' event; a permitted single read leaves exactly one."""

from __future__ import annotations

import pytest
from django.test import Client

from ctip.core.models import AuditEvent
from ctip.registry.models import Household, Person

from .conftest import PV_FAMILY_LATIN, PV_GIVEN_LATIN, PV_GIVEN_LOCAL, SR_GIVEN_LATIN, World

# Searches use part of the name, so the full name in a page is a leak, not the echoed query.
PV_LATIN_PART, PV_LOCAL_PART = PV_GIVEN_LATIN[:5].lower(), PV_GIVEN_LOCAL[:4]
assert PV_LATIN_PART != PV_GIVEN_LATIN and PV_LOCAL_PART != PV_GIVEN_LOCAL

# endpoint -> url template ({pv} is the Prey Veng person, {pvh} their household)
ENDPOINTS = {
    "api-person-list": "/api/v1/persons/",
    "api-person-search": "/api/v1/persons/?q=" + PV_LATIN_PART,
    "api-person-detail": "/api/v1/persons/{pv}/",
    "api-household-list": "/api/v1/households/",
    "api-household-detail": "/api/v1/households/{pvh}/",
    "page-household-list": "/registry/households/",
    "page-household-detail": "/registry/households/{pvh}/",
    "page-person-list": "/registry/persons/?q=",
    "page-person-search": "/registry/persons/?q=" + PV_LATIN_PART,
    "page-person-search-khmer": "/registry/persons/?q=" + PV_LOCAL_PART,
    "page-person-detail": "/registry/persons/{pv}/",
    "csv-export": "/registry/persons/export.csv?q=",
}
LISTS = {k for k in ENDPOINTS if "detail" not in k and k != "csv-export"}
DETAILS = {k for k in ENDPOINTS if "detail" in k}

# What each kind of user gets from each endpoint, about the Prey Veng person.
UNAUTHENTICATED_API, LOGIN = 401, 302
EXPECTED: dict[str, dict[str, int]] = {
    "anonymous": {k: (UNAUTHENTICATED_API if k.startswith("api") else LOGIN) for k in ENDPOINTS},
    "donor": dict.fromkeys(ENDPOINTS, 403),
    # Lists work but hold only Svay Rieng; Prey Veng records do not exist for them.
    "facilitator": {
        **dict.fromkeys(LISTS, 200),
        **dict.fromkeys(DETAILS, 404),
        "csv-export": 403,  # facilitators do not export person lists
    },
    "officer_pv": dict.fromkeys(ENDPOINTS, 200),
    "me": dict.fromkeys(ENDPOINTS, 200),
}
CASES = [(who, endpoint) for who in EXPECTED for endpoint in ENDPOINTS]


def _body(response) -> str:  # type: ignore[no-untyped-def]
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8")
    return response.content.decode("utf-8")


@pytest.mark.parametrize(("who", "endpoint"), CASES, ids=[f"{w}-{e}" for w, e in CASES])
def test_who_sees_the_prey_veng_person(world: World, who: str, endpoint: str) -> None:
    client = Client()
    if who != "anonymous":
        client.force_login(getattr(world, who))
    url = ENDPOINTS[endpoint].format(pv=world.pv_person.pk, pvh=world.pv_household.pk)
    persons, households = Person.objects.count(), Household.objects.count()
    reads = AuditEvent.objects.filter(action="read").count()
    exports = AuditEvent.objects.filter(action="export").count()

    response = client.get(url)
    body = _body(response)

    expected = EXPECTED[who][endpoint]
    assert response.status_code == expected, body[:500]
    assert Person.objects.count() == persons
    assert Household.objects.count() == households

    sees_prey_veng = who in ("officer_pv", "me") and expected == 200
    if sees_prey_veng:
        # The permitted user does get the record (so the checks below can fail).
        wanted = world.pv_household.code if "household" in endpoint else PV_GIVEN_LATIN
        assert wanted in body
    else:
        for secret in (PV_GIVEN_LATIN, PV_FAMILY_LATIN, PV_GIVEN_LOCAL, world.pv_household.code):
            assert secret not in body, f"{secret} leaked to {who} by {endpoint}"
        assert f'href="/registry/persons/{world.pv_person.pk}/"' not in body
        assert f'href="/registry/households/{world.pv_household.pk}/"' not in body
        if endpoint.startswith("api") and expected == 200:
            ids = [row["id"] for row in response.json()["results"]]
            hidden = world.pv_household.pk if "household" in endpoint else world.pv_person.pk
            assert hidden not in ids

    if who == "facilitator" and endpoint in ("api-person-list", "page-person-list"):
        assert SR_GIVEN_LATIN in body  # the facilitator's own commune is there

    new_reads = AuditEvent.objects.filter(action="read").count() - reads
    if endpoint in DETAILS and expected == 200:
        assert new_reads == 1
    else:
        assert new_reads == 0
    new_exports = AuditEvent.objects.filter(action="export").count() - exports
    assert new_exports == (1 if endpoint == "csv-export" and expected == 200 else 0)


def test_facilitator_reads_own_commune_and_the_read_is_audited(world: World) -> None:
    client = Client()
    client.force_login(world.facilitator)
    response = client.get(f"/api/v1/persons/{world.sr_person.pk}/")
    assert response.status_code == 200
    assert response.json()["given_name_latin"] == SR_GIVEN_LATIN
    assert response.json()["village"] == world.sr_village.code
    event = AuditEvent.objects.filter(action="read").latest("id")
    assert event.actor_id == world.facilitator.pk
    assert event.object_id == str(world.sr_person.pk)


def test_missing_and_out_of_scope_answer_the_same(world: World) -> None:
    client = Client()
    client.force_login(world.facilitator)
    missing = client.get("/api/v1/persons/999999/")
    hidden = client.get(f"/api/v1/persons/{world.pv_person.pk}/")
    assert missing.status_code == hidden.status_code == 404
    assert missing.json() == hidden.json()


def test_export_is_scoped_and_audited_with_filter_and_rows(world: World) -> None:
    client = Client()
    client.force_login(world.officer_pv)
    response = client.get("/registry/persons/export.csv?sex=male")
    body = _body(response)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = body.strip().splitlines()
    assert len(lines) == 2  # header + the Prey Veng person only
    assert PV_GIVEN_LOCAL in lines[1]
    assert SR_GIVEN_LATIN not in body
    event = AuditEvent.objects.filter(action="export").latest("id")
    assert event.actor_id == world.officer_pv.pk
    assert event.changes == {
        "filter": {"sex": "male"},
        "rows": 1,
        "left_out_without_consent": 0,
    }
