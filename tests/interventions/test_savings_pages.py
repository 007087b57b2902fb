"""Savings group pages: what facilitators and officers see and do, and who is turned away."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ctip.core.models import AuditEvent
from ctip.interventions.models import LedgerEntry, SavingsGroup, SavingsMember
from ctip.interventions.selectors import savings as sel
from ctip.interventions.services import savings as svc
from tests.interventions import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
FORMED = TODAY - dt.timedelta(days=100)


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
    members = [
        svc.member_add(
            actor=fac,
            group=group,
            person=f.consenting_person(sr, name=n, born=dt.date(1990, 1, 1)),
            joined_on=FORMED,
        )
        for n in ("Sokha", "Dara")
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


def _meeting_post(group: SavingsGroup, members: list[SavingsMember], **cells) -> dict:
    data = {"held_on": (TODAY - dt.timedelta(days=1)).isoformat(), "notes": ""}
    for m in members:
        data[f"m{m.pk}_present"] = "on"
    for key, value in cells.items():
        data[key] = value
    return data


class TestList:
    def test_the_list_shows_groups_in_the_readers_areas_with_their_fund(self, client, world):
        client.force_login(world["fac"])
        response = client.get(reverse("interventions:savings-list"))
        assert response.status_code == 200
        assert b"Hope savings" in response.content
        client.force_login(world["outsider"])
        response = client.get(reverse("interventions:savings-list"))
        assert b"Hope savings" not in response.content

    def test_a_fixed_number_of_queries_whatever_the_number_of_groups(self, client, world):
        client.force_login(world["fac"])
        url = reverse("interventions:savings-list")
        client.get(url)
        with CaptureQueriesContext(connection) as few:
            client.get(url)
        for i in range(6):
            svc.group_create(
                actor=world["fac"],
                name=f"Group {i}",
                village=world["village"],
                formed_on=FORMED,
                share_value="1000",
                currency="KHR",
            )
        with CaptureQueriesContext(connection) as many:
            response = client.get(url)
        assert response.content.count(b"Group ") >= 6
        assert len(many) == len(few)

    def test_anonymous_and_donors_are_turned_away(self, client, world):
        url = reverse("interventions:savings-list")
        assert client.get(url).status_code == 302
        client.force_login(world["donor"])
        assert client.get(url).status_code == 403


class TestDetail:
    def test_the_group_page_shows_members_ledger_and_that_it_balances(self, client, world):
        fac, group, (a, b) = world["fac"], world["group"], world["members"]
        svc.meeting_record(
            actor=fac,
            group=group,
            held_on=FORMED + dt.timedelta(days=7),
            present=[a, b],
            entries=[
                {"kind": "shares", "member": a.pk, "shares": 3},
                {"kind": "loan_out", "member": b.pk, "amount": "10000"},
            ],
        )
        client.force_login(fac)
        events = AuditEvent.objects.filter(action="read").count()
        response = client.get(reverse("interventions:savings-detail", args=[group.pk]))
        text = response.content.decode()
        assert response.status_code == 200
        assert "Chan Sokha" in text and "Chan Dara" in text
        assert "5,000 KHR" in text  # the fund after lending 10,000 of 15,000
        assert "Does the ledger balance?" in text and "does not balance" not in text
        assert AuditEvent.objects.filter(action="read").count() == events + 1

    def test_a_ledger_changed_behind_its_back_shows_it_does_not_balance(self, client, world):
        fac, group, (a, _b) = world["fac"], world["group"], world["members"]
        svc.meeting_record(
            actor=fac,
            group=group,
            held_on=FORMED + dt.timedelta(days=7),
            entries=[{"kind": "shares", "member": a.pk, "shares": 3}],
        )
        LedgerEntry.objects.update(amount=D("14000"))
        client.force_login(fac)
        response = client.get(reverse("interventions:savings-ledger", args=[group.pk]))
        assert b"does not balance" in response.content

    def test_wrong_area_gets_404_and_nothing_is_audited(self, client, world):
        client.force_login(world["outsider"])
        events = AuditEvent.objects.count()
        for name in ("savings-detail", "savings-ledger"):
            url = reverse(f"interventions:{name}", args=[world["group"].pk])
            assert client.get(url).status_code == 404
        url = reverse("interventions:savings-member", args=[world["members"][0].pk])
        assert client.get(url).status_code == 404
        assert AuditEvent.objects.count() == events

    def test_the_member_statement(self, client, world):
        fac, group, (a, b) = world["fac"], world["group"], world["members"]
        svc.meeting_record(
            actor=fac,
            group=group,
            held_on=FORMED + dt.timedelta(days=7),
            entries=[
                {"kind": "shares", "member": a.pk, "shares": 4},
                {"kind": "loan_out", "member": b.pk, "amount": "8000"},
            ],
        )
        client.force_login(world["reader"])
        text = client.get(reverse("interventions:savings-member", args=[b.pk])).content.decode()
        assert "Still owed" in text and "8,000 KHR" in text
        assert "Record that they left" not in text  # an M&E officer reads, does not record


class TestMeetingForm:
    def test_a_facilitator_records_a_meeting_from_a_phone_form(self, client, world):
        group, (a, b) = world["group"], world["members"]
        client.force_login(world["fac"])
        url = reverse("interventions:savings-meeting-create", args=[group.pk])
        page = client.get(url)
        assert page.status_code == 200 and b'name="viewport"' in page.content
        assert f'name="m{a.pk}_shares"'.encode() in page.content
        data = _meeting_post(
            group,
            [a, b],
            **{f"m{a.pk}_shares": "4", f"m{b.pk}_shares": "2", f"m{b.pk}_fine": "500"},
        )
        response = client.post(url, data)
        assert response.status_code == 302
        assert sel.fund_balance(group) == D("30500")
        meeting = group.meetings.get()
        assert set(meeting.present.all()) == {a, b}

    def test_an_error_shows_next_to_the_cell_and_nothing_is_saved(self, client, world):
        group, (a, b) = world["group"], world["members"]
        client.force_login(world["fac"])
        url = reverse("interventions:savings-meeting-create", args=[group.pk])
        data = _meeting_post(group, [a, b], **{f"m{a.pk}_shares": "1", f"m{b.pk}_loan_out": "9000"})
        response = client.post(url, data)
        assert response.status_code == 200
        form = response.context["form"]
        assert form.errors[f"m{b.pk}_loan_out"] == [
            "Loan from the fund (-) of 9,000 KHR, Chan Dara: the fund holds 5,000 KHR on "
            f"{data['held_on']} and can never go below zero."
        ]
        assert not group.meetings.exists() and not LedgerEntry.objects.exists()

    def test_a_negative_amount_is_refused_next_to_its_cell(self, client, world):
        group, (a, b) = world["group"], world["members"]
        client.force_login(world["fac"])
        url = reverse("interventions:savings-meeting-create", args=[group.pk])
        response = client.post(url, _meeting_post(group, [a, b], **{f"m{a.pk}_fine": "-100"}))
        assert response.context["form"].errors[f"m{a.pk}_fine"] == [
            "The amount must not be negative."
        ]

    def test_a_member_from_outside_the_recorders_areas_is_shown_by_number(self, client, world):
        group = world["group"]
        neighbour = f.consenting_person(f.village("20", index=1), name="Neighbour")
        member = svc.member_add(actor=world["fac"], group=group, person=neighbour, joined_on=FORMED)
        village_only = f.staff("vfac", "facilitator", world["village"])
        client.force_login(village_only)
        url = reverse("interventions:savings-meeting-create", args=[group.pk])
        text = client.get(url).content.decode()
        assert "Chan Sokha" in text and "Chan Neighbour" not in text
        assert f"Member #{member.pk} (outside your areas)" in text

    @pytest.mark.parametrize("who", ["outsider", "reader", "donor"])
    def test_others_cannot_record(self, client, world, who):
        group, (a, b) = world["group"], world["members"]
        client.force_login(world[who])
        url = reverse("interventions:savings-meeting-create", args=[group.pk])
        events = AuditEvent.objects.count()
        expected = 404 if who == "outsider" else 403
        assert client.get(url).status_code == expected
        response = client.post(url, _meeting_post(group, [a, b], **{f"m{a.pk}_shares": "1"}))
        assert response.status_code == expected
        assert not LedgerEntry.objects.exists() and AuditEvent.objects.count() == events


class TestOtherForms:
    def test_forming_a_group(self, client, world):
        client.force_login(world["fac"])
        url = reverse("interventions:savings-create")
        data = {
            "name": "New group",
            "village": world["village"].code,
            "formed_on": TODAY.isoformat(),
            "share_value": "-1",
            "currency": "KHR",
            "loan_rate": "2",
        }
        response = client.post(url, data)
        assert response.context["form"].errors["share_value"] == [
            "The amount must not be negative."
        ]
        response = client.post(url, {**data, "share_value": "2000"})
        group = SavingsGroup.objects.get(name="New group")
        assert response.url == reverse("interventions:savings-detail", args=[group.pk])
        other = {**data, "name": "Elsewhere", "share_value": "1", "village": f.village("14").code}
        response = client.post(url, other)
        assert "You do not record interventions in" in response.context["form"].errors["village"][0]

    def test_adding_a_member_by_searching(self, client, world):
        group = world["group"]
        newcomer = f.consenting_person(world["village"], name="Vanna")
        client.force_login(world["fac"])
        url = reverse("interventions:savings-member-add", args=[group.pk])
        response = client.get(url, {"q": "vanna"})
        assert [p.pk for p in response.context["candidates"]] == [newcomer.pk]
        response = client.post(
            url, {"person": newcomer.pk, "role": "treasurer", "joined_on": TODAY.isoformat()}
        )
        assert response.status_code == 302
        assert group.members.get(person=newcomer).role == "treasurer"

    def test_a_single_entry_and_the_share_out(self, client, world):
        group, (a, b) = world["group"], world["members"]
        svc.meeting_record(
            actor=world["fac"],
            group=group,
            held_on=FORMED + dt.timedelta(days=7),
            entries=[
                {"kind": "shares", "member": a.pk, "shares": 2},
                {"kind": "shares", "member": b.pk, "shares": 1},
            ],
        )
        client.force_login(world["fac"])
        url = reverse("interventions:savings-entry-create", args=[group.pk])
        response = client.post(
            url,
            {"kind": "expense", "entry_on": TODAY.isoformat(), "amount": "1000", "note": ""},
        )
        assert response.context["form"].errors["note"] == ["Say what the expense was for."]
        response = client.post(
            url,
            {"kind": "expense", "entry_on": TODAY.isoformat(), "amount": "1000", "note": "Book"},
        )
        assert response.status_code == 302
        url = reverse("interventions:savings-share-out", args=[group.pk])
        preview = client.get(url)
        plan = preview.context["plan"]
        # 14,000 over 3 shares: 9,333 (+1 left by rounding) and 4,666
        assert [p.amount for p in plan.payouts] == [D("9334"), D("4666")]
        assert LedgerEntry.objects.filter(kind="share_out").count() == 0
        response = client.post(url, {"on": TODAY.isoformat()})
        assert response.status_code == 302
        assert sel.fund_balance(group) == 0

    def test_a_member_leaves(self, client, world):
        member = world["members"][0]
        client.force_login(world["fac"])
        url = reverse("interventions:savings-member-leave", args=[member.pk])
        response = client.post(url, {"left_on": TODAY.isoformat()})
        assert response.status_code == 302
        member.refresh_from_db()
        assert member.left_on == TODAY
        client.force_login(world["reader"])
        other = world["members"][1]
        url = reverse("interventions:savings-member-leave", args=[other.pk])
        assert client.post(url, {"left_on": TODAY.isoformat()}).status_code == 403
        other.refresh_from_db()
        assert other.left_on is None


class TestMoreReads:
    def test_a_meeting_page_and_editing_the_group(self, client, world):
        group, (a, _b) = world["group"], world["members"]
        meeting = svc.meeting_record(
            actor=world["fac"],
            group=group,
            held_on=FORMED + dt.timedelta(days=7),
            present=[a],
            entries=[{"kind": "social_fund", "member": a.pk, "amount": "700"}],
            notes="Rainy day",
        )
        client.force_login(world["fac"])
        text = client.get(reverse("interventions:savings-meeting", args=[meeting.pk])).content
        assert b"Rainy day" in text and b"700 KHR" in text and b"Chan Sokha" in text
        url = reverse("interventions:savings-edit", args=[group.pk])
        assert client.get(url).status_code == 200
        data = {"name": "Hope and trust", "share_value": "5000", "loan_rate": "1.5", "active": "on"}
        assert client.post(url, data).status_code == 302
        group.refresh_from_db()
        assert (group.name, group.loan_rate) == ("Hope and trust", D("1.500"))
        client.force_login(world["outsider"])
        assert (
            client.get(reverse("interventions:savings-meeting", args=[meeting.pk])).status_code
            == 404
        )
        client.force_login(world["reader"])
        assert client.post(url, {**data, "name": "X"}).status_code == 403
        group.refresh_from_db()
        assert group.name == "Hope and trust"
