"""Savings groups: members, meetings, a ledger that balances, and the share-out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ctip.core.models import AuditEvent
from ctip.interventions.models import LedgerEntry, SavingsGroup, SavingsMember
from ctip.interventions.selectors import savings as sel
from ctip.interventions.services import savings as svc
from ctip.registry import services as registry
from tests.interventions import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
FORMED = TODAY - dt.timedelta(days=200)


def _day(n: int) -> dt.date:
    """n days after the group was formed."""
    return FORMED + dt.timedelta(days=n)


@pytest.fixture
def place():
    sr = f.village("20")
    return {
        "village": sr,
        "neighbour": f.village("20", index=1),
        "fac": f.staff("fac", "facilitator", sr.parent),
    }


def _group(place, **kw) -> SavingsGroup:
    values = {
        "name": "Hope savings",
        "village": place["village"],
        "formed_on": FORMED,
        "share_value": D("5000"),
        "currency": "KHR",
        "loan_rate": D("2"),
        **kw,
    }
    return svc.group_create(actor=place["fac"], **values)


def _members(place, group, names=("Sokha", "Dara", "Vanna")) -> list[SavingsMember]:
    return [
        svc.member_add(
            actor=place["fac"],
            group=group,
            person=f.consenting_person(place["village"], name=n, born=dt.date(1990, 1, 1)),
            joined_on=FORMED,
        )
        for n in names
    ]


def _shares(member: SavingsMember, n: int) -> dict:
    return {"kind": "shares", "member": member.pk, "shares": n}


def _money(kind: str, member: SavingsMember | None, amount: str, note: str = "") -> dict:
    return {"kind": kind, "member": member.pk if member else None, "amount": amount, "note": note}


class TestGroupsAndMembers:
    def test_a_facilitator_forms_a_group_in_their_commune(self, place):
        group = _group(place)
        assert group.cycle_started_on == FORMED
        event = AuditEvent.objects.filter(action="create", object_type="interventions.savingsgroup")
        assert event.get().changes["share_value"] == "5000.00"

    def test_share_value_must_be_positive(self, place):
        with pytest.raises(ValidationError) as err:
            _group(place, share_value="0")
        assert err.value.message_dict == {"share_value": ["The amount must be more than 0."]}
        with pytest.raises(ValidationError) as err:
            _group(place, share_value="-5")
        assert "must not be negative" in err.value.message_dict["share_value"][0]
        assert not SavingsGroup.objects.exists()

    def test_only_in_the_actors_area_and_only_a_village(self, place):
        other = f.village("14")
        with pytest.raises(PermissionDenied):
            _group(place, village=other)
        with pytest.raises(ValidationError) as err:
            _group(place, village=place["village"].parent)
        assert "is not one" in err.value.message_dict["village"][0]
        donor = f.staff("donor", "donor", "KH")
        with pytest.raises(PermissionDenied):
            svc.group_create(
                actor=donor,
                name="x",
                village=place["village"],
                formed_on=FORMED,
                share_value="1",
                currency="KHR",
            )
        assert not SavingsGroup.objects.exists()

    def test_a_future_formation_date_is_refused(self, place):
        with pytest.raises(ValidationError) as err:
            _group(place, formed_on=TODAY + dt.timedelta(days=1))
        assert "in the future" in err.value.message_dict["formed_on"][0]

    def test_members_come_from_the_village_or_its_commune(self, place):
        group = _group(place)
        neighbour = f.consenting_person(place["neighbour"], name="Neighbour")
        assert place["neighbour"].parent_id == place["village"].parent_id
        svc.member_add(actor=place["fac"], group=group, person=neighbour, joined_on=FORMED)
        far = f.consenting_person(f.village("20", index=400), name="Far")
        admin = f.staff("pm", "programme_manager", "KH-20")
        with pytest.raises(ValidationError) as err:
            svc.member_add(actor=admin, group=group, person=far, joined_on=FORMED)
        assert "outside the commune of Hope savings" in err.value.message_dict["person"][0]

    def test_a_member_needs_consent_for_services_named_in_the_error(self, place):
        group = _group(place)
        person = f.consenting_person(place["village"], name="Nary", purposes=("registration",))
        with pytest.raises(ValidationError) as err:
            svc.member_add(actor=place["fac"], group=group, person=person, joined_on=FORMED)
        assert err.value.message_dict["person"] == [
            "Chan Nary has no consent for referral to and delivery of services."
        ]
        assert not group.members.exists()

    def test_a_person_the_actor_cannot_see_is_not_added(self, place):
        group = _group(place)
        other = f.consenting_person(f.village("14"), name="Other")
        with pytest.raises(ValidationError) as err:
            svc.member_add(actor=place["fac"], group=group, person=other, joined_on=FORMED)
        assert err.value.message_dict["person"] == [f"No person #{other.pk} in your areas."]

    def test_no_member_twice_but_one_who_left_can_rejoin(self, place):
        group = _group(place)
        (m,) = _members(place, group, names=("Sokha",))
        with pytest.raises(ValidationError) as err:
            svc.member_add(actor=place["fac"], group=group, person=m.person, joined_on=FORMED)
        assert "already a member" in err.value.message_dict["person"][0]
        svc.member_leave(actor=place["fac"], member=m, left_on=_day(10))
        again = svc.member_add(actor=place["fac"], group=group, person=m.person, joined_on=_day(20))
        assert again.pk == m.pk and again.left_on is None and again.joined_on == _day(20)

    def test_a_member_with_a_loan_cannot_leave(self, place):
        group = _group(place)
        a, b, _c = _members(place, group)
        svc.meeting_record(
            actor=place["fac"],
            group=group,
            held_on=_day(7),
            entries=[_shares(a, 10), _money("loan_out", b, "20000")],
        )
        with pytest.raises(ValidationError) as err:
            svc.member_leave(actor=place["fac"], member=b, left_on=_day(8))
        assert "still owes the group 20,000 KHR" in err.value.message_dict["left_on"][0]
        b.refresh_from_db()
        assert b.left_on is None


class TestMeetings:
    def test_a_meeting_writes_attendance_and_all_entries(self, place):
        group = _group(place)
        a, b, _c = _members(place, group)
        meeting = svc.meeting_record(
            actor=place["fac"],
            group=group,
            held_on=_day(7),
            present=[a, b],
            entries=[
                _shares(a, 4),
                _shares(b, 2),
                _money("social_fund", a, "1000"),
                _money("fine", b, "500", "late"),
            ],
            notes="First meeting",
        )
        assert set(meeting.present.all()) == {a, b}
        entries = list(meeting.entries.order_by("id"))
        assert [(e.kind, e.amount) for e in entries] == [
            ("shares", D("20000")),
            ("shares", D("10000")),
            ("social_fund", D("1000")),
            ("fine", D("500")),
        ]
        assert sel.fund_balance(group) == D("31500")
        event = AuditEvent.objects.get(object_type="interventions.savingsmeeting")
        assert event.changes["entries"] == 4
        assert event.changes["totals"]["shares"] == "30000.00"

    def test_a_loan_is_lent_from_what_the_meeting_just_collected(self, place):
        group = _group(place)
        a, b, _c = _members(place, group)
        # The loan comes first in the list, but the meeting counts savings before lending.
        svc.meeting_record(
            actor=place["fac"],
            group=group,
            held_on=_day(7),
            entries=[_money("loan_out", b, "30000"), _shares(a, 6)],
        )
        assert sel.fund_balance(group) == 0
        assert [e.kind for e in LedgerEntry.objects.order_by("id")] == ["shares", "loan_out"]

    def test_the_fund_never_goes_below_zero_and_the_error_names_the_entry(self, place):
        group = _group(place)
        a, b, _c = _members(place, group)
        svc.meeting_record(
            actor=place["fac"], group=group, held_on=_day(7), entries=[_shares(a, 2)]
        )
        before = LedgerEntry.objects.count()
        with pytest.raises(ValidationError) as err:
            svc.meeting_record(
                actor=place["fac"],
                group=group,
                held_on=_day(14),
                present=[a, b],
                entries=[_shares(a, 1), _money("loan_out", b, "20000")],
            )
        assert err.value.message_dict == {
            "entries[2].amount": [
                "Loan from the fund (-) of 20,000 KHR, Chan Dara: the fund holds 15,000 KHR "
                f"on {_day(14).isoformat()} and can never go below zero."
            ]
        }
        # Nothing of the meeting was written.
        assert LedgerEntry.objects.count() == before
        assert group.meetings.count() == 1

    def test_a_member_cannot_repay_more_than_they_owe(self, place):
        group = _group(place)
        a, b, _c = _members(place, group)
        svc.meeting_record(
            actor=place["fac"],
            group=group,
            held_on=_day(7),
            entries=[_shares(a, 10), _money("loan_out", b, "20000")],
        )
        with pytest.raises(ValidationError) as err:
            svc.meeting_record(
                actor=place["fac"],
                group=group,
                held_on=_day(14),
                entries=[_money("loan_repayment", b, "25000"), _money("loan_interest", b, "400")],
            )
        assert err.value.message_dict["entries[1].amount"] == [
            "Loan repaid (+) of 25,000 KHR, Chan Dara: Chan Dara owes the group 20,000 KHR; "
            "a repayment cannot be more than that."
        ]
        assert group.meetings.count() == 1

    def test_shares_amount_is_shares_times_value(self, place):
        group = _group(place)
        (a,) = _members(place, group, names=("Sokha",))
        with pytest.raises(ValidationError) as err:
            svc.meeting_record(
                actor=place["fac"],
                group=group,
                held_on=_day(7),
                entries=[{**_shares(a, 3), "amount": "14000"}, _shares(a, 0)],
            )
        assert err.value.message_dict == {
            "entries[1].amount": ["3 shares of 5,000 KHR make 15,000 KHR, not 14,000 KHR."],
            "entries[2].shares": ["Enter a whole number of shares, 1 or more."],
        }

    def test_bad_rows_are_named_by_row_and_field(self, place):
        group = _group(place)
        (a,) = _members(place, group, names=("Sokha",))
        with pytest.raises(ValidationError) as err:
            svc.meeting_record(
                actor=place["fac"],
                group=group,
                held_on=_day(7),
                entries=[
                    _money("fine", a, "-5"),
                    {"kind": "share_out", "member": a.pk, "amount": "1"},
                    _money("social_fund", None, "100"),
                    _money("expense", None, "100"),
                    {"kind": "fine", "member": 99999, "amount": "1"},
                ],
            )
        errors = err.value.message_dict
        assert errors["entries[1].amount"] == ["The amount must not be negative."]
        assert "share-out page" in errors["entries[2].kind"][0]
        assert errors["entries[3].member"] == ["Say which member."]
        assert errors["entries[4].note"] == ["Say what the expense was for."]
        assert errors["entries[5].member"] == ["No member #99999 in Hope savings."]
        assert not LedgerEntry.objects.exists() and not group.meetings.exists()

    def test_meeting_date_not_in_the_future_nor_twice(self, place):
        group = _group(place)
        with pytest.raises(ValidationError) as err:
            svc.meeting_record(actor=place["fac"], group=group, held_on=TODAY + dt.timedelta(1))
        assert "in the future" in err.value.message_dict["held_on"][0]
        svc.meeting_record(actor=place["fac"], group=group, held_on=_day(7))
        with pytest.raises(ValidationError) as err:
            svc.meeting_record(actor=place["fac"], group=group, held_on=_day(7))
        assert "already recorded" in err.value.message_dict["held_on"][0]

    def test_only_members_on_the_day_put_money_in(self, place):
        group = _group(place)
        late = svc.member_add(
            actor=place["fac"],
            group=group,
            person=f.consenting_person(place["village"], name="Late"),
            joined_on=_day(30),
        )
        with pytest.raises(ValidationError) as err:
            svc.meeting_record(
                actor=place["fac"], group=group, held_on=_day(7), entries=[_shares(late, 1)]
            )
        assert err.value.message_dict["entries[1].member"] == [
            f"Chan Late joined on {_day(30).isoformat()}."
        ]

    def test_a_backdated_payment_cannot_break_later_entries(self, place):
        group = _group(place)
        a, b, _c = _members(place, group)
        svc.meeting_record(
            actor=place["fac"], group=group, held_on=_day(7), entries=[_shares(a, 2)]
        )
        svc.meeting_record(
            actor=place["fac"],
            group=group,
            held_on=_day(14),
            entries=[_money("loan_out", b, "10000")],
        )
        # On day 10 the fund held 10,000, but paying 5,000 then leaves too little for
        # the loan already lent on day 14.
        with pytest.raises(ValidationError) as err:
            svc.ledger_entry_record(
                actor=place["fac"],
                group=group,
                kind="expense",
                entry_on=_day(10),
                amount="5000",
                note="ledger book",
            )
        assert f"entries recorded for {_day(14).isoformat()}" in err.value.message_dict["amount"][0]
        assert sel.fund_balance(group) == 0

    def test_a_single_entry_for_a_grant_from_the_social_fund(self, place):
        group = _group(place)
        a, b, _c = _members(place, group)
        svc.meeting_record(
            actor=place["fac"],
            group=group,
            held_on=_day(7),
            entries=[_money("social_fund", a, "3000"), _money("social_fund", b, "3000")],
        )
        entry = svc.ledger_entry_record(
            actor=place["fac"],
            group=group,
            kind="social_payout",
            entry_on=_day(9),
            amount="4000",
            member=a,
            note="Funeral",
        )
        assert entry.kind == "social_payout" and sel.fund_balance(group) == D("2000")
        assert AuditEvent.objects.filter(object_type="interventions.ledgerentry").count() == 1

    def test_entries_are_refused_for_someone_outside_the_area(self, place):
        group = _group(place)
        (a,) = _members(place, group, names=("Sokha",))
        other = f.staff("other", "facilitator", f.village("14").parent)
        me_officer = f.staff("me", "me_officer", "KH-20")
        events = AuditEvent.objects.count()
        for who in (other, me_officer):
            with pytest.raises(PermissionDenied):
                svc.meeting_record(actor=who, group=group, held_on=_day(7), entries=[_shares(a, 1)])
        assert not LedgerEntry.objects.exists() and AuditEvent.objects.count() == events


def _cycle(place) -> tuple[SavingsGroup, list[SavingsMember]]:
    """Three members: shares 7, 5 and 3; a loan to Dara repaid with interest."""
    group = _group(place)
    a, b, c = _members(place, group)
    fac = place["fac"]
    svc.meeting_record(
        actor=fac,
        group=group,
        held_on=_day(7),
        present=[a, b, c],
        entries=[_shares(a, 4), _shares(b, 3), _shares(c, 2), _money("social_fund", a, "500")],
    )
    svc.meeting_record(
        actor=fac,
        group=group,
        held_on=_day(14),
        entries=[
            _shares(a, 3),
            _shares(b, 2),
            _shares(c, 1),
            _money("loan_out", b, "40000"),
            _money("fine", c, "300"),
        ],
    )
    svc.meeting_record(
        actor=fac,
        group=group,
        held_on=_day(44),
        entries=[_money("loan_repayment", b, "40000"), _money("loan_interest", b, "801")],
    )
    return group, [a, b, c]


class TestLedgerAndShareOut:
    def test_the_ledger_runs_a_balance_and_reconciles(self, place):
        group, (_a, _b, _c) = _cycle(place)
        rows = list(sel.ledger(group, newest_first=False))
        assert [r.balance for r in rows][-1] == sel.fund_balance(group)
        # 15 shares of 5,000 + 500 social fund + 300 fine + 801 interest
        assert sel.fund_balance(group) == D("76601")
        assert min(r.balance for r in rows) >= 0
        # Newest first keeps each entry's own running balance.
        newest = list(sel.ledger(group))
        assert newest[0].balance == D("76601") and newest[-1].balance == rows[0].balance
        report = sel.reconciliation(group)
        assert report.ok, report.checks
        assert report.balance == D("76601")

    def test_member_statements(self, place):
        group, (a, b, c) = _cycle(place)
        by_member = {s.member.pk: s for s in sel.statements(place["fac"], group)}
        sb = by_member[b.pk]
        assert (sb.shares, sb.savings, sb.borrowed, sb.repaid, sb.outstanding) == (
            5,
            D("25000"),
            D("40000"),
            D("40000"),
            D("0"),
        )
        assert sb.interest_paid == D("801") and by_member[a.pk].social_fund == D("500")
        assert by_member[c.pk].fines == D("300")
        assert sb.share_estimate == D("76601") * 5 / 15
        assert sb.name == "Chan Dara"

    def test_reconciliation_finds_an_entry_changed_behind_the_ledgers_back(self, place):
        group, (a, _b, _c) = _cycle(place)
        LedgerEntry.objects.filter(kind="shares", member=a).update(amount=D("1"))
        LedgerEntry.objects.filter(kind="loan_repayment").update(amount=D("50000"))
        report = sel.reconciliation(group)
        failed = {chk.label for chk in report.checks if not chk.ok}
        assert "Shares bought this cycle x share value = shares paid in" in failed
        assert "No member has repaid more than they borrowed" in failed
        assert not report.ok

    def test_share_out_pays_the_fund_to_exactly_zero_by_shares(self, place):
        group, (a, b, c) = _cycle(place)
        plan = svc.share_out(actor=place["fac"], group=group, on=_day(50))
        payouts = {p.member.pk: p.amount for p in plan.payouts}
        # 76,601 over 15 shares: 7 -> 35,747.13 -> 35,747 (+1 remainder), 5 -> 25,533, 3 -> 15,320
        assert payouts == {a.pk: D("35748"), b.pk: D("25533"), c.pk: D("15320")}
        assert sum(payouts.values()) == D("76601")
        assert sel.fund_balance(group) == 0
        group.refresh_from_db()
        assert group.cycle_started_on == _day(51)
        assert sel.reconciliation(group).ok
        event = AuditEvent.objects.get(action="savings.share_out")
        assert event.changes["payouts"][str(a.pk)] == "35748.00"
        # The new cycle starts with no shares; the closed one takes no more entries.
        assert all(s.shares == 0 for s in sel.statements(place["fac"], group))
        with pytest.raises(ValidationError) as err:
            svc.meeting_record(
                actor=place["fac"], group=group, held_on=_day(50), entries=[_shares(a, 1)]
            )
        assert "shared out and is closed" in err.value.message_dict["held_on"][0]
        svc.meeting_record(
            actor=place["fac"], group=group, held_on=_day(58), entries=[_shares(a, 1)]
        )
        assert sel.fund_balance(group) == D("5000")

    def test_share_out_in_dollars_rounds_to_cents(self, place):
        group = _group(place, share_value=D("1.00"), currency="USD")
        a, b, c = _members(place, group)
        svc.meeting_record(
            actor=place["fac"],
            group=group,
            held_on=_day(7),
            entries=[_shares(a, 1), _shares(b, 1), _shares(c, 1), _money("fine", a, "0.01")],
        )
        plan = svc.share_out_plan(group, _day(8))
        # 3.01 / 3 = 1.00333: 1.00 each, the cent left over to the earliest equal holder.
        assert [(p.member.pk, p.amount) for p in plan.payouts] == [
            (a.pk, D("1.01")),
            (b.pk, D("1.00")),
            (c.pk, D("1.00")),
        ]

    def test_no_share_out_while_a_loan_is_out(self, place):
        group, (_a, _b, c) = _cycle(place)
        svc.meeting_record(
            actor=place["fac"],
            group=group,
            held_on=_day(45),
            entries=[_money("loan_out", c, "10000")],
        )
        with pytest.raises(ValidationError) as err:
            svc.share_out(actor=place["fac"], group=group, on=_day(50))
        assert "Chan Vanna 10,000 KHR" in err.value.message_dict["on"][0]
        assert not LedgerEntry.objects.filter(kind="share_out").exists()
        group.refresh_from_db()
        assert group.cycle_started_on == FORMED

    def test_no_share_out_before_the_last_entry(self, place):
        group, _m = _cycle(place)
        with pytest.raises(ValidationError) as err:
            svc.share_out(actor=place["fac"], group=group, on=_day(20))
        assert "share out on or after the last entry" in err.value.message_dict["on"][0]

    def test_share_value_changes_only_between_cycles(self, place):
        group, _m = _cycle(place)
        with pytest.raises(ValidationError) as err:
            svc.group_update(actor=place["fac"], group=group, share_value="6000")
        assert "at the next cycle" in err.value.message_dict["share_value"][0]
        svc.share_out(actor=place["fac"], group=group, on=_day(50))
        group = svc.group_update(actor=place["fac"], group=group, share_value="6000")
        assert group.share_value == D("6000")

    def test_a_group_with_money_is_not_closed(self, place):
        group, _m = _cycle(place)
        with pytest.raises(ValidationError) as err:
            svc.group_update(actor=place["fac"], group=group, active=False)
        assert "76,601 KHR" in err.value.message_dict["active"][0]
        svc.share_out(actor=place["fac"], group=group, on=_day(50))
        assert svc.group_update(actor=place["fac"], group=group, active=False).active is False


class TestScoping:
    def test_groups_are_visible_in_the_readers_areas_only(self, place):
        group = _group(place)
        assert list(sel.groups_visible_to(place["fac"])) == [group]
        assert not sel.groups_visible_to(f.staff("o", "facilitator", "KH-14")).exists()
        assert not sel.groups_visible_to(f.staff("d", "donor", "KH")).exists()

    def test_members_outside_the_readers_areas_are_shown_without_name(self, place):
        group = _group(place)
        neighbour = f.consenting_person(place["neighbour"], name="Neighbour")
        svc.member_add(actor=place["fac"], group=group, person=neighbour, joined_on=FORMED)
        village_only = f.staff("v", "facilitator", place["village"])
        (st,) = sel.statements(village_only, group)
        assert st.name == f"Member #{st.member.pk} (outside your areas)"

    def test_a_withdrawn_consent_stops_new_memberships(self, place):
        group = _group(place)
        person = f.consenting_person(place["village"], name="Gone")
        consent = person.consents.get(purpose="registration")
        registry.consent_withdraw(actor=f.registrar(), consent=consent, reason="moved")
        with pytest.raises(ValidationError) as err:
            svc.member_add(actor=place["fac"], group=group, person=person, joined_on=FORMED)
        assert "withdrew consent" in err.value.message_dict["person"][0]
