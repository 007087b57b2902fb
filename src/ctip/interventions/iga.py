"""The market analysis of an income-generating activity (IGA), per month, compared with
what migrating would earn. Pure: reads the activity, its cost lines, its benchmark and
(optionally) its follow-up visits as given, writes nothing.

Definitions (money per month, in the activity's currency):

- revenue = expected price x expected units sold
- variable costs = (sum of the VARIABLE cost lines, each per unit sold) x units sold
- fixed costs = sum of the FIXED cost lines (each per month)
- gross margin = revenue - variable costs - fixed costs
- margin % = gross margin / revenue x 100
- break-even volume = fixed costs / (price - variable cost per unit), units a month
- payback = start-up investment (sum of INVESTMENT lines) / gross margin, in months
- migration benchmark net = monthly wage - monthly living costs at the destination

The gross margin is the one figure the per-area summary also computes in SQL:
`gross_margin_expression()` below is that same definition as a database expression,
and both are exact (no rounding), so an average over activities is the same either way.
Rounding happens only when a figure is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from .models import (
    ActivityCost,
    CostKind,
    FollowUp,
    FollowUpStatus,
    IncomeActivity,
    MigrationBenchmark,
)

ZERO = Decimal(0)
HUNDRED = Decimal(100)

# Places a currency's amounts are shown with (riel and dong have no coins below one).
SHOWN_PLACES = {"KHR": 0, "VND": 0, "USD": 2}

# Verdicts of the comparison with the migration benchmark.
MORE = "more"
SAME = "same"
LESS = "less"
DIFFERENT_CURRENCY = "different_currency"
NO_BENCHMARK = "no_benchmark"


def money(amount: Decimal | None, currency: str) -> str:
    """`1,250,000 KHR`: an amount as shown, rounded to the currency's shown places."""
    if amount is None:
        return "—"
    places = SHOWN_PLACES.get(currency, 2)
    rounded = amount.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return f"{number_format(rounded, places, force_grouping=True)} {currency}".strip()


@dataclass(frozen=True)
class Comparison:
    """The activity's gross margin against the net monthly earnings of migrating."""

    verdict: str  # MORE, SAME, LESS, DIFFERENT_CURRENCY or NO_BENCHMARK
    text: str
    benchmark: MigrationBenchmark | None = None
    net: Decimal | None = None  # wage - living costs, in the benchmark's currency
    # margin / net: 1.5 means the activity earns half as much again as migrating.
    # None when the currencies differ or migrating nets nothing.
    ratio: Decimal | None = None

    @property
    def comparable(self) -> bool:
        return self.verdict in (MORE, SAME, LESS)


@dataclass(frozen=True)
class ActualIncome:
    """Income a person reported at one follow-up visit, against the expected margin."""

    follow_up_id: int
    visited_on: Any
    months_after: int | None
    monthly_income: Decimal
    currency: str
    # income - expected gross margin; None when the visit recorded another currency.
    difference: Decimal | None


@dataclass(frozen=True)
class Analysis:
    currency: str
    unit: str
    price: Decimal
    volume: Decimal
    revenue: Decimal
    variable_per_unit: Decimal
    variable_costs: Decimal
    fixed_costs: Decimal
    investment: Decimal
    gross_margin: Decimal
    margin_pct: Decimal | None
    break_even_volume: Decimal | None
    break_even_note: str
    payback_months: Decimal | None
    payback_note: str
    benchmark: Comparison
    actual: list[ActualIncome] = field(default_factory=list)

    @property
    def unit_margin(self) -> Decimal:
        """What each unit sold leaves once its variable costs are paid."""
        return self.price - self.variable_per_unit

    @property
    def actual_average(self) -> Decimal | None:
        """Mean income reported at follow-ups in the activity's currency (None if none)."""
        same = [a.monthly_income for a in self.actual if a.difference is not None]
        return sum(same, ZERO) / len(same) if same else None

    def shown(self, amount: Decimal | None) -> str:
        return money(amount, self.currency)


def _costs(activity: IncomeActivity, costs: Iterable[ActivityCost] | None) -> list[ActivityCost]:
    # .all() uses a prefetch when the caller made one, so lists cost no query per row.
    return list(activity.costs.all() if costs is None else costs)


def _done_with_income(
    activity: IncomeActivity, follow_ups: Iterable[FollowUp] | None
) -> list[FollowUp]:
    visits = activity.follow_ups.all() if follow_ups is None else follow_ups
    done = [f for f in visits if f.status == FollowUpStatus.DONE and f.monthly_income is not None]
    return sorted(done, key=lambda f: (f.visited_on or f.due_on, f.pk or 0))


