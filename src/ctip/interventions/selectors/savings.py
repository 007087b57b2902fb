"""Reads of savings groups: the groups an actor may see, a group's ledger with its
running balance, each member's statement and the checks that the ledger balances.

A group is visible to whoever may see persons in its village. Members who live in
another village of the commune, outside the reader's areas, are shown without name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ctip.accounts import access
from ctip.accounts.roles import RECORD_INTERVENTIONS, VIEW_PERSONS
from ctip.core import audit
from ctip.registry import selectors as registry

from ..iga import money
from ..models import LEDGER_OUT, LedgerEntry, LedgerKind, SavingsGroup, SavingsMember
from ..services.savings import debt_change, ledger_sum, signed_amount

ZERO = Decimal(0)
MONEY: DecimalField[Any, Decimal] = DecimalField(max_digits=18, decimal_places=2)


def groups_visible_to(actor: Any) -> QuerySet[SavingsGroup]:
    if not access.has_permission(actor, VIEW_PERSONS):
        return SavingsGroup.objects.none()
    return SavingsGroup.objects.filter(
        village__in=access.areas_in_scope(actor, VIEW_PERSONS).values("id")
    )


def _fund_subquery() -> Coalesce:
    per_group = (
        LedgerEntry.objects.filter(group_id=OuterRef("pk"))
        .order_by()
        .values("group_id")
        .annotate(total=Sum(signed_amount()))
        .values("total")
    )
    return Coalesce(Subquery(per_group), Value(ZERO), output_field=MONEY)


def _members_subquery() -> Coalesce:
    per_group = (
        SavingsMember.objects.filter(group_id=OuterRef("pk"), left_on__isnull=True)
        .order_by()
        .values("group_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(per_group), Value(0), output_field=IntegerField())


def group_search(
    actor: Any, *, q: str = "", area: Any = None, active: bool | None = None
) -> QuerySet[SavingsGroup]:
    """Visible groups by name and area (an Area: it and everything below), with their
    active members and fund balance, in one query."""
    qs = groups_visible_to(actor)
    if q:
        qs = qs.filter(name__icontains=q.strip())
    if area is not None:
        qs = qs.filter(village__path__startswith=area.path)
    if active is not None:
        qs = qs.filter(active=active)
    return (
        qs.select_related("village")
        .annotate(member_count=_members_subquery(), fund=_fund_subquery())
        .order_by("name", "id")
    )


def group_get(actor: Any, pk: int, *, audit_read: bool = True) -> SavingsGroup:
    """One group for someone who may see persons in its village (404 otherwise); the
    read is audited, since the group's pages show its members' money."""
    try:
        group = groups_visible_to(actor).select_related("village").get(pk=pk)
    except SavingsGroup.DoesNotExist:
        raise Http404 from None
    if audit_read:
        audit.record(actor=actor, action="read", obj=group)
    return group


def member_get(actor: Any, pk: int) -> SavingsMember:
    """One membership, with its group, for a reader of the group (audited)."""
    try:
        member = (
            SavingsMember.objects.select_related("group__village", "person__household__village")
            .filter(group__in=groups_visible_to(actor).values("id"))
            .get(pk=pk)
        )
    except SavingsMember.DoesNotExist:
        raise Http404 from None
    audit.record(
        actor=actor, action="read", obj=member, object_repr=f"{member.group} / {member.person}"
    )
    return member


def can_record(actor: Any, group: SavingsGroup) -> bool:
    return access.can_act_in(actor, RECORD_INTERVENTIONS, group.village)


def fund_balance(group: SavingsGroup) -> Decimal:
    """Cash in the fund: money in minus money out, over the whole ledger."""
    total: Decimal = group.ledger.aggregate(fund=ledger_sum(signed_amount()))["fund"]
    return total


def ledger(group: SavingsGroup, *, newest_first: bool = True) -> QuerySet[LedgerEntry]:
    """The group's entries with `signed` (+ in, - out) and `balance`, the fund after
    each entry in date order (the window is computed before any page is cut)."""
    order = ["entry_on", "id"]
    qs = (
        group.ledger.select_related("member__person", "meeting")
        .annotate(
            signed=signed_amount(),
            balance=Window(Sum(signed_amount()), order_by=order),
        )
        .order_by(*(f"-{f}" for f in order) if newest_first else order)
    )
    return qs


def meetings(group: SavingsGroup) -> QuerySet[Any]:
    """Meetings, newest first, with how many came and the money in and out."""
    return (
        group.meetings.annotate(
            present_count=Count("present", distinct=True),
        )
        .annotate(
            money_in=Coalesce(
                Subquery(
                    LedgerEntry.objects.filter(meeting_id=OuterRef("pk"))
                    .exclude(kind__in=list(LEDGER_OUT))
                    .order_by()
                    .values("meeting_id")
                    .annotate(t=Sum("amount"))
                    .values("t")
                ),
                Value(ZERO),
                output_field=MONEY,
            ),
            money_out=Coalesce(
                Subquery(
                    LedgerEntry.objects.filter(meeting_id=OuterRef("pk"), kind__in=list(LEDGER_OUT))
                    .order_by()
                    .values("meeting_id")
                    .annotate(t=Sum("amount"))
                    .values("t")
                ),
                Value(ZERO),
                output_field=MONEY,
            ),
        )
        .order_by("-held_on", "-id")
    )


@dataclass(frozen=True)
class Statement:
    """One member's position in the group (money in the group's currency)."""

    member: SavingsMember
    name_visible: bool
    shares: int  # bought in the current cycle
    savings: Decimal  # those shares at the share value
    social_fund: Decimal  # paid in this cycle
    fines: Decimal  # paid in this cycle
    borrowed: Decimal  # all loans from the fund, ever
    repaid: Decimal
    outstanding: Decimal
    interest_paid: Decimal  # in this cycle
    share_estimate: Decimal | None  # their part of the fund if it were shared out today

    @property
    def name(self) -> str:
        if self.name_visible:
            return str(self.member.person)
        return _("Member #%(id)s (outside your areas)") % {"id": self.member.pk}


def statements(
    actor: Any, group: SavingsGroup, *, members: list[SavingsMember] | None = None
) -> list[Statement]:
    """Every member's statement (or those given), in two queries whatever the size."""
    cycle = group.cycle_started_on
    in_cycle = {"entry_on__gte": cycle}
    roster = (
        members
        if members is not None
        else list(group.members.select_related("person").order_by("left_on", "id"))
    )
    ids = [m.pk for m in roster]
    figures = {
        row["member_id"]: row
        for row in LedgerEntry.objects.filter(group=group, member_id__in=ids)
        .values("member_id")
        .annotate(
            shares=Coalesce(
                Sum("shares", filter=Q(kind=LedgerKind.SHARES, **in_cycle)),
                Value(0),
                output_field=IntegerField(),
            ),
            social_fund=ledger_sum("amount", kind=LedgerKind.SOCIAL_FUND, **in_cycle),
            fines=ledger_sum("amount", kind=LedgerKind.FINE, **in_cycle),
            borrowed=ledger_sum("amount", kind=LedgerKind.LOAN_OUT),
            repaid=ledger_sum("amount", kind=LedgerKind.LOAN_REPAYMENT),
            interest=ledger_sum("amount", kind=LedgerKind.LOAN_INTEREST, **in_cycle),
        )
        .order_by()
    }
    visible = set(
        registry.persons_visible_to(actor, include_merged=True)
        .filter(pk__in=[m.person_id for m in roster])
        .values_list("pk", flat=True)
    )
    fund = fund_balance(group)
    total_shares = (
        group.ledger.filter(kind=LedgerKind.SHARES, **in_cycle).aggregate(n=Sum("shares"))["n"] or 0
    )
    out = []
    for m in roster:
        row = figures.get(m.pk, {})
        shares = int(row.get("shares") or 0)
        borrowed = row.get("borrowed", ZERO)
        repaid = row.get("repaid", ZERO)
        out.append(
            Statement(
                member=m,
                name_visible=m.person_id in visible,
                shares=shares,
                savings=group.share_value * shares,
                social_fund=row.get("social_fund", ZERO),
                fines=row.get("fines", ZERO),
                borrowed=borrowed,
                repaid=repaid,
                outstanding=borrowed - repaid,
                interest_paid=row.get("interest", ZERO),
                share_estimate=fund * shares / total_shares if total_shares else None,
            )
        )
    return out


