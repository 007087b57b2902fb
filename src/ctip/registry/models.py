from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ctip.core.models import TimeStampedModel


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNDISCLOSED = "undisclosed", _("Prefers not to say")


class Relationship(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse or partner")
    CHILD = "child", _("Son or daughter")
    GRANDCHILD = "grandchild", _("Grandchild")
    PARENT = "parent", _("Parent")
    SIBLING = "sibling", _("Brother or sister")
    OTHER_RELATIVE = "other_relative", _("Other relative")
    NON_RELATIVE = "non_relative", _("Not related")


class Currency(models.TextChoices):
    KHR = "KHR", _("Cambodian riel (KHR)")
    VND = "VND", _("Vietnamese dong (VND)")
    USD = "USD", _("US dollar (USD)")


class IncomeSource(models.TextChoices):
    FARMING = "farming", _("Farming or livestock")
    FISHING = "fishing", _("Fishing")
    WAGE_LABOUR = "wage_labour", _("Wage or day labour")
    FACTORY = "factory", _("Factory work")
    SMALL_BUSINESS = "small_business", _("Small business or trade")
    REMITTANCES = "remittances", _("Money sent by members away")
    SOCIAL_ASSISTANCE = "social_assistance", _("Social assistance")
    OTHER = "other", _("Other")


class Lender(models.TextChoices):
    BANK = "bank", _("Bank or micro-finance institution")
    MONEYLENDER = "moneylender", _("Private moneylender")
    RELATIVES = "relatives", _("Relatives or neighbours")
    EMPLOYER_OR_BROKER = "employer_or_broker", _("Employer, recruiter or broker")
    SAVINGS_GROUP = "savings_group", _("Savings group")
    OTHER = "other", _("Other")


class PovertyStatus(models.TextChoices):
    """Official poverty identification: IDPoor in Cambodia, poor-household lists in Viet Nam."""

    NONE = "none", _("Not identified as poor")
    POOR_1 = "poor_1", _("IDPoor level 1 / poor household")
    POOR_2 = "poor_2", _("IDPoor level 2 / near-poor household")
    UNKNOWN = "unknown", _("Unknown")


class Household(TimeStampedModel):
    village = models.ForeignKey(
        "geography.Area", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    code = models.CharField(_("household code"), max_length=40, unique=True)
    # The identifier the household has in the system it was imported from.
    external_id = models.CharField(_("external id"), max_length=64, blank=True, default="")
    address = models.CharField(_("address"), max_length=255, blank=True)
    # Socio-economic facts.
    land_hectares = models.DecimalField(
        _("farm land (hectares)"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    income_sources = models.JSONField(_("income sources"), default=list, blank=True)
    monthly_income = models.DecimalField(
        _("monthly cash income"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, blank=True, default=""
    )
    debt_amount = models.DecimalField(
        _("debt outstanding"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    lenders = models.JSONField(_("owed to"), default=list, blank=True)
    members_working_away = models.PositiveSmallIntegerField(_("members working away"), default=0)
    members_with_disability = models.PositiveSmallIntegerField(
        _("members with a disability"), default=0
    )
    single_parent = models.BooleanField(_("single-parent household"), default=False)
    child_headed = models.BooleanField(_("child-headed household"), default=False)
    poverty_status = models.CharField(
        _("poverty status"),
        max_length=10,
        choices=PovertyStatus.choices,
        default=PovertyStatus.UNKNOWN,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("household")
        verbose_name_plural = _("households")
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="registry_household_external_id_unique",
            )
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def income_source_labels(self) -> list[str]:
        return [str(IncomeSource(v).label) for v in self.income_sources if v in IncomeSource.values]

    @property
    def lender_labels(self) -> list[str]:
        return [str(Lender(v).label) for v in self.lenders if v in Lender.values]


class SchoolStatus(models.TextChoices):
    NOT_YET = "not_yet", _("Not yet of school age")
    ENROLLED = "enrolled", _("In school")
    AT_RISK = "at_risk", _("In school, at risk of dropping out")
    DROPPED_OUT = "dropped_out", _("Dropped out")
    NEVER = "never", _("Never attended")
    COMPLETED = "completed", _("Completed school")
    UNKNOWN = "unknown", _("Unknown")


class IdDocument(models.TextChoices):
    BIRTH_CERTIFICATE = "birth_certificate", _("Birth certificate")
    FAMILY_BOOK = "family_book", _("Family book / household registration")
    NATIONAL_ID = "national_id", _("National identity card")
    PASSPORT = "passport", _("Passport")
    BORDER_PASS = "border_pass", _("Border pass")
    OTHER = "other", _("Other identity document")


class Person(TimeStampedModel):
    """A member of a household. Children and youth under 25 are the programme's focus."""

    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.PROTECT, related_name="members"
    )
    relationship = models.CharField(
        _("relationship to head"), max_length=20, choices=Relationship.choices
    )
    given_name_local = models.CharField(_("given name (local script)"), max_length=100, blank=True)
    family_name_local = models.CharField(
        _("family name (local script)"), max_length=100, blank=True
    )
    given_name_latin = models.CharField(_("given name (Latin)"), max_length=100, blank=True)
    family_name_latin = models.CharField(_("family name (Latin)"), max_length=100, blank=True)
    sex = models.CharField(_("sex"), max_length=12, choices=Sex.choices)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    dob_estimated = models.BooleanField(_("date of birth is estimated"), default=False)
    external_id = models.CharField(_("external id"), max_length=64, blank=True, default="")
    school_status = models.CharField(
        _("school status"),
        max_length=12,
        choices=SchoolStatus.choices,
        default=SchoolStatus.UNKNOWN,
    )
    id_documents = models.JSONField(_("identity documents held"), default=list, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True, default="")
    disability = models.BooleanField(_("has a disability"), default=False)
    # A record found to be a duplicate is kept, pointing at the one it was merged into.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_records",
    )
    # Tone- and diacritic-free names in both scripts, for search.
    search_text = models.CharField(max_length=500, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Reads of a person are audited (see registry.selectors.person_get).
    SENSITIVE = True

    class Meta:
        ordering = ["household_id", "id"]
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        # Registration-time duplicate checks and age-band searches filter on birth date.
        # Scoped lists count the live (not merged) members of many households: this
        # index answers that without reading the person rows.
        indexes = [
            models.Index(fields=["date_of_birth"], name="registry_person_dob"),
            models.Index(fields=["household", "merged_into"], name="registry_person_hh_live"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="registry_person_external_id_unique",
            )
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def id_document_labels(self) -> list[str]:
        return [str(IdDocument(v).label) for v in self.id_documents if v in IdDocument.values]

    def age_on(self, day: dt.date) -> int | None:
        """Age in completed years on `day` (None when the date of birth is unknown)."""
        born = self.date_of_birth
        if born is None:
            return None
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def age(self) -> int | None:
        return self.age_on(timezone.localdate())

    @property
    def full_name(self) -> str:
        local = f"{self.family_name_local} {self.given_name_local}".strip()
        latin = f"{self.family_name_latin} {self.given_name_latin}".strip()
        if local and latin:
            return f"{local} ({latin})"
        return local or latin or f"#{self.pk}"


class ConsentPurpose(models.TextChoices):
    REGISTRATION = "registration", _("Registration and follow-up")
    SERVICES = "services", _("Referral to and delivery of services")
    DATA_SHARING = "data_sharing", _("Sharing data with partners")
    PHOTOS = "photos", _("Photographs")


class ConsentGiver(models.TextChoices):
    SELF = "self", _("The person themself")
    PARENT = "parent", _("Parent")
    GUARDIAN = "guardian", _("Legal guardian or caregiver")


class ConsentMethod(models.TextChoices):
    SIGNED = "signed", _("Signed form")
    THUMBPRINT = "thumbprint", _("Thumbprint")
    VERBAL = "verbal", _("Verbal, witnessed")


class Consent(models.Model):
    """Consent for one purpose, given at a date. Under 18 it is a parent's or guardian's
    consent together with the child's own assent; from 18, the person's own consent.

    Rows are kept after withdrawal: `withdrawn_at` closes them, so the record shows
    what was allowed when."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="consents"
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    given_on = models.DateField(_("given on"))
    given_by = models.CharField(_("given by"), max_length=10, choices=ConsentGiver.choices)
    giver_name = models.CharField(_("name of parent or guardian"), max_length=200, blank=True)
    child_assent = models.BooleanField(_("the child agrees"), null=True, blank=True)
    method = models.CharField(_("how"), max_length=12, choices=ConsentMethod.choices)
    note = models.CharField(_("note"), max_length=255, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawal_reason = models.CharField(_("reason for withdrawal"), max_length=255, blank=True)

    class Meta:
        ordering = ["person_id", "purpose", "-given_on", "-id"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes = [models.Index(fields=["person", "purpose"], name="registry_consent_person_purp")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.purpose} {self.given_on}"

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class CandidateStatus(models.TextChoices):
    OPEN = "open", _("To review")
    MERGED = "merged", _("Merged")
    DISTINCT = "distinct", _("Not the same person")


class DuplicateCandidate(models.Model):
    """Two person records that may be the same person, with a score and the reasons."""

    person_a = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    person_b = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(_("score"))
    reasons = models.JSONField(_("reasons"), default=list)
    status = models.CharField(
        _("status"), max_length=10, choices=CandidateStatus.choices, default=CandidateStatus.OPEN
    )
    found_at = models.DateTimeField(_("found"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["-score", "id"]
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [
            models.UniqueConstraint(fields=["person_a", "person_b"], name="registry_dup_pair"),
            models.CheckConstraint(
                condition=models.Q(person_a__lt=models.F("person_b")),
                name="registry_dup_pair_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_a_id} ~ {self.person_b_id} ({self.score:.2f})"


class PersonMerge(models.Model):
    """A merge of one person record into another: what moved, by whom and why, so it can
    be explained later. The merged record itself is kept (see Person.merged_into)."""

    kept = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="merges_kept")
    merged = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="merges_absorbed")
    candidate = models.ForeignKey(
        DuplicateCandidate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    # {"field": [kept value, merged value, chosen]} and {"model": count moved}.
    fields = models.JSONField(default=dict)
    moved = models.JSONField(default=dict)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField(_("merged"), default=timezone.now)

    class Meta:
        ordering = ["-merged_at"]
        verbose_name = _("merge")
        verbose_name_plural = _("merges")

    def __str__(self) -> str:
        return f"{self.merged_id} -> {self.kept_id}"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    CHECKED = "checked", _("Checked, ready to import")
    INVALID = "invalid", _("Problems found")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed, nothing written")


class ImportJob(models.Model):
    """One upload of a registry file: its column mapping, the dry run's findings and,
    once imported, what was created and updated."""

    original_name = models.CharField(_("file"), max_length=255)
    stored_path = models.CharField(max_length=500)
    file_format = models.CharField(_("format"), max_length=5)
    sha256 = models.CharField(max_length=64)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    problems = models.JSONField(_("problems"), default=list, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return self.original_name
