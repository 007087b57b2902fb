"""The repayment schedule engine, checked against numpy-financial (declining balance) and
hand calculation (flat), and the `ctip loans schedule` command."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from decimal import ROUND_HALF_UP, Decimal

import numpy_financial as npf
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from ctip.interventions.schedule import (
    MINOR_UNIT,
    LoanTerms,
    Schedule,
    ScheduleInputError,
    build_schedule,
    build_schedules,
)

D = Decimal
START = dt.date(2026, 1, 31)


def sched(**kw: object) -> Schedule:
    args: dict[str, object] = {
        "principal": D(1_000_000),
        "annual_rate": D(18),
        "term": 12,
        "frequency": "monthly",
        "method": "declining",
        "grace": 0,
        "currency": "KHR",
        "start": START,
    }
    args.update(kw)
    return build_schedule(**args)  # type: ignore[arg-type]


def assert_consistent(s: Schedule) -> None:
    """What every schedule must satisfy, whatever its inputs."""
    unit = MINOR_UNIT[s.currency]
    lines = s.installments
    assert [x.number for x in lines] == list(range(1, s.term + 1))
    assert sum(x.principal for x in lines) == s.principal
    assert sum(x.total for x in lines) == s.principal + s.total_interest == s.total
    balance = s.principal
    for x in lines:
        for amount in (x.principal, x.interest, x.total, x.balance):
            assert amount >= 0
            assert amount == amount.quantize(unit), amount
        assert x.total == x.principal + x.interest
        balance -= x.principal
        assert x.balance == balance
    assert lines[-1].balance == 0
    assert all(x.principal == 0 for x in lines[: s.grace])
    dates = [x.due_date for x in lines]
    assert dates == sorted(dates) and dates[0] > s.start


# --- declining balance against numpy-financial ---------------------------------------


@pytest.mark.parametrize(
    ("currency", "principal", "rate", "term", "frequency"),
    [
        ("KHR", D(4_000_000), D(18), 12, "monthly"),
        ("KHR", D(800_000), D("24.5"), 26, "weekly"),
        ("VND", D(30_000_000), D(12), 24, "monthly"),
        ("VND", D(5_000_000), D(20), 52, "weekly"),
        ("USD", D("1500.00"), D(15), 18, "monthly"),
        ("USD", D("250.50"), D("9.125"), 10, "weekly"),
    ],
)
def test_declining_balance_matches_numpy_financial(
    currency: str, principal: Decimal, rate: Decimal, term: int, frequency: str
) -> None:
    s = sched(
        principal=principal, annual_rate=rate, term=term, frequency=frequency, currency=currency
    )
    assert_consistent(s)
    r = float(rate) / 100 / (12 if frequency == "monthly" else 52)
    unit = MINOR_UNIT[currency]
    payment = D(str(-npf.pmt(r, term, float(principal)))).quantize(unit, rounding=ROUND_HALF_UP)
    # Every instalment but the last pays exactly the rounded level payment ...
    assert {x.total for x in s.installments[:-1]} == {payment}
    # ... and the split follows the exact schedule, off by the rounding carried along.
    for x in s.installments:
        ipmt = -npf.ipmt(r, x.number, term, float(principal))
        ppmt = -npf.ppmt(r, x.number, term, float(principal))
        slack = float(unit) * x.number
        assert abs(float(x.interest) - ipmt) <= slack, (x, ipmt)
        assert abs(float(x.principal) - ppmt) <= slack, (x, ppmt)
    total_interest = -npf.pmt(r, term, float(principal)) * term - float(principal)
    assert abs(float(s.total_interest) - total_interest) <= float(unit) * term


@pytest.mark.parametrize("currency", ["KHR", "VND", "USD"])
def test_declining_with_grace_pays_interest_then_an_annuity_over_the_rest(currency: str) -> None:
    principal = D("2000.00") if currency == "USD" else D(2_000_000)
    s = sched(principal=principal, term=12, grace=3, currency=currency)
    assert_consistent(s)
    r = 0.18 / 12
    unit = MINOR_UNIT[currency]
    interest_only = (principal * D("0.015")).quantize(unit, rounding=ROUND_HALF_UP)
    for x in s.installments[:3]:
        assert (x.principal, x.interest, x.balance) == (0, interest_only, principal)
    payment = D(str(-npf.pmt(r, 9, float(principal)))).quantize(unit, rounding=ROUND_HALF_UP)
    assert {x.total for x in s.installments[3:-1]} == {payment}
    for x in s.installments[3:]:
        k = x.number - 3
        assert abs(float(x.interest) + npf.ipmt(r, k, 9, float(principal))) <= float(unit) * k
        assert abs(float(x.principal) + npf.ppmt(r, k, 9, float(principal))) <= float(unit) * k


def test_declining_at_zero_interest_repays_the_principal_in_equal_parts() -> None:
    s = sched(principal=D(1000), annual_rate=D(0), term=3)
    assert [(x.principal, x.interest) for x in s.installments] == [
        (333, 0),
        (333, 0),
        (334, 0),
    ]


# --- flat, by hand ----------------------------------------------------------------


def test_flat_monthly_khr_by_hand() -> None:
    # 1 200 000 riel at 24% a year, flat: 2% a month of the original principal.
    s = sched(principal=D(1_200_000), annual_rate=D(24), term=12, method="flat")
    assert_consistent(s)
    assert {(x.principal, x.interest, x.total) for x in s.installments} == {
        (D(100_000), D(24_000), D(124_000))
    }
    assert s.total_interest == D(288_000)
    assert [x.balance for x in s.installments[:3]] == [D(1_100_000), D(1_000_000), D(900_000)]


def test_flat_weekly_usd_by_hand_last_instalment_takes_the_cents() -> None:
    # 1000 USD at 12% a year, weekly: 1000 * 0.12 / 52 = 2.3077 -> 2.31 each week.
    s = sched(
        principal=D("1000.00"),
        annual_rate=D(12),
        term=3,
        frequency="weekly",
        method="flat",
        currency="USD",
        start=dt.date(2026, 1, 1),
    )
    assert [
        (str(x.due_date), str(x.principal), str(x.interest), str(x.total), str(x.balance))
        for x in s.installments
    ] == [
        ("2026-01-08", "333.33", "2.31", "335.64", "666.67"),
        ("2026-01-15", "333.33", "2.31", "335.64", "333.34"),
        ("2026-01-22", "333.34", "2.31", "335.65", "0.00"),
    ]
    assert (s.total_interest, s.total) == (D("6.93"), D("1006.93"))


def test_flat_vnd_with_grace_by_hand() -> None:
    # 10 000 000 dong, 15% a year flat, 8 months of which 2 interest only:
    # interest 125 000 every month, principal 10 000 000 / 6 = 1 666 666.67 -> 1 666 667
    # for five months and 1 666 665 in the last.
    s = sched(
        principal=D(10_000_000), annual_rate=D(15), term=8, grace=2, method="flat", currency="VND"
    )
    assert_consistent(s)
    assert [x.interest for x in s.installments] == [D(125_000)] * 8
    assert [x.principal for x in s.installments] == [0, 0] + [D(1_666_667)] * 5 + [D(1_666_665)]
    assert s.total_interest == D(1_000_000)


def test_rounding_is_half_up() -> None:
    # 1050 riel at 12% flat over one month: interest 10.5 -> 11 (half-even would give 10).
    s = sched(principal=D(1050), annual_rate=D(12), term=1, method="flat")
    assert s.installments[0].interest == D(11)
    # 0.125 cents -> up to .13 when half (USD 12.50 at 12%/yr monthly: 0.125).
    s = sched(principal=D("12.50"), annual_rate=D(12), term=1, method="flat", currency="USD")
    assert s.installments[0].interest == D("0.13")


def test_monthly_due_dates_keep_the_day_or_take_the_months_last_day() -> None:
    s = sched(term=4, start=dt.date(2026, 1, 31))
    assert [x.due_date for x in s.installments] == [
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
        dt.date(2026, 5, 31),
    ]
    s = sched(term=2, frequency="weekly", start=dt.date(2026, 12, 28))
    assert [x.due_date for x in s.installments] == [dt.date(2027, 1, 4), dt.date(2027, 1, 11)]


def test_tiny_loans_never_overshoot() -> None:
    # Rounded equal parts of 6 riel over 10 instalments would repay 10: the parts stop at 6.
    for method in ("flat", "declining"):
        s = sched(principal=D(6), annual_rate=D(0), term=10, method=method)
        assert_consistent(s)


# --- many random inputs -------------------------------------------------------------


def random_terms(rng: random.Random) -> dict[str, object]:
    currency = rng.choice(["KHR", "VND", "USD"])
    term = rng.choice([1, 2, 3, 6, 12, 18, 24, 36, 52, rng.randint(1, 520)])
    if currency == "USD":
        principal = D(rng.randint(1, 5_000_000)).scaleb(-2)
    elif currency == "VND":
        principal = D(rng.randint(1, 500_000_000))
    else:
        principal = D(rng.randint(1, 40_000_000))
    return {
        "principal": principal,
        "annual_rate": D(rng.randint(0, 100_000)).scaleb(-3),
        "term": term,
        "frequency": rng.choice(["monthly", "weekly"]),
        "method": rng.choice(["flat", "declining"]),
        "grace": rng.randint(0, min(term - 1, 6)),
        "currency": currency,
        "start": dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, 3000)),
    }


def test_random_schedules_sum_exactly() -> None:
    rng = random.Random(4)
    for _ in range(400):
        assert_consistent(build_schedule(**random_terms(rng)))  # type: ignore[arg-type]


def test_random_declining_schedules_stay_close_to_numpy_financial() -> None:
    rng = random.Random(7)
    for _ in range(200):
        t = random_terms(rng)
        # Micro-finance terms: over hundreds of periods at high rates the rounded half
        # unit of the payment compounds into whole instalments.
        t.update(method="declining", grace=0, term=rng.randint(1, 60))
        s = build_schedule(**t)  # type: ignore[arg-type]
        n, p = s.term, float(s.principal)
        r = float(s.annual_rate) / 100 / (12 if s.frequency == "monthly" else 52)
        unit = float(MINOR_UNIT[s.currency])
        payment = -npf.pmt(r, n, p) if r else p / n
        for x in s.installments[:-1]:
            assert abs(float(x.total) - payment) <= unit / 2 + 1e-9 * payment
        exact_interest = payment * n - p
        # The half unit the payment is rounded by grows with the interest it carries.
        carried = ((1 + r) ** n - 1) / r if r else n
        slack = unit * n + unit / 2 * carried + 1e-9 * p
        assert abs(float(s.total_interest) - exact_interest) <= slack


def test_many_loans_at_once_equal_one_at_a_time() -> None:
    rng = random.Random(11)
    terms = [random_terms(rng) for _ in range(600)]
    # Rates that give exact halves on the annuity payment are the hard cases for floats.
    terms += [
        {
            **terms[0],
            "principal": D(p),
            "annual_rate": D(0),
            "term": 4,
            "grace": 0,
            "method": "declining",
            "currency": "KHR",
        }
        for p in (2, 6, 10, 14)
    ]
    checked = [LoanTerms.check(**t) for t in terms]  # type: ignore[arg-type]
    arrays = build_schedules(checked)
    assert len(arrays) == sum(t.term for t in checked)
    for i, t in enumerate(terms):
        assert arrays.lines(i) == build_schedule(**t).installments, t  # type: ignore[arg-type]


def test_many_loans_handles_the_largest_principal() -> None:
    t = LoanTerms.check(
        principal=D("99999999999999"),
        annual_rate=D("99.999"),
        term=24,
        frequency="weekly",
        method="declining",
        currency="KHR",
        start=START,
    )
    one = build_schedule(**vars(t))
    assert build_schedules([t, t]).lines(1) == one.installments
    assert_consistent(one)


def test_nothing_at_all() -> None:
    assert len(build_schedules([])) == 0


# --- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"principal": D(0)}, "principal", "more than 0"),
        ({"principal": D(-5)}, "principal", "more than 0"),
        ({"principal": "abc"}, "principal", "not a number"),
        ({"principal": 1000.0}, "principal", "not a float"),
        ({"principal": D("10.5")}, "principal", "smaller than one 1 KHR"),
        ({"principal": D("10.005"), "currency": "USD"}, "principal", "0.01 USD"),
        ({"annual_rate": D(-1)}, "annual_rate", "from 0 to 100"),
        ({"annual_rate": D(101)}, "annual_rate", "from 0 to 100"),
        ({"annual_rate": D("18.0001")}, "annual_rate", "3 decimal places"),
        ({"term": 0}, "term", "from 1 to 520"),
        ({"term": 521}, "term", "from 1 to 520"),
        ({"term": "twelve"}, "term", "not a whole number"),
        ({"grace": 12}, "grace", "fewer than the 12 instalments"),
        ({"grace": -1}, "grace", "from 0 to 520"),
        ({"frequency": "daily"}, "frequency", "monthly, weekly"),
        ({"method": "balloon"}, "method", "flat, declining"),
        ({"currency": "EUR"}, "currency", "KHR, VND, USD"),
        ({"start": "2026-01-01"}, "start", "not a date"),
    ],
)
def test_bad_input_names_the_input(change: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        sched(**change)
    assert list(caught.value.message_dict) == [field]
    assert field in caught.value.message_dict[field][0]
    assert words in caught.value.message_dict[field][0]
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, ScheduleInputError)


def test_several_bad_inputs_are_reported_together() -> None:
    with pytest.raises(ValueError) as caught:
        sched(principal=D(0), term=0, method="x")
    assert isinstance(caught.value, ValidationError)
    assert set(caught.value.message_dict) == {"principal", "term", "method"}


# --- the command ---------------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("loans", "schedule", *args, stdout=out)
    return out.getvalue()


def test_command_prints_json_from_the_engine() -> None:
    out = run(
        *("--principal", "1500000", "--annual-rate", "18", "--term", "12"),
        *("--frequency", "monthly", "--method", "declining", "--grace", "2"),
        *("--currency", "KHR", "--start", "2026-01-31", "--json"),
    )
    data = json.loads(out, parse_float=lambda text: pytest.fail(f"float in JSON: {text}"))
    s = sched(principal=D(1_500_000), grace=2)
    assert data["total_interest"] == str(s.total_interest)
    assert data["total"] == str(s.total)
    assert (data["principal"], data["annual_rate"], data["term"], data["grace"]) == (
        "1500000",
        "18",
        12,
        2,
    )
    assert (data["frequency"], data["method"], data["currency"], data["start"]) == (
        "monthly",
        "declining",
        "KHR",
        "2026-01-31",
    )
    assert data["installments"][0] == {
        "number": 1,
        "due_date": "2026-02-28",
        "principal": "0",
        "interest": "22500",
        "total": "22500",
        "balance": "1500000",
    }
    assert [row["total"] for row in data["installments"]] == [str(x.total) for x in s.installments]
    assert sum(D(row["principal"]) for row in data["installments"]) == D(1_500_000)
    assert sum(D(row["total"]) for row in data["installments"]) == D(1_500_000) + D(
        data["total_interest"]
    )


def test_command_json_usd_keeps_cents_as_strings() -> None:
    data = json.loads(
        run(
            *("--principal", "1000", "--annual-rate", "12", "--term", "3"),
            *("--frequency", "weekly", "--method", "flat", "--currency", "USD"),
            *("--start", "2026-01-01", "--json"),
        )
    )
    assert [r["total"] for r in data["installments"]] == ["335.64", "335.64", "335.65"]
    assert data["installments"][-1]["balance"] == "0.00"
    assert data["total_interest"] == "6.93"


def test_command_prints_a_table_with_totals() -> None:
    out = run(
        *("--principal", "1200000", "--annual-rate", "24", "--term", "12"),
        *("--frequency", "monthly", "--method", "flat", "--start", "2026-03-15"),
    )
    lines = out.splitlines()
    assert "1,200,000 KHR at 24% a year, flat, 12 monthly instalments" in lines[0]
    assert lines[1].split() == ["No.", "Due", "Principal", "Interest", "Total", "Balance"]
    assert lines[2].split() == ["1", "2026-04-15", "100,000", "24,000", "124,000", "1,100,000"]
    assert lines[-1].split() == ["Total", "1,200,000", "288,000", "1,488,000"]


def test_command_defaults_to_starting_today() -> None:
    from django.utils import timezone

    data = json.loads(
        run(
            *("--principal", "100", "--annual-rate", "0", "--term", "1"),
            *("--frequency", "weekly", "--method", "flat", "--json"),
        )
    )
    assert data["start"] == timezone.localdate().isoformat()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--principal", "-5"], "principal: must be more than 0"),
        (["--annual-rate", "150"], "annual_rate"),
        (["--grace", "12"], "grace: must be fewer"),
        (["--term", "x"], "term: 'x' is not a whole number"),
        (["--start", "31/01/2026"], "--start"),
    ],
)
def test_command_refuses_bad_input_clearly(args: list[str], words: str) -> None:
    base = {
        "--principal": "1000",
        "--annual-rate": "18",
        "--term": "12",
        "--frequency": "monthly",
        "--method": "flat",
    }
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    with pytest.raises(CommandError) as caught:
        run(*[x for kv in base.items() for x in kv])
    assert words in str(caught.value)


def test_command_refuses_an_unknown_frequency() -> None:
    with pytest.raises(CommandError, match="frequency"):
        run(
            *("--principal", "1000", "--annual-rate", "18", "--term", "12"),
            *("--frequency", "daily", "--method", "flat"),
        )