def compare(
    gross_margin: Decimal, currency: str, benchmark: MigrationBenchmark | None
) -> Comparison:
    """A gross margin against a migration benchmark, with a plain-language verdict."""
    if benchmark is None:
        return Comparison(
            NO_BENCHMARK, _("No migration benchmark chosen: choose one to compare with.")
        )
    names = {"destination": benchmark.destination, "sector": benchmark.get_sector_display()}
    if benchmark.currency != currency:
        return Comparison(
            DIFFERENT_CURRENCY,
            _(
                "Cannot be compared: different currencies (the activity counts in "
                "%(mine)s, migrating to %(destination)s in %(theirs)s)."
            )
            % {**names, "mine": currency, "theirs": benchmark.currency},
            benchmark,
        )
    net = benchmark.monthly_wage - benchmark.monthly_costs
    ratio = gross_margin / net if net > 0 else None
    figures = {
        **names,
        "margin": money(gross_margin, currency),
        "net": money(net, currency),
    }
    if gross_margin > net:
        verdict = MORE
        text = _(
            "Earns more than migrating to %(destination)s to work in %(sector)s: "
            "%(margin)s a month against %(net)s net of living costs there."
        )
    elif gross_margin < net:
        verdict = LESS
        text = _(
            "Earns less than migrating to %(destination)s to work in %(sector)s: "
            "%(margin)s a month against %(net)s net of living costs there."
        )
    else:
        verdict = SAME
        text = _(
            "Earns as much as migrating to %(destination)s to work in %(sector)s: "
            "%(margin)s a month."
        )
    return Comparison(verdict, text % figures, benchmark, net, ratio)


def analyse(
    activity: IncomeActivity,
    *,
    costs: Iterable[ActivityCost] | None = None,
    follow_ups: Iterable[FollowUp] | None = None,
    with_actual: bool = True,
) -> Analysis:
    """The activity's figures per month. `costs` and `follow_ups` default to the
    activity's own (prefetch them for lists); `with_actual=False` leaves out the
    income reported at follow-ups."""
    lines = _costs(activity, costs)
    price, volume, currency = activity.expected_price, activity.expected_volume, activity.currency

    def total(kind: str) -> Decimal:
        return sum((c.amount for c in lines if c.kind == kind), ZERO)

    variable_per_unit = total(CostKind.VARIABLE)
    fixed = total(CostKind.FIXED)
    investment = total(CostKind.INVESTMENT)
    revenue = price * volume
    variable = variable_per_unit * volume
    margin = revenue - variable - fixed

    margin_pct = margin / revenue * HUNDRED if revenue else None

    unit_margin = price - variable_per_unit
    break_even: Decimal | None = None
    payback: Decimal | None = None
    if unit_margin > 0:
        break_even = units = fixed / unit_margin
        break_even_note = _(
            "Selling %(volume)s %(unit)s a month covers the fixed costs; each unit leaves "
            "%(unit_margin)s once its own costs are paid."
        ) % {
            "volume": number_format(
                units.quantize(Decimal("0.01"), ROUND_HALF_UP), 2, force_grouping=True
            ),
            "unit": activity.unit,
            "unit_margin": money(unit_margin, currency),
        }
    else:
        break_even_note = _(
            "No break-even: the price (%(price)s) does not cover the variable cost of "
            "each unit (%(cost)s), so selling more only loses more."
        ) % {"price": money(price, currency), "cost": money(variable_per_unit, currency)}

    if margin > 0:
        payback = months = investment / margin
        payback_note = (
            _("The start-up investment is earned back in about %(months)s months.")
            % {"months": number_format(months.quantize(Decimal("0.1"), ROUND_HALF_UP), 1)}
            if investment
            else _("No start-up investment to earn back.")
        )
    else:
        payback_note = _(
            "Never paid back: the activity makes no gross margin, so the start-up "
            "investment is not earned back."
        )

    actual = []
    if with_actual:
        for f in _done_with_income(activity, follow_ups):
            income = f.monthly_income
            assert income is not None
            actual.append(
                ActualIncome(
                    follow_up_id=f.pk,
                    visited_on=f.visited_on,
                    months_after=f.months_after,
                    monthly_income=income,
                    currency=f.currency or currency,
                    difference=income - margin if (f.currency or currency) == currency else None,
                )
            )

    return Analysis(
        currency=currency,
        unit=activity.unit,
        price=price,
        volume=volume,
        revenue=revenue,
        variable_per_unit=variable_per_unit,
        variable_costs=variable,
        fixed_costs=fixed,
        investment=investment,
        gross_margin=margin,
        margin_pct=margin_pct,
        break_even_volume=break_even,
        break_even_note=break_even_note,
        payback_months=payback,
        payback_note=payback_note,
        benchmark=compare(margin, currency, activity.benchmark),
        actual=actual,
    )


MARGIN_FIELD: DecimalField[Any, Decimal] = DecimalField(max_digits=36, decimal_places=4)


def _cost_total(kind: str) -> Coalesce:
    per_activity = (
        ActivityCost.objects.filter(activity_id=OuterRef("pk"), kind=kind)
        .order_by()
        .values("activity_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(per_activity), Value(ZERO), output_field=MARGIN_FIELD)


def gross_margin_expression() -> Combinable:
    """The gross margin of each IncomeActivity row as a database expression, the same
    definition as `analyse`: `IncomeActivity.objects.annotate(margin=gross_margin_expression())`."""
    return ExpressionWrapper(
        F("expected_price") * F("expected_volume")
        - _cost_total(CostKind.VARIABLE) * F("expected_volume")
        - _cost_total(CostKind.FIXED),
        output_field=MARGIN_FIELD,
    )
