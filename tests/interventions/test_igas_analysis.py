"""The market analysis of an income-generating activity: figures a committee reads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from ctip.interventions import iga
from ctip.interventions.models import (
    ActivityCost,
    CostKind,
    FollowUp,
    FollowUpStatus,
    IncomeActivity,
    MigrationBenchmark,
    Sector,
)
from tests.interventions import factories as f


def _activity(price="2500", volume="300", currency="KHR", benchmark=None) -> IncomeActivity:
    return IncomeActivity(
        title="Chicken raising",
        sector="livestock",
        unit="kg",
        expected_price=D(price),
        expected_volume=D(volume),
        currency=currency,
        benchmark=benchmark,
    )


def _costs(*lines: tuple[str, str]) -> list[ActivityCost]:
    return [ActivityCost(item=f"c{i}", kind=k, amount=D(a)) for i, (k, a) in enumerate(lines)]


BANGKOK = MigrationBenchmark(
    destination="Bangkok",
    destination_country="TH",
    sector="construction",
    monthly_wage=D("1200000"),
    monthly_costs=D("500000"),
    currency="KHR",
    valid_from=dt.date(2025, 1, 1),
)

CHICKEN_COSTS = _costs(
    (CostKind.INVESTMENT, "1500000"),  # coop and first chicks
    (CostKind.FIXED, "50000"),  # vaccines
    (CostKind.FIXED, "30000"),  # transport to market
    (CostKind.VARIABLE, "800"),  # feed per kg
    (CostKind.VARIABLE, "200"),  # packaging per kg
)


def test_figures_per_month_follow_the_definitions():
    a = iga.analyse(_activity(), costs=CHICKEN_COSTS, follow_ups=[])
    assert a.revenue == D("750000")  # 2,500 x 300
    assert a.variable_per_unit == D("1000")
    assert a.variable_costs == D("300000")
    assert a.fixed_costs == D("80000")
    assert a.investment == D("1500000")
    assert a.gross_margin == D("370000")  # 750,000 - 300,000 - 80,000
    assert a.margin_pct is not None and a.break_even_volume is not None
    assert a.payback_months is not None
    assert a.margin_pct.quantize(D("0.01")) == D("49.33")
    # 80,000 / (2,500 - 1,000) = 53.33 kg a month
    assert a.break_even_volume.quantize(D("0.01")) == D("53.33")
    assert "53.33 kg" in a.break_even_note
    # 1,500,000 / 370,000 = 4.05 months
    assert a.payback_months.quantize(D("0.01")) == D("4.05")
    assert "4.1 months" in a.payback_note


def test_no_break_even_when_the_price_does_not_cover_the_unit_cost():
    a = iga.analyse(
        _activity(price="900"),
        costs=_costs((CostKind.VARIABLE, "1000"), (CostKind.FIXED, "10")),
        follow_ups=[],
    )
    assert a.break_even_volume is None
    assert "does not cover the variable cost" in a.break_even_note
    assert a.gross_margin < 0
    assert a.payback_months is None
    assert "Never paid back" in a.payback_note


def test_no_revenue_leaves_the_margin_percentage_undefined():
    a = iga.analyse(_activity(volume="0"), costs=[], follow_ups=[])
    assert a.revenue == 0 and a.margin_pct is None and a.gross_margin == 0
    assert a.payback_months is None


def test_payback_without_investment_is_immediate():
    a = iga.analyse(_activity(), costs=_costs((CostKind.FIXED, "1000")), follow_ups=[])
    assert a.payback_months == 0
    assert a.payback_note == "No start-up investment to earn back."


@pytest.mark.parametrize(
    ("wage", "verdict", "words"),
    [
        ("800000", iga.MORE, "Earns more than migrating to Bangkok to work in Construction"),
        ("870000", iga.SAME, "Earns as much as migrating to Bangkok"),
        ("1200000", iga.LESS, "Earns less than migrating to Bangkok to work in Construction"),
    ],
)
def test_benchmark_verdict_in_plain_language(wage, verdict, words):
    bench = MigrationBenchmark(**{**_bench_fields(), "monthly_wage": D(wage)})
    a = iga.analyse(_activity(benchmark=bench), costs=CHICKEN_COSTS, follow_ups=[])
    assert a.benchmark.verdict == verdict
    assert a.benchmark.text.startswith(words)
    assert a.benchmark.net == D(wage) - D("500000")
    assert a.benchmark.ratio == D("370000") / (D(wage) - D("500000"))


def _bench_fields() -> dict:
    return {
        f: getattr(BANGKOK, f)
        for f in (
            "destination",
            "destination_country",
            "sector",
            "monthly_wage",
            "monthly_costs",
            "currency",
            "valid_from",
        )
    }


def test_benchmark_in_another_currency_cannot_be_compared():
    bench = MigrationBenchmark(**{**_bench_fields(), "currency": "USD", "monthly_wage": D("300")})
    a = iga.analyse(_activity(benchmark=bench), costs=CHICKEN_COSTS, follow_ups=[])
    assert a.benchmark.verdict == iga.DIFFERENT_CURRENCY
    assert a.benchmark.text.startswith("Cannot be compared: different currencies")
    assert a.benchmark.ratio is None and not a.benchmark.comparable


def test_no_benchmark_chosen_is_said():
    a = iga.analyse(_activity(), costs=CHICKEN_COSTS, follow_ups=[])
    assert a.benchmark.verdict == iga.NO_BENCHMARK
    assert "No migration benchmark chosen" in a.benchmark.text


def test_migrating_that_nets_nothing_has_no_ratio_but_a_verdict():
    bench = MigrationBenchmark(**{**_bench_fields(), "monthly_wage": D("400000")})
    a = iga.analyse(_activity(benchmark=bench), costs=CHICKEN_COSTS, follow_ups=[])
    assert a.benchmark.net == D("-100000")
    assert a.benchmark.ratio is None
    assert a.benchmark.verdict == iga.MORE


def test_actual_income_at_follow_ups_against_the_expected_margin():
    visits = [
        FollowUp(
            pk=2,
            due_on=dt.date(2026, 7, 1),
            months_after=6,
            status=FollowUpStatus.DONE,
            visited_on=dt.date(2026, 7, 3),
            monthly_income=D("300000"),
            currency="KHR",
        ),
        FollowUp(
            pk=1,
            due_on=dt.date(2026, 4, 1),
            months_after=3,
            status=FollowUpStatus.DONE,
            visited_on=dt.date(2026, 4, 2),
            monthly_income=D("410000"),
            currency="KHR",
        ),
        FollowUp(pk=3, due_on=dt.date(2027, 1, 1), months_after=12, status=FollowUpStatus.DUE),
        FollowUp(
            pk=4,
            due_on=dt.date(2026, 7, 1),
            status=FollowUpStatus.DONE,
            visited_on=dt.date(2026, 7, 9),
            monthly_income=D("100"),
            currency="USD",
        ),
    ]
    a = iga.analyse(_activity(), costs=CHICKEN_COSTS, follow_ups=visits)
    assert [x.follow_up_id for x in a.actual] == [1, 2, 4]
    assert [x.difference for x in a.actual] == [D("40000"), D("-70000"), None]
    assert a.actual_average == D("355000")


def test_money_is_shown_with_the_currency_places():
    assert iga.money(D("1234567.4"), "KHR") == "1,234,567 KHR"
    assert iga.money(D("12.345"), "USD") == "12.35 USD"
    assert iga.money(None, "USD") == "—"


@pytest.mark.django_db
def test_the_database_expression_gives_the_same_gross_margin():
    sr = f.village("20")
    person = f.consenting_person(sr)
    made = []
    for price, volume, lines in [
        ("2500", "300", [("variable", "1000"), ("fixed", "80000"), ("investment", "9")]),
        ("1.25", "33.5", [("variable", "0.40"), ("variable", "0.05")]),
        ("900", "10", []),
        ("100", "0", [("fixed", "20")]),
    ]:
        act = IncomeActivity.objects.create(
            household=person.household,
            person=person,
            title="x",
            sector=Sector.TRADE,
            unit="kg",
            expected_price=D(price),
            expected_volume=D(volume),
            currency="USD",
        )
        ActivityCost.objects.bulk_create(
            ActivityCost(activity=act, item="i", kind=k, amount=D(a)) for k, a in lines
        )
        made.append(act.pk)
    rows = IncomeActivity.objects.filter(pk__in=made).annotate(margin=iga.gross_margin_expression())
    for row in rows.prefetch_related("costs"):
        expected = iga.analyse(row, follow_ups=[]).gross_margin
        assert D(row.margin).quantize(D("0.0001")) == expected.quantize(D("0.0001"))
