"""API of savings groups: the scoped list, one group with its member statements and the
checks that its ledger balances, and nested under a group its members, meetings (recorded
all or nothing), ledger (with the running balance; one entry at a time) and share-out.
Money is given as strings of decimals ("5000.00"), never as floating-point numbers.

api/urls.py mounts this router."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

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
from ctip.accounts.roles import RECORD_INTERVENTIONS, VIEW_PERSONS
from ctip.geography.selectors import AreaCodeError, resolve_area_code
from ctip.registry.models import Currency
from ctip.registry.selectors import persons_visible_to

from ..models import LedgerEntry, LedgerKind, MemberRole, SavingsGroup, SavingsMember
from ..selectors import savings as sel
from ..services import savings as svc

MONEY: dict[str, Any] = {"max_digits": 16, "decimal_places": 2}


def as_drf_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(exc.message_dict)
    return exceptions.ValidationError({"non_field_errors": exc.messages})


class CanViewPersons(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return access.has_permission(request.user, VIEW_PERSONS)


# --- serializers ---------------------------------------------------------------------


class SavingsGroupSerializer(serializers.ModelSerializer[SavingsGroup]):
    village = serializers.CharField(
        source="village.code", read_only=True, help_text=gettext_lazy("Official village code.")
    )
    member_count = serializers.IntegerField(
        read_only=True, min_value=0, help_text=gettext_lazy("Members who have not left.")
    )
    fund = serializers.DecimalField(
        **MONEY, read_only=True, help_text=gettext_lazy("Cash in the fund: money in minus out.")
    )

    class Meta:
        model = SavingsGroup
        fields = [
            "id",
            "name",
            "village",
            "formed_on",
            "share_value",
            "currency",
            "loan_rate",
            "cycle_started_on",
            "active",
            "member_count",
            "fund",
        ]
        read_only_fields = fields


class StatementSerializer(serializers.Serializer[Any]):
    member = serializers.IntegerField(source="member.pk", min_value=1)
    person = serializers.SerializerMethodField(
        help_text=gettext_lazy("The person's id; null when they live outside your areas.")
    )
    name = serializers.CharField()
    role = serializers.ChoiceField(source="member.role", choices=MemberRole.choices)
    joined_on = serializers.DateField(source="member.joined_on")
    left_on = serializers.DateField(source="member.left_on", allow_null=True)
    shares = serializers.IntegerField(
        min_value=0, help_text=gettext_lazy("Bought in the current cycle.")
    )
    savings = serializers.DecimalField(**MONEY)
    social_fund = serializers.DecimalField(**MONEY)
    fines = serializers.DecimalField(**MONEY)
    borrowed = serializers.DecimalField(**MONEY)
    repaid = serializers.DecimalField(**MONEY)
    outstanding = serializers.DecimalField(**MONEY)
    interest_paid = serializers.DecimalField(**MONEY)
    share_estimate = serializers.DecimalField(
        **MONEY,
        allow_null=True,
        help_text=gettext_lazy("Their part of today's fund if it were shared out now."),
    )

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_person(self, obj: sel.Statement) -> int | None:
        return obj.member.person_id if obj.name_visible else None


class CheckSerializer(serializers.Serializer[Any]):
    label = serializers.CharField()  # type: ignore[assignment]
    ok = serializers.BooleanField()
    expected = serializers.CharField()
    found = serializers.CharField()


class ReconciliationSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField(help_text=gettext_lazy("Every check balances."))
    balance = serializers.DecimalField(**MONEY)
    checks = CheckSerializer(many=True)


class SavingsGroupDetailSerializer(SavingsGroupSerializer):
    members = serializers.SerializerMethodField()
    reconciliation = serializers.SerializerMethodField()

    class Meta(SavingsGroupSerializer.Meta):
        fields = [*SavingsGroupSerializer.Meta.fields, "members", "reconciliation"]
        read_only_fields = fields

    @extend_schema_field(StatementSerializer(many=True))
    def get_members(self, obj: SavingsGroup) -> Any:
        return StatementSerializer(self.context["statements"], many=True).data

    @extend_schema_field(ReconciliationSerializer)
    def get_reconciliation(self, obj: SavingsGroup) -> Any:
        return ReconciliationSerializer(sel.reconciliation(obj)).data


class GroupCreateSerializer(serializers.Serializer[None]):
    name = serializers.CharField(max_length=200)
    village = serializers.CharField(
        max_length=30, help_text=gettext_lazy("Official code of the village.")
    )
    formed_on = serializers.DateField()
    share_value = serializers.DecimalField(**MONEY)
    currency = serializers.ChoiceField(choices=Currency.choices)
    loan_rate = serializers.DecimalField(
        max_digits=6,
        decimal_places=3,
        default=Decimal(0),
        help_text=gettext_lazy("Monthly interest on loans from the fund, in percent."),
    )


class GroupUpdateSerializer(serializers.Serializer[None]):
    name = serializers.CharField(max_length=200, required=False)
    share_value = serializers.DecimalField(**MONEY, required=False)
    loan_rate = serializers.DecimalField(max_digits=6, decimal_places=3, required=False)
    active = serializers.BooleanField(required=False)


class GroupFilterSerializer(serializers.Serializer[None]):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
    village = serializers.CharField(required=False, allow_blank=True, max_length=30)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class MemberAddSerializer(serializers.Serializer[None]):
    person = serializers.IntegerField(min_value=1)
    role = serializers.ChoiceField(choices=MemberRole.choices, default=MemberRole.MEMBER)
    joined_on = serializers.DateField(required=False)


class LeaveSerializer(serializers.Serializer[None]):
    left_on = serializers.DateField()


class EntryInputSerializer(serializers.Serializer[None]):
    kind = serializers.ChoiceField(
        choices=LedgerKind.choices,
        help_text=gettext_lazy("share_out is refused here: the share-out has its own endpoint."),
    )
    member = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("A member's id (not the person's)."),
    )
    shares = serializers.IntegerField(
        min_value=1,
        max_value=svc.MAX_SHARES_PER_ENTRY,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("Shares bought: the amount is shares x the share value."),
    )
    amount = serializers.DecimalField(
        **MONEY,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("Positive; the kind says whether money comes in or goes out."),
    )
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class SingleEntrySerializer(EntryInputSerializer):
    entry_on = serializers.DateField()


class MeetingInputSerializer(serializers.Serializer[None]):
    held_on = serializers.DateField()
    present = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        help_text=gettext_lazy("Ids of the members who came."),
    )
    entries = EntryInputSerializer(
        many=True,
        required=False,
        default=list,
        help_text=gettext_lazy(
            "All or nothing: an error names the entry as entries[n].field (n from 1)."
        ),
    )
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class LedgerEntrySerializer(serializers.ModelSerializer[LedgerEntry]):
    signed = serializers.DecimalField(
        **MONEY, read_only=True, help_text=gettext_lazy("+ into the fund, - out of it.")
    )
    balance = serializers.DecimalField(
        max_digits=18,
        decimal_places=2,
        read_only=True,
        help_text=gettext_lazy("The fund once this entry was made, in date order."),
    )

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "entry_on",
            "kind",
            "member",
            "meeting",
            "shares",
            "amount",
            "signed",
            "balance",
            "note",
            "recorded_at",
        ]
        read_only_fields = fields


class MeetingSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(min_value=1)
    held_on = serializers.DateField()
    present_count = serializers.IntegerField(min_value=0)
    money_in = serializers.DecimalField(**MONEY)
    money_out = serializers.DecimalField(**MONEY)
    notes = serializers.CharField()


class PayoutSerializer(serializers.Serializer[Any]):
    member = serializers.IntegerField(source="member.pk", min_value=1)
    shares = serializers.IntegerField(min_value=0)
    amount = serializers.DecimalField(**MONEY)
    remainder = serializers.DecimalField(
        **MONEY, help_text=gettext_lazy("What rounding left, added to the largest shareholder.")
    )


class SharePlanSerializer(serializers.Serializer[Any]):
    on = serializers.DateField()
    fund = serializers.DecimalField(**MONEY)
    total_shares = serializers.IntegerField(min_value=0)
    payouts = PayoutSerializer(many=True)
    next_cycle = serializers.DateField()


class ShareOutSerializer(serializers.Serializer[None]):
    on = serializers.DateField()


# --- the viewset ---------------------------------------------------------------------


def _village(code: str) -> Any:
    try:
        return resolve_area_code(code)
    except AreaCodeError as exc:
        raise exceptions.ValidationError({"village": [str(exc)]}) from exc


@extend_schema_view(
    list=extend_schema(
        summary="Savings groups in your areas, with members and fund",
        parameters=[
            OpenApiParameter("q", str, description="Part of the group's name."),
            OpenApiParameter(
                "village",
                str,
                description="Official code of an area (e.g. 20010301 or KH-20); "
                "the area and all below it.",
            ),
            OpenApiParameter("active", bool, description="Still meeting (true) or closed."),
        ],
    ),
    retrieve=extend_schema(
        summary="One group with its members' statements and the checks that its ledger "
        "balances (the read is audited)",
        responses=SavingsGroupDetailSerializer,
    ),
    create=extend_schema(
        summary="Form a savings group in a village",
        request=GroupCreateSerializer,
        responses={201: SavingsGroupDetailSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a group's name, share value (between cycles), loan rate or close it",
        request=GroupUpdateSerializer,
        responses=SavingsGroupDetailSerializer,
    ),
)
class SavingsGroupViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[SavingsGroup],
):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    serializer_class = SavingsGroupSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[SavingsGroup]:
        params = GroupFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        f = params.validated_data
        area = _village(f["village"]) if f.get("village") else None
        return sel.group_search(
            self.request.user, q=f.get("q", ""), area=area, active=f.get("active")
        )

    def _detail(self, request: Request, group: SavingsGroup) -> dict[str, Any]:
        group = sel.group_search(request.user).get(pk=group.pk)
        statements = sel.statements(request.user, group)
        return SavingsGroupDetailSerializer(group, context={"statements": statements}).data

    def _group(self, request: Request, pk: Any, *, audit_read: bool = True) -> SavingsGroup:
        return sel.group_get(request.user, int(pk), audit_read=audit_read)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        group = self._group(request, kwargs["pk"])
        return Response(self._detail(request, group))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = GroupCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        values = dict(params.validated_data)
        village = _village(values.pop("village"))
        try:
            group = svc.group_create(actor=request.user, village=village, **values)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(self._detail(request, group), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        group = self._group(request, kwargs["pk"], audit_read=False)
        params = GroupUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            group = svc.group_update(actor=request.user, group=group, **params.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(self._detail(request, group))

    @extend_schema(
        methods=["GET"],
        summary="The group's members with their statements (the read is audited)",
        responses=StatementSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a member: a person in your areas from the group's village or commune, "
        "with consent for services",
        request=MemberAddSerializer,
        responses={201: StatementSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def members(self, request: Request, pk: str) -> Response:
        if request.method == "POST":
            group = self._group(request, pk, audit_read=False)
            params = MemberAddSerializer(data=request.data)
            params.is_valid(raise_exception=True)
            data = params.validated_data
            person = (
                persons_visible_to(request.user)
                .select_related("household__village")
                .filter(pk=data["person"])
                .first()
            )
            if person is None:
                raise exceptions.ValidationError(
                    {"person": [_("No person #%(id)s in your areas.") % {"id": data["person"]}]}
                )
            try:
                member = svc.member_add(
                    actor=request.user,
                    group=group,
                    person=person,
                    role=data["role"],
                    joined_on=data.get("joined_on"),
                )
            except DjangoValidationError as exc:
                raise as_drf_error(exc) from exc
            (statement,) = sel.statements(request.user, group, members=[member])
            return Response(StatementSerializer(statement).data, status=status.HTTP_201_CREATED)
        group = self._group(request, pk)
        return Response(StatementSerializer(sel.statements(request.user, group), many=True).data)

    @extend_schema(
        summary="A member leaves (their loans repaid first; their shares wait for the share-out)",
        request=LeaveSerializer,
        responses=StatementSerializer,
        parameters=[
            OpenApiParameter(
                "member_id", int, OpenApiParameter.PATH, description="The member's id."
            )
        ],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"members/(?P<member_id>[^/.]+)/leave",
        url_name="member-leave",
    )
    def member_leave(self, request: Request, pk: str, member_id: str) -> Response:
        group = self._group(request, pk, audit_read=False)
        if not member_id.isdigit():
            raise exceptions.NotFound()
        member = SavingsMember.objects.filter(group=group, pk=int(member_id)).first()
        if member is None:
            raise exceptions.NotFound()
        member.group = group
        params = LeaveSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            member = svc.member_leave(
                actor=request.user, member=member, left_on=params.validated_data["left_on"]
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        (statement,) = sel.statements(request.user, group, members=[member])
        return Response(StatementSerializer(statement).data)

    @extend_schema(
        methods=["GET"],
        summary="The group's meetings, newest first",
        responses=MeetingSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Record a meeting with who came and its ledger entries, all or nothing",
        description="Shares bought, social fund, fines, loans out of the fund, repayments "
        "and interest. Money in is counted before loans go out; the fund can never go "
        "below zero and no member repays more than they owe. An error names the entry as "
        "entries[n].field (n from 1) and nothing is written.",
        request=MeetingInputSerializer,
        responses={201: MeetingSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def meetings(self, request: Request, pk: str) -> Response:
        if request.method == "POST":
            group = self._group(request, pk, audit_read=False)
            params = MeetingInputSerializer(data=request.data)
            params.is_valid(raise_exception=True)
            data = params.validated_data
            try:
                meeting = svc.meeting_record(
                    actor=request.user,
                    group=group,
                    held_on=data["held_on"],
                    present=data["present"],
                    entries=[dict(e) for e in data["entries"]],
                    notes=data["notes"],
                )
            except DjangoValidationError as exc:
                raise as_drf_error(exc) from exc
            row = sel.meetings(group).get(pk=meeting.pk)
            return Response(MeetingSerializer(row).data, status=status.HTTP_201_CREATED)
        group = self._group(request, pk)
        page = self.paginate_queryset(cast(Any, sel.meetings(group)))
        return self.get_paginated_response(MeetingSerializer(page, many=True).data)

    @extend_schema(
        methods=["GET"],
        summary="The group's ledger, newest first, with the fund after each entry",
        responses=LedgerEntrySerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Record one entry (a grant from the social fund, an expense, a payment "
        "outside a meeting)",
        request=SingleEntrySerializer,
        responses={201: LedgerEntrySerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def ledger(self, request: Request, pk: str) -> Response:
        if request.method == "POST":
            group = self._group(request, pk, audit_read=False)
            params = SingleEntrySerializer(data=request.data)
            params.is_valid(raise_exception=True)
            data = dict(params.validated_data)
            try:
                entry = svc.ledger_entry_record(actor=request.user, group=group, **data)
            except DjangoValidationError as exc:
                raise as_drf_error(exc) from exc
            row = sel.ledger(group).get(pk=entry.pk)
            return Response(LedgerEntrySerializer(row).data, status=status.HTTP_201_CREATED)
        group = self._group(request, pk)
        page = self.paginate_queryset(cast(Any, sel.ledger(group)))
        return self.get_paginated_response(LedgerEntrySerializer(page, many=True).data)

    @extend_schema(
        methods=["GET"],
        summary="What a share-out on a day would pay each member (writes nothing)",
        parameters=[OpenApiParameter("on", str, description="YYYY-MM-DD; today if left out.")],
        responses=SharePlanSerializer,
    )
    @extend_schema(
        methods=["POST"],
        summary="Share out the fund to exactly zero and start a new cycle the next day",
        request=ShareOutSerializer,
        responses=SharePlanSerializer,
    )
    @action(detail=True, methods=["get", "post"], url_path="share-out", url_name="share-out")
    def share_out(self, request: Request, pk: str) -> Response:
        group = self._group(request, pk, audit_read=False)
        access.require_in(request.user, RECORD_INTERVENTIONS, group.village)
        data = request.data if request.method == "POST" else request.query_params
        if request.method == "GET" and not data.get("on"):
            data = {"on": timezone.localdate().isoformat()}
        params = ShareOutSerializer(data=data)
        params.is_valid(raise_exception=True)
        on = params.validated_data["on"]
        try:
            plan = (
                svc.share_out(actor=request.user, group=group, on=on)
                if request.method == "POST"
                else svc.share_out_plan(group, on)
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(SharePlanSerializer(plan).data)


router = SimpleRouter()
router.register("savings-groups", SavingsGroupViewSet, basename="savings-group")
