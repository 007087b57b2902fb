from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ctip.geography import selectors
from ctip.geography.models import Area


class AreaLinkSerializer(serializers.ModelSerializer[Area]):
    """Another unit, as a predecessor or successor names it."""

    name = serializers.CharField(read_only=True)

    class Meta:
        model = Area
        fields = ["id", "country", "code", "level", "name", "valid_from", "valid_to"]
        read_only_fields = fields


class AreaSerializer(serializers.ModelSerializer[Area]):
    parent = serializers.IntegerField(  # type: ignore[assignment]
        source="parent_id", read_only=True, allow_null=True
    )
    parent_code = serializers.SerializerMethodField()

    class Meta:
        model = Area
        fields = [
            "id",
            "country",
            "code",
            "level",
            "name_en",
            "name_km",
            "name_vi",
            "division_type",
            "parent",
            "parent_code",
            "valid_from",
            "valid_to",
            "note",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_parent_code(self, area: Area) -> str | None:
        return area.parent.code if area.parent_id and area.parent else None


class AreaDetailSerializer(AreaSerializer):
    predecessors = serializers.SerializerMethodField()
    successors = serializers.SerializerMethodField()

    class Meta(AreaSerializer.Meta):
        fields = [*AreaSerializer.Meta.fields, "predecessors", "successors"]
        read_only_fields = fields

    @extend_schema_field(AreaLinkSerializer(many=True))
    def get_predecessors(self, area: Area) -> list[dict[str, Any]]:
        return list(AreaLinkSerializer(selectors.predecessors(area), many=True).data)

    @extend_schema_field(AreaLinkSerializer(many=True))
    def get_successors(self, area: Area) -> list[dict[str, Any]]:
        return list(AreaLinkSerializer(selectors.successors(area), many=True).data)
