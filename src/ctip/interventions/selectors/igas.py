"""Reads of income-generating activities (scoped by the household's village) and of
the migration wage benchmarks they are compared with."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    Prefetch,
    QuerySet,
    Value,
    When,
)
from django.http import Http404

from ctip.accounts import access
from ctip.accounts.roles import (
    MANAGE_INTERVENTIONS,
    RECORD_INTERVENTIONS,
    VIEW_AGGREGATES,
    VIEW_PERSONS,
)
from ctip.core import audit

from .. import iga
from ..models import FollowUp, FollowUpStatus, IncomeActivity, MigrationBenchmark

# Filter values for the comparison with migrating.
VERDICT_FILTERS = (iga.MORE, iga.LESS, "not_comparable")


def activities_visible_to(actor: Any) -> QuerySet[IncomeActivity]:
    if not access.has_permission(actor, VIEW_PERSONS):
        return IncomeActivity.objects.none()
    return IncomeActivity.objects.filter(
        household__village__in=access.areas_in_scope(actor, VIEW_PERSONS).values("id")
    )


def with_figures(qs: QuerySet[IncomeActivity]) -> QuerySet[IncomeActivity]:
    """What a list shows, in a fixed number of queries: the person, village and
    benchmark joined and the cost lines prefetched, for `iga.analyse` on each row."""
    return qs.select_related("household__village", "person", "benchmark").prefetch_related("costs")


def activity_search(
    actor: Any,
    *,
    q: str = "",
    area: Any = None,
    status: str = "",
    sector: str = "",
    verdict: str = "",
) -> QuerySet[IncomeActivity]:
    """Visible activities by title, area (it and everything below), status, sector and how
    they compare with their migration benchmark."""
    qs = activities_visible_to(actor)
    if q:
        qs = qs.filter(title__icontains=q.strip())
    if area is not None:
        qs = qs.filter(household__village__path__startswith=area.path)
    if status:
        qs = qs.filter(status=status)
    if sector:
        qs = qs.filter(sector=sector)
    if verdict:
        qs = qs.annotate(
            margin=iga.gross_margin_expression(),
            net=ExpressionWrapper(
                F("benchmark__monthly_wage") - F("benchmark__monthly_costs"),
                output_field=DecimalField(max_digits=18, decimal_places=2),
            ),
            comparable=Case(
                When(benchmark__currency=F("currency"), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
        if verdict == iga.MORE:
            qs = qs.filter(comparable=True, margin__gt=F("net"))
        elif verdict == iga.LESS:
            qs = qs.filter(comparable=True, margin__lt=F("net"))
        elif verdict == "not_comparable":
            qs = qs.filter(comparable=False)
        else:
            raise ValueError(verdict)
    return qs.order_by("-created_at", "-id")


def activity_get(actor: Any, pk: int) -> IncomeActivity:
    """One activity with its costs and follow-up visits (404 outside the reader's areas);
    the read is audited."""
    try:
        activity = (
            with_figures(activities_visible_to(actor))
            .prefetch_related(
                Prefetch(
                    "follow_ups",
                    # The person's village says whether a sensitive finding may be read.
                    queryset=FollowUp.objects.order_by("due_on", "id").select_related(
                        "assigned_to", "person__household__village"
                    ),
                )
            )
            .get(pk=pk)
        )
    except IncomeActivity.DoesNotExist:
        raise Http404 from None
    audit.record(actor=actor, action="read", obj=activity)
    return activity


def can_record(actor: Any, activity: IncomeActivity) -> bool:
    return access.can_act_in(actor, RECORD_INTERVENTIONS, activity.household.village)


def rows_with_analysis(activities: Any) -> list[tuple[IncomeActivity, iga.Analysis]]:
    """Each activity of a page with its analysis (the costs come from the prefetch)."""
    return [(a, iga.analyse(a, with_actual=False)) for a in activities]


# -- benchmarks --------------------------------------------------------------------------


def may_read_benchmarks(actor: Any) -> bool:
    """Benchmarks are reference figures, not about persons: any staff member may read them."""
    return any(
        access.has_permission(actor, p)
        for p in (VIEW_PERSONS, VIEW_AGGREGATES, RECORD_INTERVENTIONS, MANAGE_INTERVENTIONS)
    )


def benchmarks(
    actor: Any, *, active: bool | None = None, currency: str = ""
) -> QuerySet[MigrationBenchmark]:
    if not may_read_benchmarks(actor):
        return MigrationBenchmark.objects.none()
    qs = MigrationBenchmark.objects.annotate(
        net=ExpressionWrapper(
            F("monthly_wage") - F("monthly_costs"),
            output_field=DecimalField(max_digits=18, decimal_places=2),
        )
    )
    if active is not None:
        qs = qs.filter(active=active)
    if currency:
        qs = qs.filter(currency=currency)
    return qs.order_by("destination", "sector", "-valid_from", "id")


def benchmark_get(actor: Any, pk: int) -> MigrationBenchmark:
    try:
        return benchmarks(actor).get(pk=pk)
    except MigrationBenchmark.DoesNotExist:
        raise Http404 from None


def benchmark_net(bench: MigrationBenchmark) -> Decimal:
    return bench.monthly_wage - bench.monthly_costs


def actual_income_summary(activity: IncomeActivity) -> dict[str, Any]:
    """Counts of the activity's visits by status (from the prefetch)."""
    visits = list(activity.follow_ups.all())
    return {
        "due": sum(1 for v in visits if v.status == FollowUpStatus.DUE),
        "done": sum(1 for v in visits if v.status == FollowUpStatus.DONE),
        "with_income": sum(
            1 for v in visits if v.status == FollowUpStatus.DONE and v.monthly_income is not None
        ),
    }
