"""API of awareness raising: a router whose urls api/urls.py mounts.

/awareness-events/ (events in the caller's areas; POST records one; PUT/PATCH changes
it; .../attendance/ lists (audited), POST records and DELETE .../attendance/{person}/
removes attendees by name; .../headcounts/ reads and PUT replaces the grid of counts by
sex and age band; .../reach/ the figures) and /materials/ (the library: list, one
material, POST with a multipart upload, PATCH; .../file/ the file; .../reviews/ reads
and records reviews; .../scores/ and /materials/compare/?ids= the average scores per
criterion by reviewer). Every rule, scope and audit lives in services/ and selectors/.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, parsers, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from ctip.accounts import access
from ctip.accounts.roles import MANAGE_INTERVENTIONS, RECORD_INTERVENTIONS, VIEW_PERSONS
from ctip.geography.models import Area
from ctip.geography.selectors import AreaCodeError, resolve_area_code
from ctip.registry.models import Sex

from ..models import (
    REVIEW_CRITERIA,
    AgeBand,
    Audience,
    AwarenessEvent,
    EventAttendance,
    EventKind,
    Material,
    MaterialKind,
    MaterialReview,
    ReviewerKind,
    Topic,
)
from ..selectors import awareness as sel
from ..selectors import cells
from ..services import awareness as svc


class CanSeeEvents(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return sel.may_see_events(request.user)


class CanBrowseMaterials(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return sel.may_browse_materials(request.user)


class IdListField(serializers.ListField):
    """Ids in and out: reads a related manager as the list of its ids."""

    child = serializers.IntegerField(min_value=1)

    def to_representation(self, data: Any) -> list[Any]:
        items = data.all() if hasattr(data, "all") else data
        return [getattr(item, "pk", item) for item in items]


@extend_schema_field(OpenApiTypes.STR)
class AreaCodeField(serializers.CharField):
    """An area as its official code."""

    def to_representation(self, value: Any) -> str:
        return value.code if isinstance(value, Area) else str(value)


# --------------------------------------------------------------------------------------
# Events.


class AwarenessEventSerializer(serializers.Serializer[AwarenessEvent]):
    id = serializers.IntegerField(read_only=True)
    held_on = serializers.DateField(help_text=gettext_lazy("Not after today."))
    village = AreaCodeField(
        max_length=30,
        help_text=gettext_lazy("Official code of the village the event was held in."),
    )
    village_name = serializers.CharField(source="village.local_name", read_only=True)
    area = serializers.CharField(
        source="village.parent.code",
        read_only=True,
        help_text=gettext_lazy(
            "Official code of the commune the event serves: attendees must live there."
        ),
    )
    kind = serializers.ChoiceField(choices=EventKind.choices)
    title = serializers.CharField(max_length=200)
    topics = serializers.ListField(
        child=serializers.ChoiceField(choices=Topic.choices), min_length=1, max_length=20
    )
    location = serializers.CharField(max_length=200, required=False, allow_blank=True)
    facilitators = IdListField(
        required=False,
        max_length=50,
        help_text=gettext_lazy(
            "Ids of users recording interventions in an area covering the village."
        ),
    )
    materials = IdListField(
        required=False, max_length=50, help_text=gettext_lazy("Ids of materials of the library.")
    )
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    registered = serializers.SerializerMethodField(
        help_text=gettext_lazy(
            "Attendees recorded by name; null when hidden (you see figures, not persons, "
            "in the village: a count from 1 to 4, or one that would give it away)."
        )
    )
    counted = serializers.SerializerMethodField(
        help_text=gettext_lazy("Attendees counted without names; null when hidden.")
    )
    sheet_code = serializers.SerializerMethodField(
        help_text=gettext_lazy("The code printed on the event's attendance sheet.")
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_sheet_code(self, obj: AwarenessEvent) -> str:
        return sel.sheet_code(obj)

    def _figures(self, obj: AwarenessEvent) -> sel.ReachFigures:
        scope = self.context.get("exact_scope")
        if scope is None:
            request = self.context.get("request")
            scope = self.context["exact_scope"] = cells.ExactScope(getattr(request, "user", None))
        return sel.reach_figures(
            obj.registered,  # type: ignore[attr-defined]
            obj.counted,  # type: ignore[attr-defined]
            exact=scope.covers(obj.village),
        )

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=0))
    def get_registered(self, obj: AwarenessEvent) -> int | None:
        return self._figures(obj).registered

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=0))
    def get_counted(self, obj: AwarenessEvent) -> int | None:
        return self._figures(obj).counted


class AwarenessAttendeeSerializer(serializers.ModelSerializer[EventAttendance]):
    name = serializers.CharField(source="person.full_name", read_only=True)
    sex = serializers.ChoiceField(source="person.sex", choices=Sex.choices, read_only=True)
    age = serializers.SerializerMethodField(
        help_text=gettext_lazy("Age in years on the day of the event (null when unknown).")
    )
    village = serializers.CharField(source="person.household.village.code", read_only=True)

    class Meta:
        model = EventAttendance
        fields = ["person", "name", "sex", "age", "village", "recorded_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=0, max_value=150))
    def get_age(self, obj: EventAttendance) -> int | None:
        return obj.person.age_on(obj.event.held_on)


class AwarenessAttendanceInputSerializer(serializers.Serializer[None]):
    persons = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        min_length=1,
        max_length=5000,
        help_text=gettext_lazy(
            "Ids of registered persons living in the commune the event serves. All or "
            "nothing: an error names each refused row (persons[n], counting from 1)."
        ),
    )


class AwarenessAttendanceResultSerializer(serializers.Serializer[Any]):
    added = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        help_text=gettext_lazy("Persons newly recorded (those already recorded are left out)."),
    )
    registered = serializers.IntegerField(
        min_value=0, help_text=gettext_lazy("Attendees by name now.")
    )


class AwarenessHeadcountCellSerializer(serializers.Serializer[Any]):
    sex = serializers.ChoiceField(choices=Sex.choices)
    age_band = serializers.ChoiceField(choices=AgeBand.choices)
    count = serializers.IntegerField(min_value=0, max_value=svc.MAX_HEADCOUNT)


class AwarenessHeadcountsSerializer(serializers.Serializer[Any]):
    counts = AwarenessHeadcountCellSerializer(
        many=True,
        help_text=gettext_lazy(
            "The whole grid: cells not given are empty. Count only attendees not recorded by name."
        ),
    )

    def validate_counts(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen: set[tuple[str, str]] = set()
        for cell in value:
            key = (cell["sex"], cell["age_band"])
            if key in seen:
                raise serializers.ValidationError(
                    _("%(sex)s, %(band)s is given twice.")
                    % {"sex": cell["sex"], "band": cell["age_band"]}
                )
            seen.add(key)
        return value


class AwarenessReachCellSerializer(serializers.Serializer[Any]):
    sex = serializers.ChoiceField(choices=Sex.choices)
    age_band = serializers.CharField(
        help_text=gettext_lazy("An age band, or empty for persons whose age is unknown.")
    )
    registered = serializers.IntegerField(
        min_value=0,
        allow_null=True,
        help_text=gettext_lazy("null when you see figures only: the cell's total is given."),
    )
    counted = serializers.IntegerField(
        min_value=0,
        allow_null=True,
        help_text=gettext_lazy("null when you see figures only: the cell's total is given."),
    )
    total = serializers.IntegerField(
        min_value=0,
        allow_null=True,
        help_text=gettext_lazy(
            "null when hidden: a count from 1 to 4, or one that would give it away."
        ),
    )


class AwarenessReachSerializer(serializers.Serializer[Any]):
    registered = serializers.IntegerField(min_value=0, allow_null=True)
    counted = serializers.IntegerField(min_value=0, allow_null=True)
    total = serializers.IntegerField(min_value=0, allow_null=True)
    suppressed = serializers.BooleanField(
        help_text=gettext_lazy(
            "You see figures, not persons, in the event's village: counts from 1 to 4 "
            "(and one more where a hidden one could be worked out from a total) are null."
        )
    )
    cells = AwarenessReachCellSerializer(
        many=True, help_text=gettext_lazy("Every cell not zero (or hidden), by sex and age band.")
    )


EVENT_FILTERS = [
    OpenApiParameter(
        "area",
        str,
        description="Official code of an area (e.g. 200103 or KH-20); the area and all below it.",
    ),
    OpenApiParameter("held_from", OpenApiTypes.DATE, description="On or after this day."),
    OpenApiParameter("held_to", OpenApiTypes.DATE, description="On or before this day."),
    OpenApiParameter("kind", str, enum=EventKind.values),
    OpenApiParameter("topic", str, enum=Topic.values),
]


class EventFilterSerializer(serializers.Serializer[None]):
    area = serializers.CharField(required=False, allow_blank=True, max_length=30)
    held_from = serializers.DateField(required=False)
    held_to = serializers.DateField(required=False)
    kind = serializers.ChoiceField(choices=EventKind.choices, required=False, allow_blank=True)
    topic = serializers.ChoiceField(choices=Topic.choices, required=False, allow_blank=True)


@extend_schema_view(
    list=extend_schema(
        summary="Awareness events in your areas, newest first, with their reach",
        parameters=EVENT_FILTERS,
    ),
    retrieve=extend_schema(summary="One awareness event"),
    create=extend_schema(
        summary="Record an awareness event (needs the right to record interventions there)"
    ),
    update=extend_schema(summary="Change an awareness event"),
    partial_update=extend_schema(summary="Change some fields of an awareness event"),
)
class AwarenessEventViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[AwarenessEvent],
):
    permission_classes = [permissions.IsAuthenticated, CanSeeEvents]
    serializer_class = AwarenessEventSerializer
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[AwarenessEvent]:
        params = EventFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        f = params.validated_data
        try:
            qs = sel.event_search(
                self.request.user,
                area_code=f.get("area", ""),
                held_from=f.get("held_from"),
                held_to=f.get("held_to"),
                kind=f.get("kind", ""),
                topic=f.get("topic", ""),
            )
        except AreaCodeError as exc:
            raise exceptions.ValidationError({"area": [str(exc)]}) from exc
        return qs.prefetch_related("facilitators", "materials")

    def _event(self, pk: Any) -> AwarenessEvent:
        return sel.event_get(self.request.user, int(pk))

    def _fresh(self, pk: int) -> AwarenessEvent:
        return (
            sel.with_reach(AwarenessEvent.objects.filter(pk=pk))
            .select_related("village__parent")
            .prefetch_related("facilitators", "materials")
            .get()
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        event = self._event(kwargs["pk"])
        return Response(self.get_serializer(self._fresh(event.pk)).data)

    def _fields(self, data: dict[str, Any]) -> dict[str, Any]:
        fields = dict(data)
        if "village" in fields:
            try:
                fields["village"] = resolve_area_code(fields["village"], on=fields.get("held_on"))
            except AreaCodeError as exc:
                raise exceptions.ValidationError({"village": [str(exc)]}) from exc
        return fields

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(request.user, RECORD_INTERVENTIONS)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = svc.event_create(actor=request.user, **self._fields(serializer.validated_data))
        return Response(
            self.get_serializer(self._fresh(event.pk)).data, status=status.HTTP_201_CREATED
        )

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(request.user, RECORD_INTERVENTIONS)
        event = self._event(kwargs["pk"])
        serializer = self.get_serializer(
            event, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        svc.event_update(actor=request.user, event=event, **self._fields(serializer.validated_data))
        return Response(self.get_serializer(self._fresh(event.pk)).data)

    @extend_schema(
        methods=["GET"],
        summary="Attendees recorded by name (needs the right to see persons there; audited)",
        responses=AwarenessAttendeeSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Record registered persons as attendees, all or nothing",
        request=AwarenessAttendanceInputSerializer,
        responses={200: AwarenessAttendanceResultSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def attendance(self, request: Request, pk: str) -> Response:
        event = self._event(pk)
        if request.method == "GET":
            if not sel.may_see_names(request.user, event):
                raise PermissionDenied(VIEW_PERSONS)
            rows = list(sel.attendees(request.user, event).select_related("event"))
            if rows:
                sel.event_read(request.user, event, rows=len(rows))
            return Response(AwarenessAttendeeSerializer(rows, many=True).data)
        params = AwarenessAttendanceInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        added = svc.attendance_record(
            actor=request.user, event=event, persons=params.validated_data["persons"]
        )
        result = {
            "added": [a.person_id for a in added],
            "registered": EventAttendance.objects.filter(event=event).count(),
        }
        return Response(AwarenessAttendanceResultSerializer(result).data)

    @extend_schema(
        summary="Take a person off the attendees (nothing happens if they were not on it)",
        parameters=[OpenApiParameter("person_id", int, OpenApiParameter.PATH)],
        request=None,
        responses={204: None},
    )
    # Any segment routes here, so the authentication check answers before the id is read.
    @action(detail=True, methods=["delete"], url_path=r"attendance/(?P<person_id>[^/.]+)")
    def attendance_remove(self, request: Request, pk: str, person_id: str) -> Response:
        if not person_id.isdigit():
            raise Http404
        event = self._event(pk)
        svc.attendance_remove(actor=request.user, event=event, persons=[int(person_id)])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        summary="The headcount grid: attendees counted without names, by sex and age band "
        "(needs the right to see persons there; others read the figures at reach/)",
        responses=AwarenessHeadcountsSerializer,
    )
    @extend_schema(
        methods=["PUT"],
        summary="Replace the headcount grid",
        request=AwarenessHeadcountsSerializer,
        responses=AwarenessHeadcountsSerializer,
    )
    @action(detail=True, methods=["get", "put"])
    def headcounts(self, request: Request, pk: str) -> Response:
        event = self._event(pk)
        if request.method == "GET" and not sel.may_see_exact(request.user, event):
            # Exact cells beside the reach's totals would give the hidden ones away.
            raise PermissionDenied(VIEW_PERSONS)
        if request.method == "PUT":
            params = AwarenessHeadcountsSerializer(data=request.data)
            params.is_valid(raise_exception=True)
            svc.headcounts_set(
                actor=request.user,
                event=event,
                counts={
                    (c["sex"], c["age_band"]): c["count"] for c in params.validated_data["counts"]
                },
            )
        grid = sel.headcount_grid(event)
        cells = [
            {"sex": s, "age_band": b, "count": n}
            for s in Sex.values
            for b in AgeBand.values
            if (n := grid.get((s, b)))
        ]
        return Response(AwarenessHeadcountsSerializer({"counts": cells}).data)

    @extend_schema(
        summary="Who the event reached, by sex and age band (figures only; small counts "
        "hidden unless you see persons in the event's village)",
        responses=AwarenessReachSerializer,
    )
    @action(detail=True, methods=["get"])
    def reach(self, request: Request, pk: str) -> Response:
        reach = sel.event_reach_for(request.user, self._event(pk))
        return Response(
            AwarenessReachSerializer(
                {
                    "registered": reach.registered,
                    "counted": reach.counted,
                    "total": reach.total,
                    "suppressed": reach.suppressed,
                    "cells": reach.cells(),
                }
            ).data
        )


# --------------------------------------------------------------------------------------
# Materials.


class MaterialSerializer(serializers.Serializer[Material]):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=MaterialKind.choices)
    language = serializers.CharField(
        max_length=10, help_text=gettext_lazy("A language code: km, vi, en, or another.")
    )
    audiences = serializers.ListField(
        child=serializers.ChoiceField(choices=Audience.choices), required=False, max_length=10
    )
    topics = serializers.ListField(
        child=serializers.ChoiceField(choices=Topic.choices), required=False, max_length=20
    )
    agency = serializers.CharField(max_length=200, required=False, allow_blank=True)
    version = serializers.CharField(max_length=40, required=False, allow_blank=True)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    file = serializers.FileField(
        write_only=True,
        required=False,
        help_text=gettext_lazy("At most %(mb)s MB: %(types)s.")
        % {
            "mb": svc.MAX_FILE_BYTES // 1024 // 1024,
            "types": ", ".join(svc.ALLOWED_EXTENSIONS),
        },
    )
    supersedes = serializers.IntegerField(
        source="supersedes_id",
        required=False,
        allow_null=True,
        min_value=1,
        help_text=gettext_lazy("Id of the older version this material replaces."),
    )
    file_name = serializers.SerializerMethodField()
    file_url = serializers.SerializerMethodField(
        help_text=gettext_lazy("Where to download the file (null without a file).")
    )
    superseded = serializers.BooleanField(
        read_only=True, help_text=gettext_lazy("A newer version replaces this one.")
    )
    review_count = serializers.IntegerField(read_only=True, min_value=0)
    average = serializers.FloatField(
        read_only=True,
        allow_null=True,
        min_value=1,
        max_value=5,
        help_text=gettext_lazy("Average of all criteria over all reviews (null without any)."),
    )
    created_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_file_name(self, obj: Material) -> str | None:
        return obj.file.name.rsplit("/", 1)[-1] if obj.file else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_file_url(self, obj: Material) -> str | None:
        if not obj.file:
            return None
        return reverse("api:material-file", args=[obj.pk])


class MaterialReviewSerializer(serializers.ModelSerializer[MaterialReview]):
    reviewer_kind = serializers.ChoiceField(choices=ReviewerKind.choices)
    reviewer_sex = serializers.ChoiceField(
        choices=Sex.choices,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("Needed for a child or young reviewer."),
    )
    reviewer_age = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=5,
        max_value=99,
        help_text=gettext_lazy("Needed for a child (5-14) or young reviewer (15-24), never named."),
    )
    best_elements = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    comments = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    class Meta:
        model = MaterialReview
        fields = [
            "id",
            "material",
            "reviewer_kind",
            "reviewer_sex",
            "reviewer_age",
            "reviewed_on",
            *REVIEW_CRITERIA,
            "best_elements",
            "comments",
            "created_at",
        ]
        read_only_fields = ["id", "material", "created_at"]
        # Explicit bounds: the database's own integer ranges differ between backends.
        extra_kwargs = {c: {"min_value": 1, "max_value": 5} for c in REVIEW_CRITERIA}


class MaterialScoreSerializer(serializers.Serializer[Any]):
    overall = serializers.DecimalField(max_digits=3, decimal_places=1, allow_null=True)
    staff = serializers.DecimalField(max_digits=3, decimal_places=1, allow_null=True)
    young = serializers.DecimalField(
        max_digits=3,
        decimal_places=1,
        allow_null=True,
        help_text=gettext_lazy("Children and youth together."),
    )
    best = serializers.BooleanField(
        help_text=gettext_lazy("The highest average over all reviews on this criterion.")
    )


class MaterialCriterionSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text=gettext_lazy("A criterion, or 'all'."))
    label = serializers.CharField()  # type: ignore[assignment]
    scores = MaterialScoreSerializer(
        many=True, help_text=gettext_lazy("One per material, in the order of `columns`.")
    )


class MaterialBestElementSerializer(serializers.Serializer[Any]):
    reviewer = serializers.CharField()
    reviewed_on = serializers.DateField()
    text = serializers.CharField()


class MaterialColumnSerializer(serializers.Serializer[Any]):
    material = MaterialSerializer()
    reviews = serializers.IntegerField(min_value=0)
    staff_reviews = serializers.IntegerField(min_value=0)
    young_reviews = serializers.IntegerField(min_value=0)
    best_elements = MaterialBestElementSerializer(many=True)


class MaterialComparisonSerializer(serializers.Serializer[Any]):
    columns = MaterialColumnSerializer(many=True)
    rows = MaterialCriterionSerializer(many=True)


class MaterialFilterSerializer(serializers.Serializer[None]):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
    kind = serializers.ChoiceField(choices=MaterialKind.choices, required=False, allow_blank=True)
    language = serializers.CharField(required=False, allow_blank=True, max_length=10)
    audience = serializers.ChoiceField(choices=Audience.choices, required=False, allow_blank=True)
    topic = serializers.ChoiceField(choices=Topic.choices, required=False, allow_blank=True)
    agency = serializers.CharField(required=False, allow_blank=True, max_length=200)
    current = serializers.BooleanField(required=False, default=False)


def _comparison_data(comparison: sel.Comparison) -> dict[str, Any]:
    return {
        "columns": [
            {
                "material": c.material,
                "reviews": c.reviews,
                "staff_reviews": c.staff_reviews,
                "young_reviews": c.young_reviews,
                "best_elements": c.best_elements,
            }
            for c in comparison.columns
        ],
        "rows": comparison.rows,
    }


@extend_schema_view(
    list=extend_schema(
        summary="The materials library (not person data: anyone seeing figures browses it)",
        parameters=[
            OpenApiParameter("q", str, description="Words of the title or description."),
            OpenApiParameter("kind", str, enum=MaterialKind.values),
            OpenApiParameter("language", str, description="A language code, e.g. km."),
            OpenApiParameter("audience", str, enum=Audience.values),
            OpenApiParameter("topic", str, enum=Topic.values),
            OpenApiParameter("agency", str, description="Part of the agency's name."),
            OpenApiParameter("current", bool, description="Latest versions only."),
        ],
    ),
    retrieve=extend_schema(summary="One material"),
    create=extend_schema(
        summary="Add a material, with its file as a multipart upload (needs the right to "
        "set up interventions)"
    ),
    update=extend_schema(summary="Change a material (a new file replaces the old one)"),
    partial_update=extend_schema(summary="Change some fields of a material"),
)
class MaterialViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Material],
):
    permission_classes = [permissions.IsAuthenticated, CanBrowseMaterials]
    serializer_class = MaterialSerializer
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, parsers.JSONParser]

    def get_queryset(self) -> QuerySet[Material]:
        params = MaterialFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        filters = dict(params.validated_data)
        return sel.material_search(
            self.request.user, current_only=filters.pop("current", False), **filters
        )

    def _material(self, pk: Any) -> Material:
        return sel.material_get(self.request.user, int(pk))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self._material(kwargs["pk"])).data)

    @staticmethod
    def _fields(data: dict[str, Any]) -> dict[str, Any]:
        fields = dict(data)
        if "supersedes_id" in fields:
            fields["supersedes"] = fields.pop("supersedes_id")
        return fields

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(request.user, MANAGE_INTERVENTIONS)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        material = svc.material_create(
            actor=request.user, **self._fields(serializer.validated_data)
        )
        return Response(
            self.get_serializer(self._material(material.pk)).data, status=status.HTTP_201_CREATED
        )

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(request.user, MANAGE_INTERVENTIONS)
        material = self._material(kwargs["pk"])
        serializer = self.get_serializer(
            material, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        svc.material_update(
            actor=request.user, material=material, **self._fields(serializer.validated_data)
        )
        return Response(self.get_serializer(self._material(material.pk)).data)

    @extend_schema(
        summary="The material's file, as an attachment",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, with its own content type."
            )
        },
    )
    @action(detail=True, methods=["get"])
    def file(self, request: Request, pk: str) -> FileResponse:
        material = self._material(pk)
        if not material.file:
            raise Http404
        ext = svc.extension_of(material.file.name)
        try:
            handle = material.file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        stem = slugify(f"{material.title} {material.version}")[:80] or "material"
        return FileResponse(
            handle,
            as_attachment=True,
            filename=f"{stem}.{ext}",
            content_type=svc.CONTENT_TYPES.get(ext, "application/octet-stream"),
        )

    @extend_schema(
        methods=["GET"],
        summary="Reviews of the material, newest first",
        responses=MaterialReviewSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Record a review (staff, or a child or young person by sex and age only)",
        request=MaterialReviewSerializer,
        responses={201: MaterialReviewSerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        pagination_class=None,
        parser_classes=[parsers.JSONParser, parsers.FormParser],
    )
    def reviews(self, request: Request, pk: str) -> Response:
        material = self._material(pk)
        if request.method == "GET":
            rows = sel.material_reviews(request.user, material)
            return Response(MaterialReviewSerializer(rows, many=True).data)
        if not svc.may_review(request.user):
            raise PermissionDenied(RECORD_INTERVENTIONS)
        params = MaterialReviewSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        review = svc.material_review_record(
            actor=request.user, material=material, **params.validated_data
        )
        return Response(MaterialReviewSerializer(review).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Average scores of the material per criterion, by reviewer",
        responses=MaterialComparisonSerializer,
    )
    @action(detail=True, methods=["get"])
    def scores(self, request: Request, pk: str) -> Response:
        comparison = sel.material_scores([self._material(pk)])
        return Response(MaterialComparisonSerializer(_comparison_data(comparison)).data)

    @extend_schema(
        summary="Compare 2 to 6 materials side by side: average per criterion by reviewer, "
        "the best per criterion, and the best elements reviewers noted",
        parameters=[
            OpenApiParameter(
                "ids",
                int,
                many=True,
                explode=True,
                required=True,
                description="Ids of the materials, in the order of the columns.",
            )
        ],
        responses=MaterialComparisonSerializer,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def compare(self, request: Request) -> Response:
        raw = [part for value in request.query_params.getlist("ids") for part in value.split(",")]
        if not all(part.strip().isdigit() for part in raw):
            raise exceptions.ValidationError({"ids": [_("Give material ids as whole numbers.")]})
        try:
            chosen = sel.materials_for_comparison(request.user, [int(p) for p in raw])
        except ValueError as exc:
            raise exceptions.ValidationError({"ids": [str(exc)]}) from exc
        return Response(
            MaterialComparisonSerializer(_comparison_data(sel.material_scores(chosen))).data
        )


router = SimpleRouter()
router.register("awareness-events", AwarenessEventViewSet, basename="awareness-event")
router.register("materials", MaterialViewSet, basename="material")
