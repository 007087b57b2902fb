"""Writes to savings groups: the group, its members, its meetings and its ledger, and
the share-out at the end of a cycle. Each runs in one transaction, checks the actor
may record interventions in the group's village, and leaves an audit event.

The ledger is the group's cash book. Every entry is a positive amount whose kind
says the direction (LEDGER_OUT are payments out of the fund); the fund is the sum.
Two rules hold at every point of the ledger, in date order: the fund is never below
zero, and no member owes the group less than nothing. An entry that would break
either is refused with an error naming it, and nothing of its meeting is written.

A cycle runs from `cycle_started_on` to the share-out, which pays the whole fund to
the members in proportion to the shares they bought in the cycle; the next cycle
starts the day after, and entries cannot be dated into a cycle already shared out.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import RECORD_INTERVENTIONS
from ctip.core import audit
from ctip.geography.models import Area, Level
from ctip.registry import selectors as registry
from ctip.registry.models import Currency, Person

from ..iga import money
from ..models import (
    LEDGER_OUT,
    LedgerEntry,
    LedgerKind,
    MemberRole,
    SavingsGroup,
    SavingsMeeting,
    SavingsMember,
)
from ..schedule import MINOR_UNIT  # the smallest amount counted, as loan schedules count it
from .checks import (
    author,
    check_services_consent,
    clean_amount,
    clean_choice,
    clean_date,
    clean_rate,
    clean_text,
    json_value,
    snapshot,
)

ZERO = Decimal(0)
CENT = Decimal("0.01")
MAX_SHARES_PER_ENTRY = 10_000

# Kinds paid by (or to) a member, who must then be named.
MEMBER_KINDS = frozenset(
    {
        LedgerKind.SHARES,
        LedgerKind.SOCIAL_FUND,
        LedgerKind.FINE,
        LedgerKind.LOAN_REPAYMENT,
        LedgerKind.LOAN_INTEREST,
        LedgerKind.LOAN_OUT,
    }
)
# Money a member puts in, or borrows: only while a member.
ACTIVE_MEMBER_KINDS = frozenset(
    {LedgerKind.SHARES, LedgerKind.SOCIAL_FUND, LedgerKind.FINE, LedgerKind.LOAN_OUT}
)
# A meeting's entries are written in the order a meeting handles money: what comes in
# first, then what goes out, so the fund counts today's savings before lending them.
KIND_ORDER: dict[str, int] = {
    LedgerKind.SHARES: 0,
    LedgerKind.SOCIAL_FUND: 1,
    LedgerKind.FINE: 2,
    LedgerKind.LOAN_REPAYMENT: 3,
    LedgerKind.LOAN_INTEREST: 4,
    LedgerKind.LOAN_OUT: 5,
    LedgerKind.SOCIAL_PAYOUT: 6,
    LedgerKind.EXPENSE: 7,
    LedgerKind.SHARE_OUT: 8,
}
RECORDABLE_KINDS = [k for k in LedgerKind.values if k != LedgerKind.SHARE_OUT]

GROUP_FIELDS = ("name", "share_value", "currency", "loan_rate", "formed_on", "active")


def signed_amount() -> Case:
    """An entry's effect on the fund: + for money in, - for money out."""
    return Case(
        When(kind__in=list(LEDGER_OUT), then=-F("amount")),
        default=F("amount"),
        output_field=DecimalField(max_digits=18, decimal_places=2),
    )


def debt_change() -> Case:
    """An entry's effect on what a member owes the group."""
    return Case(
        When(kind=LedgerKind.LOAN_OUT, then=F("amount")),
        When(kind=LedgerKind.LOAN_REPAYMENT, then=-F("amount")),
        default=Value(ZERO),
        output_field=DecimalField(max_digits=18, decimal_places=2),
    )


