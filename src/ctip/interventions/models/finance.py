"""Micro-finance and income generation (R10): loan products, loans with their
repayment schedule and repayments, savings groups with a ledger, and
income-generating activities compared with what migrating would earn."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ctip.core.models import TimeStampedModel
from ctip.registry.models import Currency


class InterestMethod(models.TextChoices):
    FLAT = "flat", _("Flat (on the original principal)")
    DECLINING = "declining", _("Declining balance")


class Frequency(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    WEEKLY = "weekly", _("Weekly")


class LoanProduct(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    method = models.CharField(_("interest method"), max_length=10, choices=InterestMethod.choices)
    # Nominal yearly rate in percent, e.g. 18.000.
    annual_rate = models.DecimalField(_("yearly interest rate (%)"), max_digits=6, decimal_places=3)
    term = models.PositiveSmallIntegerField(_("number of instalments"))
    frequency = models.CharField(_("repayment frequency"), max_length=8, choices=Frequency.choices)
    # Instalments at the start during which only interest is due (declining) or nothing.
    grace = models.PositiveSmallIntegerField(_("grace instalments"), default=0)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    min_principal = models.DecimalField(
        _("smallest loan"), null=True, blank=True, max_digits=16, decimal_places=2
    )
    max_principal = models.DecimalField(
        _("largest loan"), null=True, blank=True, max_digits=16, decimal_places=2
    )
    active = models.BooleanField(_("offered"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("loan product")
        verbose_name_plural = _("loan products")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(annual_rate__gte=0), name="interv_product_rate"
            ),
            models.CheckConstraint(
                condition=models.Q(term__gte=1) & models.Q(grace__lt=models.F("term")),
                name="interv_product_term",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LoanStatus(models.TextChoices):
    ACTIVE = "active", _("Being repaid")
    REPAID = "repaid", _("Repaid")
    WRITTEN_OFF = "written_off", _("Written off")


class Loan(TimeStampedModel):
    """A loan to a household, with the person who borrows. The terms are copied from
    the product when the loan is made, so later changes to the product do not move it."""

    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, related_name="loans")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        "registry.Person",
        verbose_name=_("borrower"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    principal = models.DecimalField(_("principal"), max_digits=16, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    method = models.CharField(_("interest method"), max_length=10, choices=InterestMethod.choices)
    annual_rate = models.DecimalField(_("yearly interest rate (%)"), max_digits=6, decimal_places=3)
    term = models.PositiveSmallIntegerField(_("number of instalments"))
    frequency = models.CharField(_("repayment frequency"), max_length=8, choices=Frequency.choices)
    grace = models.PositiveSmallIntegerField(_("grace instalments"), default=0)
    disbursed_on = models.DateField(_("disbursed on"))
    purpose = models.CharField(_("purpose"), max_length=300, blank=True)
    iga = models.ForeignKey(
        "IncomeActivity",
        verbose_name=_("income-generating activity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="loans",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=LoanStatus.choices, default=LoanStatus.ACTIVE
    )
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    written_off_amount = models.DecimalField(
        _("principal written off"), null=True, blank=True, max_digits=16, decimal_places=2
    )
    write_off_reason = models.CharField(_("reason for writing off"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-disbursed_on", "-id"]
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(principal__gt=0), name="interv_loan_principal"
            ),
            models.CheckConstraint(condition=models.Q(annual_rate__gte=0), name="interv_loan_rate"),
        ]
        indexes = [
            models.Index(fields=["household"], name="interv_loan_household"),
            models.Index(fields=["person"], name="interv_loan_person"),
            models.Index(fields=["status"], name="interv_loan_status"),
        ]

    def __str__(self) -> str:
        return f"{self.principal} {self.currency} ({self.disbursed_on})"


class Installment(models.Model):
    """One line of a loan's repayment schedule, with what has been paid against it."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="installments")
    number = models.PositiveSmallIntegerField(_("number"))
    due_on = models.DateField(_("due on"))
    principal = models.DecimalField(_("principal"), max_digits=16, decimal_places=2)
    interest = models.DecimalField(_("interest"), max_digits=16, decimal_places=2)
    total = models.DecimalField(_("total"), max_digits=16, decimal_places=2)
    # Principal still owed once this instalment is paid as scheduled.
    balance = models.DecimalField(_("balance after"), max_digits=16, decimal_places=2)
    principal_paid = models.DecimalField(
        _("principal paid"), default=0, max_digits=16, decimal_places=2
    )
    interest_paid = models.DecimalField(
        _("interest paid"), default=0, max_digits=16, decimal_places=2
    )
    paid_on = models.DateField(_("fully paid on"), null=True, blank=True)

    class Meta:
        ordering = ["loan_id", "number"]
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        constraints = [
            models.UniqueConstraint(fields=["loan", "number"], name="interv_installment_number")
        ]
        indexes = [models.Index(fields=["due_on"], name="interv_installment_due")]

    def __str__(self) -> str:
        return f"{self.loan_id}#{self.number}"


