"""The overview of the interventions: one person's history across every component, and
the figures at a glance on the interventions home page.

The history reads one query per component whatever its length (awareness events
with their facilitators, enrolments, loans, savings memberships, activities,
education support, school terms, participation, follow-up visits), for a person
the actor may see (`registry.selectors.person_get`, which audits the read).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import (
    RECORD_INTERVENTIONS,
    VIEW_AGGREGATES,
)
from ctip.core import audit
from ctip.geography.models import Area
from ctip.registry import selectors as registry_selectors
from ctip.registry.models import Person

from ..iga import gross_margin_expression, money
from ..models import (
    Component,
    EducationSupport,
    Enrolment,
    EnrolmentStatus,
    EventAttendance,
    FollowUp,
    FollowUpStatus,
    IncomeActivity,
    LedgerEntry,
    LedgerKind,
    Loan,
    LoanStatus,
    Participant,
    Repayment,
    SavingsMember,
    SchoolTerm,
    Topic,
)
from . import cells
from . import followups as followup_selectors
from . import summary as summary_selectors
from .loans import portfolio_by_area, with_arrears

MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=18, decimal_places=2)
CENT = Decimal("0.01")
# A follow-up finding readable only with the right to see sensitive outcomes.
SENSITIVE_SITUATIONS = followup_selectors.SENSITIVE_SITUATIONS


def maybe_url(name: str, *args: Any) -> str | None:
    """The URL of a page, or None while the page does not exist (components are built
    one by one: the overview links only to what is there)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def first_url(names: Iterable[str], *args: Any) -> str | None:
    for name in names:
        url = maybe_url(name, *args)
        if url:
            return url
    return None


