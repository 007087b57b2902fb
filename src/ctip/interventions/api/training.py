"""API of vocational training. api/urls.py mounts this router.

/courses/ (courses of the caller's areas; POST sets one up, PATCH changes it, both
needing interventions.manage; POST .../enrol-from-list/ enrols approved persons of
its targeting list; .../sessions/ and .../sessions/{id}/attendance/ keep the
register) and /enrolments/ (trainees the caller sees, with attendance and follow-up
outcomes; POST enrols one person; POST .../complete/ and .../drop/). Every rule,
scope check and audit is in services/training.py and selectors/training.py.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
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
from ctip.accounts.roles import VIEW_PERSONS
from ctip.core import audit
from ctip.geography.selectors import AreaCodeError, resolve_area_code
from ctip.registry.selectors import persons_visible_to
from ctip.vulnerability.models import TargetingEntry, TargetingList

from ..models import Course, CourseSession, Enrolment, FollowUp
from ..selectors import training as sel
from ..services import training as svc
from .followups import SITUATION_SCHEMA, SituationsAudited, shown_situation


class CanViewPersons(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return access.has_permission(request.user, VIEW_PERSONS)


def int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name, "")
    if not value:
        return None
    if not value.isdigit():
        raise exceptions.ValidationError({name: [_("Give a number.")]})
    return int(value)


# --------------------------------------------------------------------------------------
# Enrolments (serializers first: the course actions answer with them).


class FollowUpVisitSerializer(serializers.Serializer[None]):
    months_after = serializers.IntegerField(allow_null=True, min_value=0, max_value=600)
    due_on = serializers.DateField()
    status = serializers.CharField(help_text=_("due, done, missed or cancelled"))
    visited_on = serializers.DateField(allow_null=True)
    situation = serializers.SerializerMethodField()

    @extend_schema_field(SITUATION_SCHEMA)
    def get_situation(self, obj: FollowUp) -> str:
        return shown_situation(self, obj)


class EnrolmentSerializer(serializers.ModelSerializer[Enrolment]):
    course_title = serializers.CharField(source="course.title", read_only=True)
    name = serializers.CharField(source="person.full_name", read_only=True)
    village = serializers.CharField(
        source="person.household.village.code",
        read_only=True,
        help_text=_("Official code of the trainee's village."),
    )
    sessions_present = serializers.IntegerField(source="present", read_only=True)
    sessions_marked = serializers.IntegerField(source="marked", read_only=True)
    follow_ups = FollowUpVisitSerializer(many=True, read_only=True)

    class Meta:
        model = Enrolment
        fields = [
            "id",
            "course",
            "course_title",
            "person",
            "name",
            "village",
            "targeting_entry",
            "enrolled_on",
            "status",
            "completed_on",
            "certificate",
            "certificate_number",
            "dropped_on",
            "drop_reason",
            "sessions_present",
            "sessions_marked",
            "follow_ups",
        ]
        read_only_fields = fields


class EnrolSerializer(serializers.Serializer[None]):
    course = serializers.IntegerField(min_value=1)
    person = serializers.IntegerField(min_value=1)
    enrolled_on = serializers.DateField(required=False, help_text=_("Default: today."))
    targeting_entry = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text=_("Default: the person's approved entry on the course's list, if any."),
    )


class CompleteSerializer(serializers.Serializer[None]):
    completed_on = serializers.DateField()
    certificate = serializers.BooleanField(default=False)
    certificate_number = serializers.CharField(required=False, allow_blank=True, max_length=60)


class DropSerializer(serializers.Serializer[None]):
    dropped_on = serializers.DateField()
    reason = serializers.CharField(max_length=300)


def _with_outcomes(qs: QuerySet[Enrolment]) -> QuerySet[Enrolment]:
    """Enrolments with sessions attended and marked, and their follow-up visits."""
    return qs.annotate(
        present=Count("attendance", filter=Q(attendance__present=True)),
        marked=Count("attendance"),
    ).prefetch_related(
        Prefetch(
            "follow_ups",
            # The person's village says whether a sensitive finding may be read.
            queryset=FollowUp.objects.select_related("person__household__village").order_by(
                "months_after", "due_on"
            ),
        )
    )


# --------------------------------------------------------------------------------------
# Courses.


class CourseSerializer(serializers.ModelSerializer[Course]):
    area = serializers.CharField(
        max_length=30,
        help_text=_("Official code of the area the course serves, e.g. KH-20 or 200103."),
    )
    area_name = serializers.CharField(source="area.name", read_only=True)
    targeting_list = serializers.PrimaryKeyRelatedField(
        queryset=TargetingList.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("Id of the targeting list trainees are enrolled from."),
    )
    cost_per_trainee = serializers.DecimalField(max_digits=16, decimal_places=2)
    enrolled = serializers.IntegerField(
        source="n_enrolled",
        read_only=True,
        help_text=_("Trainees the caller sees (whatever their status)."),
    )
    completed = serializers.IntegerField(source="n_completed", read_only=True)
    dropped_out = serializers.IntegerField(source="n_dropped", read_only=True)

    class Meta:
        model = Course
        fields = [
            "id",
            "title",
            "trade",
            "provider",
            "area",
            "area_name",
            "location",
            "starts_on",
            "ends_on",
            "sessions_planned",
            "capacity",
            "cost_per_trainee",
            "currency",
            "targeting_list",
            "status",
            "enrolled",
            "completed",
            "dropped_out",
        ]
        read_only_fields = ["id", "area_name", "enrolled", "completed", "dropped_out"]
        extra_kwargs = {
            "sessions_planned": {"min_value": 0, "max_value": svc.MAX_SESSIONS},
            "capacity": {"min_value": 1, "max_value": svc.MAX_CAPACITY},
        }

    def to_representation(self, instance: Course) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["area"] = instance.area.code
        return data


class EnrolFromListSerializer(serializers.Serializer[None]):
    entries = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=False,
        max_length=1000,
        help_text=_("Ids of entries of the course's targeting list (not of persons)."),
    )
    enrolled_on = serializers.DateField(required=False, help_text=_("Default: today."))


class SessionSerializer(serializers.ModelSerializer[CourseSession]):
    present = serializers.IntegerField(source="n_present", read_only=True)
    marked = serializers.IntegerField(source="n_marked", read_only=True)

    class Meta:
        model = CourseSession
        fields = ["id", "held_on", "topic", "present", "marked"]
        read_only_fields = ["id", "present", "marked"]


class MarkSerializer(serializers.Serializer[None]):
    enrolment = serializers.IntegerField(min_value=1)
    present = serializers.BooleanField()


class AttendanceSerializer(serializers.Serializer[None]):
    marks = MarkSerializer(many=True, help_text=_("Trainees not named keep their mark."))


class RegisterRowSerializer(serializers.Serializer[Any]):
    enrolment = serializers.IntegerField(source="enrolment.pk")
    person = serializers.IntegerField(source="enrolment.person_id")
    name = serializers.CharField(source="enrolment.person.full_name")
    present = serializers.BooleanField(allow_null=True, help_text=_("null: not marked."))
    can_mark = serializers.BooleanField()


SESSION_PK = OpenApiParameter(
    "session_pk", int, OpenApiParameter.PATH, description="Id of the session."
)


def _area_from(data: dict[str, Any]) -> None:
    if "area" in data:
        try:
            data["area"] = resolve_area_code(
                data["area"], on=data.get("starts_on") or timezone.localdate()
            )
        except AreaCodeError as exc:
            raise exceptions.ValidationError({"area": [str(exc)]}) from exc


@extend_schema_view(
    list=extend_schema(
        summary="Courses of your areas (and those serving them)",
        parameters=[
            OpenApiParameter("area", str, description="Official code of an area."),
            OpenApiParameter("status", str, description="planned, running, finished, cancelled"),
            OpenApiParameter("q", str, description="Part of the title, trade or provider."),
        ],
    ),
    retrieve=extend_schema(summary="One course"),
    create=extend_schema(summary="Set up a course (needs interventions.manage; audited)"),
    partial_update=extend_schema(summary="Change a course (needs interventions.manage; audited)"),
)
class CourseViewSet(
    SituationsAudited,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Course],
):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    serializer_class = CourseSerializer
    situations_where = "enrolments' follow-up visits (API)"
    filter_backends: list[Any] = []
    lookup_value_regex = r"[^/.]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Course]:
        params = self.request.query_params
        try:
            return sel.course_search(
                self.request.user,
                area_code=params.get("area", ""),
                status=params.get("status", ""),
                q=params.get("q", ""),
            )
        except AreaCodeError as exc:
            raise exceptions.ValidationError({"area": [str(exc)]}) from exc

    def get_object(self) -> Course:
        pk = self.kwargs["pk"]
        if not str(pk).isdigit():
            raise Http404
        try:
            return sel.course_search(self.request.user).get(pk=int(pk))
        except Course.DoesNotExist:
            raise Http404 from None

    def _annotated(self, course: Course) -> Course:
        return sel.course_search(self.request.user).get(pk=course.pk)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        _area_from(data)
        course = svc.course_create(actor=request.user, **data)
        return Response(
            self.get_serializer(self._annotated(course)).data, status=status.HTTP_201_CREATED
        )

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        course = self.get_object()
        serializer = self.get_serializer(course, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "area" in data and "starts_on" not in data:
            data["starts_on"] = course.starts_on
        _area_from(data)
        course = svc.course_update(actor=request.user, course=course, **data)
        return Response(self.get_serializer(self._annotated(course)).data)

    @extend_schema(
        summary="Enrol approved persons of the course's targeting list (all or none; audited)",
        request=EnrolFromListSerializer,
        responses={201: EnrolmentSerializer(many=True)},
    )
    @action(detail=True, methods=["post"], url_path="enrol-from-list")
    def enrol_from_list(self, request: Request, pk: str) -> Response:
        course = self.get_object()
        params = EnrolFromListSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        made = svc.enrolments_from_list(
            actor=request.user,
            course=course,
            entries=params.validated_data["entries"],
            enrolled_on=params.validated_data.get("enrolled_on"),
        )
        rows = sel.enrolment_search(request.user, course=course.pk).filter(
            pk__in=[e.pk for e in made]
        )
        return Response(
            EnrolmentSerializer(
                _with_outcomes(rows), many=True, context=self.get_serializer_context()
            ).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        methods=["GET"],
        summary="Sessions held, with how many were marked present",
        responses=SessionSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Record a session held (audited)",
        request=SessionSerializer,
        responses={201: SessionSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def sessions(self, request: Request, pk: str) -> Response:
        course = self.get_object()
        if request.method == "POST":
            params = SessionSerializer(data=request.data)
            params.is_valid(raise_exception=True)
            session = svc.session_add(actor=request.user, course=course, **params.validated_data)
            row = sel.course_sessions(course).get(pk=session.pk)
            return Response(SessionSerializer(row).data, status=status.HTTP_201_CREATED)
        return Response(SessionSerializer(sel.course_sessions(course), many=True).data)

    @extend_schema(
        methods=["GET"],
        summary="The attendance register of a session (trainees you see)",
        parameters=[SESSION_PK],
        responses=RegisterRowSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Mark trainees present or absent at a session (all or none; audited)",
        parameters=[SESSION_PK],
        request=AttendanceSerializer,
        responses=RegisterRowSerializer(many=True),
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path=r"sessions/(?P<session_pk>[^/.]+)/attendance",
        pagination_class=None,
    )
    def attendance(self, request: Request, pk: str, session_pk: str) -> Response:
        course = self.get_object()
        if not session_pk.isdigit():
            raise Http404
        session = sel.session_get(request.user, int(session_pk))
        if session.course_id != course.pk:
            raise Http404
        if request.method == "POST":
            params = AttendanceSerializer(data=request.data)
            params.is_valid(raise_exception=True)
            marks = {m["enrolment"]: m["present"] for m in params.validated_data["marks"]}
            svc.attendance_set(actor=request.user, session=session, marks=marks)
        rows = sel.attendance_register(request.user, session)
        return Response(RegisterRowSerializer(rows, many=True).data)


# --------------------------------------------------------------------------------------
# Enrolments.


@extend_schema_view(
    list=extend_schema(
        summary="Enrolments of the persons you see, with attendance and follow-up outcomes",
        parameters=[
            OpenApiParameter("course", int, description="Id of a course."),
            OpenApiParameter("person", int, description="Id of a person."),
            OpenApiParameter("status", str, description="enrolled, completed, dropped_out"),
        ],
    ),
    retrieve=extend_schema(summary="One enrolment (the read is audited)"),
    create=extend_schema(
        summary="Enrol one person (needs interventions.record where they live; audited)",
        request=EnrolSerializer,
        responses={201: EnrolmentSerializer},
    ),
)
class EnrolmentViewSet(
    SituationsAudited,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Enrolment],
):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    serializer_class = EnrolmentSerializer
    situations_where = "enrolments' follow-up visits (API)"
    filter_backends: list[Any] = []
    lookup_value_regex = r"[^/.]+"

    def get_queryset(self) -> QuerySet[Enrolment]:
        return _with_outcomes(
            sel.enrolment_search(
                self.request.user,
                course=int_param(self.request, "course"),
                person=int_param(self.request, "person"),
                status=self.request.query_params.get("status", ""),
            )
        )

    def _get(self, pk: str) -> Enrolment:
        if not str(pk).isdigit():
            raise Http404
        try:
            return _with_outcomes(sel.enrolments_visible_to(self.request.user)).get(pk=int(pk))
        except Enrolment.DoesNotExist:
            raise Http404 from None

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        enrolment = self._get(kwargs["pk"])
        audit.record(actor=request.user, action="read", obj=enrolment)
        return Response(self.get_serializer(enrolment).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = EnrolSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        course = sel.courses_visible_to(request.user).filter(pk=data["course"]).first()
        if course is None:
            raise exceptions.ValidationError(
                {"course": [_("No course %(id)s in your areas.") % {"id": data["course"]}]}
            )
        person = persons_visible_to(request.user).filter(pk=data["person"]).first()
        if person is None:
            raise exceptions.ValidationError(
                {"person": [_("No person %(id)s in your areas.") % {"id": data["person"]}]}
            )
        entry = None
        if data.get("targeting_entry"):
            entry = TargetingEntry.objects.filter(pk=data["targeting_entry"]).first()
            if entry is None:
                raise exceptions.ValidationError(
                    {"targeting_entry": [_("No such entry on the course's targeting list.")]}
                )
        enrolment = svc.enrolment_create(
            actor=request.user,
            course=course,
            person=person,
            enrolled_on=data.get("enrolled_on"),
            targeting_entry=entry,
        )
        return Response(
            self.get_serializer(self._get(str(enrolment.pk))).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Record completion (and certificate); schedules the follow-ups (audited)",
        request=CompleteSerializer,
        responses=EnrolmentSerializer,
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        enrolment = self._get(pk)
        params = CompleteSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        svc.enrolment_complete(actor=request.user, enrolment=enrolment, **params.validated_data)
        return Response(self.get_serializer(self._get(pk)).data)

    @extend_schema(
        summary="Record dropping out, with the day and reason (audited)",
        request=DropSerializer,
        responses=EnrolmentSerializer,
    )
    @action(detail=True, methods=["post"])
    def drop(self, request: Request, pk: str) -> Response:
        enrolment = self._get(pk)
        params = DropSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        svc.enrolment_drop(
            actor=request.user,
            enrolment=enrolment,
            dropped_on=params.validated_data["dropped_on"],
            reason=params.validated_data["reason"],
        )
        return Response(self.get_serializer(self._get(pk)).data)


router = SimpleRouter()
router.register("courses", CourseViewSet, basename="course")
router.register("enrolments", EnrolmentViewSet, basename="enrolment")
