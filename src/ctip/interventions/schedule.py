"""Repayment schedules of loans: the one engine the app, the CLI, the demo data and
the benchmark use.

Money is Decimal throughout and every amount is rounded explicitly to the
currency's minor unit (KHR and VND whole units, USD cents) with ROUND_HALF_UP.
The last instalment takes whatever principal is left, so the principal column
sums exactly to the principal, every line's total is its principal plus its
interest, and the schedule sums exactly to principal plus total interest.

- Due dates: one period after disbursement, then every period (monthly by
  calendar month, `dates.add_months`; weekly every 7 days).
- Period rate: yearly rate / 100 / 12 (monthly) or / 52 (weekly).
- Grace G: the first G instalments pay interest only; the principal is repaid
  over the other term - G instalments.
- Flat: each instalment's interest is the original principal times the period
  rate; the principal is repaid in equal parts.
- Declining balance: interest on the principal still owed; principal plus
  interest is the level (annuity) payment over term - G instalments.

`build_schedule` computes one loan; `build_schedules` computes many loans at
once with numpy on whole minor units and gives exactly the same figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .dates import add_months

__all__ = [
    "CURRENCIES",
    "FREQUENCIES",
    "MAX_PRINCIPAL",
    "MAX_RATE",
    "MAX_TERM",
    "METHODS",
    "MINOR_UNIT",
    "Line",
    "LoanTerms",
    "Schedule",
    "ScheduleArrays",
    "ScheduleInputError",
    "build_schedule",
    "build_schedules",
]

# Size of the smallest coin counted, per currency (ISO 4217 minor units as used).
MINOR_UNIT: dict[str, Decimal] = {"KHR": Decimal(1), "VND": Decimal(1), "USD": Decimal("0.01")}
CURRENCIES = tuple(MINOR_UNIT)
# Periods per year of each repayment frequency.
FREQUENCIES: dict[str, int] = {"monthly": 12, "weekly": 52}
METHODS = ("flat", "declining")
MAX_TERM = 520
MAX_RATE = Decimal(100)
# What the database stores: 16 digits, 2 after the point.
MAX_PRINCIPAL = Decimal("99999999999999.99")
# Digits kept while computing the annuity factor before rounding the payment.
_PRECISION = 34


class ScheduleInputError(ValidationError, ValueError):
    """Bad loan terms, keyed by the name of the input (a ValidationError for forms
    and services, a ValueError for plain Python callers)."""


@dataclass(frozen=True)
class Line:
    number: int
    due_date: dt.date
    principal: Decimal
    interest: Decimal
    total: Decimal
    # Principal still owed once this instalment is paid as scheduled.
    balance: Decimal


@dataclass(frozen=True)
class Schedule:
    principal: Decimal
    annual_rate: Decimal
    term: int
    frequency: str
    method: str
    grace: int
    currency: str
    start: dt.date
    installments: list[Line]

    @property
    def total_interest(self) -> Decimal:
        return sum((line.interest for line in self.installments), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.principal + self.total_interest

    @property
    def last_due_date(self) -> dt.date:
        return self.installments[-1].due_date


def _not_a_number(name: str, value: Any) -> str:
    return _("%(name)s: %(value)r is not a number.") % {"name": name, "value": value}


def _one_of(name: str, value: Any, choices: Any) -> str:
    return _("%(name)s: %(value)r is not one of %(choices)s.") % {
        "name": name,
        "value": value,
        "choices": ", ".join(choices),
    }


def _decimal(name: str, value: Any) -> Decimal:
    if isinstance(value, float):
        raise ScheduleInputError(
            {
                name: _("%(name)s: give a decimal number, not a float (%(value)r).")
                % {"name": name, "value": value}
            }
        )
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except ArithmeticError:
        raise ScheduleInputError({name: _not_a_number(name, value)}) from None
    if not number.is_finite():
        raise ScheduleInputError({name: _not_a_number(name, value)})
    return number


def _whole(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ScheduleInputError(
                {
                    name: _("%(name)s: %(value)r is not a whole number.")
                    % {"name": name, "value": value}
                }
            ) from None
    else:
        number = value
    if not low <= number <= high:
        raise ScheduleInputError(
            {
                name: _("%(name)s: must be from %(low)s to %(high)s, not %(value)s.")
                % {"name": name, "low": low, "high": high, "value": number}
            }
        )
    return number


@dataclass(frozen=True)
class LoanTerms:
    """Checked terms of one loan; `LoanTerms.check(...)` raises ScheduleInputError."""

    principal: Decimal
    annual_rate: Decimal
    term: int
    frequency: str
    method: str
    grace: int
    currency: str
    start: dt.date

    @classmethod
    def check(
        cls,
        *,
        principal: Any,
        annual_rate: Any,
        term: Any,
        frequency: str,
        method: str,
        grace: Any = 0,
        currency: str,
        start: dt.date,
    ) -> LoanTerms:
        errors: dict[str, str] = {}

        def attempt(name: str, fn: Any, *args: Any) -> Any:
            try:
                return fn(name, *args)
            except ScheduleInputError as exc:
                errors[name] = exc.message_dict[name][0]
                return None

        if currency not in MINOR_UNIT:
            errors["currency"] = _one_of("currency", currency, CURRENCIES)
        if frequency not in FREQUENCIES:
            errors["frequency"] = _one_of("frequency", frequency, FREQUENCIES)
        if method not in METHODS:
            errors["method"] = _one_of("method", method, METHODS)
        amount = attempt("principal", _decimal, principal)
        if amount is not None:
            if amount <= 0:
                errors["principal"] = _("principal: must be more than 0, not %(value)s.") % {
                    "value": amount
                }
            elif amount > MAX_PRINCIPAL:
                errors["principal"] = _("principal: must be at most %(high)s, not %(value)s.") % {
                    "high": MAX_PRINCIPAL,
                    "value": amount,
                }
            elif currency in MINOR_UNIT and amount % MINOR_UNIT[currency]:
                errors["principal"] = _(
                    "principal: %(value)s has parts smaller than one %(unit)s %(currency)s, "
                    "the smallest amount counted."
                ) % {"value": amount, "unit": MINOR_UNIT[currency], "currency": currency}
        rate = attempt("annual_rate", _decimal, annual_rate)
        if rate is not None:
            if not 0 <= rate <= MAX_RATE:
                errors["annual_rate"] = _(
                    "annual_rate: the yearly rate must be from 0 to %(high)s percent, "
                    "not %(value)s."
                ) % {"high": MAX_RATE, "value": rate}
            elif rate != rate.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP):
                errors["annual_rate"] = _(
                    "annual_rate: at most 3 decimal places, not %(value)s."
                ) % {"value": rate}
        n = attempt("term", _whole, term, 1, MAX_TERM)
        g = attempt("grace", _whole, grace, 0, MAX_TERM)
        if n is not None and g is not None and g >= n:
            errors["grace"] = _(
                "grace: must be fewer than the %(term)s instalments of the term, not %(value)s."
            ) % {"term": n, "value": g}
        if isinstance(start, dt.datetime):
            start = start.date()
        if not isinstance(start, dt.date):
            errors["start"] = _("start: %(value)r is not a date.") % {"value": start}
        if errors:
            raise ScheduleInputError(errors)
        return cls(
            principal=amount.quantize(MINOR_UNIT[currency]),
            annual_rate=rate,
            term=n,
            frequency=frequency,
            method=method,
            grace=g,
            currency=currency,
            start=start,
        )


def _round(value: Decimal, unit: Decimal) -> Decimal:
    return value.quantize(unit, rounding=ROUND_HALF_UP)


def _due_date(start: dt.date, frequency: str, number: int) -> dt.date:
    if frequency == "monthly":
        return add_months(start, number)
    return start + dt.timedelta(days=7 * number)


def _annuity_payment(
    principal: Decimal, rate: Decimal, periods_per_year: int, n: int, unit: Decimal
) -> Decimal:
    """The level payment repaying `principal` over `n` periods, rounded."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        if rate == 0:
            return _round(principal / n, unit)
        r = rate / (100 * periods_per_year)
        factor = r / (1 - (1 + r) ** -n)
        return _round(principal * factor, unit)