def _who(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def _amount(value: Any) -> str:
    """An amount as the API gives it: a decimal string with two places."""
    return str(Decimal(value).quantize(CENT))


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


@dataclass(frozen=True)
class Fact:
    """One thing said about an item: a machine key, a label and a value (as the API
    gives it) with its text as shown."""

    key: str
    label: str
    value: Any
    text: str


@dataclass
class HistoryItem:
    component: str
    kind: str  # attendance, enrolment, loan, household_loan, savings, iga, ...
    on: dt.date
    until: dt.date | None
    title: str
    status: str  # machine value ("" when none)
    status_label: str
    place: str
    area_code: str
    by: str
    object_type: str
    object_id: int
    url: str | None = None
    facts: list[Fact] = field(default_factory=list)

    @property
    def component_label(self) -> str:
        return str(Component(self.component).label) if self.component else _("Follow-up")

    def fact(self, key: str, label: str, value: Any, text: str | None = None) -> None:
        if value in (None, "", []):
            return
        self.facts.append(Fact(key, label, value, str(value) if text is None else text))


@dataclass
class Dosage:
    """How much of each component a person received: the counts a later analysis
    relates to migration outcomes."""

    awareness_events: int = 0
    courses: int = 0
    courses_completed: int = 0
    loans: int = 0
    household_loans: int = 0
    savings_groups: int = 0
    activities: int = 0
    education_supports: int = 0
    school_terms: int = 0
    participation_events: int = 0
    follow_ups_done: int = 0
    follow_ups_due: int = 0

    def rows(self) -> list[tuple[str, str, int]]:
        return [
            ("awareness_events", _("Awareness events attended"), self.awareness_events),
            ("courses", _("Courses enrolled in"), self.courses),
            ("courses_completed", _("Courses completed"), self.courses_completed),
            ("loans", _("Loans as borrower"), self.loans),
            ("household_loans", _("Other loans to the household"), self.household_loans),
            ("savings_groups", _("Savings groups"), self.savings_groups),
            ("activities", _("Income-generating activities"), self.activities),
            ("education_supports", _("Education support"), self.education_supports),
            ("school_terms", _("School terms recorded"), self.school_terms),
            ("participation_events", _("Participation events"), self.participation_events),
            ("follow_ups_done", _("Follow-up visits made"), self.follow_ups_done),
            ("follow_ups_due", _("Follow-up visits due"), self.follow_ups_due),
        ]


@dataclass
class History:
    person: Person
    today: dt.date
    items: list[HistoryItem]
    dosage: Dosage
    # Whether sensitive findings were shown (then the read of them is audited too).
    shows_sensitive: bool = False
    masked: int = 0
    actor: Any = field(default=None, repr=False)

    def by_component(self) -> dict[str, list[HistoryItem]]:
        out: dict[str, list[HistoryItem]] = {}
        for item in self.items:
            out.setdefault(item.component, []).append(item)
        return out


# --------------------------------------------------------------------------------------
# One loader per component: (person, today) -> items, in one query (two for awareness:
# its facilitators come with a prefetch).

_Loader = Callable[[Person, dt.date, "History"], list[HistoryItem]]


def _topics(codes: list[str]) -> str:
    labels = dict(Topic.choices)
    return ", ".join(str(labels.get(c, c)) for c in codes or [])


def _awareness(person: Person, today: dt.date, history: History) -> list[HistoryItem]:
    rows = (
        EventAttendance.objects.filter(person=person)
        .select_related("event__village", "event__created_by", "recorded_by")
        .prefetch_related(Prefetch("event__facilitators"))
        .order_by("event__held_on", "id")
    )
    items = []
    for a in rows:
        e = a.event
        facilitators = ", ".join(_who(u) for u in e.facilitators.all())
        item = HistoryItem(
            component=Component.AWARENESS,
            kind="attendance",
            on=e.held_on,
            until=None,
            title=e.title,
            status="attended",
            status_label=_("Attended"),
            place=", ".join(x for x in (e.location, e.village.name) if x),
            area_code=e.village.code,
            by=facilitators or _who(e.created_by) or _who(a.recorded_by),
            object_type="interventions.awarenessevent",
            object_id=e.pk,
            url=first_url(("interventions:awareness-event-detail",), e.pk),
        )
        item.fact("event_kind", _("Type"), e.kind, str(e.get_kind_display()))
        item.fact("topics", _("Topics"), list(e.topics or []), _topics(e.topics))
        items.append(item)
    history.dosage.awareness_events = len(items)
    return items


def _training(person: Person, today: dt.date, history: History) -> list[HistoryItem]:
    rows = (
        Enrolment.objects.filter(person=person)
        .select_related("course__area", "created_by")
        .annotate(
            sessions_present=Count("attendance", filter=Q(attendance__present=True)),
            sessions_recorded=Count("attendance"),
        )
        .order_by("enrolled_on", "id")
    )
    items = []
    for e in rows:
        c = e.course
        until = e.completed_on or e.dropped_on or c.ends_on
        item = HistoryItem(
            component=Component.TRAINING,
            kind="enrolment",
            on=e.enrolled_on,
            until=until,
            title=f"{c.title} ({c.trade})",
            status=e.status,
            status_label=str(e.get_status_display()),
            place=", ".join(x for x in (c.location, c.area.name) if x),
            area_code=c.area.code,
            by=", ".join(x for x in (c.provider, _who(e.created_by)) if x),
            object_type="interventions.enrolment",
            object_id=e.pk,
            url=first_url(("interventions:course-detail",), c.pk),
        )
        item.fact("completed_on", _("Completed on"), _day(e.completed_on))
        item.fact("dropped_on", _("Dropped out on"), _day(e.dropped_on))
        item.fact("drop_reason", _("Reason for dropping out"), e.drop_reason)
        if e.status == EnrolmentStatus.COMPLETED:
            item.fact(
                "certificate",
                _("Certificate"),
                e.certificate,
                (e.certificate_number or _("awarded")) if e.certificate else _("none"),
            )
        if e.sessions_recorded:
            item.fact(
                "sessions_present",
                _("Sessions attended"),
                e.sessions_present,
                _("%(present)s of %(recorded)s recorded")
                % {"present": e.sessions_present, "recorded": e.sessions_recorded},
            )
        items.append(item)
    history.dosage.courses = len(items)
    history.dosage.courses_completed = sum(
        1 for i in items if i.status == EnrolmentStatus.COMPLETED
    )
    return items


def _loans(person: Person, today: dt.date, history: History) -> list[HistoryItem]:
    principal_repaid = (
        Repayment.objects.filter(loan=OuterRef("pk"), paid_on__lte=today)
        .order_by()
        .values("loan")
        .annotate(total=Sum("principal_part"))
        .values("total")
    )
    rows = (
        with_arrears(
            Loan.objects.filter(Q(person=person) | Q(household_id=person.household_id)),
            today,
        )
        .annotate(
            principal_repaid=Coalesce(
                Subquery(principal_repaid, output_field=MONEY),
                Value(Decimal(0)),
                output_field=MONEY,
            )
        )
        .select_related("product", "person", "created_by")
        .order_by("disbursed_on", "id")
    )
    items = []
    for ln in rows:
        own = ln.person_id == person.pk
        outstanding = (
            ln.principal - ln.principal_repaid if ln.status == LoanStatus.ACTIVE else Decimal(0)
        )
        title = ln.product.name
        if not own:
            borrower = ln.person.full_name if ln.person else _("the household")
            title = _("%(product)s (household loan, borrower: %(borrower)s)") % {
                "product": title,
                "borrower": borrower,
            }
        item = HistoryItem(
            component=Component.LOAN,
            kind="loan" if own else "household_loan",
            on=ln.disbursed_on,
            until=ln.closed_on,
            title=title,
            status=ln.status,
            status_label=str(ln.get_status_display()),
            place="",
            area_code="",
            by=_who(ln.created_by),
            object_type="interventions.loan",
            object_id=ln.pk,
            url=first_url(("interventions:loan-detail",), ln.pk),
        )
        item.fact(
            "principal", _("Principal"), _amount(ln.principal), money(ln.principal, ln.currency)
        )
        item.fact("currency", _("Currency"), ln.currency)
        item.fact("purpose", _("Purpose"), ln.purpose)
        item.fact(
            "outstanding_principal",
            _("Principal outstanding"),
            _amount(outstanding),
            money(outstanding, ln.currency),
        )
        overdue_on = ln.oldest_overdue_on  # type: ignore[attr-defined]
        if overdue_on and ln.status == LoanStatus.ACTIVE:
            item.fact(
                "amount_overdue",
                _("In arrears"),
                _amount(ln.amount_overdue),  # type: ignore[attr-defined]
                money(ln.amount_overdue, ln.currency),  # type: ignore[attr-defined]
            )
            days = (today - overdue_on).days
            item.fact("days_overdue", _("Days overdue"), days, str(days))
        if ln.written_off_amount:
            item.fact(
                "written_off_amount",
                _("Principal written off"),
                _amount(ln.written_off_amount),
                money(ln.written_off_amount, ln.currency),
            )
        items.append(item)
    history.dosage.loans = sum(1 for i in items if i.kind == "loan")
    history.dosage.household_loans = sum(1 for i in items if i.kind == "household_loan")
    return items


def _savings(person: Person, today: dt.date, history: History) -> list[HistoryItem]:
    shares = (
        LedgerEntry.objects.filter(member=OuterRef("pk"), kind=LedgerKind.SHARES)
        .order_by()
        .values("member")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    rows = (
        SavingsMember.objects.filter(person=person)
        .select_related("group__village")
        .annotate(
            saved=Coalesce(
                Subquery(shares, output_field=MONEY), Value(Decimal(0)), output_field=MONEY
            )
        )
        .order_by("joined_on", "id")
    )
    items = []
    for mbr in rows:
        g = mbr.group
        item = HistoryItem(
            component=Component.SAVINGS,
            kind="savings",
            on=mbr.joined_on,
            until=mbr.left_on,
            title=g.name,
            status=mbr.role,
            status_label=str(mbr.get_role_display()),
            place=g.village.name,
            area_code=g.village.code,
            by="",
            object_type="interventions.savingsmember",
            object_id=mbr.pk,
            url=first_url(("interventions:savings-detail",), g.pk),
        )
        item.fact("left_on", _("Left on"), _day(mbr.left_on))
        item.fact(
            "shares_bought",
            _("Shares bought"),
            _amount(mbr.saved),
            money(mbr.saved, g.currency),
        )
        items.append(item)
    history.dosage.savings_groups = len(items)
    return items


def _igas(person: Person, today: dt.date, history: History) -> list[HistoryItem]:
    rows = (
        IncomeActivity.objects.filter(
            Q(person=person) | Q(household_id=person.household_id, person__isnull=True)
        )
        .select_related("benchmark", "created_by")
        .annotate(margin=gross_margin_expression())
        .order_by("created_at", "id")
    )
    items = []
    for a in rows:
        item = HistoryItem(
            component=Component.IGA,
            kind="iga" if a.person_id == person.pk else "household_iga",
            on=a.started_on or timezone.localtime(a.created_at).date(),
            until=None,
            title=f"{a.title} ({a.get_sector_display()})",
            status=a.status,
            status_label=str(a.get_status_display()),
            place="",
            area_code="",
            by=_who(a.created_by),
            object_type="interventions.incomeactivity",
            object_id=a.pk,
            url=first_url(("interventions:iga-detail",), a.pk),
        )
        margin = Decimal(a.margin).quantize(CENT)
        item.fact(
            "gross_margin", _("Gross margin a month"), _amount(margin), money(margin, a.currency)
        )
        item.fact("currency", _("Currency"), a.currency)
        b = a.benchmark
        if b is not None:
            net = b.monthly_wage - b.monthly_costs
            item.fact(
                "benchmark_net",
                _("Migrating to %(destination)s (%(sector)s), net a month")
                % {"destination": b.destination, "sector": b.get_sector_display()},
                _amount(net),
                money(net, b.currency),
            )
        items.append(item)
    history.dosage.activities = len(items)
    return items


def _education(person: Person, today: dt.date, history: History) -> list[HistoryItem]:
    items = []
    for s in (
        EducationSupport.objects.filter(person=person)
        .select_related("created_by")
        .order_by("starts_on", "id")
    ):
        item = HistoryItem(
            component=Component.EDUCATION,
            kind="education_support",
            on=s.starts_on,
            until=s.ends_on,
            title=str(s.get_kind_display()),
            status=s.kind,
            status_label=str(s.get_kind_display()),
            place=s.school_name,
            area_code="",
            by=", ".join(x for x in (s.provider, _who(s.created_by)) if x),
            object_type="interventions.educationsupport",
            object_id=s.pk,
            url=first_url(("interventions:education-support-detail",), s.pk),
        )
        item.fact("grade", _("Grade"), s.grade)
        if s.amount is not None:
            item.fact("amount", _("Value"), _amount(s.amount), money(s.amount, s.currency))
        items.append(item)
    history.dosage.education_supports = len(items)
    return items


def _school_terms(person: Person, today: dt.date, history: History) -> list[HistoryItem]:
    items = []
    for t in (
        SchoolTerm.objects.filter(person=person)
        .select_related("recorded_by")
        .order_by("school_year", "term")
    ):
        status = "dropped_out" if t.dropped_out else "enrolled" if t.enrolled else "not_enrolled"
        labels = {
            "dropped_out": _("Dropped out"),
            "enrolled": _("Enrolled"),
            "not_enrolled": _("Not enrolled"),
        }
        item = HistoryItem(
            component=Component.EDUCATION,
            kind="school_term",
            on=t.recorded_at.date(),
            until=None,
            title=_("School year %(year)s, term %(term)s")
            % {"year": t.school_year, "term": t.term},
            status=status,
            status_label=str(labels[status]),
            place=t.school_name,
            area_code="",
            by=_who(t.recorded_by),
            object_type="interventions.schoolterm",
            object_id=t.pk,
            url=first_url(("interventions:education-child",), person.pk),
        )
        item.fact("school_year", _("School year"), t.school_year)
        item.fact("grade", _("Grade"), t.grade)
        if t.days_possible:
            item.fact(
                "days_attended",
                _("Days attended"),
                t.days_attended,
                _("%(attended)s of %(possible)s")
                % {
                    "attended": t.days_attended if t.days_attended is not None else "?",
                    "possible": t.days_possible,
                },
            )
        item.fact("dropout_reason", _("Reason for dropping out"), t.dropout_reason)
        items.append(item)
    history.dosage.school_terms = len(items)
    return items


def _participation(person: Person, today: dt.date, history: History) -> list[HistoryItem]:
    rows = (
        Participant.objects.filter(person=person)
        .select_related("event__group", "event__area", "event__created_by", "recorded_by")
        .annotate(recommendations=Count("event__recommendations"))
        .order_by("event__held_on", "id")
    )
    items = []
    for p in rows:
        e = p.event
        item = HistoryItem(
            component=Component.PARTICIPATION,
            kind="participation",
            on=e.held_on,
            until=None,
            title=e.title + (f" ({e.group.name})" if e.group else ""),
            status=p.role,
            status_label=str(p.get_role_display()),
            place=e.area.name,
            area_code=e.area.code,
            by=_who(e.created_by) or _who(p.recorded_by),
            object_type="interventions.participationevent",
            object_id=e.pk,
            url=first_url(("interventions:participation-event-detail",), e.pk),
        )
        item.fact("event_kind", _("Type"), e.kind, str(e.get_kind_display()))
        item.fact("summary", _("What they decided or reported"), e.summary)
        item.fact("monitored_activity", _("Activity monitored"), e.monitored_activity)
        item.fact("recommendations", _("Recommendations"), p.recommendations or None)
        items.append(item)
    history.dosage.participation_events = len(items)
    return items


def _follow_ups(person: Person, today: dt.date, history: History) -> list[HistoryItem]:
    # What a visit found, as the actor may read it: "migrated" for both ways of
    # migrating without the right to see sensitive outcomes in the person's area.
    situations = followup_selectors.Situations(history.actor)
    village = person.household.village
    items = []
    for f in (
        FollowUp.objects.filter(person=person)
        .select_related("assigned_to", "visited_by")
        .order_by("due_on", "id")
    ):
        overdue = f.status == FollowUpStatus.DUE and f.due_on < today
        item = HistoryItem(
            component=f.component,
            kind="follow_up",
            on=f.visited_on or f.due_on,
            until=None,
            title=_("Follow-up visit: %(component)s") % {"component": f.get_component_display()}
            + (
                " " + _("(%(months)s months after)") % {"months": f.months_after}
                if f.months_after
                else ""
            ),
            status="overdue" if overdue else f.status,
            status_label=str(_("Overdue")) if overdue else str(f.get_status_display()),
            place="",
            area_code="",
            by=_who(f.visited_by or f.assigned_to),
            object_type="interventions.followup",
            object_id=f.pk,
            url=first_url(("interventions:followup-detail",), f.pk),
        )
        item.fact("due_on", _("Due on"), _day(f.due_on))
        if f.situation:
            shown = situations.value(f, village=village)
            item.fact("situation", _("Situation"), shown, followup_selectors.situation_label(shown))
        if f.monthly_income is not None:
            item.fact(
                "monthly_income",
                _("Monthly income"),
                _amount(f.monthly_income),
                money(f.monthly_income, f.currency),
            )
        item.fact("outcome", _("What was found"), f.outcome)
        items.append(item)
    history.masked += situations.masked
    history.shows_sensitive = history.shows_sensitive or bool(situations.shown)
    history.dosage.follow_ups_done = sum(1 for i in items if i.status == FollowUpStatus.DONE)
    history.dosage.follow_ups_due = sum(1 for i in items if i.status in ("due", "overdue"))
    return items


LOADERS: list[_Loader] = [
    _awareness,
    _training,
    _loans,
    _savings,
    _igas,
    _education,
    _school_terms,
    _participation,
    _follow_ups,
]


def person_history(actor: Any, pk: int, *, today: dt.date | None = None) -> History:
    """Everything a person received, oldest first, with the dosage per component. 404
    (as for the person page) when the person is not there or outside the actor's
    areas; the read is audited."""
    person = registry_selectors.person_get(actor, pk)
    history = History(
        person=person, today=today or timezone.localdate(), items=[], dosage=Dosage(), actor=actor
    )
    for load in LOADERS:
        history.items.extend(load(person, history.today, history))
    history.items.sort(key=lambda i: (i.on, i.component, i.object_id))
    if history.shows_sensitive:
        audit.record(
            actor=actor,
            action="read",
            obj=person,
            changes={"sensitive": ["follow-up situation"]},
        )
    return history


# --------------------------------------------------------------------------------------
# The home page's figures.


@dataclass
class HomeFigures:
    year_start: dt.date
    today: dt.date
    # Persons reached this year by any component / by each, in the actor's areas
    # (None when hidden as a small count, or when the actor may not see figures).
    reach: int | None = None
    reach_by_component: list[tuple[str, str, int | None]] = field(default_factory=list)
    suppressed: bool = False
    par30: list[tuple[str, Decimal | None, Decimal | None]] = field(default_factory=list)
    overdue_in_areas: int | None = None
    overdue_mine: int | None = None
    due_mine: int | None = None
    shows_figures: bool = False
    records: bool = False


def home_figures(actor: Any, *, today: dt.date | None = None) -> HomeFigures:
    """This year's reach, PAR30 (per currency) and overdue follow-ups in the areas the
    actor sees figures for, and the visits assigned to the actor."""
    today = today or timezone.localdate()
    out = HomeFigures(year_start=today.replace(month=1, day=1), today=today)
    if access.has_permission(actor, VIEW_AGGREGATES):
        out.shows_figures = True
        paths = access.scope_paths(actor, VIEW_AGGREGATES)
        # Small counts are hidden unless the actor sees the persons of every area.
        out.suppressed = not cells.ExactScope(actor).covers_all(paths)
        scope = summary_selectors.Scope(tuple(paths))
        by_component: dict[str, int] = {}
        for component, _k, _s, _b, n in summary_selectors.reach_rows(scope, out.year_start, today):
            by_component[component] = by_component.get(component, 0) + n

        def shown(n: int) -> int | None:
            return cells.small(n) if out.suppressed else n

        out.reach = shown(by_component.get(summary_selectors.ANY, 0))
        out.reach_by_component = [
            (code, summary_selectors.component_label(code), shown(by_component.get(code, 0)))
            for code in summary_selectors.COMPONENTS
        ]
        overdue = sum(
            o for _k, _d, o, _done in summary_selectors.follow_up_rows(scope, None, today, today)
        )
        out.overdue_in_areas = shown(overdue)
        areas = (
            list(Area.objects.filter(parent__isnull=True))
            if paths == ["/"]
            else list(Area.objects.filter(path__in=paths))
        )
        totals: dict[str, list[Any]] = {}
        for f in portfolio_by_area(areas, as_of=today):
            acc = totals.setdefault(f.currency, [0, Decimal(0), Decimal(0)])
            acc[0] += f.active_loans
            acc[1] += f.outstanding_principal
            acc[2] += f.at_risk_principal
        for currency, (n, outstanding, at_risk) in sorted(totals.items()):
            # The amounts of fewer than 5 loans would tell a borrower's loan.
            if shown(n) is None:
                out.par30.append((currency, None, None))
            else:
                out.par30.append(
                    (currency, (at_risk / outstanding) if outstanding else None, outstanding)
                )
    if access.has_permission(actor, RECORD_INTERVENTIONS) and getattr(actor, "pk", None):
        mine = FollowUp.objects.filter(assigned_to_id=actor.pk, status=FollowUpStatus.DUE)
        counts = mine.aggregate(due=Count("id"), overdue=Count("id", filter=Q(due_on__lt=today)))
        out.due_mine, out.overdue_mine = counts["due"], counts["overdue"]
        out.records = True
    return out