class Repayment(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="repayments")
    paid_on = models.DateField(_("paid on"))
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    principal_part = models.DecimalField(_("of which principal"), max_digits=16, decimal_places=2)
    interest_part = models.DecimalField(_("of which interest"), max_digits=16, decimal_places=2)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["loan_id", "paid_on", "id"]
        verbose_name = _("repayment")
        verbose_name_plural = _("repayments")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="interv_repayment_amount")
        ]

    def __str__(self) -> str:
        return f"{self.amount} ({self.paid_on})"


class SavingsGroup(TimeStampedModel):
    name = models.CharField(_("name"), max_length=200)
    village = models.ForeignKey(
        "geography.Area", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    formed_on = models.DateField(_("formed on"))
    share_value = models.DecimalField(_("value of one share"), max_digits=16, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    # Monthly rate (%) the group charges on loans from its fund, as its members agreed.
    loan_rate = models.DecimalField(
        _("monthly interest on group loans (%)"), max_digits=6, decimal_places=3, default=0
    )
    cycle_started_on = models.DateField(_("current cycle started"))
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("savings group")
        verbose_name_plural = _("savings groups")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(share_value__gt=0), name="interv_savings_share_value"
            )
        ]

    def __str__(self) -> str:
        return self.name


class MemberRole(models.TextChoices):
    MEMBER = "member", _("Member")
    CHAIR = "chair", _("Chair")
    TREASURER = "treasurer", _("Treasurer")
    SECRETARY = "secretary", _("Secretary")