def _period_interest(
    amount: Decimal, rate: Decimal, periods_per_year: int, unit: Decimal
) -> Decimal:
    # One division of an exact product, so the rounding is that of the exact value.
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return _round(amount * rate / (100 * periods_per_year), unit)


def build_schedule(
    *,
    principal: Decimal,
    annual_rate: Decimal,
    term: int,
    frequency: str,
    method: str,
    grace: int = 0,
    currency: str,
    start: dt.date,
) -> Schedule:
    """The repayment schedule of one loan (see the module's docstring for the rules).
    Raises ScheduleInputError (a ValidationError and a ValueError) naming the input."""
    t = LoanTerms.check(
        principal=principal,
        annual_rate=annual_rate,
        term=term,
        frequency=frequency,
        method=method,
        grace=grace,
        currency=currency,
        start=start,
    )
    return _build(t)


def _build(t: LoanTerms) -> Schedule:
    unit = MINOR_UNIT[t.currency]
    per_year = FREQUENCIES[t.frequency]
    repaying = t.term - t.grace
    if t.method == "flat":
        flat_interest = _period_interest(t.principal, t.annual_rate, per_year, unit)
        level = _round(t.principal / repaying, unit)
    else:
        level = _annuity_payment(t.principal, t.annual_rate, per_year, repaying, unit)
    balance = t.principal
    zero = Decimal(0).quantize(unit)
    lines: list[Line] = []
    for number in range(1, t.term + 1):
        if t.method == "flat":
            interest = flat_interest
        else:
            interest = _period_interest(balance, t.annual_rate, per_year, unit)
        if number <= t.grace:
            part = zero
        elif number == t.term:
            part = balance
        elif t.method == "flat":
            part = min(level, balance)
        else:
            # Clamped for tiny loans where rounded payments would overshoot.
            part = max(zero, min(level - interest, balance))
        balance -= part
        lines.append(
            Line(
                number=number,
                due_date=_due_date(t.start, t.frequency, number),
                principal=part,
                interest=interest,
                total=part + interest,
                balance=balance,
            )
        )
    return Schedule(
        principal=t.principal,
        annual_rate=t.annual_rate,
        term=t.term,
        frequency=t.frequency,
        method=t.method,
        grace=t.grace,
        currency=t.currency,
        start=t.start,
        installments=lines,
    )


