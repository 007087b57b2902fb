"""API of follow-up visits: the scoped list filtered by status, overdue, component,
facilitator and area; one visit (the read is audited); recording what a visit found,
marking it missed or no longer needed, handing it to another facilitator; what is due
and overdue per facilitator or commune; and the plans.

api/urls.py mounts this router."""

from __future__ import annotations

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
from rest_framework import exceptions, mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from ctip.accounts import access
from ctip.accounts.models import User
from ctip.accounts.roles import MANAGE_INTERVENTIONS, RECORD_INTERVENTIONS, VIEW_PERSONS
from ctip.geography.selectors import AreaCodeError, resolve_area_code
from ctip.registry.models import Currency

from ..models import Component, FollowUp, FollowUpPlan, FollowUpStatus
from ..selectors import followups as sel
from ..services import followups as svc

MONEY: dict[str, Any] = {"max_digits": 16, "decimal_places": 2}


def as_drf_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(exc.message_dict)
    return exceptions.ValidationError({"non_field_errors": exc.messages})


class CanViewPersons(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return access.has_permission(request.user, VIEW_PERSONS)


# The situations read and written share one choice set (one enum in the schema): what
# is read back can be sent back.
SITUATION_SCHEMA = serializers.ChoiceField(
    choices=sel.SHOWN_CHOICES,
    allow_blank=True,
    help_text=gettext_lazy(
        "What the visit found; empty until visited. “migrated” for both migrated_safely "
        "and migrated_unsafely when you may not see sensitive outcomes in the person's area."
    ),
)


def situations_of(context: dict[str, Any]) -> sel.Situations:
    """The request's `Situations` (one per request, kept in the serializer context so
    the view can audit what was shown); masking everything without a request."""
    situations = context.get("situations")
    if situations is None:
        request = context.get("request")
        situations = sel.Situations(getattr(request, "user", None))
        context["situations"] = situations
    return situations


def shown_situation(serializer: serializers.Field[Any, Any, Any, Any], obj: FollowUp) -> str:
    """The situation as the reader may read it (set already by `Situations.apply`, or
    worked out now; needs the person's village loaded)."""
    shown = getattr(obj, "shown_situation", None)
    if shown is None:
        shown = situations_of(serializer.context).value(obj)
    return str(shown)


# A viewset mixin: one `Situations` per request in the serializers' context, and one
# audit event for the sensitive findings the response showed. (A comment, not a
# docstring: the schema would take a docstring as every operation's description.)
class SituationsAudited:
    request: Any
    situations_where = "follow-up visits (API)"

    def get_serializer_context(self) -> dict[str, Any]:
        context: dict[str, Any] = super().get_serializer_context()  # type: ignore[misc]
        if not hasattr(self, "_situations"):
            self._situations = sel.Situations(self.request.user)
        context["situations"] = self._situations
        return context

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        situations = getattr(self, "_situations", None)
        if situations is not None and response.status_code < 400:
            situations.audit_read(self.situations_where)
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]


class FollowUpSerializer(serializers.ModelSerializer[FollowUp]):
    village = serializers.CharField(source="person.household.village.code", read_only=True)
    situation = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField(
        help_text=gettext_lazy("Still due and the due date has passed.")
    )
    assigned_to_username = serializers.CharField(
        source="assigned_to.username", read_only=True, allow_null=True, default=None
    )
    months_after = serializers.IntegerField(
        min_value=0, max_value=1000, allow_null=True, read_only=True
    )

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "person",
            "village",
            "component",
            "enrolment",
            "loan",
            "activity",
            "education_support",
            "due_on",
            "months_after",
            "status",
            "overdue",
            "assigned_to",
            "assigned_to_username",
            "visited_on",
            "visited_by",
            "situation",
            "monthly_income",
            "currency",
            "outcome",
            "updated_at",
        ]
        read_only_fields = fields

    def get_overdue(self, obj: FollowUp) -> bool:
        today = self.context.get("today") or timezone.localdate()
        return obj.status == FollowUpStatus.DUE and obj.due_on < today

    @extend_schema_field(SITUATION_SCHEMA)
    def get_situation(self, obj: FollowUp) -> str:
        return shown_situation(self, obj)


class FollowUpFilterSerializer(serializers.Serializer[None]):
    status = serializers.ChoiceField(
        choices=FollowUpStatus.choices, required=False, allow_blank=True
    )
    overdue = serializers.BooleanField(required=False, default=False)
    component = serializers.ChoiceField(choices=Component.choices, required=False, allow_blank=True)
    assigned_to = serializers.CharField(required=False, allow_blank=True, max_length=20)
    village = serializers.CharField(required=False, allow_blank=True, max_length=30)
    person = serializers.IntegerField(required=False, min_value=1)
    due_from = serializers.DateField(required=False)
    due_to = serializers.DateField(required=False)

    def validate_assigned_to(self, value: str) -> str:
        if value in ("", "me", sel.UNASSIGNED) or value.isdigit():
            return value
        raise serializers.ValidationError(_("A user id, “me” or “none”."))


