"""Loan pages: products, the loans list, a new loan with a preview of its schedule,
one loan with its schedule, repayments and arrears (and the forms to repay and write
off), a printable schedule and the portfolio of an area.

Views parse and render; the services and selectors check scope and rules."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ctip.accounts import access
from ctip.accounts.roles import (
    MANAGE_INTERVENTIONS,
    RECORD_INTERVENTIONS,
    VIEW_AGGREGATES,
    VIEW_PERSONS,
)
from ctip.core.views.helpers import apply_errors, query_without_page
from ctip.geography.models import Area
from ctip.geography.selectors import AreaCodeError, resolve_area_code
from ctip.registry.models import Household
from ctip.registry.selectors import households_visible_to, persons_visible_to, restricted

from .. import schedule as engine
from ..forms_loans import (
    HouseholdPickForm,
    LoanCreateForm,
    LoanFilterForm,
    LoanProductForm,
    PortfolioForm,
    RepaymentForm,
    WriteOffForm,
)
from ..models import IncomeActivity, Loan, LoanProduct, LoanStatus
from ..selectors import loans as selectors
from ..selectors.cells import SMALL_CELL
from ..services import loans as services
from .common import page_of


def _places(currency: str) -> str:
    """floatformat argument: whole riel and dong, cents of dollars; grouped digits."""
    return "2g" if currency == "USD" else "0g"


# --- products -----------------------------------------------------------------------


@login_required
@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    return render(
        request,
        "interventions/loans/product_list.html",
        {
            "products": selectors.loan_products(),
            "can_manage": access.has_permission(request.user, MANAGE_INTERVENTIONS),
        },
    )


def _product_form_page(request: HttpRequest, product: LoanProduct | None) -> HttpResponse:
    access.require(request.user, MANAGE_INTERVENTIONS)
    initial = None
    if product is not None:
        initial = {f: getattr(product, f) for f in services.PRODUCT_FIELDS}
    form = LoanProductForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if product is None:
                product = services.loan_product_create(actor=request.user, **form.cleaned_data)
            else:
                services.loan_product_update(
                    actor=request.user, product=product, **form.cleaned_data
                )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Loan product %(name)s saved.") % {"name": product.name})
            return redirect("interventions:loan-product-list")
    return render(
        request, "interventions/loans/product_form.html", {"form": form, "product": product}
    )


@login_required
@require_http_methods(["GET", "POST"])
def product_create(request: HttpRequest) -> HttpResponse:
    return _product_form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, MANAGE_INTERVENTIONS)
    return _product_form_page(request, get_object_or_404(LoanProduct, pk=pk))


# --- loans list ---------------------------------------------------------------------


@login_required
@require_GET
def loan_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    form = LoanFilterForm(request.GET or None)
    today = timezone.localdate()
    page = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        try:
            loans = selectors.loan_search(
                request.user,
                area_code=data.get("area") or "",
                status=data.get("status") or "",
                arrears_over=data.get("arrears_over"),
                q=data.get("q") or "",
                as_of=today,
            )
        except AreaCodeError as exc:
            form.add_error("area", str(exc))
        else:
            page = page_of(request, loans)
    rows = []
    if page is not None:
        for loan in page:
            oldest = getattr(loan, "oldest_overdue_on", None)
            late = loan.status == LoanStatus.ACTIVE and oldest is not None
            rows.append((loan, (today - oldest).days if late and oldest else 0))
    return render(
        request,
        "interventions/loans/loan_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query_without_page(request),
            "can_record": access.has_permission(request.user, RECORD_INTERVENTIONS),
        },
    )


# --- a new loan ---------------------------------------------------------------------


def _household_for_lending(request: HttpRequest, pk: int) -> Household:
    household = households_visible_to(request.user).select_related("village").filter(pk=pk).first()
    if household is None:
        raise Http404
    if not access.can_act_in(request.user, RECORD_INTERVENTIONS, household.village):
        raise PermissionDenied(RECORD_INTERVENTIONS)
    return household


@login_required
@require_GET
def loan_start(request: HttpRequest) -> HttpResponse:
    """Pick the household a loan is for, by its code."""
    access.require(request.user, RECORD_INTERVENTIONS)
    form = HouseholdPickForm(request.GET or None)
    if form.is_bound and form.is_valid():
        code = form.cleaned_data["household"].strip()
        household = households_visible_to(request.user).filter(code=code).first()
        if household is None:
            form.add_error("household", _("No household %(code)s in your areas.") % {"code": code})
        else:
            return redirect("interventions:loan-create", household.pk)
    return render(request, "interventions/loans/loan_start.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def loan_create(request: HttpRequest, household_pk: int) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    household = _household_for_lending(request, household_pk)
    members = (
        persons_visible_to(request.user)
        .filter(household=household)
        .exclude(restricted())
        .order_by("id")
    )
    activities = IncomeActivity.objects.filter(household=household).order_by("-created_at")
    form = LoanCreateForm(
        request.POST or None,
        members=members,
        activities=activities,
        initial={"disbursed_on": timezone.localdate()},
    )
    preview: engine.Schedule | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        product: LoanProduct = data["product"]
        if "preview" in request.POST:
            try:
                preview = engine.build_schedule(
                    principal=data["principal"].replace(",", "").strip(),
                    annual_rate=product.annual_rate,
                    term=product.term,
                    frequency=product.frequency,
                    method=product.method,
                    grace=product.grace,
                    currency=product.currency,
                    start=data["disbursed_on"],
                )
            except ValidationError as exc:
                for key, msgs in exc.message_dict.items():
                    field = {"start": "disbursed_on"}.get(key, key)
                    form.add_error(field if field in form.fields else None, msgs)
        else:
            try:
                loan = services.loan_disburse(actor=request.user, household=household, **data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Loan recorded with its schedule."))
                return redirect("interventions:loan-detail", loan.pk)
    return render(
        request,
        "interventions/loans/loan_form.html",
        {
            "form": form,
            "household": household,
            "preview": preview,
            "places": _places(preview.currency) if preview else "0g",
            "products": LoanProduct.objects.filter(active=True).order_by("name", "id"),
        },
    )


# --- one loan -----------------------------------------------------------------------


def _detail_context(request: HttpRequest, loan: Loan, **forms_: Any) -> dict[str, Any]:
    today = timezone.localdate()
    village = loan.household.village
    can_record = loan.status == LoanStatus.ACTIVE and access.can_act_in(
        request.user, RECORD_INTERVENTIONS, village
    )
    can_write_off = loan.status == LoanStatus.ACTIVE and access.can_act_in(
        request.user, MANAGE_INTERVENTIONS, village
    )
    rows = selectors.schedule_rows(loan, today)
    return {
        "loan": loan,
        "rows": rows,
        "totals": selectors.loan_balance(loan),
        "arrears": selectors.loan_arrears(loan, today),
        "repayments": loan.repayments.select_related("recorded_by").order_by("paid_on", "id"),
        "places": _places(loan.currency),
        "today": today,
        "can_record": can_record,
        "can_write_off": can_write_off,
        "repay_form": forms_.get("repay_form")
        or (RepaymentForm(initial={"paid_on": today}) if can_record else None),
        "write_off_form": forms_.get("write_off_form")
        or (WriteOffForm(initial={"written_off_on": today}) if can_write_off else None),
        "next_due": next((r for r in rows if r.left > 0), None),
    }


@login_required
@require_GET
def loan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    loan = selectors.loan_get(request.user, pk)
    return render(request, "interventions/loans/loan_detail.html", _detail_context(request, loan))


@login_required
@require_POST
def loan_repay(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, RECORD_INTERVENTIONS)
    loan = _loan_for_writing(request, pk)
    form = RepaymentForm(request.POST)
    if form.is_valid():
        try:
            services.repayment_record(actor=request.user, loan=loan, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Repayment recorded."))
            return redirect("interventions:loan-detail", loan.pk)
    loan.refresh_from_db()
    return render(
        request,
        "interventions/loans/loan_detail.html",
        _detail_context(request, loan, repay_form=form),
        status=400,
    )


@login_required
@require_POST
def loan_write_off(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, MANAGE_INTERVENTIONS)
    loan = _loan_for_writing(request, pk)
    form = WriteOffForm(request.POST)
    if form.is_valid():
        try:
            services.loan_write_off(actor=request.user, loan=loan, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Loan written off."))
            return redirect("interventions:loan-detail", loan.pk)
    loan.refresh_from_db()
    return render(
        request,
        "interventions/loans/loan_detail.html",
        _detail_context(request, loan, write_off_form=form),
        status=400,
    )


def _loan_for_writing(request: HttpRequest, pk: int) -> Loan:
    """The loan, if the user sees it (404 otherwise); the service checks the right to write."""
    loan = (
        selectors.loans_visible_to(request.user)
        .select_related("product", "person", "household__village")
        .filter(pk=pk)
        .first()
    )
    if loan is None:
        raise Http404
    return loan


@login_required
@require_GET
def loan_schedule_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The schedule on one page to hand to the borrower: no menus, print-friendly."""
    access.require(request.user, VIEW_PERSONS)
    loan = selectors.loan_get(request.user, pk)
    rows = selectors.schedule_rows(loan)
    return render(
        request,
        "interventions/loans/loan_print.html",
        {
            "loan": loan,
            "rows": rows,
            "totals": selectors.loan_balance(loan),
            "places": _places(loan.currency),
            "today": timezone.localdate(),
        },
    )


