"""Read-only, scoped API for households and persons. Every queryset comes from the
registry selectors; single reads go through the audited `*_get` selectors."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, permissions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from ctip.accounts import access
from ctip.accounts.roles import VIEW_PERSONS
from ctip.geography.selectors import AreaCodeError

from .. import selectors
from ..models import Household, Person, Sex
from .serializers import (
    HouseholdDetailSerializer,
    HouseholdFilterSerializer,
    HouseholdSerializer,
    PersonFilterSerializer,
    PersonSerializer,
)


class CanViewPersons(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return access.has_permission(request.user, VIEW_PERSONS)


def _filters(serializer_class: type, request: Request) -> dict[str, str]:
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return {k: v for k, v in params.validated_data.items() if v}


VILLAGE_PARAM = OpenApiParameter(
    "village",
    str,
    description="Official code of an area (e.g. 20010301 or KH-20); the area and all below it.",
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
)
class HouseholdViewSet(viewsets.ReadOnlyModelViewSet[Household]):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    serializer_class = HouseholdSerializer

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

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        household = selectors.household_get(request.user, int(kwargs["pk"]))
        members = list(
            selectors.persons_visible_to(request.user).filter(household=household).order_by("id")
        )
        household.visible_members = members  # type: ignore[attr-defined]
        household.member_count = len(members)  # type: ignore[attr-defined]
        return Response(self.get_serializer(household).data)


@extend_schema_view(
    list=extend_schema(
        summary="Persons in your areas",
        parameters=[
            OpenApiParameter(
                "q", str, description="Name in Khmer, Vietnamese or Latin letters; tones ignored."
            ),
            VILLAGE_PARAM,
            OpenApiParameter("sex", str, enum=Sex.values),
            OpenApiParameter("age_band", str, enum=selectors.AGE_BANDS),
        ],
    ),
    retrieve=extend_schema(summary="One person (the read is audited)"),
)
class PersonViewSet(viewsets.ReadOnlyModelViewSet[Person]):
    permission_classes = [permissions.IsAuthenticated, CanViewPersons]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    serializer_class = PersonSerializer

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