class SavingsMember(models.Model):
    group = models.ForeignKey(SavingsGroup, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(
        _("role"), max_length=10, choices=MemberRole.choices, default=MemberRole.MEMBER
    )
    joined_on = models.DateField(_("joined on"))
    left_on = models.DateField(_("left on"), null=True, blank=True)

    class Meta:
        ordering = ["group_id", "id"]
        verbose_name = _("savings group member")
        verbose_name_plural = _("savings group members")
        constraints = [
            models.UniqueConstraint(fields=["group", "person"], name="interv_savings_member_once")
        ]

    def __str__(self) -> str:
        return f"{self.group_id}/{self.person_id}"


class SavingsMeeting(models.Model):
    group = models.ForeignKey(SavingsGroup, on_delete=models.CASCADE, related_name="meetings")
    held_on = models.DateField(_("date"))
    present = models.ManyToManyField(SavingsMember, blank=True, related_name="+")
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["group_id", "-held_on"]
        verbose_name = _("savings group meeting")
        verbose_name_plural = _("savings group meetings")

    def __str__(self) -> str:
        return f"{self.group} {self.held_on}"


class LedgerKind(models.TextChoices):
    """Money into (+) or out of (-) the group's fund."""

    SHARES = "shares", _("Shares bought (+)")
    SOCIAL_FUND = "social_fund", _("Social fund contribution (+)")
    FINE = "fine", _("Fine (+)")
    LOAN_REPAYMENT = "loan_repayment", _("Loan repaid (+)")
    LOAN_INTEREST = "loan_interest", _("Interest on a loan (+)")
    LOAN_OUT = "loan_out", _("Loan from the fund (-)")
    SOCIAL_PAYOUT = "social_payout", _("Social fund grant (-)")
    EXPENSE = "expense", _("Expense (-)")
    SHARE_OUT = "share_out", _("Share-out at the end of the cycle (-)")


LEDGER_OUT = frozenset(
    {LedgerKind.LOAN_OUT, LedgerKind.SOCIAL_PAYOUT, LedgerKind.EXPENSE, LedgerKind.SHARE_OUT}
)


class LedgerEntry(models.Model):
    """One movement of the group's fund. Amounts are positive; the kind says the
    direction. The fund's balance is the sum and can never go below zero."""

    group = models.ForeignKey(SavingsGroup, on_delete=models.PROTECT, related_name="ledger")
    meeting = models.ForeignKey(
        SavingsMeeting, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    member = models.ForeignKey(
        SavingsMember, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    entry_on = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=16, choices=LedgerKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    shares = models.PositiveIntegerField(_("shares"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["group_id", "entry_on", "id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="interv_ledger_amount")
        ]

    def __str__(self) -> str:
        return f"{self.group_id} {self.entry_on} {self.kind} {self.amount}"


class Sector(models.TextChoices):
    """Sectors of work, at home or at a migration destination."""

    AGRICULTURE = "agriculture", _("Agriculture")
    LIVESTOCK = "livestock", _("Livestock")
    FISHING = "fishing", _("Fishing")
    CONSTRUCTION = "construction", _("Construction")
    FACTORY = "factory", _("Factory")
    DOMESTIC_WORK = "domestic_work", _("Domestic work")
    HOSPITALITY = "hospitality", _("Restaurants and hospitality")
    TRADE = "trade", _("Trade and small shops")
    SERVICES = "services", _("Repairs, tailoring and other services")
    FOOD_PROCESSING = "food_processing", _("Food processing")
    ENTERTAINMENT = "entertainment", _("Entertainment")
    OTHER = "other", _("Other")


class MigrationBenchmark(models.Model):
    """What a person from the programme's villages would typically earn by migrating to
    a destination and sector, net of living costs there, to judge whether an activity
    at home is a real alternative."""

    destination = models.CharField(_("destination"), max_length=120)
    destination_country = models.CharField(_("destination country"), max_length=2)
    sector = models.CharField(_("sector"), max_length=16, choices=Sector.choices)
    monthly_wage = models.DecimalField(_("monthly wage"), max_digits=16, decimal_places=2)
    monthly_costs = models.DecimalField(
        _("monthly living costs there"), default=0, max_digits=16, decimal_places=2
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    source = models.CharField(_("source"), max_length=300, blank=True)
    valid_from = models.DateField(_("valid from"))
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["destination", "sector", "-valid_from"]
        verbose_name = _("migration wage benchmark")
        verbose_name_plural = _("migration wage benchmarks")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_wage__gte=0, monthly_costs__gte=0),
                name="interv_benchmark_amounts",
            )
        ]

    def __str__(self) -> str:
        return f"{self.destination}, {self.get_sector_display()}"


class ActivityStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    RUNNING = "running", _("Running")
    STOPPED = "stopped", _("Stopped")


class IncomeActivity(TimeStampedModel):
    """An income-generating activity (IGA) with its market analysis. Money per month."""

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        "registry.Person",
        verbose_name=_("run by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    title = models.CharField(_("activity"), max_length=200)
    sector = models.CharField(_("sector"), max_length=16, choices=Sector.choices)
    started_on = models.DateField(_("started on"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=ActivityStatus.choices, default=ActivityStatus.PLANNED
    )
    unit = models.CharField(_("unit sold"), max_length=40)  # kg, piece, haircut...
    expected_price = models.DecimalField(
        _("expected price per unit"), max_digits=16, decimal_places=2
    )
    expected_volume = models.DecimalField(
        _("expected units sold per month"), max_digits=12, decimal_places=2
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    benchmark = models.ForeignKey(
        MigrationBenchmark,
        verbose_name=_("compared with migrating to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    market_notes = models.TextField(_("market analysis"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("income-generating activity")
        verbose_name_plural = _("income-generating activities")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expected_price__gte=0, expected_volume__gte=0),
                name="interv_iga_price_volume",
            )
        ]

    def __str__(self) -> str:
        return self.title


class CostKind(models.TextChoices):
    INVESTMENT = "investment", _("Start-up investment (once)")
    FIXED = "fixed", _("Fixed cost per month")
    VARIABLE = "variable", _("Variable cost per unit sold")


class ActivityCost(models.Model):
    activity = models.ForeignKey(IncomeActivity, on_delete=models.CASCADE, related_name="costs")
    item = models.CharField(_("item"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=CostKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)

    class Meta:
        ordering = ["activity_id", "kind", "id"]
        verbose_name = _("cost")
        verbose_name_plural = _("costs")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="interv_cost_amount")
        ]

    def __str__(self) -> str:
        return self.item
