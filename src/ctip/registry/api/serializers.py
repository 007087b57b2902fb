from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import (
    Consent,
    ConsentGiver,
    ConsentMethod,
    ConsentPurpose,
    Currency,
    Household,
    IdDocument,
    IncomeSource,
    Lender,
    Person,
    PovertyStatus,
    Relationship,
    SchoolStatus,
    Sex,
)
from ..selectors import AGE_BANDS

FACT_FIELDS = [
    "land_hectares",
    "income_sources",
    "monthly_income",
    "currency",
    "debt_amount",
    "lenders",
    "members_working_away",
    "members_with_disability",
    "single_parent",
    "child_headed",
    "poverty_status",
]
PERSON_DETAIL_FIELDS = [
    "school_status",
    "id_documents",
    "phone",
    "disability",
    "external_id",
]


class HouseholdSerializer(serializers.ModelSerializer[Household]):
    village = serializers.CharField(
        source="village.code", read_only=True, help_text=_("Official code of the village.")
    )
    village_name = serializers.CharField(source="village.local_name", read_only=True)
    members = serializers.IntegerField(
        source="member_count", read_only=True, help_text=_("Number of household members.")
    )
    income_sources = serializers.ListField(
        child=serializers.ChoiceField(choices=IncomeSource.choices), read_only=True
    )
    lenders = serializers.ListField(
        child=serializers.ChoiceField(choices=Lender.choices), read_only=True
    )

    class Meta:
        model = Household
        fields = [
            "id",
            "code",
            "external_id",
            "village",
            "village_name",
            "address",
            "members",
            *FACT_FIELDS,
            "created_at",
        ]
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
    id_documents = serializers.ListField(
        child=serializers.ChoiceField(choices=IdDocument.choices), read_only=True
    )
    merged_into = serializers.IntegerField(
        source="merged_into_id",
        read_only=True,
        allow_null=True,
        help_text=_("Set when this record was merged into another."),
    )

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
            *PERSON_DETAIL_FIELDS,
            "merged_into",
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
            *PERSON_DETAIL_FIELDS,
        ]
        read_only_fields = fields


class HouseholdDetailSerializer(HouseholdSerializer):
    member_list = HouseholdMemberSerializer(source="visible_members", many=True, read_only=True)

    class Meta(HouseholdSerializer.Meta):
        fields = [*HouseholdSerializer.Meta.fields, "member_list"]
        read_only_fields = fields


# --- input -------------------------------------------------------------------------
class PersonInputSerializer(serializers.Serializer[None]):
    """A person as registered or changed; the service checks the rules and the scope."""

    relationship = serializers.ChoiceField(choices=Relationship.choices)
    given_name_local = serializers.CharField(max_length=100, required=False, allow_blank=True)
    family_name_local = serializers.CharField(max_length=100, required=False, allow_blank=True)
    given_name_latin = serializers.CharField(max_length=100, required=False, allow_blank=True)
    family_name_latin = serializers.CharField(max_length=100, required=False, allow_blank=True)
    sex = serializers.ChoiceField(choices=Sex.choices)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    dob_estimated = serializers.BooleanField(required=False)
    school_status = serializers.ChoiceField(choices=SchoolStatus.choices, required=False)
    id_documents = serializers.ListField(
        child=serializers.ChoiceField(choices=IdDocument.choices), required=False
    )
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    disability = serializers.BooleanField(required=False)
    external_id = serializers.CharField(max_length=64, required=False, allow_blank=True)


class PersonCreateSerializer(PersonInputSerializer):
    household = serializers.IntegerField(help_text=_("Id of the person's household."))
    confirm_not_duplicate = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_(
            "Register even though possible duplicates were found (they are answered with "
            "409 and listed otherwise)."
        ),
    )


class PersonUpdateSerializer(PersonInputSerializer):
    household = serializers.IntegerField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


class ConsentInputSerializer(serializers.Serializer[None]):
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    given_on = serializers.DateField()
    given_by = serializers.ChoiceField(choices=ConsentGiver.choices)
    method = serializers.ChoiceField(choices=ConsentMethod.choices)
    giver_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    child_assent = serializers.BooleanField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True)


class HouseholdConsentInputSerializer(ConsentInputSerializer):
    member = serializers.IntegerField(
        min_value=1, help_text=_("Which member (1 for the first in `members`).")
    )


class HouseholdFactsSerializer(serializers.Serializer[None]):
    address = serializers.CharField(max_length=255, required=False, allow_blank=True)
    external_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    land_hectares = serializers.DecimalField(
        max_digits=7, decimal_places=2, required=False, allow_null=True
    )
    income_sources = serializers.ListField(
        child=serializers.ChoiceField(choices=IncomeSource.choices), required=False
    )
    monthly_income = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    currency = serializers.ChoiceField(choices=Currency.choices, required=False, allow_blank=True)
    debt_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    lenders = serializers.ListField(
        child=serializers.ChoiceField(choices=Lender.choices), required=False
    )
    members_working_away = serializers.IntegerField(min_value=0, max_value=50, required=False)
    members_with_disability = serializers.IntegerField(min_value=0, max_value=50, required=False)
    single_parent = serializers.BooleanField(required=False)
    child_headed = serializers.BooleanField(required=False)
    poverty_status = serializers.ChoiceField(choices=PovertyStatus.choices, required=False)


class HouseholdCreateSerializer(HouseholdFactsSerializer):
    village = serializers.CharField(
        max_length=30, help_text=_("Official code of the village (KH-... where codes overlap).")
    )
    code = serializers.CharField(max_length=40)
    members = PersonInputSerializer(many=True, required=False)
    consents = HouseholdConsentInputSerializer(many=True, required=False)


class HouseholdUpdateSerializer(HouseholdFactsSerializer):
    village = serializers.CharField(max_length=30, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


class ConsentSerializer(serializers.ModelSerializer[Consent]):
    active = serializers.BooleanField(read_only=True)

    class Meta:
        model = Consent
        fields = [
            "id",
            "person",
            "purpose",
            "given_on",
            "given_by",
            "giver_name",
            "child_assent",
            "method",
            "note",
            "recorded_at",
            "active",
            "withdrawn_at",
            "withdrawal_reason",
        ]
        read_only_fields = fields


class WithdrawSerializer(serializers.Serializer[None]):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True)


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
