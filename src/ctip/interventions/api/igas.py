"""API of income-generating activities (with their cost lines, and the market analysis
in the detail) and of the migration wage benchmarks they are compared with. Money is
given as strings of decimals ("2500.00"), never as floating-point numbers.

api/urls.py mounts this router."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from ctip.accounts import access
from ctip.accounts.roles import MANAGE_INTERVENTIONS, VIEW_PERSONS
from ctip.geography.selectors import AreaCodeError, resolve_area_code
from ctip.registry.models import Currency
from ctip.registry.selectors import households_visible_to, persons_visible_to

from .. import iga
from ..models import (
    ActivityCost,
    ActivityStatus,
    CostKind,
    IncomeActivity,
    MigrationBenchmark,
    Sector,
)
from ..selectors import igas as sel
from ..services import igas as svc

MONEY: dict[str, Any] = {"max_digits": 16, "decimal_places": 2}
FIGURE: dict[str, Any] = {"max_digits": 24, "decimal_places": 2}
VERDICTS = [iga.MORE, iga.SAME, iga.LESS, iga.DIFFERENT_CURRENCY, iga.NO_BENCHMARK]


def as_drf_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(exc.message_dict)
    return exceptions.ValidationError({"non_field_errors": exc.messages})


class CanViewPersons(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return access.has_permission(request.user, VIEW_PERSONS)


class CanReadBenchmarks(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return sel.may_read_benchmarks(request.user)


# --- analysis --------------------------------------------------------------------------


class ComparisonSerializer(serializers.Serializer[iga.Comparison]):
    verdict = serializers.ChoiceField(choices=VERDICTS)
    text = serializers.CharField(help_text=gettext_lazy("The verdict in plain language."))
    benchmark = serializers.SerializerMethodField()
    net = serializers.DecimalField(
        **FIGURE,
        allow_null=True,
        help_text=gettext_lazy("Wage minus living costs at the destination, a month."),
    )
    ratio = serializers.DecimalField(
        max_digits=24,
        decimal_places=3,
        allow_null=True,
        help_text=gettext_lazy("Gross margin / net of migrating; null when not comparable."),
    )

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_benchmark(self, obj: iga.Comparison) -> int | None:
        return obj.benchmark.pk if obj.benchmark else None


class ActualIncomeSerializer(serializers.Serializer[iga.ActualIncome]):
    follow_up = serializers.IntegerField(source="follow_up_id", min_value=1)
    visited_on = serializers.DateField(allow_null=True)
    months_after = serializers.IntegerField(min_value=0, max_value=1000, allow_null=True)
    monthly_income = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    difference = serializers.DecimalField(
        **FIGURE,
        allow_null=True,
        help_text=gettext_lazy("Income minus the expected gross margin (same currency only)."),
    )


class AnalysisSerializer(serializers.Serializer[iga.Analysis]):
    currency = serializers.CharField()
    unit = serializers.CharField()
    price = serializers.DecimalField(**FIGURE)
    volume = serializers.DecimalField(**FIGURE)
    revenue = serializers.DecimalField(**FIGURE)
    variable_per_unit = serializers.DecimalField(**FIGURE)
    variable_costs = serializers.DecimalField(**FIGURE)
    fixed_costs = serializers.DecimalField(**FIGURE)
    investment = serializers.DecimalField(**FIGURE)
    gross_margin = serializers.DecimalField(
        **FIGURE, help_text=gettext_lazy("Revenue - variable costs - fixed costs, a month.")
    )
    margin_pct = serializers.DecimalField(
        max_digits=24,
        decimal_places=2,
        allow_null=True,
        help_text=gettext_lazy("Of revenue; null without revenue."),
    )
    break_even_volume = serializers.DecimalField(
        **FIGURE,
        allow_null=True,
        help_text=gettext_lazy("Units a month; null when the price does not cover unit costs."),
    )
    break_even_note = serializers.CharField()
    payback_months = serializers.DecimalField(
        **FIGURE,
        allow_null=True,
        help_text=gettext_lazy("Investment / gross margin; null without a margin."),
    )
    payback_note = serializers.CharField()
    benchmark = ComparisonSerializer()
    actual = ActualIncomeSerializer(many=True)
    actual_average = serializers.DecimalField(**FIGURE, allow_null=True)


# --- activities ------------------------------------------------------------------------


class CostSerializer(serializers.ModelSerializer[ActivityCost]):
    class Meta:
        model = ActivityCost
        fields = ["item", "kind", "amount"]
        read_only_fields = fields


class IncomeActivitySerializer(serializers.ModelSerializer[IncomeActivity]):
    village = serializers.CharField(source="household.village.code", read_only=True)
    gross_margin = serializers.SerializerMethodField(
        help_text=gettext_lazy("Per month, in the activity's currency.")
    )
    verdict = serializers.SerializerMethodField()

    class Meta:
        model = IncomeActivity
        fields = [
            "id",
            "household",
            "person",
            "village",
            "title",
            "sector",
            "status",
            "started_on",
            "unit",
            "expected_price",
            "expected_volume",
            "currency",
            "benchmark",
            "gross_margin",
            "verdict",
            "created_at",
        ]
        read_only_fields = fields

    def _analysis(self, obj: IncomeActivity) -> iga.Analysis:
        cache = self.context.setdefault("analyses", {})
        if obj.pk not in cache:
            cache[obj.pk] = iga.analyse(obj, with_actual=False)
        result: iga.Analysis = cache[obj.pk]
        return result

    @extend_schema_field(serializers.DecimalField(**FIGURE))
    def get_gross_margin(self, obj: IncomeActivity) -> str:
        return str(self._analysis(obj).gross_margin.quantize(Decimal("0.01")))

    @extend_schema_field(serializers.ChoiceField(choices=VERDICTS))
    def get_verdict(self, obj: IncomeActivity) -> str:
        return self._analysis(obj).benchmark.verdict


class IncomeActivityDetailSerializer(IncomeActivitySerializer):
    costs = CostSerializer(many=True, read_only=True)
    analysis = serializers.SerializerMethodField()

    class Meta(IncomeActivitySerializer.Meta):
        fields = [*IncomeActivitySerializer.Meta.fields, "market_notes", "costs", "analysis"]
        read_only_fields = fields

    @extend_schema_field(AnalysisSerializer)
    def get_analysis(self, obj: IncomeActivity) -> Any:
        return AnalysisSerializer(iga.analyse(obj)).data


class CostInputSerializer(serializers.Serializer[None]):
    item = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=CostKind.choices)
    amount = serializers.DecimalField(
        **MONEY,
        help_text=gettext_lazy("Not negative. Investment once, fixed a month, variable a unit."),
    )


class ActivityWriteSerializer(serializers.Serializer[None]):
    person = serializers.IntegerField(
        min_value=1, help_text=gettext_lazy("A member of the household, with consent for services.")
    )
    title = serializers.CharField(max_length=200)
    sector = serializers.ChoiceField(choices=Sector.choices)
    unit = serializers.CharField(max_length=40)
    expected_price = serializers.DecimalField(**MONEY)
    expected_volume = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.ChoiceField(choices=Currency.choices)
    benchmark = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    status = serializers.ChoiceField(choices=ActivityStatus.choices, default=ActivityStatus.PLANNED)
    started_on = serializers.DateField(required=False, allow_null=True)
    market_notes = serializers.CharField(
        max_length=10000, required=False, allow_blank=True, default=""
    )
    costs = CostInputSerializer(
        many=True,
        required=False,
        help_text=gettext_lazy(
            "All or nothing; replaces every cost line on a change. An error names the line "
            "as costs[n].field (n from 1)."
        ),
    )


class ActivityCreateSerializer(ActivityWriteSerializer):
    household = serializers.IntegerField(min_value=1)


class ActivityFilterSerializer(serializers.Serializer[None]):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
    village = serializers.CharField(required=False, allow_blank=True, max_length=30)
    status = serializers.ChoiceField(
        choices=ActivityStatus.choices, required=False, allow_blank=True
    )
    sector = serializers.ChoiceField(choices=Sector.choices, required=False, allow_blank=True)
    verdict = serializers.ChoiceField(choices=sel.VERDICT_FILTERS, required=False, allow_blank=True)


def _area(code: str) -> Any:
    try:
        return resolve_area_code(code)
    except AreaCodeError as exc:
        raise exceptions.ValidationError({"village": [str(exc)]}) from exc


@extend_schema_view(
    list=extend_schema(
        summary="Income-generating activities in your areas, with their margin and how it "
        "compares with migrating",
        parameters=[
            OpenApiParameter("q", str, description="Part of the activity's title."),
            OpenApiParameter(
                "village",
                str,
                description="Official code of an area (e.g. 20010301 or KH-20); "
                "the area and all below it.",
            ),
            OpenApiParameter("status", str, enum=ActivityStatus.values),
            OpenApiParameter("sector", str, enum=Sector.values),
            OpenApiParameter(
                "verdict",
                str,
                enum=list(sel.VERDICT_FILTERS),
                description="Earns more or less than migrating, or cannot be compared.",
            ),
        ],
    ),
    retrieve=extend_schema(
        summary="One activity with its costs and market analysis (the read is audited)",
        responses=IncomeActivityDetailSerializer,
    ),
    create=extend_schema(
        summary="Record an activity with its cost lines, all or nothing",
        description="Once it runs with a start date, its follow-up visits are scheduled.",
        request=ActivityCreateSerializer,
        responses={201: IncomeActivityDetailSerializer},
    ),
    partial_update=extend_schema(
        summary="Change an activity; costs, when given, replace every cost line",
        request=ActivityWriteSerializer,
        responses=IncomeActivityDetailSerializer,
    ),
)
class IncomeActivityViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[IncomeActivity],
):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    serializer_class = IncomeActivitySerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[IncomeActivity]:
        params = ActivityFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        f = params.validated_data
        return sel.with_figures(
            sel.activity_search(
                self.request.user,
                q=f.get("q", ""),
                area=_area(f["village"]) if f.get("village") else None,
                status=f.get("status", ""),
                sector=f.get("sector", ""),
                verdict=f.get("verdict", ""),
            )
        )

    def _detail(self, request: Request, pk: int, *, audit_read: bool = True) -> dict[str, Any]:
        if audit_read:
            activity = sel.activity_get(request.user, pk)
        else:
            activity = sel.with_figures(sel.activities_visible_to(request.user)).get(pk=pk)
        return IncomeActivityDetailSerializer(activity).data

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self._detail(request, int(kwargs["pk"])))

    def _values(self, data: dict[str, Any]) -> dict[str, Any]:
        """Validated input for the service: the person as a record the caller may see."""
        values = dict(data)
        if "person" in values:
            person = (
                persons_visible_to(self.request.user)
                .select_related("household__village")
                .filter(pk=values["person"])
                .first()
            )
            if person is None:
                raise exceptions.ValidationError(
                    {"person": [_("No person #%(id)s in your areas.") % {"id": values["person"]}]}
                )
            values["person"] = person
        if "costs" in values:
            values["costs"] = [dict(c) for c in values["costs"]]
        return values

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = ActivityCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        household = (
            households_visible_to(request.user)
            .select_related("village")
            .filter(pk=data.pop("household"))
            .first()
        )
        if household is None:
            raise exceptions.ValidationError(
                {
                    "household": [
                        _("No household #%(id)s in your areas.")
                        % {"id": params.validated_data["household"]}
                    ]
                }
            )
        values = self._values(data)
        try:
            activity = svc.activity_create(actor=request.user, household=household, **values)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(
            self._detail(request, activity.pk, audit_read=False), status=status.HTTP_201_CREATED
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            activity = (
                sel.activities_visible_to(request.user)
                .select_related("household__village", "person", "benchmark")
                .get(pk=int(kwargs["pk"]))
            )
        except IncomeActivity.DoesNotExist:
            raise exceptions.NotFound() from None
        params = ActivityWriteSerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        values = self._values(dict(params.validated_data))
        try:
            svc.activity_update(actor=request.user, activity=activity, **values)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(self._detail(request, activity.pk, audit_read=False))


# --- benchmarks ------------------------------------------------------------------------


class BenchmarkSerializer(serializers.ModelSerializer[MigrationBenchmark]):
    net = serializers.DecimalField(
        **FIGURE, read_only=True, help_text=gettext_lazy("Wage minus living costs, a month.")
    )

    class Meta:
        model = MigrationBenchmark
        fields = [
            "id",
            "destination",
            "destination_country",
            "sector",
            "monthly_wage",
            "monthly_costs",
            "net",
            "currency",
            "source",
            "valid_from",
            "active",
        ]
        read_only_fields = fields


class BenchmarkWriteSerializer(serializers.Serializer[None]):
    destination = serializers.CharField(max_length=120)
    destination_country = serializers.CharField(
        min_length=2, max_length=2, help_text=gettext_lazy("ISO code: TH, MY...")
    )
    sector = serializers.ChoiceField(choices=Sector.choices)
    monthly_wage = serializers.DecimalField(**MONEY)
    monthly_costs = serializers.DecimalField(**MONEY, default=Decimal(0))
    currency = serializers.ChoiceField(choices=Currency.choices)
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=300, required=False, allow_blank=True, default=""
    )
    valid_from = serializers.DateField()
    active = serializers.BooleanField(default=True)


@extend_schema_view(
    list=extend_schema(
        summary="Migration wage benchmarks: what migrating to a destination and sector nets",
        parameters=[OpenApiParameter("active", bool, description="In use (true) or not.")],
    ),
    retrieve=extend_schema(summary="One benchmark"),
    create=extend_schema(
        summary="Add a benchmark (needs the right to set up interventions)",
        request=BenchmarkWriteSerializer,
        responses={201: BenchmarkSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a benchmark; activities compared with it follow the new figures",
        request=BenchmarkWriteSerializer,
        responses=BenchmarkSerializer,
    ),
)
class BenchmarkViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[MigrationBenchmark],
):
    permission_classes = [permissions.IsAuthenticated, CanReadBenchmarks]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    serializer_class = BenchmarkSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[MigrationBenchmark]:
        raw = self.request.query_params.get("active")
        active = {"true": True, "false": False}.get((raw or "").lower())
        return sel.benchmarks(self.request.user, active=active)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(request.user, MANAGE_INTERVENTIONS)
        params = BenchmarkWriteSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            bench = svc.benchmark_create(actor=request.user, **params.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        row = sel.benchmarks(request.user).get(pk=bench.pk)
        return Response(BenchmarkSerializer(row).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(request.user, MANAGE_INTERVENTIONS)
        bench = self.get_object()
        params = BenchmarkWriteSerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        try:
            svc.benchmark_update(actor=request.user, benchmark=bench, **params.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(BenchmarkSerializer(sel.benchmarks(request.user).get(pk=bench.pk)).data)


router = SimpleRouter()
router.register("igas", IncomeActivityViewSet, basename="iga")
router.register("migration-benchmarks", BenchmarkViewSet, basename="migration-benchmark")
