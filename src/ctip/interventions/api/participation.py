"""API of child and youth participation. api/urls.py mounts this router.

/participation-groups/ (clubs and forums of the caller's areas; POST adds one) and
/participation-events/ (events with who took part and their recommendations; POST
records an event, PATCH corrects it; POST .../participants/ records who took part,
all or none; POST .../recommendations/ adds one; PATCH
.../recommendations/{id}/ follows it up). Rules, scope and audit are in
services/participation.py and selectors/participation.py.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from ctip.geography.selectors import AreaCodeError, resolve_area_code

from ..models import (
    Participant,
    ParticipationEvent,
    ParticipationGroup,
    Recommendation,
    RecommendationStatus,
)
from ..selectors import participation as sel
from ..services import participation as svc
from .training import CanViewPersons, int_param


def _area(code: str) -> Any:
    try:
        return resolve_area_code(code)
    except AreaCodeError as exc:
        raise exceptions.ValidationError({"area": [str(exc)]}) from exc


def _pk(value: Any) -> int:
    if not str(value).isdigit():
        raise Http404
    return int(value)


class AreaCodeField(serializers.CharField):
    """An official area code in, the area's code out."""

    def to_representation(self, value: Any) -> str:
        return str(getattr(value, "code", value))


# --------------------------------------------------------------------------------------
# Clubs and forums.


class ParticipationGroupSerializer(serializers.ModelSerializer[ParticipationGroup]):
    area = AreaCodeField(
        max_length=30, help_text=_("Official code of the club's village or commune.")
    )
    area_name = serializers.CharField(source="area.name", read_only=True)
    members = serializers.IntegerField(
        source="n_members", read_only=True, help_text=_("Distinct persons who took part.")
    )
    events = serializers.IntegerField(source="n_events", read_only=True)

    class Meta:
        model = ParticipationGroup
        fields = [
            "id",
            "name",
            "kind",
            "area",
            "area_name",
            "formed_on",
            "active",
            "members",
            "events",
        ]
        read_only_fields = ["id", "area_name", "members", "events"]