def ledger_sum(expr: Any, **filters: Any) -> Coalesce:
    """The sum of `expr` over ledger rows (those matching `filters`), 0 when none."""
    return Coalesce(
        Sum(expr, filter=Q(**filters) if filters else None),
        Value(ZERO),
        output_field=DecimalField(max_digits=18, decimal_places=2),
    )


def _today() -> dt.date:
    return timezone.localdate()


def _lock(group: SavingsGroup) -> SavingsGroup:
    """The group's row, locked until the transaction ends: ledger checks then see
    every entry another meeting could be adding at the same time."""
    return (
        SavingsGroup.objects.select_for_update(of=("self",))
        .select_related("village")
        .get(pk=group.pk)
    )


# -- groups ------------------------------------------------------------------------------


def _clean_group(values: Mapping[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in values:
        out["name"] = clean_text(values["name"], "name", errors, max_length=200, formula_ok=True)
        if not out["name"] and "name" not in errors:
            errors["name"] = _("Give the group a name.")
    if "share_value" in values:
        out["share_value"] = clean_amount(
            values["share_value"], "share_value", errors, positive=True
        )
    if "currency" in values:
        out["currency"] = values["currency"]
        clean_choice(values["currency"], "currency", errors, choices=Currency.values)
    if "loan_rate" in values:
        out["loan_rate"] = clean_rate(
            values["loan_rate"] if values["loan_rate"] is not None else 0, "loan_rate", errors
        )
    if "formed_on" in values:
        out["formed_on"] = clean_date(values["formed_on"], "formed_on", errors)
    if "active" in values:
        out["active"] = bool(values["active"])
    return out


@transaction.atomic
def group_create(
    *,
    actor: Any,
    name: str,
    village: Area,
    formed_on: dt.date,
    share_value: Decimal | str,
    currency: str,
    loan_rate: Decimal | str = ZERO,
) -> SavingsGroup:
    """A new savings group in a village; its first cycle starts the day it was formed."""
    errors: dict[str, Any] = {}
    if village.level != Level.VILLAGE:
        errors["village"] = _("A savings group meets in a village; %(area)s is not one.") % {
            "area": village
        }
    else:
        access.require_in(actor, RECORD_INTERVENTIONS, village)
    values = _clean_group(
        {
            "name": name,
            "share_value": share_value,
            "currency": currency,
            "loan_rate": loan_rate,
            "formed_on": formed_on,
        },
        errors,
    )
    if errors:
        raise ValidationError(errors)
    group = SavingsGroup.objects.create(
        village=village,
        cycle_started_on=values["formed_on"],
        created_by=author(actor),
        **values,
    )
    audit.record(
        actor=actor,
        action="create",
        obj=group,
        changes={**snapshot(group, GROUP_FIELDS), "village": village.code},
    )
    return group


@transaction.atomic
def group_update(*, actor: Any, group: SavingsGroup, **changes: Any) -> SavingsGroup:
    """Change a group's name, loan rate, share value or whether it still meets. The share
    value can change only before anyone bought shares in the cycle (every share of a
    cycle is worth the same); a group is closed only once its fund is empty."""
    access.require_in(actor, RECORD_INTERVENTIONS, group.village)
    unknown = set(changes) - {"name", "share_value", "loan_rate", "active", "currency"}
    if unknown:
        raise ValidationError({k: _("This cannot be changed.") for k in sorted(unknown)})
    group = _lock(group)
    errors: dict[str, Any] = {}
    values = _clean_group(changes, errors)
    in_cycle = group.ledger.filter(entry_on__gte=group.cycle_started_on)
    if (
        "share_value" in values
        and values["share_value"] != group.share_value
        and in_cycle.filter(kind=LedgerKind.SHARES).exists()
    ):
        errors["share_value"] = _(
            "Shares were already bought in this cycle at %(value)s; the value of a "
            "share can change at the next cycle."
        ) % {"value": money(group.share_value, group.currency)}
    if "currency" in values and values["currency"] != group.currency and group.ledger.exists():
        errors["currency"] = _("The group's ledger already counts in %(currency)s.") % {
            "currency": group.currency
        }
    if values.get("active") is False and group.active:
        totals = group.ledger.aggregate(
            fund=ledger_sum(signed_amount()), debt=ledger_sum(debt_change())
        )
        if totals["fund"] or totals["debt"]:
            errors["active"] = _(
                "The group still holds %(fund)s and its members owe %(debt)s: repay the "
                "loans and share out before closing it."
            ) % {
                "fund": money(totals["fund"], group.currency),
                "debt": money(totals["debt"], group.currency),
            }
    if errors:
        raise ValidationError(errors)
    before = snapshot(group, GROUP_FIELDS)
    for key, value in values.items():
        setattr(group, key, value)
    group.save()
    changed = audit.diff(before, snapshot(group, GROUP_FIELDS))
    if changed:
        audit.record(actor=actor, action="update", obj=group, changes=changed)
    return group


# -- members -----------------------------------------------------------------------------


def _same_commune(person: Person, village: Area) -> bool:
    home = person.household.village
    return home.pk == village.pk or (
        home.parent_id is not None and home.parent_id == village.parent_id
    )


@transaction.atomic
def member_add(
    *,
    actor: Any,
    group: SavingsGroup,
    person: Person,
    role: str = MemberRole.MEMBER,
    joined_on: dt.date | None = None,
) -> SavingsMember:
    """Add a person to the group: someone the actor may see, living in the group's
    village or its commune, with consent to receive services. A member who left
    before joins again on the new date."""
    access.require_in(actor, RECORD_INTERVENTIONS, group.village)
    errors: dict[str, Any] = {}
    joined = clean_date(joined_on or _today(), "joined_on", errors)
    if joined is not None and joined < group.formed_on:
        errors["joined_on"] = _("The group was formed on %(date)s.") % {
            "date": group.formed_on.isoformat()
        }
    clean_choice(role, "role", errors, choices=MemberRole.values)
    visible = registry.persons_visible_to(actor).filter(pk=person.pk)
    if not visible.exists():
        errors["person"] = _("No person #%(id)s in your areas.") % {"id": person.pk}
    elif check_services_consent(person, errors) and not _same_commune(person, group.village):
        errors["person"] = _(
            "%(person)s lives in %(village)s, outside the commune of %(group)s."
        ) % {"person": person, "village": person.household.village, "group": group}
    existing = SavingsMember.objects.filter(group=group, person=person).first()
    if existing is not None and existing.left_on is None and "person" not in errors:
        errors["person"] = _("%(person)s is already a member of %(group)s.") % {
            "person": person,
            "group": group,
        }
    if errors:
        raise ValidationError(errors)
    assert joined is not None
    if existing is not None:
        before = snapshot(existing, ("role", "joined_on", "left_on"))
        existing.role, existing.joined_on, existing.left_on = role, joined, None
        existing.save(update_fields=["role", "joined_on", "left_on"])
        audit.record(
            actor=actor,
            action="update",
            obj=existing,
            object_repr=f"{group} / {person}"[:200],
            changes=audit.diff(before, snapshot(existing, ("role", "joined_on", "left_on"))),
        )
        return existing
    member = SavingsMember.objects.create(group=group, person=person, role=role, joined_on=joined)
    audit.record(
        actor=actor,
        action="create",
        obj=member,
        object_repr=f"{group} / {person}"[:200],
        changes={
            "group": group.pk,
            "person": person.pk,
            "role": role,
            "joined_on": json_value(joined),
        },
    )
    return member


@transaction.atomic
def member_leave(*, actor: Any, member: SavingsMember, left_on: dt.date) -> SavingsMember:
    """A member leaves. Their loans must be repaid first; the shares they bought stay in
    the fund and are paid to them at the share-out with everyone else's."""
    group = member.group
    access.require_in(actor, RECORD_INTERVENTIONS, group.village)
    _lock(group)
    errors: dict[str, Any] = {}
    left = clean_date(left_on, "left_on", errors)
    if member.left_on is not None:
        errors["left_on"] = _("%(person)s already left on %(date)s.") % {
            "person": member.person,
            "date": member.left_on.isoformat(),
        }
    elif left is not None and left < member.joined_on:
        errors["left_on"] = _("%(person)s joined on %(date)s.") % {
            "person": member.person,
            "date": member.joined_on.isoformat(),
        }
    owed = member.entries.aggregate(debt=ledger_sum(debt_change()))["debt"]
    if owed > 0:
        errors["left_on"] = _(
            "%(person)s still owes the group %(amount)s: the loan is repaid before leaving."
        ) % {"person": member.person, "amount": money(owed, group.currency)}
    if errors:
        raise ValidationError(errors)
    member.left_on = left
    member.save(update_fields=["left_on"])
    audit.record(
        actor=actor,
        action="update",
        obj=member,
        object_repr=f"{group} / {member.person}"[:200],
        changes={"left_on": {"before": None, "after": json_value(left)}},
    )
    return member


# -- the ledger --------------------------------------------------------------------------


@dataclass
class _Row:
    """An entry being checked: where it came from (for the error key) and its effect."""

    index: int | None  # 1-based position in the caller's list; None for a single entry
    entry: LedgerEntry
    member: SavingsMember | None

    def key(self, prefix: str, field: str) -> str:
        return field if self.index is None else f"{prefix}[{self.index}].{field}"

    @property
    def fund_change(self) -> Decimal:
        return -self.entry.amount if self.entry.kind in LEDGER_OUT else self.entry.amount

    @property
    def debt_change(self) -> Decimal:
        if self.entry.kind == LedgerKind.LOAN_OUT:
            return self.entry.amount
        if self.entry.kind == LedgerKind.LOAN_REPAYMENT:
            return -self.entry.amount
        return ZERO


def _describe(row: _Row, currency: str) -> str:
    """'Loan from the fund (-) of 500,000 KHR to Sokha Chan': how an error names an entry."""
    entry = row.entry
    label = LedgerKind(entry.kind).label
    amount = money(entry.amount, currency)
    if row.member is not None:
        return _("%(kind)s of %(amount)s, %(person)s") % {
            "kind": label,
            "amount": amount,
            "person": row.member.person,
        }
    return _("%(kind)s of %(amount)s") % {"kind": label, "amount": amount}


def _build_rows(
    group: SavingsGroup,
    raw: Sequence[Mapping[str, Any]],
    *,
    entry_on: dt.date,
    prefix: str,
    single: bool,
    actor: Any,
    meeting: SavingsMeeting | None,
    errors: dict[str, Any],
    members: Mapping[int, SavingsMember],
) -> list[_Row]:
    rows: list[_Row] = []
    for i, values in enumerate(raw, start=1):
        row_errors: dict[str, Any] = {}
        index = None if single else i

        def key(field: str, index: int | None = index) -> str:
            return field if index is None else f"{prefix}[{index}].{field}"

        kind = values.get("kind")
        if kind not in RECORDABLE_KINDS:
            row_errors[key("kind")] = (
                _("The share-out is recorded as a whole, from the share-out page.")
                if kind == LedgerKind.SHARE_OUT
                else _("Choose one of %(choices)s.") % {"choices": ", ".join(RECORDABLE_KINDS)}
            )
            errors.update(row_errors)
            continue
        member_ref = values.get("member")
        member = None
        if member_ref not in (None, ""):
            member = _member_in(members, member_ref)
            if member is None:
                row_errors[key("member")] = _("No member #%(id)s in %(group)s.") % {
                    "id": getattr(member_ref, "pk", member_ref),
                    "group": group,
                }
        elif kind in MEMBER_KINDS:
            row_errors[key("member")] = _("Say which member.")
        if member is not None and kind in ACTIVE_MEMBER_KINDS:
            if member.joined_on > entry_on:
                row_errors[key("member")] = _("%(person)s joined on %(date)s.") % {
                    "person": member.person,
                    "date": member.joined_on.isoformat(),
                }
            elif member.left_on is not None and member.left_on < entry_on:
                row_errors[key("member")] = _("%(person)s left the group on %(date)s.") % {
                    "person": member.person,
                    "date": member.left_on.isoformat(),
                }
        shares = None
        if kind == LedgerKind.SHARES:
            raw_shares = values.get("shares")
            try:
                shares = int(str(raw_shares).strip()) if raw_shares not in (None, "") else None
            except (TypeError, ValueError):
                shares = None
            if shares is None or shares < 1 or str(raw_shares).strip() != str(shares):
                row_errors[key("shares")] = _("Enter a whole number of shares, 1 or more.")
            elif shares > MAX_SHARES_PER_ENTRY:
                row_errors[key("shares")] = _("At most %(n)s shares at once.") % {
                    "n": MAX_SHARES_PER_ENTRY
                }
            amount: Decimal | None = None
            if shares is not None and key("shares") not in row_errors:
                amount = group.share_value * shares
                given = values.get("amount")
                if given not in (None, ""):
                    checked = clean_amount(given, key("amount"), row_errors, positive=True)
                    if checked is not None and checked != amount:
                        row_errors[key("amount")] = _(
                            "%(shares)s shares of %(value)s make %(amount)s, not %(given)s."
                        ) % {
                            "shares": shares,
                            "value": money(group.share_value, group.currency),
                            "amount": money(amount, group.currency),
                            "given": money(checked, group.currency),
                        }
        else:
            amount = clean_amount(values.get("amount"), key("amount"), row_errors, positive=True)
        note = clean_text(
            values.get("note"), key("note"), row_errors, max_length=300, formula_ok=True
        )
        if kind == LedgerKind.EXPENSE and not note and key("note") not in row_errors:
            row_errors[key("note")] = _("Say what the expense was for.")
        if row_errors:
            errors.update(row_errors)
            continue
        assert amount is not None
        rows.append(
            _Row(
                index,
                LedgerEntry(
                    group=group,
                    meeting=meeting,
                    member=member,
                    entry_on=entry_on,
                    kind=kind,
                    amount=amount,
                    shares=shares,
                    note=note,
                    recorded_by=author(actor),
                ),
                member,
            )
        )
    return rows


def _check_balances(
    group: SavingsGroup, rows: list[_Row], entry_on: dt.date, prefix: str, errors: dict[str, Any]
) -> None:
    """The fund never below zero and no member owing less than nothing, at any point of
    the ledger once `rows` are added on `entry_on` (after that day's existing entries)."""
    existing = group.ledger.all()
    until = existing.filter(entry_on__lte=entry_on)
    fund = until.aggregate(fund=ledger_sum(signed_amount()))["fund"]
    debts: dict[int, Decimal] = defaultdict(
        Decimal,
        until.filter(kind__in=[LedgerKind.LOAN_OUT, LedgerKind.LOAN_REPAYMENT])
        .values("member_id")
        .annotate(debt=ledger_sum(debt_change()))
        .values_list("member_id", "debt")
        .order_by(),
    )
    later = list(
        existing.filter(entry_on__gt=entry_on)
        .order_by("entry_on", "id")
        .values_list("entry_on", "kind", "amount", "member_id")
    )
    currency = group.currency
    for row in rows:
        if row.entry.kind == LedgerKind.LOAN_REPAYMENT:
            assert row.member is not None
            owed = debts[row.member.pk]
            if row.entry.amount > owed:
                errors[row.key(prefix, "amount")] = _(
                    "%(entry)s: %(person)s owes the group %(owed)s; a repayment cannot be "
                    "more than that."
                ) % {
                    "entry": _describe(row, currency),
                    "person": row.member.person,
                    "owed": money(owed, currency),
                }
                return
        if row.member is not None:
            debts[row.member.pk] += row.debt_change
        if fund + row.fund_change < 0:
            errors[row.key(prefix, "amount")] = _(
                "%(entry)s: the fund holds %(fund)s on %(date)s and can never go below zero."
            ) % {
                "entry": _describe(row, currency),
                "fund": money(fund, currency),
                "date": entry_on.isoformat(),
            }
            return
        fund += row.fund_change
    # Entries dated later must still hold once these come before them.
    last = rows[-1] if rows else None
    for day, kind, amount, member_id in later:
        fund += -amount if kind in LEDGER_OUT else amount
        if kind == LedgerKind.LOAN_OUT:
            debts[member_id] += amount
        elif kind == LedgerKind.LOAN_REPAYMENT:
            debts[member_id] -= amount
        broken = fund < 0 or (member_id is not None and debts[member_id] < 0)
        if broken and last is not None:
            errors[last.key(prefix, "amount")] = _(
                "%(entry)s: entries recorded for %(date)s would then take the fund or a "
                "member's loan below zero. Record it on a later date."
            ) % {"entry": _describe(last, currency), "date": day.isoformat()}
            return


def _check_entry_date(
    group: SavingsGroup, entry_on: Any, field: str, errors: dict[str, Any]
) -> Any:
    day = clean_date(entry_on, field, errors)
    if day is None:
        return None
    if day < group.cycle_started_on:
        errors[field] = (
            _(
                "The cycle before %(date)s was shared out and is closed; record entries of "
                "the current cycle, from %(date)s on."
            )
            if group.cycle_started_on > group.formed_on
            else _("The group was formed on %(date)s.")
        ) % {"date": group.cycle_started_on.isoformat()}
        return None
    return day


def _member_in(members: Mapping[int, SavingsMember], ref: Any) -> SavingsMember | None:
    """The member a reference (a member or its id) names, if it is one of `members`."""
    if isinstance(ref, SavingsMember):
        ref = ref.pk
    try:
        return members.get(int(str(ref)))
    except ValueError:
        return None


def _members_of(group: SavingsGroup) -> dict[int, SavingsMember]:
    return {m.pk: m for m in group.members.select_related("person")}


def _entries_summary(rows: list[_Row]) -> dict[str, Any]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[row.entry.kind] += row.entry.amount
    return {
        "entries": len(rows),
        "totals": {k: str(v) for k, v in sorted(totals.items())},
    }


@transaction.atomic
def meeting_record(
    *,
    actor: Any,
    group: SavingsGroup,
    held_on: dt.date,
    present: Iterable[SavingsMember | int] = (),
    entries: Sequence[Mapping[str, Any]] = (),
    notes: str = "",
) -> SavingsMeeting:
    """A meeting with who came and its ledger entries, all or nothing.

    `entries` are dicts {kind, member, shares (SHARES only: the amount is shares x
    share value), amount, note}: shares bought, social fund, fines, loans out of the
    fund, repayments and interest. Errors are keyed `entries[n].field` (n from 1)."""
    access.require_in(actor, RECORD_INTERVENTIONS, group.village)
    group = _lock(group)
    errors: dict[str, Any] = {}
    if not group.active:
        errors["held_on"] = _("%(group)s no longer meets.") % {"group": group}
    day = _check_entry_date(group, held_on, "held_on", errors)
    if day is not None and group.meetings.filter(held_on=day).exists():
        errors["held_on"] = _(
            "A meeting on %(date)s is already recorded; add a single entry to it instead."
        ) % {"date": day.isoformat()}
    notes = clean_text(notes, "notes", errors, max_length=5000, formula_ok=True)
    members = _members_of(group)
    attendees: list[SavingsMember] = []
    for ref in present:
        found = _member_in(members, ref)
        if found is None:
            errors["present"] = _("No member #%(id)s in %(group)s.") % {
                "id": getattr(ref, "pk", ref),
                "group": group,
            }
        elif found not in attendees:
            attendees.append(found)
    if errors:
        raise ValidationError(errors)
    rows = _build_rows(
        group,
        entries,
        entry_on=day,
        prefix="entries",
        single=False,
        actor=actor,
        meeting=None,
        errors=errors,
        members=members,
    )
    if errors:
        raise ValidationError(errors)
    rows.sort(key=lambda r: (KIND_ORDER[r.entry.kind], r.index or 0))
    _check_balances(group, rows, day, "entries", errors)
    if errors:
        raise ValidationError(errors)
    meeting = SavingsMeeting.objects.create(
        group=group, held_on=day, notes=notes, recorded_by=author(actor)
    )
    meeting.present.set(attendees)
    for row in rows:
        row.entry.meeting = meeting
    LedgerEntry.objects.bulk_create([r.entry for r in rows])
    audit.record(
        actor=actor,
        action="create",
        obj=meeting,
        changes={
            "group": group.pk,
            "held_on": json_value(day),
            "present": sorted(m.pk for m in attendees),
            **_entries_summary(rows),
        },
    )
    return meeting


@transaction.atomic
def ledger_entry_record(
    *,
    actor: Any,
    group: SavingsGroup,
    kind: str,
    entry_on: dt.date,
    amount: Decimal | str | None = None,
    shares: int | None = None,
    member: SavingsMember | int | None = None,
    note: str = "",
    meeting: SavingsMeeting | None = None,
) -> LedgerEntry:
    """One entry outside a meeting's batch (a grant from the social fund, an expense, a
    forgotten repayment), under the same rules; with `meeting`, dated on its day."""
    access.require_in(actor, RECORD_INTERVENTIONS, group.village)
    group = _lock(group)
    errors: dict[str, Any] = {}
    if meeting is not None:
        if meeting.group_id != group.pk:
            errors["meeting"] = _("That meeting is not one of %(group)s.") % {"group": group}
        else:
            entry_on = meeting.held_on
    day = _check_entry_date(group, entry_on, "entry_on", errors)
    if errors:
        raise ValidationError(errors)
    rows = _build_rows(
        group,
        [{"kind": kind, "amount": amount, "shares": shares, "member": member, "note": note}],
        entry_on=day,
        prefix="",
        single=True,
        actor=actor,
        meeting=meeting,
        errors=errors,
        members=_members_of(group),
    )
    if not errors:
        _check_balances(group, rows, day, "", errors)
    if errors:
        raise ValidationError(errors)
    entry = rows[0].entry
    entry.save()
    audit.record(
        actor=actor,
        action="create",
        obj=entry,
        object_repr=f"{group}: {_describe(rows[0], group.currency)}"[:200],
        changes={
            "group": group.pk,
            "kind": entry.kind,
            "amount": str(entry.amount),
            "shares": entry.shares,
            "member": entry.member_id,
            "entry_on": json_value(day),
        },
    )
    return entry


# -- the share-out -----------------------------------------------------------------------


@dataclass(frozen=True)
class Payout:
    member: SavingsMember
    shares: int
    amount: Decimal
    remainder: Decimal  # what rounding left over, added to the largest shareholder


@dataclass(frozen=True)
class SharePlan:
    group: SavingsGroup
    on: dt.date
    fund: Decimal
    total_shares: int
    payouts: list[Payout]
    next_cycle: dt.date

    @property
    def value_per_share(self) -> Decimal:
        return self.fund / self.total_shares if self.total_shares else ZERO


def share_out_plan(group: SavingsGroup, on: Any) -> SharePlan:
    """What a share-out on `on` would pay each member; ValidationError when it cannot
    happen (a loan still out, entries dated later, nothing to share)."""
    errors: dict[str, Any] = {}
    day = clean_date(on, "on", errors)
    if day is not None and day < group.cycle_started_on:
        errors["on"] = _("The current cycle started on %(date)s.") % {
            "date": group.cycle_started_on.isoformat()
        }
    if errors:
        raise ValidationError(errors)
    assert day is not None
    later = group.ledger.filter(entry_on__gt=day).order_by("entry_on").first()
    if later is not None:
        raise ValidationError(
            {
                "on": _("Entries are recorded for %(date)s; share out on or after the last entry.")
                % {"date": later.entry_on.isoformat()}
            }
        )
    debts = list(
        group.ledger.filter(kind__in=[LedgerKind.LOAN_OUT, LedgerKind.LOAN_REPAYMENT])
        .values("member_id")
        .annotate(debt=ledger_sum(debt_change()))
        .filter(debt__gt=0)
        .values_list("member_id", "debt")
        .order_by("member_id")
    )
    members = _members_of(group)
    if debts:
        raise ValidationError(
            {
                "on": _(
                    "Loans from the fund are still outstanding: %(who)s. The share-out "
                    "waits until every loan is repaid."
                )
                % {
                    "who": "; ".join(
                        f"{members[m].person} {money(d, group.currency)}" for m, d in debts
                    )
                }
            }
        )
    fund = group.ledger.aggregate(fund=ledger_sum(signed_amount()))["fund"]
    bought = dict(
        group.ledger.filter(kind=LedgerKind.SHARES, entry_on__gte=group.cycle_started_on)
        .values("member_id")
        .annotate(n=Sum("shares"))
        .values_list("member_id", "n")
        .order_by()
    )
    total = sum(bought.values())
    if fund <= 0 or total == 0:
        raise ValidationError(
            {
                "on": _(
                    "Nothing to share out: no shares were bought in this cycle "
                    "or the fund is empty."
                )
            }
        )
    unit = MINOR_UNIT.get(group.currency, CENT)
    parts = {m: (fund * n / total).quantize(unit, rounding=ROUND_DOWN) for m, n in bought.items()}
    remainder = fund - sum(parts.values())
    # The remainder of rounding goes to whoever holds most shares (the earliest member on a tie).
    largest = min(bought, key=lambda m: (-bought[m], m))
    payouts = [
        Payout(
            member=members[m],
            shares=bought[m],
            amount=(parts[m] + (remainder if m == largest else ZERO)).quantize(CENT),
            remainder=(remainder if m == largest else ZERO).quantize(CENT),
        )
        for m in sorted(bought, key=lambda m: (-bought[m], m))
    ]
    return SharePlan(
        group=group,
        on=day,
        fund=fund,
        total_shares=total,
        payouts=payouts,
        next_cycle=day + dt.timedelta(days=1),
    )


@transaction.atomic
def share_out(*, actor: Any, group: SavingsGroup, on: dt.date) -> SharePlan:
    """Pay every member their part of the fund, in proportion to the shares they bought
    in the cycle (rounded down to the currency's smallest unit, the remainder to the
    largest shareholder), so the fund ends at exactly zero; the next cycle starts the
    next day. Only when no loan from the fund is outstanding."""
    access.require_in(actor, RECORD_INTERVENTIONS, group.village)
    group = _lock(group)
    plan = share_out_plan(group, on)
    user = author(actor)
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            group=group,
            member=p.member,
            entry_on=plan.on,
            kind=LedgerKind.SHARE_OUT,
            amount=p.amount,
            shares=p.shares,
            note=_("Share-out of the cycle from %(date)s") % {"date": group.cycle_started_on},
            recorded_by=user,
        )
        for p in plan.payouts
        if p.amount > 0
    )
    previous = group.cycle_started_on
    group.cycle_started_on = plan.next_cycle
    group.save(update_fields=["cycle_started_on", "updated_at"])
    audit.record(
        actor=actor,
        action="savings.share_out",
        obj=group,
        changes={
            "on": json_value(plan.on),
            "cycle_started_on": {
                "before": json_value(previous),
                "after": json_value(plan.next_cycle),
            },
            "fund": str(plan.fund),
            "shares": plan.total_shares,
            "payouts": {str(p.member.pk): str(p.amount) for p in plan.payouts},
        },
    )
    return plan
