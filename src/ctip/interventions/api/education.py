"""API of education support. api/urls.py mounts this router.

/education-support/ (support given to children the caller sees, with the follow-up
visits it scheduled; POST records support, PATCH corrects it) and
/education-support/{id}/terms/ (the child's school terms; POST records or corrects
one, linked to that support). Rules, scope and audit are in services/education.py
and selectors/education.py.
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

from ctip.core import audit
from ctip.geography.selectors import AreaCodeError
from ctip.registry.models import Person
from ctip.registry.selectors import persons_visible_to

from ..models import EducationSupport, FollowUp, SchoolTerm
from ..selectors import education as sel
from ..services import education as svc
from .followups import SituationsAudited
from .training import CanViewPersons, FollowUpVisitSerializer, int_param


class EducationSupportSerializer(serializers.ModelSerializer[EducationSupport]):
    person = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.all(), help_text=_("Id of the child.")
    )
    name = serializers.CharField(source="person.full_name", read_only=True)
    village = serializers.CharField(
        source="person.household.village.code",
        read_only=True,
        help_text=_("Official code of the child's village."),
    )
    amount = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text=_("Money value, when the support has one (with its currency)."),
    )
    follow_ups = FollowUpVisitSerializer(many=True, read_only=True)

    class Meta:
        model = EducationSupport
        fields = [
            "id",
            "person",
            "name",
            "village",
            "kind",
            "school_name",
            "grade",
            "starts_on",
            "ends_on",
            "amount",
            "currency",
            "provider",
            "note",
            "follow_ups",
        ]
        read_only_fields = ["id", "name", "village", "follow_ups"]


class SchoolTermSerializer(serializers.ModelSerializer[SchoolTerm]):
    class Meta:
        model = SchoolTerm
        fields = [
            "id",
            "person",
            "support",
            "school_year",
            "term",
            "school_name",
            "grade",
            "enrolled",
            "days_attended",
            "days_possible",
            "dropped_out",
            "dropout_reason",
            "recorded_at",
        ]
        read_only_fields = ["id", "person", "support", "recorded_at"]
        extra_kwargs = {
            "school_year": {"help_text": _("Two consecutive years, e.g. 2026-2027.")},
            "term": {"min_value": 1, "max_value": 3},
            "days_attended": {"min_value": 0, "max_value": svc.MAX_SCHOOL_DAYS},
            "days_possible": {"min_value": 0, "max_value": svc.MAX_SCHOOL_DAYS},
        }


def _with_visits(qs: QuerySet[EducationSupport]) -> QuerySet[EducationSupport]:
    return qs.prefetch_related(
        Prefetch(
            "follow_ups",
            queryset=FollowUp.objects.select_related("person__household__village").order_by(
                "months_after", "due_on"
            ),
        )
    )


@extend_schema_view(
    list=extend_schema(
        summary="Education support given to children you see",
        parameters=[
            OpenApiParameter("person", int, description="Id of a child."),
            OpenApiParameter("kind", str, description="Kind of support."),
            OpenApiParameter("area", str, description="Official code of an area."),
        ],
    ),
    retrieve=extend_schema(summary="One support record (the read is audited)"),
    create=extend_schema(
        summary="Record support (needs interventions.record where the child lives; audited;"
        " schedules the follow-ups)"
    ),
    partial_update=extend_schema(summary="Correct a support record (audited)"),
)
class EducationSupportViewSet(
    SituationsAudited,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[EducationSupport],
):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    serializer_class = EducationSupportSerializer
    situations_where = "education support's follow-up visits (API)"
    filter_backends: list[Any] = []
    lookup_value_regex = r"[^/.]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[EducationSupport]:
        params = self.request.query_params
        try:
            qs = sel.support_search(
                self.request.user,
                person=int_param(self.request, "person"),
                kind=params.get("kind", ""),
                area_code=params.get("area", ""),
            )
        except AreaCodeError as exc:
            raise exceptions.ValidationError({"area": [str(exc)]}) from exc
        return _with_visits(qs)

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        serializer = super().get_serializer(*args, **kwargs)
        # Only children the caller sees can be named (the service checks the rest).
        fields = getattr(serializer, "fields", {})
        if "person" in fields:
            fields["person"].queryset = persons_visible_to(self.request.user)
        return serializer

    def get_object(self) -> EducationSupport:
        pk = self.kwargs["pk"]
        if not str(pk).isdigit():
            raise Http404
        try:
            return _with_visits(sel.supports_visible_to(self.request.user)).get(pk=int(pk))
        except EducationSupport.DoesNotExist:
            raise Http404 from None

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        support = self.get_object()
        audit.record(actor=request.user, action="read", obj=support)
        return Response(self.get_serializer(support).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        person = data.pop("person")
        support = svc.education_support_create(actor=request.user, person=person, **data)
        self.kwargs["pk"] = str(support.pk)
        return Response(self.get_serializer(self.get_object()).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        support = self.get_object()
        serializer = self.get_serializer(support, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "person" in data and data.pop("person").pk != support.person_id:
            raise exceptions.ValidationError(
                {"person": [_("Support stays with the child it was given to.")]}
            )
        svc.education_support_update(actor=request.user, support=support, **data)
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        methods=["GET"],
        summary="The child's school terms, latest first",
        responses=SchoolTermSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Record or correct a school term of the child (one per school year and"
        " term; audited)",
        request=SchoolTermSerializer,
        responses={200: SchoolTermSerializer, 201: SchoolTermSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def terms(self, request: Request, pk: str) -> Response:
        support = self.get_object()
        if request.method == "POST":
            params = SchoolTermSerializer(data=request.data)
            params.is_valid(raise_exception=True)
            data = params.validated_data
            existed = SchoolTerm.objects.filter(
                person_id=support.person_id, school_year=data["school_year"], term=data["term"]
            ).exists()
            row = svc.school_term_record(
                actor=request.user, person=support.person, support=support, **data
            )
            return Response(
                SchoolTermSerializer(row).data,
                status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
            )
        terms = SchoolTerm.objects.filter(person_id=support.person_id).order_by(
            "-school_year", "-term"
        )
        return Response(SchoolTermSerializer(terms, many=True).data)


router = SimpleRouter()
router.register("education-support", EducationSupportViewSet, basename="education-support")