@extend_schema_view(
    list=extend_schema(
        summary="Children's and youth clubs and forums of your areas",
        parameters=[
            OpenApiParameter("area", str, description="Official code of an area."),
            OpenApiParameter("kind", str, description="childrens_club, youth_club or forum"),
        ],
    ),
    retrieve=extend_schema(summary="One club or forum"),
    create=extend_schema(summary="Add a club or forum (needs interventions.record; audited)"),
    partial_update=extend_schema(summary="Correct a club, or mark it no longer active"),
)
class ParticipationGroupViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[ParticipationGroup],
):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    serializer_class = ParticipationGroupSerializer
    filter_backends: list[Any] = []
    lookup_value_regex = r"[^/.]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[ParticipationGroup]:
        params = self.request.query_params
        try:
            return sel.group_search(
                self.request.user, area_code=params.get("area", ""), kind=params.get("kind", "")
            )
        except AreaCodeError as exc:
            raise exceptions.ValidationError({"area": [str(exc)]}) from exc

    def get_object(self) -> ParticipationGroup:
        try:
            return sel.group_search(self.request.user).get(pk=_pk(self.kwargs["pk"]))
        except ParticipationGroup.DoesNotExist:
            raise Http404 from None

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["area"] = _area(data["area"])
        group = svc.group_create(actor=request.user, **data)
        self.kwargs["pk"] = str(group.pk)
        return Response(self.get_serializer(self.get_object()).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        group = self.get_object()
        serializer = self.get_serializer(group, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "area" in data:
            data["area"] = _area(data["area"])
        svc.group_update(actor=request.user, group=group, **data)
        return Response(self.get_serializer(self.get_object()).data)


# --------------------------------------------------------------------------------------
# Events, their participants and recommendations.


class ParticipantSerializer(serializers.ModelSerializer[Participant]):
    name = serializers.CharField(source="person.full_name", read_only=True)
    person = serializers.IntegerField(source="person_id", min_value=1)

    class Meta:
        model = Participant
        fields = ["id", "person", "name", "role"]
        read_only_fields = ["id", "name"]


class ParticipantsAddSerializer(serializers.Serializer[None]):
    # DRF bounds the list (max_length); its type stubs do not know the argument.
    participants = ParticipantSerializer(many=True, allow_empty=False, max_length=2000)  # type: ignore[call-arg]


class RecommendationSerializer(serializers.ModelSerializer[Recommendation]):
    overdue = serializers.BooleanField(
        read_only=True, help_text=_("Open or accepted, and its answer is past due.")
    )

    class Meta:
        model = Recommendation
        fields = [
            "id",
            "text",
            "addressed_to",
            "status",
            "response",
            "due_on",
            "closed_on",
            "overdue",
        ]
        read_only_fields = ["id", "overdue"]
        extra_kwargs = {
            "status": {"help_text": _("open → accepted → done, or declined (with a response).")},
            "closed_on": {"help_text": _("Set when done or declined (default: today).")},
        }


class ParticipationEventSerializer(serializers.ModelSerializer[ParticipationEvent]):
    group = serializers.PrimaryKeyRelatedField(
        queryset=ParticipationGroup.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("Id of the club or forum, if the event is one of theirs."),
    )
    area = AreaCodeField(
        max_length=30,
        required=False,
        help_text=_("Official code of where it was held (default: the club's area)."),
    )
    area_name = serializers.CharField(source="area.name", read_only=True)
    participants = ParticipantSerializer(
        source="seen_participants",
        many=True,
        read_only=True,
        help_text=_("Those who took part, among the persons you see."),
    )
    recommendations = RecommendationSerializer(
        source="seen_recommendations", many=True, read_only=True
    )

    class Meta:
        model = ParticipationEvent
        fields = [
            "id",
            "group",
            "kind",
            "held_on",
            "area",
            "area_name",
            "title",
            "summary",
            "monitored_activity",
            "participants",
            "recommendations",
        ]
        read_only_fields = ["id", "area_name", "participants", "recommendations"]


def _with_people(actor: Any, qs: QuerySet[ParticipationEvent]) -> QuerySet[ParticipationEvent]:
    return qs.prefetch_related(
        Prefetch(
            "participants",
            queryset=sel.event_participants_all(actor),
            to_attr="seen_participants",
        ),
        Prefetch(
            "recommendations",
            queryset=sel.recommendations_visible_to(actor).order_by("id"),
            to_attr="seen_recommendations",
        ),
    )


REC_PK = OpenApiParameter(
    "recommendation_pk", int, OpenApiParameter.PATH, description="Id of the recommendation."
)


@extend_schema_view(
    list=extend_schema(
        summary="Participation events of your areas, with who took part and their recommendations",
        parameters=[
            OpenApiParameter("area", str, description="Official code of an area."),
            OpenApiParameter("kind", str, description="Type of event."),
            OpenApiParameter("group", int, description="Id of a club or forum."),
        ],
    ),
    retrieve=extend_schema(summary="One event (the read is audited: it names the children)"),
    create=extend_schema(summary="Record an event (needs interventions.record; audited)"),
    partial_update=extend_schema(summary="Correct an event (audited)"),
)
class ParticipationEventViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[ParticipationEvent],
):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    serializer_class = ParticipationEventSerializer
    filter_backends: list[Any] = []
    lookup_value_regex = r"[^/.]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[ParticipationEvent]:
        params = self.request.query_params
        try:
            qs = sel.event_search(
                self.request.user,
                area_code=params.get("area", ""),
                kind=params.get("kind", ""),
                group=int_param(self.request, "group"),
            )
        except AreaCodeError as exc:
            raise exceptions.ValidationError({"area": [str(exc)]}) from exc
        return _with_people(self.request.user, qs)

    def get_object(self) -> ParticipationEvent:
        qs = _with_people(self.request.user, sel.events_visible_to(self.request.user))
        try:
            return qs.get(pk=_pk(self.kwargs["pk"]))
        except ParticipationEvent.DoesNotExist:
            raise Http404 from None

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        serializer = super().get_serializer(*args, **kwargs)
        fields = getattr(serializer, "fields", {})
        if "group" in fields:
            fields["group"].queryset = sel.groups_visible_to(self.request.user)
        return serializer

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        event = self.get_object()
        sel.event_read(request.user, event)
        return Response(self.get_serializer(event).data)

    def _values(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("area"):
            data["area"] = _area(data["area"])
        else:
            data.pop("area", None)
        return data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = svc.event_create(
            actor=request.user, **self._values(dict(serializer.validated_data))
        )
        self.kwargs["pk"] = str(event.pk)
        return Response(self.get_serializer(self.get_object()).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        event = self.get_object()
        serializer = self.get_serializer(event, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        svc.event_update(
            actor=request.user, event=event, **self._values(dict(serializer.validated_data))
        )
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        summary="Record who took part (all or none; each needs consent for services and"
        " must live in the event's area; audited)",
        request=ParticipantsAddSerializer,
        responses=ParticipantSerializer(many=True),
    )
    @action(detail=True, methods=["post"], pagination_class=None)
    def participants(self, request: Request, pk: str) -> Response:
        event = self.get_object()
        params = ParticipantsAddSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        rows = params.validated_data["participants"]
        roles = {row["person_id"]: row.get("role", "participant") for row in rows}
        svc.participants_add(actor=request.user, event=event, persons=list(roles), roles=roles)
        return Response(
            ParticipantSerializer(sel.event_participants(request.user, event), many=True).data
        )

    @extend_schema(
        summary="Add a recommendation the children or youth made (open; audited)",
        request=RecommendationSerializer,
        responses={201: RecommendationSerializer},
    )
    @action(detail=True, methods=["post"], url_path="recommendations")
    def recommendations(self, request: Request, pk: str) -> Response:
        event = self.get_object()
        params = RecommendationSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        if data.get("status", RecommendationStatus.OPEN) != RecommendationStatus.OPEN:
            raise exceptions.ValidationError(
                {"status": [_("A new recommendation is open; follow it up afterwards.")]}
            )
        rec = svc.recommendation_add(
            actor=request.user,
            event=event,
            text=data["text"],
            addressed_to=data.get("addressed_to", ""),
            due_on=data.get("due_on"),
        )
        row = sel.recommendations_visible_to(request.user).get(pk=rec.pk)
        return Response(RecommendationSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Follow a recommendation up: status, response, due day (audited)",
        parameters=[REC_PK],
        request=RecommendationSerializer,
        responses=RecommendationSerializer,
    )
    @action(
        detail=True,
        methods=["patch"],
        url_path=r"recommendations/(?P<recommendation_pk>[^/.]+)",
    )
    def recommendation(self, request: Request, pk: str, recommendation_pk: str) -> Response:
        event = self.get_object()
        try:
            rec = sel.recommendations_visible_to(request.user).get(
                pk=_pk(recommendation_pk), event=event
            )
        except Recommendation.DoesNotExist:
            raise Http404 from None
        params = RecommendationSerializer(rec, data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        svc.recommendation_update(actor=request.user, recommendation=rec, **params.validated_data)
        row = sel.recommendations_visible_to(request.user).get(pk=rec.pk)
        return Response(RecommendationSerializer(row).data)


router = SimpleRouter()
router.register("participation-groups", ParticipationGroupViewSet, basename="participation-group")
router.register("participation-events", ParticipationEventViewSet, basename="participation-event")
