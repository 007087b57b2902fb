"""The savings-groups API: scoped reads, meetings all or nothing, the ledger and share-out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ctip.core.models import AuditEvent
from ctip.interventions.models import LedgerEntry, SavingsGroup
from ctip.interventions.selectors import savings as sel
from ctip.interventions.services import savings as svc
from tests.interventions import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
FORMED = TODAY - dt.timedelta(days=100)
URL = "/api/v1/savings-groups/"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, url: str, data: dict):
    return client.post(url, data, content_type="application/json")


@pytest.fixture
def world():
    sr = f.village("20")
    fac = f.staff("fac", "facilitator", sr.parent)
    group = svc.group_create(
        actor=fac,
        name="Hope savings",
        village=sr,
        formed_on=FORMED,
        share_value=D("5000"),
        currency="KHR",
    )
    sokha = f.consenting_person(sr, name="Sokha", born=dt.date(1990, 1, 1))
    dara = f.consenting_person(sr, name="Dara", born=dt.date(1990, 1, 1))
    members = [
        svc.member_add(actor=fac, group=group, person=p, joined_on=FORMED) for p in (sokha, dara)
    ]
    return {
        "village": sr,
        "fac": fac,
        "group": group,
        "members": members,
        "outsider": f.staff("out", "facilitator", f.village("14").parent),
        "reader": f.staff("me", "me_officer", "KH-20"),
        "donor": f.staff("donor", "donor", "KH"),
    }


def test_list_and_detail_with_statements_and_reconciliation(world):
    client = _client(world["fac"])
    rows = client.get(URL).json()["results"]
    assert [(r["name"], r["village"], r["member_count"], r["fund"]) for r in rows] == [
        ("Hope savings", world["village"].code, 2, "0.00")
    ]
    events = AuditEvent.objects.filter(action="read").count()
    detail = client.get(f"{URL}{world['group'].pk}/").json()
    assert [m["name"] for m in detail["members"]] == ["Chan Sokha", "Chan Dara"]
    assert detail["reconciliation"]["ok"] is True
    assert AuditEvent.objects.filter(action="read").count() == events + 1


def test_a_fixed_number_of_queries_for_the_list(world):
    client = _client(world["fac"])
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for i in range(5):
        svc.group_create(
            actor=world["fac"],
            name=f"G{i}",
            village=world["village"],
            formed_on=FORMED,
            share_value="100",
            currency="KHR",
        )
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).json()["count"] == 6
    assert len(many) == len(few)


def test_a_meeting_all_or_nothing_with_the_entry_named(world):
    client = _client(world["fac"])
    a, b = world["members"]
    url = f"{URL}{world['group'].pk}/meetings/"
    bad = {
        "held_on": (TODAY - dt.timedelta(days=3)).isoformat(),
        "present": [a.pk, b.pk],
        "entries": [
            {"kind": "shares", "member": a.pk, "shares": 2},
            {"kind": "loan_out", "member": b.pk, "amount": "10001"},
        ],
    }
    response = _post(client, url, bad)
    assert response.status_code == 400
    assert "can never go below zero" in response.json()["entries[2].amount"][0]
    assert not LedgerEntry.objects.exists()
    good = {**bad, "entries": [bad["entries"][0], {**bad["entries"][1], "amount": "10000"}]}
    response = _post(client, url, good)
    assert response.status_code == 201
    assert response.json()["present_count"] == 2 and response.json()["money_in"] == "10000.00"
    ledger = client.get(f"{URL}{world['group'].pk}/ledger/").json()["results"]
    assert [(e["kind"], e["signed"], e["balance"]) for e in ledger] == [
        ("loan_out", "-10000.00", "0.00"),
        ("shares", "10000.00", "10000.00"),
    ]


def test_a_negative_amount_is_refused(world):
    client = _client(world["fac"])
    a, _b = world["members"]
    response = _post(
        client,
        f"{URL}{world['group'].pk}/ledger/",
        {"kind": "fine", "member": a.pk, "amount": "-5", "entry_on": TODAY.isoformat()},
    )
    assert response.status_code == 400
    assert response.json()["amount"] == ["The amount must not be negative."]


def test_members_share_out_and_leave(world):
    client = _client(world["fac"])
    a, b = world["members"]
    group = world["group"]
    newcomer = f.consenting_person(world["village"], name="Vanna")
    response = _post(client, f"{URL}{group.pk}/members/", {"person": newcomer.pk})
    assert response.status_code == 201 and response.json()["name"] == "Chan Vanna"
    svc.meeting_record(
        actor=world["fac"],
        group=group,
        held_on=TODAY - dt.timedelta(days=2),
        entries=[
            {"kind": "shares", "member": a.pk, "shares": 2},
            {"kind": "shares", "member": b.pk, "shares": 1},
            {"kind": "fine", "member": b.pk, "amount": "1"},
        ],
    )
    preview = client.get(f"{URL}{group.pk}/share-out/").json()
    assert preview["fund"] == "15001.00"
    assert [p["amount"] for p in preview["payouts"]] == ["10001.00", "5000.00"]
    assert LedgerEntry.objects.filter(kind="share_out").count() == 0
    done = _post(client, f"{URL}{group.pk}/share-out/", {"on": TODAY.isoformat()})
    assert done.status_code == 200
    assert sel.fund_balance(group) == 0
    response = _post(
        client, f"{URL}{group.pk}/members/{a.pk}/leave/", {"left_on": TODAY.isoformat()}
    )
    assert response.status_code == 200 and response.json()["left_on"] == TODAY.isoformat()


def test_forming_a_group(world):
    client = _client(world["fac"])
    data = {
        "name": "New",
        "village": world["village"].code,
        "formed_on": TODAY.isoformat(),
        "share_value": "0",
        "currency": "KHR",
    }
    response = _post(client, URL, data)
    assert response.status_code == 400
    assert response.json() == {"share_value": ["The amount must be more than 0."]}
    response = _post(client, URL, {**data, "share_value": "2500"})
    assert response.status_code == 201 and response.json()["cycle_started_on"] == TODAY.isoformat()
    response = _post(client, URL, {**data, "village": f.village("14").code, "share_value": "1"})
    assert response.status_code == 403


@pytest.mark.parametrize("who", ["anonymous", "donor", "outsider", "reader"])
def test_denied_callers_change_nothing(world, who):
    client = Client() if who == "anonymous" else _client(world[who])
    group, (a, _b) = world["group"], world["members"]
    events = AuditEvent.objects.count()
    reads = {
        "anonymous": (401, 403),
        "donor": (403,),
        "outsider": (404,),
        "reader": (200,),
    }[who]
    assert client.get(f"{URL}{group.pk}/").status_code in reads
    if who == "reader":
        events = AuditEvent.objects.count()
    writes = [
        (f"{URL}{group.pk}/meetings/", {"held_on": TODAY.isoformat(), "entries": []}),
        (
            f"{URL}{group.pk}/ledger/",
            {"kind": "fine", "member": a.pk, "amount": "1", "entry_on": TODAY.isoformat()},
        ),
        (f"{URL}{group.pk}/share-out/", {"on": TODAY.isoformat()}),
        (f"{URL}{group.pk}/members/", {"person": a.person_id}),
    ]
    expected = {"anonymous": (401, 403), "donor": (403,), "outsider": (404,), "reader": (403,)}
    for url, data in writes:
        assert _post(client, url, data).status_code in expected[who], url
    response = client.patch(f"{URL}{group.pk}/", {"name": "X"}, content_type="application/json")
    assert response.status_code in expected[who]
    assert not LedgerEntry.objects.exists() and not group.meetings.exists()
    assert SavingsGroup.objects.get().name == "Hope savings"
    assert AuditEvent.objects.count() == events
    if who == "outsider":
        assert client.get(URL).json()["count"] == 0