# --- many loans at once -------------------------------------------------------------

_EXPONENT = {"KHR": 0, "VND": 0, "USD": 2}
# Beyond this a product of minor units and thousandths of a percent could overflow int64.
_SAFE_PRODUCT = 2**62


@dataclass(frozen=True)
class ScheduleArrays:
    """The instalments of many loans, one row per instalment, in loan then number order.
    Amounts are whole minor units (int64): divide by 10**exponent for the amount."""

    loan: np.ndarray  # index of the loan in the input
    number: np.ndarray
    due_date: np.ndarray  # datetime64[D]
    principal: np.ndarray
    interest: np.ndarray
    total: np.ndarray
    balance: np.ndarray
    exponent: np.ndarray  # per row: 0 (KHR, VND) or 2 (USD)

    def __len__(self) -> int:
        return len(self.loan)

    def lines(self, index: int) -> list[Line]:
        """The instalments of loan `index` as Decimal lines (for tests and small uses)."""
        rows = np.flatnonzero(self.loan == index)
        out = []
        for i in rows:
            exp = -int(self.exponent[i])
            out.append(
                Line(
                    number=int(self.number[i]),
                    due_date=self.due_date[i].astype(dt.date),
                    principal=Decimal(int(self.principal[i])).scaleb(exp),
                    interest=Decimal(int(self.interest[i])).scaleb(exp),
                    total=Decimal(int(self.total[i])).scaleb(exp),
                    balance=Decimal(int(self.balance[i])).scaleb(exp),
                )
            )
        return out


def _half_up_div(num: np.ndarray, den: np.ndarray | int) -> np.ndarray:
    """round_half_up(num / den) for num >= 0, den > 0, exact in integers."""
    return (2 * num + den) // (2 * den)