@dataclass(frozen=True)
class Check:
    label: str
    ok: bool
    expected: str
    found: str


@dataclass(frozen=True)
class Reconciliation:
    checks: list[Check]
    balance: Decimal

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


CHECK_LABELS = {
    "balance": gettext_lazy("The fund equals money in minus money out"),
    "never_negative": gettext_lazy("The fund never went below zero"),
    "shares": gettext_lazy("Shares bought this cycle x share value = shares paid in"),
    "loans": gettext_lazy("Loans out - repaid = loans outstanding"),
    "debts": gettext_lazy("No member has repaid more than they borrowed"),
}


def reconciliation(group: SavingsGroup) -> Reconciliation:
    """Checks that the ledger balances, computed independently of each other: the fund
    as a sum of money in and money out, and as the last running balance; the shares of
    the cycle against their payments; loans out and repaid against what each member
    owes. A failed check means an entry was changed outside ctip."""
    cur = group.currency
    totals = group.ledger.aggregate(
        money_in=ledger_sum(
            "amount", kind__in=[k for k in LedgerKind.values if k not in LEDGER_OUT]
        ),
        money_out=ledger_sum("amount", kind__in=list(LEDGER_OUT)),
        out=ledger_sum("amount", kind=LedgerKind.LOAN_OUT),
        back=ledger_sum("amount", kind=LedgerKind.LOAN_REPAYMENT),
        shares=Coalesce(
            Sum(
                "shares",
                filter=Q(kind=LedgerKind.SHARES, entry_on__gte=group.cycle_started_on),
            ),
            Value(0),
            output_field=IntegerField(),
        ),
        shares_paid=ledger_sum(
            "amount", kind=LedgerKind.SHARES, entry_on__gte=group.cycle_started_on
        ),
    )
    # The running balance walked here in Python, the totals above summed by the database.
    last = lowest = ZERO
    for kind, amount in group.ledger.order_by("entry_on", "id").values_list("kind", "amount"):
        last += -amount if kind in LEDGER_OUT else amount
        lowest = min(lowest, last)
    owed = list(
        group.ledger.exclude(member=None)
        .values("member_id")
        .annotate(debt=ledger_sum(debt_change()))
        .values_list("member_id", "debt")
        .order_by()
    )
    outstanding = sum((Decimal(d) for _m, d in owed), ZERO)
    negative = [m for m, d in owed if d < 0]
    balance = totals["money_in"] - totals["money_out"]
    checks = [
        Check(str(CHECK_LABELS["balance"]), balance == last, money(balance, cur), money(last, cur)),
        Check(
            str(CHECK_LABELS["never_negative"]),
            lowest >= 0,
            money(ZERO, cur),
            money(lowest, cur),
        ),
        Check(
            str(CHECK_LABELS["shares"]),
            totals["shares"] * group.share_value == totals["shares_paid"],
            money(totals["shares"] * group.share_value, cur),
            money(totals["shares_paid"], cur),
        ),
        Check(
            str(CHECK_LABELS["loans"]),
            totals["out"] - totals["back"] == outstanding,
            money(totals["out"] - totals["back"], cur),
            money(outstanding, cur),
        ),
        Check(
            str(CHECK_LABELS["debts"]),
            not negative,
            "0",
            str(len(negative)),
        ),
    ]
    return Reconciliation(checks=checks, balance=balance)


def members_for_meeting(group: SavingsGroup, on: dt.date | None = None) -> list[SavingsMember]:
    """Members of the group on a day (all current members when no day is given)."""
    qs = group.members.select_related("person").order_by("id")
    if on is None:
        return list(qs.filter(left_on__isnull=True))
    return list(qs.filter(joined_on__lte=on).filter(Q(left_on__isnull=True) | Q(left_on__gte=on)))
