"""API of loans: loan products, loans with their schedule (disbursing one, writing one
off), repayments, and a schedule preview that writes nothing. Money is given as
strings of decimals ("1500000.00"), never as floating-point numbers.

api/urls.py mounts this router."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from ctip.accounts import access
from ctip.accounts.roles import MANAGE_INTERVENTIONS, RECORD_INTERVENTIONS, VIEW_PERSONS
from ctip.geography.selectors import AreaCodeError
from ctip.registry.models import Currency
from ctip.registry.selectors import households_visible_to, persons_visible_to

from .. import schedule as engine
from ..models import (
    Frequency,
    IncomeActivity,
    InterestMethod,
    Loan,
    LoanProduct,
    LoanStatus,
    Repayment,
)
from ..selectors import loans as selectors
from ..services import loans as services

MONEY: Any = {"max_digits": 16, "decimal_places": 2}
CENT = Decimal("0.01")


# "method" and "status" name other choice sets elsewhere in the API (consent methods,
# instrument versions): these fields refer to enums named after what they are.
@extend_schema_field(
    {"type": "string", "enum": InterestMethod.values}, component_name="InterestMethodEnum"
)
class InterestMethodField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=InterestMethod.choices, **kwargs)


@extend_schema_field({"type": "string", "enum": LoanStatus.values}, component_name="LoanStatusEnum")
class LoanStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=LoanStatus.choices, **kwargs)


def as_drf_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(exc.message_dict)
    return exceptions.ValidationError({"non_field_errors": exc.messages})


class CanRecord(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return access.has_permission(request.user, RECORD_INTERVENTIONS)


class CanViewPersons(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return access.has_permission(request.user, VIEW_PERSONS)


# --- products -----------------------------------------------------------------------


class LoanProductSerializer(serializers.ModelSerializer[LoanProduct]):
    method = InterestMethodField(read_only=True)

    class Meta:
        model = LoanProduct
        fields = [
            "id",
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
            "created_at",
        ]
        read_only_fields = fields


class LoanProductWriteSerializer(serializers.Serializer[None]):
    code = serializers.SlugField(max_length=40)
    name = serializers.CharField(max_length=200)
    method = InterestMethodField()
    annual_rate = serializers.DecimalField(
        max_digits=6,
        decimal_places=3,
        help_text=gettext_lazy("Nominal yearly rate in percent, 0-100."),
    )
    term = serializers.IntegerField(min_value=1, max_value=engine.MAX_TERM)
    frequency = serializers.ChoiceField(choices=Frequency.choices)
    grace = serializers.IntegerField(min_value=0, max_value=engine.MAX_TERM - 1, default=0)
    currency = serializers.ChoiceField(choices=Currency.choices)
    min_principal = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    max_principal = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    active = serializers.BooleanField(default=True)


@extend_schema_view(
    list=extend_schema(summary="Loan products, those offered first"),
    retrieve=extend_schema(summary="One loan product"),
    create=extend_schema(
        summary="Set up a loan product (needs the right to set up interventions)",
        request=LoanProductWriteSerializer,
        responses={201: LoanProductSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a loan product; loans already made keep their terms",
        request=LoanProductWriteSerializer,
        responses=LoanProductSerializer,
    ),
)
class LoanProductViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[LoanProduct],
):
    permission_classes = [permissions.IsAuthenticated, CanRecord]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    serializer_class = LoanProductSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[LoanProduct]:
        return selectors.loan_products()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(request.user, MANAGE_INTERVENTIONS)
        params = LoanProductWriteSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            product = services.loan_product_create(actor=request.user, **params.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(LoanProductSerializer(product).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(request.user, MANAGE_INTERVENTIONS)
        product = self.get_object()
        params = LoanProductWriteSerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        try:
            product = services.loan_product_update(
                actor=request.user, product=product, **params.validated_data
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(LoanProductSerializer(product).data)


# --- loans --------------------------------------------------------------------------


class LoanSerializer(serializers.ModelSerializer[Loan]):
    method = InterestMethodField(read_only=True)
    status = LoanStatusField(read_only=True)
    product_code = serializers.CharField(source="product.code", read_only=True)
    household_code = serializers.CharField(source="household.code", read_only=True)
    village = serializers.CharField(
        source="household.village.code",
        read_only=True,
        help_text=gettext_lazy("Official code of the household's village."),
    )
    days_overdue = serializers.SerializerMethodField(
        help_text=gettext_lazy("Of the oldest instalment overdue today; 0 when up to date.")
    )
    amount_overdue = serializers.SerializerMethodField(
        help_text=gettext_lazy("Unpaid on instalments that fell due before today.")
    )

    class Meta:
        model = Loan
        fields = [
            "id",
            "product",
            "product_code",
            "household",
            "household_code",
            "person",
            "village",
            "principal",
            "currency",
            "method",
            "annual_rate",
            "term",
            "frequency",
            "grace",
            "disbursed_on",
            "purpose",
            "iga",
            "status",
            "closed_on",
            "written_off_amount",
            "write_off_reason",
            "days_overdue",
            "amount_overdue",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(min_value=0, max_value=1_000_000))
    def get_days_overdue(self, loan: Loan) -> int:
        oldest = getattr(loan, "oldest_overdue_on", None)
        if loan.status != LoanStatus.ACTIVE or oldest is None:
            return 0
        return (timezone.localdate() - oldest).days

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_amount_overdue(self, loan: Loan) -> str:
        amount = getattr(loan, "amount_overdue", None) or 0
        if loan.status != LoanStatus.ACTIVE:
            amount = 0
        # SQLite sums decimals as floats: back to cents, as a string.
        return str(Decimal(str(amount)).quantize(CENT))


class InstallmentSerializer(serializers.Serializer[selectors.ScheduleRow]):
    number = serializers.IntegerField(source="installment.number", min_value=1, max_value=520)
    due_on = serializers.DateField(source="installment.due_on")
    principal = serializers.DecimalField(source="installment.principal", **MONEY)
    interest = serializers.DecimalField(source="installment.interest", **MONEY)
    total = serializers.DecimalField(source="installment.total", **MONEY)
    balance = serializers.DecimalField(
        source="installment.balance",
        **MONEY,
        help_text=gettext_lazy("Principal still owed once this instalment is paid."),
    )
    principal_paid = serializers.DecimalField(source="installment.principal_paid", **MONEY)
    interest_paid = serializers.DecimalField(source="installment.interest_paid", **MONEY)
    paid_on = serializers.DateField(
        source="installment.paid_on",
        allow_null=True,
        help_text=gettext_lazy("The day it was fully paid."),
    )
    state = serializers.CharField(
        help_text=gettext_lazy("Today: paid, paid_late, part_paid, overdue, due or upcoming.")
    )
    days_overdue = serializers.IntegerField(min_value=0, max_value=1_000_000)


class ArrearsSerializer(serializers.Serializer[selectors.Arrears]):
    days_overdue = serializers.IntegerField(min_value=0, max_value=1_000_000)
    amount_overdue = serializers.DecimalField(**MONEY)
    installments_overdue = serializers.IntegerField(min_value=0, max_value=520)
    oldest_due_on = serializers.DateField(allow_null=True)


class LoanDetailSerializer(LoanSerializer):
    installments = serializers.SerializerMethodField()
    arrears = serializers.SerializerMethodField()

    class Meta(LoanSerializer.Meta):
        fields = [*LoanSerializer.Meta.fields, "arrears", "installments"]
        read_only_fields = fields

    @extend_schema_field(InstallmentSerializer(many=True))
    def get_installments(self, loan: Loan) -> Any:
        rows: Any = selectors.schedule_rows(loan)
        return InstallmentSerializer(rows, many=True).data

    @extend_schema_field(ArrearsSerializer)
    def get_arrears(self, loan: Loan) -> Any:
        return ArrearsSerializer(selectors.loan_arrears(loan)).data

    def get_days_overdue(self, loan: Loan) -> int:
        return selectors.loan_arrears(loan).days_overdue

    def get_amount_overdue(self, loan: Loan) -> str:
        return str(selectors.loan_arrears(loan).amount_overdue)


class LoanCreateSerializer(serializers.Serializer[None]):
    product = serializers.IntegerField(min_value=1, help_text=gettext_lazy("A product's id."))
    household = serializers.IntegerField(min_value=1)
    person = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("The member who borrows; the household's head when left out."),
    )
    principal = serializers.DecimalField(**MONEY)
    disbursed_on = serializers.DateField()
    purpose = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    iga = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("Id of the income-generating activity the loan pays for."),
    )


class WriteOffSerializer(serializers.Serializer[None]):
    reason = serializers.CharField(max_length=300)
    written_off_on = serializers.DateField(
        required=False, allow_null=True, help_text=gettext_lazy("Default today.")
    )


class SchedulePreviewSerializer(serializers.Serializer[None]):
    principal = serializers.DecimalField(**MONEY)
    annual_rate = serializers.DecimalField(
        max_digits=6, decimal_places=3, help_text=gettext_lazy("Yearly rate in percent.")
    )
    term = serializers.IntegerField(min_value=1, max_value=engine.MAX_TERM)
    frequency = serializers.ChoiceField(choices=Frequency.choices)
    method = InterestMethodField()
    grace = serializers.IntegerField(min_value=0, max_value=engine.MAX_TERM - 1, default=0)
    currency = serializers.ChoiceField(choices=Currency.choices, default="KHR")
    start = serializers.DateField(
        required=False, help_text=gettext_lazy("Day of disbursement (default today).")
    )


class ScheduleLineSerializer(serializers.Serializer[engine.Line]):
    number = serializers.IntegerField(min_value=1, max_value=engine.MAX_TERM)
    due_date = serializers.DateField()
    principal = serializers.DecimalField(**MONEY)
    interest = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)
    balance = serializers.DecimalField(**MONEY)


class ScheduleSerializer(serializers.Serializer[engine.Schedule]):
    principal = serializers.DecimalField(**MONEY)
    annual_rate = serializers.DecimalField(max_digits=6, decimal_places=3)
    term = serializers.IntegerField(min_value=1, max_value=engine.MAX_TERM)
    frequency = serializers.CharField()
    method = serializers.CharField()
    grace = serializers.IntegerField(min_value=0, max_value=engine.MAX_TERM)
    currency = serializers.CharField()
    start = serializers.DateField()
    installments = ScheduleLineSerializer(many=True)
    total_interest = serializers.DecimalField(max_digits=18, decimal_places=2)
    total = serializers.DecimalField(max_digits=18, decimal_places=2)


class LoanFilterSerializer(serializers.Serializer[None]):
    village = serializers.CharField(required=False, allow_blank=True, max_length=30)
    status = serializers.ChoiceField(choices=LoanStatus.choices, required=False, allow_blank=True)
    arrears_over = serializers.IntegerField(required=False, min_value=0, max_value=3650)
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
    person = serializers.IntegerField(required=False, min_value=1)
    household = serializers.IntegerField(required=False, min_value=1)


def _not_found(field: str, pk: int) -> exceptions.ValidationError:
    return exceptions.ValidationError(
        {field: [_("No %(what)s #%(id)s in your areas.") % {"what": field, "id": pk}]}
    )


@extend_schema_view(
    list=extend_schema(
        summary="Loans of households in your areas, newest first",
        parameters=[
            OpenApiParameter(
                "village",
                str,
                description="Official code of an area (e.g. 20010301 or KH-20); "
                "the area and all below it.",
            ),
            OpenApiParameter("status", str, enum=LoanStatus.values),
            OpenApiParameter(
                "arrears_over", int, description="Only loans more than this many days overdue."
            ),
            OpenApiParameter("q", str, description="The borrower's name, in any script."),
            OpenApiParameter("person", int, description="The borrower's id."),
            OpenApiParameter("household", int, description="A household's id."),
        ],
    ),
    retrieve=extend_schema(
        summary="One loan with its schedule, what was paid and its arrears (the read is audited)",
        responses=LoanDetailSerializer,
    ),
    create=extend_schema(
        summary="Disburse a loan on a product's terms and store its schedule "
        "(needs the right to record interventions in the household's village)",
        request=LoanCreateSerializer,
        responses={201: LoanDetailSerializer},
    ),
)
class LoanViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Loan],
):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    serializer_class = LoanSerializer

    def get_permissions(self) -> Any:
        if self.action == "schedule_preview":
            return [permissions.IsAuthenticated()]
        return super().get_permissions()

    def get_queryset(self) -> QuerySet[Loan]:
        params = LoanFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        f = params.validated_data
        try:
            qs = selectors.loan_search(
                self.request.user,
                area_code=f.get("village", ""),
                status=f.get("status", ""),
                arrears_over=f.get("arrears_over"),
                q=f.get("q", ""),
            )
        except AreaCodeError as exc:
            raise exceptions.ValidationError({"village": [str(exc)]}) from exc
        if "person" in f:
            qs = qs.filter(person_id=f["person"])
        if "household" in f:
            qs = qs.filter(household_id=f["household"])
        return qs

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        loan = selectors.loan_get(request.user, int(kwargs["pk"]))
        return Response(LoanDetailSerializer(loan).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(request.user, RECORD_INTERVENTIONS)
        params = LoanCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        household = (
            households_visible_to(request.user)
            .select_related("village")
            .filter(pk=data["household"])
            .first()
        )
        if household is None:
            raise _not_found("household", data["household"])
        product = LoanProduct.objects.filter(pk=data["product"]).first()
        if product is None:
            raise exceptions.ValidationError(
                {"product": [_("No loan product #%(id)s.") % {"id": data["product"]}]}
            )
        person = None
        if data.get("person"):
            person = persons_visible_to(request.user).filter(pk=data["person"]).first()
            if person is None:
                raise _not_found("person", data["person"])
        iga = None
        if data.get("iga"):
            iga = IncomeActivity.objects.filter(pk=data["iga"], household=household).first()
            if iga is None:
                raise exceptions.ValidationError(
                    {"iga": [_("This activity belongs to another household.")]}
                )
        try:
            loan = services.loan_disburse(
                actor=request.user,
                product=product,
                household=household,
                person=person,
                principal=data["principal"],
                disbursed_on=data["disbursed_on"],
                purpose=data.get("purpose", ""),
                iga=iga,
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        loan = Loan.objects.select_related("product", "household__village").get(pk=loan.pk)
        return Response(LoanDetailSerializer(loan).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Write a loan off: the principal not repaid, with the reason "
        "(needs the right to set up interventions in the household's area)",
        request=WriteOffSerializer,
        responses=LoanDetailSerializer,
    )
    @action(detail=True, methods=["post"], url_path="write-off")
    def write_off(self, request: Request, pk: str | None = None) -> Response:
        access.require(request.user, MANAGE_INTERVENTIONS)
        loan = self._visible(int(pk or 0))
        params = WriteOffSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            loan = services.loan_write_off(
                actor=request.user,
                loan=loan,
                reason=params.validated_data["reason"],
                written_off_on=params.validated_data.get("written_off_on"),
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        loan = Loan.objects.select_related("product", "household__village").get(pk=loan.pk)
        return Response(LoanDetailSerializer(loan).data)

    @extend_schema(
        summary="The schedule a loan would have (nothing is stored); money as decimal strings",
        request=SchedulePreviewSerializer,
        responses=ScheduleSerializer,
    )
    @action(detail=False, methods=["post"], url_path="schedule-preview")
    def schedule_preview(self, request: Request) -> Response:
        params = SchedulePreviewSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        data.setdefault("start", timezone.localdate())
        try:
            plan = engine.build_schedule(**data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(ScheduleSerializer(plan).data)

    def _visible(self, pk: int) -> Loan:
        loan = (
            selectors.loans_visible_to(self.request.user)
            .select_related("household__village")
            .filter(pk=pk)
            .first()
        )
        if loan is None:
            raise exceptions.NotFound()
        return loan


# --- repayments ---------------------------------------------------------------------


class RepaymentSerializer(serializers.ModelSerializer[Repayment]):
    currency = serializers.CharField(source="loan.currency", read_only=True)
    recorded_by = serializers.SerializerMethodField()
    loan_status = serializers.CharField(
        source="loan.status",
        read_only=True,
        help_text=gettext_lazy("The loan's status now (repaid once nothing is owed)."),
    )

    class Meta:
        model = Repayment
        fields = [
            "id",
            "loan",
            "paid_on",
            "amount",
            "currency",
            "principal_part",
            "interest_part",
            "note",
            "recorded_by",
            "recorded_at",
            "loan_status",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_recorded_by(self, obj: Repayment) -> str | None:
        return obj.recorded_by.username if obj.recorded_by else None


class RepaymentCreateSerializer(serializers.Serializer[None]):
    loan = serializers.IntegerField(min_value=1)
    amount = serializers.DecimalField(**MONEY)
    paid_on = serializers.DateField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


@extend_schema_view(
    list=extend_schema(
        summary="Repayments on loans in your areas",
        parameters=[OpenApiParameter("loan", int, description="A loan's id.")],
    ),
    retrieve=extend_schema(summary="One repayment"),
    create=extend_schema(
        summary="Record a repayment: it pays the oldest instalments first, interest before "
        "principal; more than is still owed is refused",
        request=RepaymentCreateSerializer,
        responses={201: RepaymentSerializer},
    ),
)
class RepaymentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Repayment],
):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    serializer_class = RepaymentSerializer

    def get_queryset(self) -> QuerySet[Repayment]:
        qs = selectors.repayments_visible_to(self.request.user).select_related(
            "loan", "recorded_by"
        )
        loan = self.request.query_params.get("loan")
        if loan:
            if not loan.isdigit():
                raise exceptions.ValidationError({"loan": [_("Give a loan's id.")]})
            qs = qs.filter(loan_id=int(loan))
        return qs.order_by("-paid_on", "-id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(request.user, RECORD_INTERVENTIONS)
        params = RepaymentCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        loan = (
            selectors.loans_visible_to(request.user)
            .select_related("household__village")
            .filter(pk=data["loan"])
            .first()
        )
        if loan is None:
            raise _not_found("loan", data["loan"])
        try:
            repayment = services.repayment_record(
                actor=request.user,
                loan=loan,
                amount=data["amount"],
                paid_on=data["paid_on"],
                note=data.get("note", ""),
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        repayment = Repayment.objects.select_related("loan", "recorded_by").get(pk=repayment.pk)
        return Response(RepaymentSerializer(repayment).data, status=status.HTTP_201_CREATED)


router = SimpleRouter()
router.register("loan-products", LoanProductViewSet, basename="loan-product")
router.register("loans", LoanViewSet, basename="loan")
router.register("repayments", RepaymentViewSet, basename="repayment")