def build_schedules(loans: Sequence[LoanTerms]) -> ScheduleArrays:
    """The schedules of many loans (checked with LoanTerms.check), computed together in
    whole minor units with numpy; equal, figure for figure, to `build_schedule`."""
    count = len(loans)
    if count == 0:
        empty = np.zeros(0, dtype=np.int64)
        return ScheduleArrays(empty, empty, np.zeros(0, "M8[D]"), empty, empty, empty, empty, empty)
    exponent = np.fromiter((_EXPONENT[t.currency] for t in loans), np.int64, count)
    principal = np.fromiter(
        (int(t.principal.scaleb(_EXPONENT[t.currency])) for t in loans), np.int64, count
    )
    rate_milli = np.fromiter((int(t.annual_rate * 1000) for t in loans), np.int64, count)
    term = np.fromiter((t.term for t in loans), np.int64, count)
    grace = np.fromiter((t.grace for t in loans), np.int64, count)
    weekly = np.fromiter((t.frequency == "weekly" for t in loans), bool, count)
    flat = np.fromiter((t.method == "flat" for t in loans), bool, count)
    start = np.array([t.start for t in loans], dtype="M8[D]")
    per_year = np.where(weekly, 52, 12)
    # period interest on x units = round_half_up(x * rate_milli / (100 000 * periods a year))
    denominator = 100_000 * per_year
    repaying = term - grace

    # Loans too large for int64 products: computed by the scalar engine below.
    big = principal >= _SAFE_PRODUCT // np.maximum(rate_milli, 1) // 4

    level = np.zeros(count, dtype=np.int64)
    level[flat] = _half_up_div(principal[flat], repaying[flat])
    flat_interest = _half_up_div(principal * rate_milli, denominator)
    declining = ~flat & ~big
    if declining.any():
        level[declining] = _annuity_units(
            principal[declining],
            rate_milli[declining],
            per_year[declining],
            repaying[declining],
            [loans[int(i)] for i in np.flatnonzero(declining)],
        )

    # One row per instalment, laid out loan after loan.
    rows = int(term.sum())
    loan_of_row = np.repeat(np.arange(count), term)
    offsets = np.cumsum(term) - term
    number = np.arange(rows) - np.repeat(offsets, term) + 1
    out_principal = np.zeros(rows, dtype=np.int64)
    out_interest = np.zeros(rows, dtype=np.int64)
    out_balance = np.zeros(rows, dtype=np.int64)
    balance = principal.copy()
    for k in range(1, int(term.max()) + 1):
        live = np.flatnonzero(term >= k)
        where = offsets[live] + k - 1
        b = balance[live]
        f = flat[live]
        interest = np.where(
            f, flat_interest[live], _half_up_div(b * rate_milli[live], denominator[live])
        )
        lv = level[live]
        part = np.where(f, np.minimum(lv, b), np.clip(lv - interest, 0, b))
        part = np.where(k <= grace[live], 0, part)
        part = np.where(k == term[live], b, part)
        b = b - part
        balance[live] = b
        out_principal[where] = part
        out_interest[where] = interest
        out_balance[where] = b

    due = _due_dates(start, weekly, loan_of_row, number)
    if big.any():
        for i in map(int, np.flatnonzero(big)):
            sched = _build(loans[i])
            sl = slice(int(offsets[i]), int(offsets[i] + term[i]))
            scale = _EXPONENT[loans[i].currency]
            out_principal[sl] = [int(x.principal.scaleb(scale)) for x in sched.installments]
            out_interest[sl] = [int(x.interest.scaleb(scale)) for x in sched.installments]
            out_balance[sl] = [int(x.balance.scaleb(scale)) for x in sched.installments]
    return ScheduleArrays(
        loan=loan_of_row,
        number=number,
        due_date=due,
        principal=out_principal,
        interest=out_interest,
        total=out_principal + out_interest,
        balance=out_balance,
        exponent=exponent[loan_of_row],
    )


def _annuity_units(
    principal: np.ndarray,
    rate_milli: np.ndarray,
    per_year: np.ndarray,
    n: np.ndarray,
    terms: list[LoanTerms],
) -> np.ndarray:
    """Level payments in minor units; the few that land within a hair of half a unit are
    recomputed with the scalar Decimal engine so both engines round them alike."""
    r = rate_milli / (100_000.0 * per_year)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(r > 0, r / (1.0 - (1.0 + r) ** (-n.astype(float))), 1.0 / n)
    exact = principal * factor
    payment = np.floor(exact + 0.5).astype(np.int64)
    fraction = exact - np.floor(exact)
    doubtful = np.abs(fraction - 0.5) < 1e-6 + 1e-12 * exact
    zero = rate_milli == 0
    # At rate 0 the payment is a plain integer division: no float needed.
    payment[zero] = _half_up_div(principal[zero], n[zero])
    for i in np.flatnonzero(doubtful & ~zero):
        t = terms[i]
        unit = MINOR_UNIT[t.currency]
        p = _annuity_payment(t.principal, t.annual_rate, FREQUENCIES[t.frequency], int(n[i]), unit)
        payment[i] = int(p.scaleb(_EXPONENT[t.currency]))
    return payment


def _due_dates(
    start: np.ndarray, weekly: np.ndarray, loan_of_row: np.ndarray, number: np.ndarray
) -> np.ndarray:
    first = start[loan_of_row]
    week = first + (7 * number).astype("m8[D]")
    # Monthly: the same day `number` months later, or that month's last day.
    month = first.astype("M8[M]") + number.astype("m8[M]")
    month_start = month.astype("M8[D]")
    length = (month + 1).astype("M8[D]") - month_start
    day = (first - first.astype("M8[M]").astype("M8[D]")).astype(np.int64)
    monthly = month_start + np.minimum(day, length.astype(np.int64) - 1).astype("m8[D]")
    return np.where(weekly[loan_of_row], week, monthly)
