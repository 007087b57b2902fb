"""API of the interventions overview: one person's history across components, and the
per-area summary (the same figures as the pages, small counts hidden from readers
who may not see persons). api/urls.py mounts this router."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from ctip.accounts import access
from ctip.accounts.roles import VIEW_AGGREGATES, VIEW_PERSONS
from ctip.geography.models import Area

from ..selectors import overview, summary
from ..selectors.summary import ANY, BANDS, COMPONENTS

router = SimpleRouter()


class CanViewPersons(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return access.has_permission(request.user, VIEW_PERSONS)


class CanViewAggregates(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return access.has_permission(request.user, VIEW_AGGREGATES)


# --- history ------------------------------------------------------------------------


class HistoryPersonSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField(source="full_name")
    sex = serializers.CharField()
    date_of_birth = serializers.DateField(allow_null=True)
    household = serializers.CharField(source="household.code")
    village = serializers.CharField(source="household.village.code")
    merged_into = serializers.IntegerField(source="merged_into_id", allow_null=True)


class HistoryItemSerializer(serializers.Serializer[overview.HistoryItem]):
    component = serializers.ChoiceField(
        choices=[*COMPONENTS],
        help_text=_("The component; a follow-up visit carries the component it follows."),
    )
    kind = serializers.CharField(
        help_text=_(
            "attendance, enrolment, loan, household_loan, savings, iga, household_iga, "
            "education_support, school_term, participation or follow_up."
        )
    )
    date = serializers.DateField(source="on")
    until = serializers.DateField(allow_null=True)
    title = serializers.CharField()
    status = serializers.CharField(allow_blank=True)
    status_label = serializers.CharField(allow_blank=True)
    place = serializers.CharField(allow_blank=True)
    area_code = serializers.CharField(allow_blank=True)
    by = serializers.CharField(allow_blank=True, help_text=_("Who delivered or recorded it."))
    object_type = serializers.CharField()
    object_id = serializers.IntegerField()
    details = serializers.SerializerMethodField(
        help_text=_("What is known about it, by key (principal, days_overdue, situation...).")
    )

    def get_details(self, item: overview.HistoryItem) -> dict[str, Any]:
        return {f.key: f.value for f in item.facts}


class HistoryDosageSerializer(serializers.Serializer[overview.Dosage]):
    awareness_events = serializers.IntegerField(min_value=0)
    courses = serializers.IntegerField(min_value=0)
    courses_completed = serializers.IntegerField(min_value=0)
    loans = serializers.IntegerField(min_value=0)
    household_loans = serializers.IntegerField(min_value=0)
    savings_groups = serializers.IntegerField(min_value=0)
    activities = serializers.IntegerField(min_value=0)
    education_supports = serializers.IntegerField(min_value=0)
    school_terms = serializers.IntegerField(min_value=0)
    participation_events = serializers.IntegerField(min_value=0)
    follow_ups_done = serializers.IntegerField(min_value=0)
    follow_ups_due = serializers.IntegerField(min_value=0)


class InterventionHistorySerializer(serializers.Serializer[overview.History]):
    person = HistoryPersonSerializer()
    today = serializers.DateField()
    dosage = HistoryDosageSerializer()
    items = HistoryItemSerializer(many=True, help_text=_("Oldest first."))


class InterventionHistoryViewSet(viewsets.ViewSet):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    lookup_value_regex = r"\d+"

    @extend_schema(
        summary="Everything a person received across the interventions, with the dosage "
        "per component (the read is audited)",
        responses=InterventionHistorySerializer,
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH, description="A person's id.")
        ],
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        history = overview.person_history(request.user, int(pk or 0))
        return Response(InterventionHistorySerializer(history).data)


router.register("intervention-history", InterventionHistoryViewSet, basename="intervention-history")


# --- summary ------------------------------------------------------------------------


class SummaryAreaSerializer(serializers.Serializer[Area]):
    id = serializers.IntegerField()
    country = serializers.CharField()
    code = serializers.CharField()
    level = serializers.CharField()
    name = serializers.CharField()
    valid_to = serializers.DateField(allow_null=True)


def _counts() -> serializers.DictField:
    return serializers.DictField(
        child=serializers.IntegerField(allow_null=True, min_value=0),
        help_text=_("null: a count from 1 to 4, hidden."),
    )


class SummaryReachSerializer(serializers.Serializer[summary.Reach]):
    total = serializers.IntegerField(allow_null=True, min_value=0)
    by_sex = _counts()
    by_band = serializers.DictField(
        child=serializers.IntegerField(allow_null=True, min_value=0),
        help_text=_("Age on the first contact in the period: %(bands)s.")
        % {"bands": ", ".join(BANDS)},
    )


class SummaryTrainingSerializer(serializers.Serializer[summary.Training]):
    enrolled = serializers.IntegerField(allow_null=True, min_value=0)
    completed = serializers.IntegerField(allow_null=True, min_value=0)
    dropped_out = serializers.IntegerField(allow_null=True, min_value=0)
    ongoing = serializers.IntegerField(allow_null=True, min_value=0)
    completion_rate = serializers.FloatField(allow_null=True, min_value=0, max_value=1)
    followed_6m = serializers.IntegerField(allow_null=True, min_value=0)
    employed_6m = serializers.IntegerField(allow_null=True, min_value=0)
    employment_rate = serializers.FloatField(allow_null=True, min_value=0, max_value=1)


class SummaryLoansSerializer(serializers.Serializer[summary.LoanFigures]):
    currency = serializers.CharField()
    active_loans = serializers.IntegerField(allow_null=True, min_value=0)
    outstanding_principal = serializers.DecimalField(
        max_digits=18, decimal_places=2, allow_null=True
    )
    at_risk_principal = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    par30 = serializers.FloatField(allow_null=True, min_value=0, max_value=1)
    repayment_rate = serializers.FloatField(allow_null=True, min_value=0)


class SummaryIgasSerializer(serializers.Serializer[summary.IgaFigures]):
    currency = serializers.CharField()
    activities = serializers.IntegerField(allow_null=True, min_value=0)
    average_margin = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    compared = serializers.IntegerField(allow_null=True, min_value=0)
    average_benchmark_net = serializers.DecimalField(
        max_digits=18, decimal_places=2, allow_null=True
    )
    at_or_above_benchmark = serializers.IntegerField(allow_null=True, min_value=0)


class SummaryFollowUpsSerializer(serializers.Serializer[summary.FollowUps]):
    due = serializers.IntegerField(allow_null=True, min_value=0)
    overdue = serializers.IntegerField(allow_null=True, min_value=0)
    done_in_period = serializers.IntegerField(allow_null=True, min_value=0)


class SummaryAreaFiguresSerializer(serializers.Serializer[summary.AreaSummary]):
    area = SummaryAreaSerializer()
    reach = serializers.DictField(
        child=SummaryReachSerializer(),
        help_text=_("Persons reached, by component (%(codes)s) and by any (%(any)s).")
        % {"codes": ", ".join(COMPONENTS), "any": ANY},
    )
    large_events = SummaryReachSerializer(help_text=_("Anonymous headcounts at large events."))
    training = SummaryTrainingSerializer()
    loans = SummaryLoansSerializer(many=True, help_text=_("Portfolio per currency."))
    igas = SummaryIgasSerializer(many=True, help_text=_("Activities per currency."))
    follow_ups = SummaryFollowUpsSerializer()


class InterventionSummarySerializer(serializers.Serializer[summary.Summary]):
    area = SummaryAreaSerializer()
    today = serializers.DateField()
    suppressed = serializers.BooleanField(
        help_text=_("Counts from 1 to 4 (and complementary ones) are hidden, as null.")
    )
    total = SummaryAreaFiguresSerializer()
    children = SummaryAreaFiguresSerializer(
        many=True, help_text=_("Each unit directly below the area.")
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "from" is a Python keyword: the period's fields are added here.
        fields = super().get_fields()
        period = {
            "from": serializers.DateField(
                source="start", allow_null=True, help_text=_("null: from the beginning.")
            ),
            "to": serializers.DateField(source="end"),
        }
        return {"area": fields.pop("area"), **period, **fields}


class _OneObjectSchema(AutoSchema):
    """The summary is one object, though served at the collection's URL."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        return False


