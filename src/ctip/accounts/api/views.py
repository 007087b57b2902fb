from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ctip.accounts.models import RoleAssignment, User
from ctip.accounts.roles import ROLES


class AssignmentSerializer(serializers.ModelSerializer[RoleAssignment]):
    area = serializers.CharField(source="area.code")
    area_country = serializers.CharField(source="area.country")
    area_level = serializers.CharField(source="area.level")
    area_name = serializers.CharField(source="area.name")

    class Meta:
        model = RoleAssignment
        fields = ["role", "area", "area_country", "area_level", "area_name"]


class MeSerializer(serializers.ModelSerializer[User]):
    assignments = AssignmentSerializer(many=True)
    permissions = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "username",
            "first_name",
            "last_name",
            "email",
            "language",
            "assignments",
            "permissions",
        ]

    def get_permissions(self, obj: User) -> list[str]:
        return sorted({p for a in obj.assignments.all() for p in ROLES[a.role].permissions})


class MeView(APIView):
    """The signed-in user, their roles, areas and permission codes."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        user = User.objects.prefetch_related("assignments__area").get(pk=request.user.pk or 0)
        return Response(MeSerializer(user).data)
