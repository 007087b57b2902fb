"""Micro-finance loans (R10): loan products, disbursing a loan with its repayment
schedule, recording repayments (partial, early, late) and writing a loan off.

Setting up products and writing loans off needs MANAGE_INTERVENTIONS (a write-off in
the borrower's area); disbursing and recording repayments needs RECORD_INTERVENTIONS
in the household's village. The schedule is computed by `ctip.interventions.schedule`
(the same engine as `ctip loans schedule`) and stored by `installments_store`, the one
set-based path every loan's instalments are written through.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import MANAGE_INTERVENTIONS, RECORD_INTERVENTIONS
from ctip.core import audit
from ctip.registry.models import Household, Person, Relationship

from .. import schedule as engine
from ..followup_plans import follow_ups_schedule
from ..models import (
    Component,
    IncomeActivity,
    Installment,
    Loan,
    LoanProduct,
    LoanStatus,
    Repayment,
)
from .checks import (
    author,
    check_services_consent,
    clean_amount,
    clean_date,
    clean_text,
    json_value,
    snapshot,
)

PRODUCT_FIELDS = (
    "code",
    "name",
    "method",
    "annual_rate",
    "term",
    "frequency",
    "grace",
    "currency",
    "min_principal",
    "max_principal",
    "active",
)
# Audit actions this module adds to the shared vocabulary.
ACTION_WRITE_OFF = "loan.write_off"

ZERO = Decimal("0.00")


# --- helpers -------------------------------------------------------------------------


def money_text(amount: Decimal, currency: str) -> str:
    """An amount as the currency counts it: 1,250,000 KHR; 12.50 USD."""
    unit = engine.MINOR_UNIT.get(currency, Decimal("0.01"))
    return f"{amount.quantize(unit):,} {currency}"


def _engine_errors(exc: ValidationError, rename: Mapping[str, str]) -> dict[str, str]:
    """The schedule engine's messages, keyed by the form's field names."""
    return {rename.get(k, k): " ".join(v) for k, v in exc.message_dict.items()}


# --- loan products ------------------------------------------------------------------


def _product_values(values: Mapping[str, Any], current: LoanProduct | None) -> dict[str, Any]:
    unknown = set(values) - set(PRODUCT_FIELDS)
    if unknown:
        raise TypeError(f"unknown loan product fields: {', '.join(sorted(unknown))}")
    data = {f: getattr(current, f) for f in PRODUCT_FIELDS} if current else {}
    data.update(values)
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    out["code"] = clean_text(data.get("code"), "code", errors, max_length=40, required=True)
    if "code" not in errors and not all(c.isalnum() or c in "-_" for c in out["code"]):
        errors["code"] = _("Letters, digits, - and _ only.")
    elif (
        "code" not in errors
        and LoanProduct.objects.filter(code=out["code"])
        .exclude(pk=current.pk if current else 0)
        .exists()
    ):
        errors["code"] = _("Another loan product has the code %(code)s.") % {"code": out["code"]}
    out["name"] = clean_text(data.get("name"), "name", errors, max_length=200, required=True)
    currency = data.get("currency") or ""
    for field in ("min_principal", "max_principal"):
        out[field] = clean_amount(
            data.get(field),
            field,
            errors,
            required=False,
            positive=True,
            currency=currency if currency in engine.MINOR_UNIT else None,
        )
    try:
        terms = engine.LoanTerms.check(
            principal=out["max_principal"] or Decimal(1000),
            annual_rate=data.get("annual_rate"),
            term=data.get("term"),
            frequency=data.get("frequency") or "",
            method=data.get("method") or "",
            grace=data.get("grace") if data.get("grace") not in (None, "") else 0,
            currency=currency,
            start=timezone.localdate(),
        )
    except ValidationError as exc:
        for key, message in _engine_errors(exc, {}).items():
            if key != "principal":
                errors.setdefault(key, message)
    else:
        out.update(
            annual_rate=terms.annual_rate,
            term=terms.term,
            frequency=terms.frequency,
            method=terms.method,
            grace=terms.grace,
            currency=terms.currency,
        )
    low, high = out.get("min_principal"), out.get("max_principal")
    if low is not None and high is not None and low > high:
        errors["max_principal"] = _("The largest loan is smaller than the smallest loan.")
    out["active"] = bool(data.get("active", True))
    if errors:
        raise ValidationError(errors)
    return out


@transaction.atomic
def loan_product_create(*, actor: Any, **values: Any) -> LoanProduct:
    """A loan product: its interest method, rate, term, frequency, grace and bounds."""
    access.require(actor, MANAGE_INTERVENTIONS)
    clean = _product_values(values, None)
    try:
        with transaction.atomic():
            product = LoanProduct.objects.create(**clean)
    except IntegrityError:
        raise ValidationError(
            {"code": _("Another loan product has the code %(code)s.") % {"code": clean["code"]}}
        ) from None
    audit.record(
        actor=actor,
        action="create",
        obj=product,
        changes={k: json_value(v) for k, v in clean.items()},
    )
    return product


@transaction.atomic
def loan_product_update(*, actor: Any, product: LoanProduct, **values: Any) -> LoanProduct:
    """Change a product. Loans already made keep the terms they were made with."""
    access.require(actor, MANAGE_INTERVENTIONS)
    product = LoanProduct.objects.select_for_update().get(pk=product.pk)
    before = snapshot(product, PRODUCT_FIELDS)
    clean = _product_values(values, product)
    for key, value in clean.items():
        setattr(product, key, value)
    product.save()
    changes = audit.diff(before, snapshot(product, PRODUCT_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=product, changes=changes)
    return product


# --- storing schedules --------------------------------------------------------------

# Column names of Installment (db_column is never set on it), in insert order.
_INSTALLMENT_COLUMNS = (
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


def loan_terms(loan: Loan) -> engine.LoanTerms:
    return engine.LoanTerms.check(
        principal=loan.principal,
        annual_rate=loan.annual_rate,
        term=loan.term,
        frequency=loan.frequency,
        method=loan.method,
        grace=loan.grace,
        currency=loan.currency,
        start=loan.disbursed_on,
    )


def _money_column(units: np.ndarray, exponent: np.ndarray) -> list[Any]:
    """Whole minor units as the database takes them: ints, or text with cents."""
    if not exponent.any():
        return list(units.tolist())
    out: list[Any] = units.tolist()
    for i in np.flatnonzero(exponent).tolist():
        whole, cents = divmod(out[i], 100)
        out[i] = f"{whole}.{cents:02d}"
    return out


def installments_store(loans: Sequence[Loan]) -> int:
    """Compute and store the instalments of `loans` (saved, without instalments yet) in
    one pass: the schedules of all of them at once (`schedule.build_schedules`) and
    one bulk write (COPY on PostgreSQL, executemany elsewhere). Returns the rows written.
    The caller holds the transaction and has checked the actor's rights."""
    if not loans:
        return 0
    arrays = engine.build_schedules([loan_terms(loan) for loan in loans])
    ids = np.fromiter((loan.pk for loan in loans), np.int64, len(loans))[arrays.loan]
    columns = [
        ids.tolist(),
        arrays.number.tolist(),
        arrays.due_date.astype(str).tolist(),
        *(
            _money_column(units, arrays.exponent)
            for units in (arrays.principal, arrays.interest, arrays.total, arrays.balance)
        ),
    ]
    zeros = [0] * len(arrays)
    rows = zip(*columns, zeros, zeros, strict=True)
    table = connection.ops.quote_name(Installment._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in _INSTALLMENT_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            buffer.writelines("\t".join(map(str, row)) + "\n" for row in rows)
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
        else:
            marks = ", ".join(["%s"] * len(_INSTALLMENT_COLUMNS))
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 (our own names)
            cursor.executemany(sql, list(rows))
    return len(arrays)


# --- disbursing ---------------------------------------------------------------------


def _borrower(household: Household, person: Person | None, errors: dict[str, str]) -> Person | None:
    if person is not None:
        if person.household_id != household.pk or person.merged_into_id is not None:
            errors["person"] = _("%(person)s is not a member of household %(code)s.") % {
                "person": person,
                "code": household.code,
            }
            return None
        return person
    head = (
        Person.objects.filter(
            household=household, relationship=Relationship.HEAD, merged_into__isnull=True
        )
        .order_by("id")
        .first()
    )
    if head is None:
        errors["person"] = _(
            "Household %(code)s has no head recorded: choose the member who borrows."
        ) % {"code": household.code}
    return head


@transaction.atomic
def loan_disburse(
    *,
    actor: Any,
    product: LoanProduct,
    household: Household,
    person: Person | None = None,
    principal: Any,
    disbursed_on: Any,
    purpose: str = "",
    iga: IncomeActivity | None = None,
) -> Loan:
    """Lend `principal` to a household (borrowed by `person`, or else the household's
    head) on the product's terms, copied onto the loan; store its schedule and the
    monthly follow-up visits while it runs."""
    # Permission first: someone outside the area learns nothing from the errors.
    access.require_in(actor, RECORD_INTERVENTIONS, household.village)
    errors: dict[str, str] = {}
    if not product.active:
        errors["product"] = _("%(product)s is no longer offered.") % {"product": product}
    borrower = _borrower(household, person, errors)
    if borrower is not None:
        check_services_consent(borrower, errors)
    amount = clean_amount(principal, "principal", errors, positive=True, currency=product.currency)
    if amount is not None:
        bound = money_text
        if product.min_principal is not None and amount < product.min_principal:
            errors["principal"] = _("%(product)s lends at least %(amount)s.") % {
                "product": product,
                "amount": bound(product.min_principal, product.currency),
            }
        elif product.max_principal is not None and amount > product.max_principal:
            errors["principal"] = _("%(product)s lends at most %(amount)s.") % {
                "product": product,
                "amount": bound(product.max_principal, product.currency),
            }
    day = clean_date(disbursed_on, "disbursed_on", errors)
    purpose = clean_text(purpose, "purpose", errors, max_length=300)
    if iga is not None and iga.household_id != household.pk:
        errors["iga"] = _("This activity belongs to another household.")
    if errors:
        raise ValidationError(errors)
    assert amount is not None and day is not None and borrower is not None
    loan = Loan(
        product=product,
        household=household,
        person=borrower,
        principal=amount,
        currency=product.currency,
        method=product.method,
        annual_rate=product.annual_rate,
        term=product.term,
        frequency=product.frequency,
        grace=product.grace,
        disbursed_on=day,
        purpose=purpose,
        iga=iga,
        status=LoanStatus.ACTIVE,
        created_by=author(actor),
    )
    try:
        plan = engine.build_schedule(**vars(loan_terms(loan)))
    except ValidationError as exc:
        raise ValidationError(_engine_errors(exc, {"start": "disbursed_on"})) from None
    loan.save()
    installments_store([loan])
    follow_ups_schedule(
        actor=actor,
        person=borrower,
        component=Component.LOAN,
        reference=day,
        until=plan.last_due_date,
        loan=loan,
    )
    audit.record(
        actor=actor,
        action="create",
        obj=loan,
        changes={
            "product": product.code,
            "household": household.pk,
            "person": borrower.pk,
            "principal": str(amount),
            "currency": loan.currency,
            "method": loan.method,
            "annual_rate": str(loan.annual_rate),
            "term": loan.term,
            "frequency": loan.frequency,
            "grace": loan.grace,
            "disbursed_on": day.isoformat(),
            "total_interest": str(plan.total_interest),
            "last_due_on": plan.last_due_date.isoformat(),
        },
    )
    return loan


# --- repayments ---------------------------------------------------------------------


def outstanding(loan: Loan) -> Decimal:
    """What is still owed on a loan, principal and interest (scheduled, not yet paid)."""
    left = loan.installments.aggregate(
        left=Sum(F("total") - F("principal_paid") - F("interest_paid"))
    )["left"]
    return Decimal(left or 0).quantize(Decimal("0.01"))


def _allocate(
    installments: Sequence[Installment], amount: Decimal, paid_on: dt.date
) -> tuple[Decimal, Decimal, list[Installment]]:
    """Spread `amount` over the instalments, oldest first, interest before principal."""
    left = amount
    principal_part = interest_part = ZERO
    touched: list[Installment] = []
    for line in installments:
        if left <= 0:
            break
        interest_due = line.interest - line.interest_paid
        principal_due = line.principal - line.principal_paid
        if interest_due <= 0 and principal_due <= 0:
            continue
        pay_interest = min(left, interest_due)
        left -= pay_interest
        pay_principal = min(left, principal_due)
        left -= pay_principal
        line.interest_paid += pay_interest
        line.principal_paid += pay_principal
        interest_part += pay_interest
        principal_part += pay_principal
        if line.interest_paid == line.interest and line.principal_paid == line.principal:
            line.paid_on = paid_on
        touched.append(line)
    return principal_part, interest_part, touched


@transaction.atomic
def repayment_record(
    *, actor: Any, loan: Loan, amount: Any, paid_on: Any, note: str = ""
) -> Repayment:
    """Record money paid on a loan. It pays the instalments oldest first, interest
    before principal: a partial payment leaves the rest due, a payment ahead of time
    pays later instalments in order, a late one the overdue instalments first. More
    than is still owed is refused; the loan is repaid when nothing is owed."""
    village = Household.objects.select_related("village").get(pk=loan.household_id).village
    access.require_in(actor, RECORD_INTERVENTIONS, village)
    # One repayment at a time per loan: the row lock orders concurrent ones.
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    errors: dict[str, str] = {}
    if loan.status != LoanStatus.ACTIVE:
        errors["loan"] = _("This loan is %(status)s: no more repayments are taken.") % {
            "status": loan.get_status_display().lower()
        }
    money = clean_amount(amount, "amount", errors, positive=True, currency=loan.currency)
    day = clean_date(paid_on, "paid_on", errors)
    if day is not None and "paid_on" not in errors and day < loan.disbursed_on:
        errors["paid_on"] = _("The loan was disbursed on %(day)s, after this date.") % {
            "day": loan.disbursed_on.isoformat()
        }
    note = clean_text(note, "note", errors, max_length=300)
    if errors:
        raise ValidationError(errors)
    assert money is not None and day is not None
    lines = list(loan.installments.order_by("number"))
    owed = sum((x.total - x.principal_paid - x.interest_paid for x in lines), ZERO)
    if money > owed:
        raise ValidationError(
            {
                "amount": _("%(amount)s is more than the %(owed)s still owed.")
                % {
                    "amount": money_text(money, loan.currency),
                    "owed": money_text(owed, loan.currency),
                }
            }
        )
    principal_part, interest_part, touched = _allocate(lines, money, day)
    Installment.objects.bulk_update(touched, ["principal_paid", "interest_paid", "paid_on"])
    repayment = Repayment.objects.create(
        loan=loan,
        paid_on=day,
        amount=money,
        principal_part=principal_part,
        interest_part=interest_part,
        note=note,
        recorded_by=author(actor),
    )
    changes: dict[str, Any] = {
        "loan": loan.pk,
        "amount": str(money),
        "currency": loan.currency,
        "paid_on": day.isoformat(),
        "principal_part": str(principal_part),
        "interest_part": str(interest_part),
        "installments": [x.number for x in touched],
    }
    if money == owed:
        loan.status = LoanStatus.REPAID
        loan.closed_on = day
        loan.save(update_fields=["status", "closed_on", "updated_at"])
        changes["loan_status"] = LoanStatus.REPAID.value
    audit.record(actor=actor, action="create", obj=repayment, changes=changes)
    return repayment


# --- writing off --------------------------------------------------------------------


@transaction.atomic
def loan_write_off(*, actor: Any, loan: Loan, reason: str, written_off_on: Any = None) -> Loan:
    """Give up on what is still owed: the principal not repaid is recorded as written
    off with the reason, and the loan leaves the portfolio."""
    village = Household.objects.select_related("village").get(pk=loan.household_id).village
    access.require_in(actor, MANAGE_INTERVENTIONS, village)
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    errors: dict[str, str] = {}
    if loan.status != LoanStatus.ACTIVE:
        errors["loan"] = _("This loan is %(status)s: it cannot be written off.") % {
            "status": loan.get_status_display().lower()
        }
    reason = clean_text(reason, "reason", errors, max_length=300, required=True)
    day = clean_date(
        written_off_on if written_off_on not in (None, "") else timezone.localdate(),
        "written_off_on",
        errors,
    )
    if day is not None and "written_off_on" not in errors and day < loan.disbursed_on:
        errors["written_off_on"] = _("The loan was disbursed on %(day)s, after this date.") % {
            "day": loan.disbursed_on.isoformat()
        }
    if errors:
        raise ValidationError(errors)
    assert day is not None
    paid = loan.installments.aggregate(p=Sum("principal_paid"))["p"] or ZERO
    amount = (loan.principal - paid).quantize(Decimal("0.01"))
    loan.status = LoanStatus.WRITTEN_OFF
    loan.closed_on = day
    loan.written_off_amount = amount
    loan.write_off_reason = reason
    loan.save(
        update_fields=[
            "status",
            "closed_on",
            "written_off_amount",
            "write_off_reason",
            "updated_at",
        ]
    )
    audit.record(
        actor=actor,
        action=ACTION_WRITE_OFF,
        obj=loan,
        changes={
            "status": {"before": LoanStatus.ACTIVE.value, "after": LoanStatus.WRITTEN_OFF.value},
            "written_off_amount": str(amount),
            "currency": loan.currency,
            "reason": reason,
            "closed_on": day.isoformat(),
        },
    )
    return loan


__all__ = [
    "ACTION_WRITE_OFF",
    "installments_store",
    "loan_disburse",
    "loan_product_create",
    "loan_product_update",
    "loan_terms",
    "loan_write_off",
    "money_text",
    "outstanding",
    "repayment_record",
]