class InterventionSummaryViewSet(viewsets.ViewSet):
    permission_classes = [permissions.IsAuthenticated, CanViewAggregates]
    schema = _OneObjectSchema()

    @extend_schema(
        summary="Per-area summary of the interventions: the area and each unit below it",
        responses=InterventionSummarySerializer,
        parameters=[
            OpenApiParameter(
                "area",
                str,
                description="Official code of an area (KH, VN, KH-20, 20010301...); "
                "by default the widest area you see figures for.",
            ),
            OpenApiParameter("area_id", int, description="An area's id (instead of a code)."),
            OpenApiParameter(
                "from",
                dt.date,
                description="First day of the period; default 1 January this year; "
                "empty: from the beginning.",
            ),
            OpenApiParameter("to", dt.date, description="Last day of the period; default today."),
        ],
    )
    def list(self, request: Request) -> Response:
        from ..views.overview import parse_summary_query

        form, args = parse_summary_query(request.user, request.query_params)
        if args is None:
            raise serializers.ValidationError(
                {k: [str(e) for e in v] for k, v in form.errors.items()}
            )
        result = summary.area_summary(
            request.user, args["area"], start=args["start"], end=args["end"]
        )
        return Response(InterventionSummarySerializer(result).data)


router.register("intervention-summary", InterventionSummaryViewSet, basename="intervention-summary")
