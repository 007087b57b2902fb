from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Household, Person
from ..selectors import AGE_BANDS


class HouseholdSerializer(serializers.ModelSerializer[Household]):
    village = serializers.CharField(
        source="village.code", read_only=True, help_text=_("Official code of the village.")
    )
    village_name = serializers.CharField(source="village.local_name", read_only=True)
    members = serializers.IntegerField(
        source="member_count", read_only=True, help_text=_("Number of household members.")
    )

    class Meta:
        model = Household
        fields = ["id", "code", "village", "village_name", "address", "members", "created_at"]
        read_only_fields = fields


class PersonSerializer(serializers.ModelSerializer[Person]):
    household_code = serializers.CharField(source="household.code", read_only=True)
    village = serializers.CharField(
        source="household.village.code",
        read_only=True,
        help_text=_("Official code of the household's village."),
    )
    village_name = serializers.CharField(source="household.village.local_name", read_only=True)
    age = serializers.SerializerMethodField(help_text=_("Age in completed years today."))

    class Meta:
        model = Person
        fields = [
            "id",
            "household",
            "household_code",
            "village",
            "village_name",
            "relationship",
            "given_name_local",
            "family_name_local",
            "given_name_latin",
            "family_name_latin",
            "sex",
            "date_of_birth",
            "dob_estimated",
            "age",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_age(self, obj: Person) -> int | None:
        return obj.age_on(self.context["today"])


class HouseholdMemberSerializer(PersonSerializer):
    class Meta(PersonSerializer.Meta):
        fields = [
            "id",
            "relationship",
            "given_name_local",
            "family_name_local",
            "given_name_latin",
            "family_name_latin",
            "sex",
            "date_of_birth",
            "dob_estimated",
            "age",
        ]
        read_only_fields = fields


class HouseholdDetailSerializer(HouseholdSerializer):
    member_list = HouseholdMemberSerializer(source="visible_members", many=True, read_only=True)

    class Meta(HouseholdSerializer.Meta):
        fields = [*HouseholdSerializer.Meta.fields, "member_list"]
        read_only_fields = fields


class PersonFilterSerializer(serializers.Serializer[None]):
    """The query parameters of the person list, checked before any query runs."""

    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
    village = serializers.CharField(required=False, allow_blank=True, max_length=30)
    sex = serializers.ChoiceField(
        choices=Person._meta.get_field("sex").choices or [], required=False, allow_blank=True
    )
    age_band = serializers.ChoiceField(choices=AGE_BANDS, required=False, allow_blank=True)


class HouseholdFilterSerializer(serializers.Serializer[None]):
    q = serializers.CharField(required=False, allow_blank=True, max_length=60)
    village = serializers.CharField(required=False, allow_blank=True, max_length=30)
