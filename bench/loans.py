"""Benchmarks: loans. Each function returns a Figure or a list of them.

Generating and storing the repayment schedules of BENCH_LOANS loans (default
100,000: products in KHR, VND and USD, terms 6-24, flat and declining, monthly and
weekly, some with grace) through the app's own path (`services.loans.installments_store`:
the schedule engine's numpy variant and one bulk write), against the same computation
written directly in numpy plus a raw executemany (SQLite) / COPY (PostgreSQL) of the
same rows, in the same run on the same database. Both are timed from the loans in
memory to the rows committed; the stored rows are checked equal before the figure is
printed.

    BENCH_LOANS=5000 python -m bench     # a quick run while developing
    BENCH_LOANS_ROUNDS=1                 # one timing of each instead of the best of 2
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np

from bench.figure import Figure

BENCHES: list[Callable[[], Any]] = []

LOANS = int(os.environ.get("BENCH_LOANS", "100000"))
ROUNDS = int(os.environ.get("BENCH_LOANS_ROUNDS", "2"))
SEED = 4

# code, currency, method, frequency, yearly rate, term, grace, smallest, largest
PRODUCTS = [
    ("b-khr-m-dec", "KHR", "declining", "monthly", "18", 12, 0, 400_000, 8_000_000),
    ("b-khr-w-flat", "KHR", "flat", "weekly", "26", 16, 0, 100_000, 2_000_000),
    ("b-khr-m-flat", "KHR", "flat", "monthly", "24", 24, 2, 1_000_000, 20_000_000),
    ("b-vnd-m-dec", "VND", "declining", "monthly", "15.5", 18, 1, 5_000_000, 80_000_000),
    ("b-vnd-w-dec", "VND", "declining", "weekly", "20", 6, 0, 1_000_000, 10_000_000),
    ("b-usd-m-flat", "USD", "flat", "monthly", "12", 9, 0, 10_000, 300_000),  # cents
    ("b-usd-m-dec", "USD", "declining", "monthly", "21.125", 20, 3, 20_000, 500_000),
    ("b-usd-w-flat", "USD", "flat", "weekly", "30", 10, 1, 5_000, 100_000),
]

CODES = [p[0] for p in PRODUCTS]

COLUMNS = (
    "loan_id",
    "number",
    "due_on",
    "principal",
    "interest",
    "total",
    "balance",
    "principal_paid",
    "interest_paid",
)


def _loans() -> list[Any]:
    """LOANS saved loans without instalments, spread over the products and a few
    households of the demo programme (or households made for the benchmark)."""
    from django.db import transaction

    from ctip.core.actors import SYSTEM
    from ctip.geography import loaders
    from ctip.geography.models import Area, Level
    from ctip.interventions.models import Loan, LoanProduct
    from ctip.registry.models import Household

    if not Area.objects.exists():
        loaders.load()
    rng = random.Random(SEED)
    households = list(Household.objects.order_by("id").values_list("id", flat=True)[:500])
    if not households:
        from ctip.registry import services as registry

        village = Area.objects.filter(country="KH", level=Level.VILLAGE).order_by("code")[0]
        households = [
            registry.household_create(actor=SYSTEM, village=village, code=f"BENCH-LOAN-{i}").pk
            for i in range(20)
        ]
    products = []
    for code, currency, method, frequency, rate, term, grace, low, high in PRODUCTS:
        product, _ = LoanProduct.objects.get_or_create(
            code=code,
            defaults={
                "name": code,
                "currency": currency,
                "method": method,
                "frequency": frequency,
                "annual_rate": Decimal(rate),
                "term": term,
                "grace": grace,
            },
        )
        products.append((product, low, high))
    start = dt.date(2024, 1, 1)
    loans = []
    for _ in range(LOANS):
        product, low, high = rng.choice(products)
        units = rng.randint(low, high)
        principal = Decimal(units).scaleb(-2) if product.currency == "USD" else Decimal(units)
        loans.append(
            Loan(
                product=product,
                household_id=rng.choice(households),
                principal=principal,
                currency=product.currency,
                method=product.method,
                annual_rate=product.annual_rate,
                term=product.term,
                frequency=product.frequency,
                grace=product.grace,
                disbursed_on=start + dt.timedelta(days=rng.randint(0, 700)),
            )
        )
    with transaction.atomic():
        Loan.objects.bulk_create(loans, batch_size=5000)
    return loans


# --------------------------------------------------------------------------------------
# The baseline: the same schedules straight in numpy, in whole minor units.


def _half_up(num: np.ndarray, den: np.ndarray | int) -> np.ndarray:
    return (2 * num + den) // (2 * den)


def _numpy_schedules(loans: list[Any]) -> list[np.ndarray]:
    n = len(loans)
    usd = np.array([x.currency == "USD" for x in loans])
    principal = np.array(
        [
            int(x.principal * 100) if u else int(x.principal)
            for x, u in zip(loans, usd, strict=True)
        ],
        dtype=np.int64,
    )
    rate = np.array([int(x.annual_rate * 1000) for x in loans], dtype=np.int64)
    term = np.array([x.term for x in loans], dtype=np.int64)
    grace = np.array([x.grace for x in loans], dtype=np.int64)
    weekly = np.array([x.frequency == "weekly" for x in loans])
    flat = np.array([x.method == "flat" for x in loans])
    start = np.array([x.disbursed_on for x in loans], dtype="M8[D]")
    ids = np.array([x.pk for x in loans], dtype=np.int64)
    den = np.where(weekly, 5_200_000, 1_200_000)
    repaying = term - grace
    r = rate / (100_000.0 * np.where(weekly, 52, 12))  # thousandths of a percent, per period
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity = np.where(r > 0, r / (1 - (1 + r) ** -repaying.astype(float)), 1.0 / repaying)
    level = np.where(
        flat, _half_up(principal, repaying), np.floor(principal * annuity + 0.5).astype(np.int64)
    )
    flat_interest = _half_up(principal * rate, den)
    rows = int(term.sum())
    offsets = np.cumsum(term) - term
    loan_of_row = np.repeat(np.arange(n), term)
    number = np.arange(rows) - np.repeat(offsets, term) + 1
    out = np.zeros((3, rows), dtype=np.int64)
    balance = principal.copy()
    for k in range(1, int(term.max()) + 1):
        live = np.flatnonzero(term >= k)
        b = balance[live]
        interest = np.where(flat[live], flat_interest[live], _half_up(b * rate[live], den[live]))
        part = np.where(
            flat[live], np.minimum(level[live], b), np.clip(level[live] - interest, 0, b)
        )
        part = np.where(k <= grace[live], 0, np.where(k == term[live], b, part))
        balance[live] = b - part
        where = offsets[live] + k - 1
        out[0, where], out[1, where], out[2, where] = part, interest, b - part
    first = start[loan_of_row]
    month = first.astype("M8[M]") + number.astype("m8[M]")
    day = (first - first.astype("M8[M]").astype("M8[D]")).astype(np.int64)
    length = ((month + 1).astype("M8[D]") - month.astype("M8[D]")).astype(np.int64)
    due = np.where(
        weekly[loan_of_row],
        first + (7 * number).astype("m8[D]"),
        month.astype("M8[D]") + np.minimum(day, length - 1).astype("m8[D]"),
    )
    return [
        ids[loan_of_row],
        number,
        due,
        out[0],
        out[1],
        out[0] + out[1],
        out[2],
        usd[loan_of_row],
    ]


def _raw_store(columns: list[np.ndarray]) -> int:
    from django.db import connection

    ids, number, due, principal, interest, total, balance, usd = columns

    def money(units: np.ndarray) -> list[Any]:
        values: list[Any] = units.tolist()
        for i in np.flatnonzero(usd).tolist():
            values[i] = f"{values[i] // 100}.{values[i] % 100:02d}"
        return values

    zeros = [0] * len(ids)
    rows = list(
        zip(
            ids.tolist(),
            number.tolist(),
            due.astype(str).tolist(),
            money(principal),
            money(interest),
            money(total),
            money(balance),
            zeros,
            zeros,
            strict=True,
        )
    )
    names = ", ".join(COLUMNS)
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            with c.cursor.copy(f"COPY interventions_installment ({names}) FROM STDIN") as out:
                for row in rows:
                    out.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(COLUMNS))
            c.executemany(f"INSERT INTO interventions_installment ({names}) VALUES ({marks})", rows)
    return len(rows)


# --------------------------------------------------------------------------------------


def _stored() -> list[tuple[Any, ...]]:
    from ctip.interventions.models import Installment

    return list(
        Installment.objects.filter(loan__product__code__in=CODES)
        .order_by("loan_id", "number")
        .values_list("loan_id", "number", "due_on", "principal", "interest", "total", "balance")
    )


def _clear(*, loans_too: bool = False) -> None:
    """Drop the benchmark's instalments (and at the end its loans), nothing else: the
    demo programme's loans may share the database."""
    from django.db import transaction

    from ctip.interventions.models import Installment, Loan

    with transaction.atomic():
        Installment.objects.filter(loan__product__code__in=CODES)._raw_delete("default")
        if loans_too:
            Loan.objects.filter(product__code__in=CODES)._raw_delete("default")