class VisitSerializer(serializers.Serializer[None]):
    visited_on = serializers.DateField()
    situation = serializers.ChoiceField(
        choices=sel.SHOWN_CHOICES,
        help_text=gettext_lazy(
            "Any situation may be recorded; what is read back is what you may see. "
            "“migrated” keeps a migration recorded earlier as it was (only where that is "
            "what you read)."
        ),
    )
    monthly_income = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    currency = serializers.ChoiceField(choices=Currency.choices, required=False, allow_blank=True)
    outcome = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class ReasonSerializer(serializers.Serializer[None]):
    reason = serializers.CharField(max_length=5000)


class ReassignSerializer(serializers.Serializer[None]):
    assigned_to = serializers.IntegerField(
        min_value=1, help_text=gettext_lazy("A user who records interventions in the area.")
    )


class ComponentCountSerializer(serializers.Serializer[Any]):
    due_this_month = serializers.IntegerField(min_value=0, source="due")
    overdue = serializers.IntegerField(min_value=0)


class DueCountSerializer(serializers.Serializer[Any]):
    key = serializers.IntegerField(
        allow_null=True,
        min_value=1,
        help_text=gettext_lazy("The user's id (per facilitator) or the commune's (per area)."),
    )
    label = serializers.CharField()  # type: ignore[assignment]
    due_this_month = serializers.IntegerField(min_value=0)
    overdue = serializers.IntegerField(min_value=0)
    by_component = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DictField(child=ComponentCountSerializer()))
    def get_by_component(self, obj: sel.DueCount) -> dict[str, Any]:
        return {k: ComponentCountSerializer(v).data for k, v in obj.by_component.items()}


def _area(code: str) -> Any:
    try:
        return resolve_area_code(code)
    except AreaCodeError as exc:
        raise exceptions.ValidationError({"village": [str(exc)]}) from exc


