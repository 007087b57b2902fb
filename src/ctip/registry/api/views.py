"""Scoped API for households, persons and consents. Every queryset comes from the
registry selectors, single reads go through the audited `*_get` selectors and every
write through the registry services (which check the area and audit)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ctip.accounts import access
from ctip.accounts.roles import VIEW_PERSONS
from ctip.geography.selectors import AreaCodeError, resolve_area_code

from .. import selectors, services
from ..dedup import registration_candidates
from ..models import Consent, Household, Person, Sex
from .serializers import (
    ConsentInputSerializer,
    ConsentSerializer,
    HouseholdCreateSerializer,
    HouseholdDetailSerializer,
    HouseholdFilterSerializer,
    HouseholdSerializer,
    HouseholdUpdateSerializer,
    PersonCreateSerializer,
    PersonFilterSerializer,
    PersonSerializer,
    PersonUpdateSerializer,
    WithdrawSerializer,
)


class CanViewPersons(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return access.has_permission(request.user, VIEW_PERSONS)


def _filters(serializer_class: type, request: Request) -> dict[str, str]:
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return {k: v for k, v in params.validated_data.items() if v}


def _village(code: str) -> Any:
    try:
        return resolve_area_code(code)
    except AreaCodeError as exc:
        raise exceptions.ValidationError({"village": [str(exc)]}) from exc


VILLAGE_PARAM = OpenApiParameter(
    "village",
    str,
    description="Official code of an area (e.g. 20010301 or KH-20); the area and all below it.",
)

DUPLICATES_RESPONSE = inline_serializer(
    "PossibleDuplicates",
    {
        "detail": serializers.CharField(),
        "candidates": serializers.ListField(child=serializers.DictField()),
    },
)


@extend_schema_view(
    list=extend_schema(
        summary="Households in your areas",
        parameters=[
            OpenApiParameter("q", str, description="Part of the household code."),
            VILLAGE_PARAM,
        ],
    ),
    retrieve=extend_schema(summary="One household with its members (the read is audited)"),
    create=extend_schema(
        summary="Register a household with its members and their consents (all or nothing)",
        request=HouseholdCreateSerializer,
        responses={201: HouseholdDetailSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a household's facts or village",
        request=HouseholdUpdateSerializer,
        responses={200: HouseholdDetailSerializer},
    ),
)
class HouseholdViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Household],
):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    serializer_class = HouseholdSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Household]:
        filters = _filters(HouseholdFilterSerializer, self.request)
        try:
            qs = selectors.household_search(
                self.request.user, q=filters.get("q", ""), area_code=filters.get("village", "")
            )
        except AreaCodeError as exc:
            raise exceptions.ValidationError({"village": [str(exc)]}) from exc
        return qs.select_related("village").annotate(member_count=Count("members")).order_by("code")

    def get_serializer_class(self) -> Any:
        return HouseholdDetailSerializer if self.action == "retrieve" else HouseholdSerializer

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def _detail(self, request: Request, household: Household) -> dict[str, Any]:
        members = list(
            selectors.persons_visible_to(request.user).filter(household=household).order_by("id")
        )
        household.visible_members = members  # type: ignore[attr-defined]
        household.member_count = len(members)  # type: ignore[attr-defined]
        return HouseholdDetailSerializer(household, context=self.get_serializer_context()).data

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        household = selectors.household_get(request.user, int(kwargs["pk"]))
        return Response(self._detail(request, household))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = HouseholdCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        village = _village(values.pop("village"))
        consents = [{**c, "member": c["member"] - 1} for c in values.pop("consents", [])]
        household = services.household_register(
            actor=request.user,
            village=village,
            code=values.pop("code"),
            members=[dict(m) for m in values.pop("members", [])],
            consents=consents,
            **values,
        )
        return Response(self._detail(request, household), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        household = selectors.household_get(request.user, int(kwargs["pk"]))
        data = HouseholdUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "village" in values:
            values["village"] = _village(values["village"])
        household = services.household_update(actor=request.user, household=household, **values)
        return Response(self._detail(request, household))


@extend_schema_view(
    list=extend_schema(
        summary="Persons in your areas",
        parameters=[
            OpenApiParameter(
                "q",
                str,
                description="Name in Khmer, Vietnamese or Latin letters; tones and common "
                "spelling variants ignored.",
            ),
            VILLAGE_PARAM,
            OpenApiParameter("sex", str, enum=Sex.values),
            OpenApiParameter("age_band", str, enum=selectors.AGE_BANDS),
        ],
    ),
    retrieve=extend_schema(summary="One person (the read is audited)"),
    create=extend_schema(
        summary="Register a person in a household",
        description="Answers 409 with the possible duplicates when the person may already be "
        "registered; send again with confirm_not_duplicate=true to register anyway.",
        request=PersonCreateSerializer,
        responses={201: PersonSerializer, 409: DUPLICATES_RESPONSE},
    ),
    partial_update=extend_schema(
        summary="Change a person's record",
        request=PersonUpdateSerializer,
        responses={200: PersonSerializer},
    ),
)
class PersonViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Person],
):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    serializer_class = PersonSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Person]:
        filters = _filters(PersonFilterSerializer, self.request)
        try:
            qs = selectors.person_search(
                self.request.user,
                q=filters.get("q", ""),
                area_code=filters.get("village", ""),
                sex=filters.get("sex", ""),
                age_band=filters.get("age_band", ""),
            )
        except AreaCodeError as exc:
            raise exceptions.ValidationError({"village": [str(exc)]}) from exc
        return qs.select_related("household", "household__village").order_by("household_id", "id")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        person = selectors.person_get(request.user, int(kwargs["pk"]))
        return Response(self.get_serializer(person).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = PersonCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        household = selectors.household_get(request.user, values.pop("household"))
        confirmed = values.pop("confirm_not_duplicate", False)
        if not confirmed:
            candidates = registration_candidates(request.user, values, household.village)
            if candidates:
                return Response(
                    {
                        "detail": _(
                            "This person may already be registered. Check the records "
                            "below; send again with confirm_not_duplicate to register anyway."
                        ),
                        "candidates": [
                            {
                                "person": c.person.pk,
                                "score": round(c.score, 3),
                                "reasons": c.reasons,
                            }
                            for c in candidates
                        ],
                    },
                    status=status.HTTP_409_CONFLICT,
                )
        person = services.person_create(actor=request.user, household=household, **values)
        person = (
            selectors.persons_visible_to(request.user)
            .select_related("household__village")
            .get(pk=person.pk)
        )
        return Response(self.get_serializer(person).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        person = selectors.person_get(request.user, int(kwargs["pk"]))
        data = PersonUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "household" in values:
            values["household"] = selectors.household_get(request.user, values["household"])
        services.person_update(actor=request.user, person=person, **values)
        person = (
            selectors.persons_visible_to(request.user, include_merged=True)
            .select_related("household__village")
            .get(pk=person.pk)
        )
        return Response(self.get_serializer(person).data)

    @extend_schema(
        methods=["GET"],
        summary="A person's consents, active and withdrawn",
        responses=ConsentSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Record consent for a purpose (parent and child's assent under 18)",
        request=ConsentInputSerializer,
        responses={201: ConsentSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def consents(self, request: Request, pk: str) -> Response:
        person = selectors.person_get(request.user, int(pk))
        if request.method == "POST":
            data = ConsentInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            consent = services.consent_record(
                actor=request.user, person=person, **data.validated_data
            )
            return Response(ConsentSerializer(consent).data, status=status.HTTP_201_CREATED)
        return Response(ConsentSerializer(person.consents.all(), many=True).data)


@extend_schema_view(
    list=extend_schema(summary="Consents of persons in your areas"),
    retrieve=extend_schema(summary="One consent"),
)
class ConsentViewSet(viewsets.ReadOnlyModelViewSet[Consent]):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    serializer_class = ConsentSerializer

    def get_queryset(self) -> QuerySet[Consent]:
        persons = selectors.persons_visible_to(self.request.user, include_merged=True)
        return Consent.objects.filter(person__in=persons.values("pk")).order_by("-id")

    @extend_schema(
        summary="Withdraw a consent: from now the person is not used for its purpose",
        request=WithdrawSerializer,
        responses={200: ConsentSerializer},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        consent = self.get_object()
        data = WithdrawSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        consent = services.consent_withdraw(
            actor=request.user, consent=consent, reason=data.validated_data.get("reason", "")
        )
        return Response(ConsentSerializer(consent).data)