def _timed(fn: Callable[[], int]) -> tuple[int, float]:
    from django.db import transaction

    started = time.perf_counter()
    with transaction.atomic():
        rows = fn()
    return rows, time.perf_counter() - started


def bench_loan_schedules() -> Figure:
    """Schedules of LOANS loans computed and stored: the app's path vs numpy + raw insert.
    Alternated ROUNDS times, best of each: the first insert into a fresh SQLite file
    also grows the file, which would otherwise favour whichever runs second."""
    from ctip.interventions.services.loans import installments_store

    _clear(loans_too=True)  # what an interrupted run left
    loans = _loans()
    ours = baseline = float("inf")
    for round_ in range(ROUNDS):
        _clear()
        rows, spent = _timed(lambda: installments_store(loans))
        ours = min(ours, spent)
        if round_ == 0:
            check = _stored() if LOANS <= 20_000 else None
            sample = _stored_sample(loans)
        _clear()
        theirs_rows, spent = _timed(lambda: _raw_store(_numpy_schedules(loans)))
        baseline = min(baseline, spent)
        if round_ == 0:
            assert theirs_rows == rows, (rows, theirs_rows)
            assert _stored_sample(loans) == sample, "the app and numpy stored different rows"
            if check is not None:
                assert _stored() == check, "the app and numpy stored different schedules"
    _clear(loans_too=True)
    return Figure(f"loan_schedules_store ({len(loans):,} loans, {rows:,} rows)", ours, baseline)


def _stored_sample(loans: list[Any]) -> list[tuple[Any, ...]]:
    """Every instalment of one loan in a hundred, and the column totals of all."""
    from django.db.models import Count, Sum

    from ctip.interventions.models import Installment

    ids = [x.pk for x in loans[::100]]
    lines = list(
        Installment.objects.filter(loan_id__in=ids)
        .order_by("loan_id", "number")
        .values_list("loan_id", "number", "due_on", "principal", "interest", "total", "balance")
    )
    sums = Installment.objects.filter(loan__product__code__in=CODES).aggregate(
        n=Count("id"), p=Sum("principal"), i=Sum("interest"), b=Sum("balance")
    )
    return [*lines, tuple(sorted(sums.items()))]


BENCHES.append(bench_loan_schedules)
