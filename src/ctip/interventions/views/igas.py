"""Pages of income-generating activities: the scoped list with each activity's margin
and how it compares with migrating, an activity with its analysis and a bar chart of
expected margin, income found at follow-ups and the migration benchmark (server-drawn
SVG, no script), the form with its cost lines, and the wage benchmarks."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ctip.accounts import access
from ctip.accounts.roles import MANAGE_INTERVENTIONS, RECORD_INTERVENTIONS, VIEW_PERSONS
from ctip.core.views.helpers import apply_errors, query_without_page
from ctip.registry import selectors as registry
from ctip.registry.models import Household

from .. import forms_igas as forms
from .. import iga
from ..models import IncomeActivity, MigrationBenchmark
from ..selectors import igas as sel
from ..selectors.followups import Situations
from ..services import igas as svc
from .common import area_from_code, page_of

ACTIVITY_FIELDS = [
    "person",
    "title",
    "sector",
    "unit",
    "currency",
    "expected_price",
    "expected_volume",
    "benchmark",
    "status",
    "started_on",
    "market_notes",
]


@login_required
@require_GET
def activity_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    form = forms.ActivityFilterForm(request.GET or None)
    page, rows = None, []
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        area = area_from_code(form, data.get("village", ""))
        if not form.errors:
            qs = sel.with_figures(
                sel.activity_search(
                    request.user,
                    q=data.get("q", ""),
                    area=area,
                    status=data.get("status", ""),
                    sector=data.get("sector", ""),
                    verdict=data.get("verdict", ""),
                )
            )
            page = page_of(request, qs)
            rows = sel.rows_with_analysis(page)
    return render(
        request,
        "interventions/igas/activity_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query_without_page(request),
            "can_create": access.has_permission(request.user, RECORD_INTERVENTIONS),
        },
    )


# -- the chart ---------------------------------------------------------------------------

FONT = 'system-ui, "Noto Sans", "Noto Sans Khmer", "Khmer OS System", sans-serif'
# The site's accent and two colours that stay apart for the colour-blind (Okabe-Ito).
COLOURS = {"expected": "#0b5d5b", "actual": "#56b4e9", "benchmark": "#e69f00"}
CHART_WIDTH = 300  # with the labels beside it, the chart fits a 360 px phone


def chart_bars(analysis: iga.Analysis) -> list[dict[str, Any]]:
    """The bars, in the activity's currency: expected gross margin, income found at each
    follow-up visit (same currency only), and what migrating nets when comparable."""
    bars: list[dict[str, Any]] = [
        {"what": _("Expected gross margin"), "amount": analysis.gross_margin, "kind": "expected"}
    ]
    for a in analysis.actual:
        if a.difference is None:
            continue
        when = (
            _("%(n)s months after the start") % {"n": a.months_after}
            if a.months_after is not None
            else a.visited_on.isoformat()
        )
        bars.append(
            {
                "what": _("Income found, %(when)s") % {"when": when},
                "amount": a.monthly_income,
                "kind": "actual",
            }
        )
    cmp = analysis.benchmark
    if cmp.comparable and cmp.net is not None and cmp.benchmark is not None:
        bars.append(
            {
                "what": _("Migrating to %(destination)s, net")
                % {"destination": cmp.benchmark.destination},
                "amount": cmp.net,
                "kind": "benchmark",
            }
        )
    return bars


def chart_svg(analysis: iga.Analysis) -> str:
    """The bars as a Vega-Lite chart rendered to SVG on the server (no script); the page
    gives the same figures as text beside it."""
    import altair as alt
    import vl_convert

    bars = chart_bars(analysis)
    values = [{**b, "amount": float(b["amount"])} for b in bars]
    title = _("Money a month in %(currency)s") % {"currency": analysis.currency}
    chart = (
        alt.Chart(alt.Data(values=values), width=CHART_WIDTH)
        .mark_bar()
        .encode(
            y=alt.Y("what:N", sort=None, title=None, axis=alt.Axis(labelLimit=180)),
            x=alt.X("amount:Q", title=title, axis=alt.Axis(format=",.0f")),
            color=alt.Color(
                "kind:N",
                legend=None,
                scale=alt.Scale(domain=list(COLOURS), range=list(COLOURS.values())),
            ),
            tooltip=[alt.Tooltip("what:N"), alt.Tooltip("amount:Q", format=",.2f")],
        )
    )
    spec = chart.configure(font=FONT).configure_view(stroke=None).to_dict()
    svg: str = vl_convert.vegalite_to_svg(spec)
    # Scale to the page: keep the viewBox, drop the fixed size; name it for screen readers.
    svg = re.sub(
        r'^<svg([^>]*?) width="[\d.]+" height="[\d.]+"',
        r'<svg\1 width="100%" preserveAspectRatio="xMinYMin meet" role="img"',
        svg,
        count=1,
    )
    label = escape(
        _("Expected gross margin, income found at follow-up visits and what migrating nets")
    )
    return svg.replace("<svg", f'<svg aria-label="{label}"', 1)


@login_required
@require_GET
def activity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    activity = sel.activity_get(request.user, pk)
    analysis = iga.analyse(activity)
    # The visits' findings as the reader may read them; sensitive ones shown, audited.
    situations = Situations(request.user)
    follow_ups = situations.apply(activity.follow_ups.all())
    situations.audit_read(f"follow-up visits of activity #{activity.pk}")
    return render(
        request,
        "interventions/igas/activity_detail.html",
        {
            "activity": activity,
            "a": analysis,
            "chart": mark_safe(chart_svg(analysis)),  # noqa: S308 (drawn by vl-convert)
            "bars": chart_bars(analysis),
            "costs": list(activity.costs.all()),
            "follow_ups": follow_ups,
            "can_record": sel.can_record(request.user, activity),
        },
    )


def _benchmark_choices(current: MigrationBenchmark | None = None) -> list[MigrationBenchmark]:
    qs = MigrationBenchmark.objects.filter(active=True)
    if current is not None:
        qs = MigrationBenchmark.objects.filter(Q(active=True) | Q(pk=current.pk))
    return list(qs.order_by("destination", "sector", "-valid_from"))


def _household(request: HttpRequest, code: str) -> Household | None:
    return (
        registry.households_visible_to(request.user)
        .select_related("village")
        .filter(code=code.strip())
        .first()
    )


def _form_page(
    request: HttpRequest,
    household: Household,
    activity: IncomeActivity | None,
) -> HttpResponse:
    persons = list(
        registry.persons_visible_to(request.user)
        .filter(household=household)
        .exclude(registry.restricted())
        .order_by("id")
    )
    initial: dict[str, Any] = {}
    cost_initial: list[dict[str, Any]] = []
    if activity is not None:
        initial = {f: getattr(activity, f) for f in ACTIVITY_FIELDS}
        initial["person"] = activity.person_id
        initial["benchmark"] = activity.benchmark_id
        cost_initial = [
            {"item": c.item, "kind": c.kind, "amount": c.amount} for c in activity.costs.all()
        ]
    data: QueryDict | None = request.POST if request.method == "POST" else None
    if data is not None and "more_rows" in data:
        # Three more empty cost lines, keeping what was typed (no script needed).
        data = data.copy()
        try:
            total = int(data.get("costs-TOTAL_FORMS") or 0)
        except ValueError:
            total = 0
        data["costs-TOTAL_FORMS"] = str(min(total + 3, 100))
    form = forms.ActivityForm(
        data,
        initial=initial,
        persons=persons,
        benchmarks=_benchmark_choices(activity.benchmark if activity else None),
    )
    costs = forms.CostFormSet(data, initial=cost_initial, prefix="costs")
    if data is not None and "more_rows" not in data and form.is_valid() and costs.is_valid():
        values = dict(form.cleaned_data)
        person_id = values.pop("person")
        values["person"] = next(p for p in persons if p.pk == person_id)
        rows, index = forms.cost_values(costs)
        try:
            if activity is None:
                activity = svc.activity_create(
                    actor=request.user, household=household, costs=rows, **values
                )
                messages.success(request, _("Activity recorded."))
            else:
                svc.activity_update(actor=request.user, activity=activity, costs=rows, **values)
                messages.success(request, _("Saved."))
        except ValidationError as exc:
            forms.apply_errors(form, costs, index, exc)
        else:
            return redirect("interventions:iga-detail", activity.pk)
    return render(
        request,
        "interventions/igas/activity_form.html",
        {"form": form, "costs": costs, "household": household, "activity": activity},
    )


@login_required
@require_http_methods(["GET", "POST"])
def activity_create(request: HttpRequest) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    access.require(request.user, RECORD_INTERVENTIONS)
    pick = forms.HouseholdPickForm(request.GET or None)
    household = None
    if pick.is_valid():
        household = _household(request, pick.cleaned_data["household"])
        if household is None:
            pick.add_error("household", _("No household with this code in your areas."))
        elif not access.can_act_in(request.user, RECORD_INTERVENTIONS, household.village):
            pick.add_error(
                "household",
                _("You do not record interventions in %(area)s.") % {"area": household.village},
            )
            household = None
    if household is None:
        return render(request, "interventions/igas/household_pick.html", {"pick": pick})
    return _form_page(request, household, None)


@login_required
@require_http_methods(["GET", "POST"])
def activity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, VIEW_PERSONS)
    access.require(request.user, RECORD_INTERVENTIONS)
    try:
        activity = (
            sel.activities_visible_to(request.user)
            .select_related("household__village", "person", "benchmark")
            .prefetch_related("costs")
            .get(pk=pk)
        )
    except IncomeActivity.DoesNotExist:
        raise Http404 from None
    if not sel.can_record(request.user, activity):
        raise PermissionDenied(RECORD_INTERVENTIONS)
    return _form_page(request, activity.household, activity)


# -- benchmarks --------------------------------------------------------------------------


@login_required
@require_GET
def benchmark_list(request: HttpRequest) -> HttpResponse:
    if not sel.may_read_benchmarks(request.user):
        raise PermissionDenied
    return render(
        request,
        "interventions/igas/benchmark_list.html",
        {
            "benchmarks": list(sel.benchmarks(request.user)),
            "can_manage": access.has_permission(request.user, MANAGE_INTERVENTIONS),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def benchmark_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    access.require(request.user, MANAGE_INTERVENTIONS)
    bench = sel.benchmark_get(request.user, pk) if pk is not None else None
    initial: dict[str, Any] = {"active": True}
    if bench is not None:
        initial = {f: getattr(bench, f) for f in forms.BenchmarkForm.base_fields}
    form = forms.BenchmarkForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if bench is None:
                svc.benchmark_create(actor=request.user, **form.cleaned_data)
            else:
                svc.benchmark_update(actor=request.user, benchmark=bench, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("interventions:benchmark-list")
    return render(
        request, "interventions/igas/benchmark_form.html", {"form": form, "benchmark": bench}
    )