@extend_schema_view(
    list=extend_schema(
        summary="Follow-up visits of persons in your areas, by due date",
        parameters=[
            OpenApiParameter("status", str, enum=FollowUpStatus.values),
            OpenApiParameter("overdue", bool, description="Still due and past the due date."),
            OpenApiParameter("component", str, enum=Component.values),
            OpenApiParameter(
                "assigned_to", str, description="A user's id, “me” or “none” for nobody's."
            ),
            OpenApiParameter(
                "village",
                str,
                description="Official code of an area (e.g. 20010301 or KH-20); "
                "the area and all below it.",
            ),
            OpenApiParameter("person", int, description="A person's id."),
            OpenApiParameter("due_from", str, description="Due on or after (YYYY-MM-DD)."),
            OpenApiParameter("due_to", str, description="Due on or before (YYYY-MM-DD)."),
        ],
    ),
    retrieve=extend_schema(summary="One follow-up visit (the read is audited)"),
)
class FollowUpViewSet(
    SituationsAudited,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[FollowUp],
):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    serializer_class = FollowUpSerializer

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def get_queryset(self) -> QuerySet[FollowUp]:
        params = FollowUpFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        f = params.validated_data
        assigned: Any = f.get("assigned_to") or None
        if assigned == "me":
            assigned = self.request.user.pk
        qs = sel.follow_up_search(
            self.request.user,
            component=f.get("component", ""),
            status=f.get("status", ""),
            assigned_to=assigned,
            overdue=f.get("overdue", False),
            area=_area(f["village"]) if f.get("village") else None,
            due_from=f.get("due_from"),
            due_to=f.get("due_to"),
            person=f.get("person"),
        )
        return qs.select_related("person__household__village", "assigned_to")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        follow_up = sel.follow_up_get(request.user, int(kwargs["pk"]))
        return Response(self.get_serializer(follow_up).data)

    def _for_recording(self, request: Request, pk: str) -> FollowUp:
        try:
            follow_up = (
                sel.follow_ups_visible_to(request.user)
                .select_related("person__household__village", "assigned_to")
                .get(pk=int(pk))
            )
        except FollowUp.DoesNotExist:
            raise exceptions.NotFound() from None
        access.require_in(request.user, RECORD_INTERVENTIONS, follow_up.person.household.village)
        return follow_up

    def _answer(self, follow_up: FollowUp) -> Response:
        row = (
            FollowUp.objects.select_related("person__household__village", "assigned_to")
            .filter(pk=follow_up.pk)
            .get()
        )
        return Response(self.get_serializer(row).data)

    @extend_schema(
        summary="Record what a visit found (or correct it): situation, income and notes",
        request=VisitSerializer,
        responses=FollowUpSerializer,
    )
    @action(detail=True, methods=["post"])
    def visit(self, request: Request, pk: str) -> Response:
        follow_up = self._for_recording(request, pk)
        params = VisitSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        if data["situation"] == sel.MIGRATED:
            if not follow_up.situation or sel.Situations(request.user).value(follow_up) != (
                sel.MIGRATED
            ):
                raise exceptions.ValidationError(
                    {"situation": [_("Say what the person is doing now.")]}
                )
            data["situation"] = follow_up.situation  # kept as recorded
        try:
            follow_up = svc.follow_up_record_visit(
                actor=request.user,
                follow_up=follow_up,
                visited_on=data["visited_on"],
                situation=data["situation"],
                monthly_income=data.get("monthly_income"),
                currency=data.get("currency") or "",
                outcome=data.get("outcome", ""),
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return self._answer(follow_up)

    @extend_schema(
        summary="The person could not be visited (a reason is required)",
        request=ReasonSerializer,
        responses=FollowUpSerializer,
    )
    @action(detail=True, methods=["post"])
    def missed(self, request: Request, pk: str) -> Response:
        return self._close(request, pk, svc.follow_up_mark_missed)

    @extend_schema(
        summary="The visit is no longer needed (a reason is required)",
        request=ReasonSerializer,
        responses=FollowUpSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        return self._close(request, pk, svc.follow_up_cancel)

    def _close(self, request: Request, pk: str, service: Any) -> Response:
        follow_up = self._for_recording(request, pk)
        params = ReasonSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            follow_up = service(
                actor=request.user,
                follow_up=follow_up,
                reason=params.validated_data["reason"],
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return self._answer(follow_up)

    @extend_schema(
        summary="Hand a visit still to make to another facilitator of the person's area",
        request=ReassignSerializer,
        responses=FollowUpSerializer,
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request: Request, pk: str) -> Response:
        follow_up = self._for_recording(request, pk)
        params = ReassignSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        user = User.objects.filter(pk=params.validated_data["assigned_to"]).first()
        if user is None:
            raise exceptions.ValidationError(
                {"assigned_to": [_("No user #%(id)s.") % {"id": request.data.get("assigned_to")}]}
            )
        try:
            follow_up = svc.follow_up_reassign(
                actor=request.user, follow_up=follow_up, assigned_to=user
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return self._answer(follow_up)

    @extend_schema(
        summary="Visits due this month and overdue, per facilitator or per commune, with "
        "counts by component",
        parameters=[
            OpenApiParameter("by", str, enum=["facilitator", "area"]),
            OpenApiParameter(
                "village", str, description="Official code of an area: it and all below it."
            ),
        ],
        responses=DueCountSerializer(many=True),
    )
    @action(detail=False, methods=["get"], url_path="due", pagination_class=None)
    def due(self, request: Request) -> Response:
        by = request.query_params.get("by", "facilitator")
        if by not in ("facilitator", "area"):
            raise exceptions.ValidationError({"by": [_("“facilitator” or “area”.")]})
        code = request.query_params.get("village", "")
        area = _area(code) if code else None
        rows = (sel.due_by_facilitator if by == "facilitator" else sel.due_by_area)(
            request.user, area=area
        )
        return Response(DueCountSerializer(rows, many=True).data)


class PlanSerializer(serializers.ModelSerializer[FollowUpPlan]):
    months_after = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=svc.MAX_PLAN_MONTHS),
        help_text=gettext_lazy("Months after the reference date, each from 1 to 60."),
    )

    class Meta:
        model = FollowUpPlan
        fields = ["id", "component", "months_after", "monthly_while_active", "active"]
        read_only_fields = ["id", "component"]


class PlanUpdateSerializer(serializers.Serializer[None]):
    months_after = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=svc.MAX_PLAN_MONTHS),
        required=False,
    )
    monthly_while_active = serializers.BooleanField(required=False)
    active = serializers.BooleanField(required=False)


@extend_schema_view(
    list=extend_schema(summary="When follow-up visits fall due, per component"),
    retrieve=extend_schema(summary="One follow-up plan"),
    partial_update=extend_schema(
        summary="Change a plan (needs the right to set up interventions); it applies to what "
        "happens from now on",
        request=PlanUpdateSerializer,
        responses=PlanSerializer,
    ),
)
class FollowUpPlanViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[FollowUpPlan],
):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    serializer_class = PlanSerializer
    pagination_class = None
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[FollowUpPlan]:
        return sel.plans()

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(request.user, MANAGE_INTERVENTIONS)
        plan = self.get_object()
        params = PlanUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            plan = svc.plan_update(actor=request.user, plan=plan, **params.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(PlanSerializer(plan).data)


router = SimpleRouter()
router.register("follow-ups", FollowUpViewSet, basename="follow-up")
router.register("follow-up-plans", FollowUpPlanViewSet, basename="follow-up-plan")