# --- portfolio ----------------------------------------------------------------------


def _percent(ratio: Decimal | None) -> Decimal | None:
    return None if ratio is None else (ratio * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _shown(figures: list[selectors.PortfolioShown]) -> list[dict[str, Any]]:
    """Figures with their ratios as percentages and their currency's decimals."""
    return [
        {
            "f": f,
            "par30": _percent(f.par30),
            "repayment_rate": _percent(f.repayment_rate),
            "places": _places(f.currency),
        }
        for f in figures
    ]


@login_required
@require_GET
def portfolio(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_AGGREGATES)
    form = PortfolioForm(request.GET or None)
    today = timezone.localdate()
    tops = list(selectors.portfolio_areas(request.user))
    area: Area | None = None
    as_of = today
    if form.is_bound and form.is_valid():
        as_of = form.cleaned_data["as_of"] or today
        if as_of > today:
            form.add_error("as_of", _("%(day)s is in the future.") % {"day": as_of.isoformat()})
        code = form.cleaned_data["area"].strip()
        if code:
            try:
                area = resolve_area_code(code, on=min(as_of, today))
            except AreaCodeError as exc:
                form.add_error("area", str(exc))
    elif not form.is_bound and len(tops) == 1:
        area = tops[0]
    breakdown = None
    if area is not None and not form.errors:
        if not access.can_act_in(request.user, VIEW_AGGREGATES, area):
            form.add_error("area", _("You do not see figures for %(area)s.") % {"area": area})
        else:
            breakdown = selectors.portfolio_breakdown(request.user, area, as_of)
    return render(
        request,
        "interventions/loans/portfolio.html",
        {
            "form": form,
            "breakdown": breakdown,
            "tops": tops,
            "as_of": as_of,
            "today": today,
            "totals": _shown(breakdown.totals) if breakdown else [],
            "parts": [(a, _shown(f)) for a, f in breakdown.parts] if breakdown else [],
            "date_param": "" if as_of == today else as_of.isoformat(),
            "small": SMALL_CELL,
        },
    )


__all__ = [
    "loan_create",
    "loan_detail",
    "loan_list",
    "loan_repay",
    "loan_schedule_print",
    "loan_start",
    "loan_write_off",
    "portfolio",
    "product_create",
    "product_edit",
    "product_list",
]
