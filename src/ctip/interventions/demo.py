"""Demo interventions for the demo programme: what the registry's demo persons received
over the 18 months before `as_of`.

Per commune of the demo villages: awareness events with attendance (about a fifth
of the young) and, in some villages, a large event counted by sex and age band; a
course or more with enrolments (the approved entries of the demo's vocational
training list first), completions, certificates and visits 3, 6 and 12 months on;
loans with their schedule (`schedule.build_schedule`), repayments on time, late and
in arrears, a few written off; savings groups with monthly meetings and a ledger
that balances (shares, social fund, loans from the fund with interest, a share-out
at the end of a cycle); income-generating activities with their costs, compared
with a migration wage benchmark; education support with school terms; a club or
forum with events, participants and recommendations; follow-up visits done,
missed, due and overdue. Plus a materials library with reviews.

Only persons with consent for services receive individual help; persons whose
registration consent was withdrawn are left out altogether. Deterministic for a
seed, size and `as_of` over the same registry and assessments (one random stream
per commune, seeded by its official code, never by row ids), set-based
(bulk inserts per commune, memory flat), and recorded with one audit event.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from django.db import reset_queries, transaction
from django.db.models import Q
from django.utils import timezone

from ctip.core import audit
from ctip.core.actors import SYSTEM
from ctip.core.models import AuditEvent
from ctip.geography.models import Area
from ctip.registry.consent import has_consent
from ctip.registry.demo import DEMO_PROVINCES, SIZE_SPECS, DemoDataError
from ctip.registry.models import ConsentPurpose, Household, Person
from ctip.registry.selectors import restricted
from ctip.vulnerability.models import Decision, TargetingEntry, TargetingList

from .dates import add_months
from .followup_plans import load_default_plans
from .models import (
    LEDGER_OUT,
    ActivityCost,
    ActivityStatus,
    AwarenessEvent,
    Component,
    CostKind,
    Course,
    CourseSession,
    CourseStatus,
    EducationSupport,
    Enrolment,
    EnrolmentStatus,
    EventAttendance,
    EventHeadcount,
    EventKind,
    FollowUp,
    FollowUpStatus,
    Frequency,
    GroupKind,
    IncomeActivity,
    Installment,
    LedgerEntry,
    LedgerKind,
    Loan,
    LoanProduct,
    LoanStatus,
    Material,
    MaterialKind,
    MaterialReview,
    MemberRole,
    MigrationBenchmark,
    Participant,
    ParticipantRole,
    ParticipationEvent,
    ParticipationEventKind,
    ParticipationGroup,
    Recommendation,
    RecommendationStatus,
    Repayment,
    ReviewerKind,
    SavingsGroup,
    SavingsMeeting,
    SavingsMember,
    SchoolTerm,
    SessionAttendance,
    Situation,
    SupportKind,
    Topic,
    age_band_for,
)
from .schedule import build_schedule

ACTION = "demo.interventions"
WINDOW_DAYS = 540  # the programme's last 18 months
PAR_DAYS = dt.timedelta(days=30)  # past due beyond this, a loan is at risk (PAR30)
LOCAL_CURRENCY = {"KH": "KHR", "VN": "VND"}
# Rough exchange rates for the demo's benchmarks and prices (local units per dollar).
PER_USD = {"KHR": Decimal(4100), "VND": Decimal(25400), "USD": Decimal(1)}
ONE = Decimal(1)


@dataclass(frozen=True)
class Rates:
    """How much of each component the demo gives, as shares of those eligible."""

    awareness_youth: float  # of persons aged 10-24
    headcount_villages: float  # villages with a large event counted without names
    training_youth: float  # of persons aged 15-24 with consent for services
    loan_households: float
    savings_villages: float
    iga_households: float  # activities without a loan, on top of those a loan finances
    education_children: float  # of children aged 6-17 with consent for services
    participation_communes: float


RATES = {
    # The small demo is for looking around: more of everything per person.
    "small": Rates(0.25, 0.5, 0.25, 0.08, 0.35, 0.03, 0.08, 1.0),
    "large": Rates(0.20, 0.3, 0.03, 0.025, 0.25, 0.008, 0.025, 0.9),
}


# --------------------------------------------------------------------------------------
# Small helpers.


def _age(born: dt.date | None, day: dt.date) -> int | None:
    if born is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _day_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    if end <= start:
        return start
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def _at(day: dt.date, hour: int = 9) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def _round_to(amount: Decimal, step: int) -> Decimal:
    return (amount / step).quantize(ONE, rounding=ROUND_HALF_UP) * step


def _local(usd: float | Decimal, currency: str, step: int | None = None) -> Decimal:
    """A dollar amount in the record's currency, rounded to a sensible step."""
    amount = Decimal(str(usd)) * PER_USD[currency]
    if currency == "USD":
        return amount.quantize(Decimal("0.01"))
    return _round_to(amount, step or (100 if currency == "KHR" else 1000))


def _count(rng: random.Random, expected: float) -> int:
    """A whole number with the given expectation (stochastic rounding)."""
    whole = math.floor(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


@dataclass(slots=True)
class P:
    """A demo person, as read for the generator."""

    id: int
    household: int
    village: int
    sex: str
    born: dt.date | None
    school: str
    relationship: str
    poverty: str
    services: bool


@dataclass
class Village:
    area: Area
    start: dt.date
    end: dt.date
    persons: list[P] = field(default_factory=list)

    @property
    def country(self) -> str:
        return self.area.country


@dataclass
class Out:
    """Rows made for one commune, inserted parents first."""

    events: list[AwarenessEvent] = field(default_factory=list)
    attendance: list[tuple[int, int, dt.datetime]] = field(default_factory=list)  # event#, person
    event_materials: list[tuple[int, int]] = field(default_factory=list)  # event#, material id
    headcounts: list[tuple[int, str, str, int]] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# Reference data: benchmarks, loan products, materials.


def _benchmark_specs() -> list[tuple[str, str, str, Decimal, Decimal, str]]:
    """Migration wage benchmarks in the records' own currencies (approximate monthly
    figures for illustration: a wage and the living costs a migrant pays there)."""
    specs: list[tuple[str, str, str, float, float, list[str]]] = [
        ("Bangkok, Thailand", "TH", "construction", 330, 120, ["KHR"]),
        ("Chanthaburi, Thailand", "TH", "agriculture", 260, 90, ["KHR"]),
        ("Samut Sakhon, Thailand", "TH", "factory", 350, 130, ["KHR"]),
        ("Penang, Malaysia", "MY", "factory", 400, 150, ["KHR", "VND"]),
        ("Phnom Penh garment factory", "KH", "factory", 250, 110, ["KHR"]),
        ("Ho Chi Minh City", "VN", "factory", 300, 160, ["VND"]),
    ]
    out = []
    for destination, country, sector, wage, costs, currencies in specs:
        for currency in currencies:
            step = 10_000 if currency == "KHR" else 100_000
            out.append(
                (
                    destination,
                    country,
                    sector,
                    _local(wage, currency, step),
                    _local(costs, currency, step),
                    currency,
                )
            )
    return out


def _ensure_benchmarks(as_of: dt.date) -> dict[str, list[MigrationBenchmark]]:
    existing = list(MigrationBenchmark.objects.filter(active=True))
    if not existing:
        existing = MigrationBenchmark.objects.bulk_create(
            MigrationBenchmark(
                destination=destination,
                destination_country=country,
                sector=sector,
                monthly_wage=wage,
                monthly_costs=costs,
                currency=currency,
                source="Demo figure: approximate, for illustration only",
                valid_from=as_of.replace(month=1, day=1) - dt.timedelta(days=365),
            )
            for destination, country, sector, wage, costs, currency in _benchmark_specs()
        )
    by_currency: dict[str, list[MigrationBenchmark]] = defaultdict(list)
    for b in sorted(existing, key=lambda b: (b.currency, b.destination, b.sector, b.pk)):
        by_currency[b.currency].append(b)
    return by_currency


# code, name, currency, method, yearly rate, term, frequency, grace, min, max
PRODUCTS = [
    ("demo-kh-business", "Small business loan (riel)", "KHR", "declining", "18", 12, "monthly", 0,
     400_000, 8_000_000),
    ("demo-kh-flat", "Farm inputs loan, flat (riel)", "KHR", "flat", "15", 6, "monthly", 0,
     300_000, 3_000_000),
    ("demo-kh-youth", "Youth start-up loan (riel)", "KHR", "declining", "12", 12, "monthly", 2,
     400_000, 4_000_000),
    ("demo-vn-business", "Household business loan (dong)", "VND", "declining", "9.6", 12,
     "monthly", 0, 5_000_000, 50_000_000),
    ("demo-vn-weekly", "Market traders' weekly loan (dong)", "VND", "flat", "12", 26, "weekly", 0,
     2_000_000, 15_000_000),
]  # fmt: skip


def _ensure_products() -> dict[str, LoanProduct]:
    made = {p.code: p for p in LoanProduct.objects.filter(code__startswith="demo-")}
    missing = [
        LoanProduct(
            code=code,
            name=name,
            currency=currency,
            method=method,
            annual_rate=Decimal(rate),
            term=term,
            frequency=frequency,
            grace=grace,
            min_principal=Decimal(low),
            max_principal=Decimal(high),
        )
        for code, name, currency, method, rate, term, frequency, grace, low, high in PRODUCTS
        if code not in made
    ]
    for p in LoanProduct.objects.bulk_create(missing):
        made[p.code] = p
    return made


MATERIALS = [
    ("Know before you go: safe migration steps", "leaflet", "km", ["youth", "parents"],
     ["safe_migration_steps", "legal_channels"], "Ministry of Labour and Vocational Training"),
    ("Hotline 1280: who to call for help", "poster", "km", ["community"], ["hotlines"],
     "National Committee for Counter Trafficking"),
    ("My rights at work in Thailand", "booklet", "km", ["youth"], ["rights_at_work"],
     "Migrant workers' resource centre"),
    ("The broker's promise", "video", "km", ["youth", "children"],
     ["unsafe_migration_risks"], "Community theatre group"),
    ("Sing it safe", "song", "km", ["children"], ["unsafe_migration_risks", "hotlines"],
     "Provincial Department of Education"),
    ("Safe migration board game", "game", "km", ["children", "youth"],
     ["safe_migration_steps", "child_rights"], "Youth club network"),
    ("Di cư an toàn: những điều cần biết", "leaflet", "vi", ["youth", "parents"],
     ["safe_migration_steps", "legal_channels"], "Sở Lao động - Thương binh và Xã hội"),
    ("Đường dây nóng 111", "poster", "vi", ["community"], ["hotlines", "child_rights"],
     "Tổng đài quốc gia bảo vệ trẻ em"),
    ("Lời hứa của môi giới", "radio_spot", "vi", ["community"], ["unsafe_migration_risks"],
     "Đài phát thanh tỉnh"),
    ("Working abroad legally", "booklet", "en", ["youth", "leaders"],
     ["legal_channels", "rights_at_work"], "ILO"),
]  # fmt: skip

REVIEW_NOTES = [
    ("The steps are in the order people follow them.", "Add the hotline on every page."),
    ("Children remembered the chorus a week later.", "Too long for a school session."),
    ("Clear pictures; works for people who do not read.", "The phone numbers are out of date."),
    ("Real stories from returnees.", "Some words are hard for younger children."),
    ("Tells where to get a passport and how much it costs.", "No referral information."),
]


def _ensure_materials(rng: random.Random, start: dt.date, end: dt.date) -> list[Material]:
    existing = list(Material.objects.filter(description__startswith="Demo:").order_by("id"))
    if existing:
        return existing
    made = Material.objects.bulk_create(
        Material(
            title=title,
            kind=kind,
            language=language,
            audiences=audiences,
            topics=topics,
            agency=agency,
            version=f"{rng.randint(1, 3)}.{rng.randint(0, 4)}",
            description=f"Demo: {MaterialKind(kind).label} for {', '.join(audiences)}.",
        )
        for title, kind, language, audiences, topics, agency in MATERIALS
    )
    reviews = []
    for material in made:
        for _ in range(rng.randint(2, 6)):
            who = rng.choices(
                [ReviewerKind.STAFF, ReviewerKind.CHILD, ReviewerKind.YOUTH], [4, 2, 3]
            )[0]
            base = rng.randint(2, 5)
            scores = {
                c: max(1, min(5, base + rng.choice([-1, 0, 0, 1])))
                for c in (
                    "accuracy",
                    "practical_guidance",
                    "referral_information",
                    "age_appropriate",
                    "language",
                )
            }
            best, comment = rng.choice(REVIEW_NOTES)
            reviews.append(
                MaterialReview(
                    material=material,
                    reviewer_kind=who,
                    reviewer_sex=rng.choice(["female", "male"]) if who != "staff" else "",
                    reviewer_age=rng.randint(10, 14)
                    if who == "child"
                    else rng.randint(15, 24)
                    if who == "youth"
                    else None,
                    reviewed_on=_day_between(rng, start, end),
                    best_elements=best,
                    comments=comment,
                    **scores,
                )
            )
    MaterialReview.objects.bulk_create(reviews)
    return made


# --------------------------------------------------------------------------------------
# What each component looks like.

EVENT_TITLES: dict[str, str] = {
    EventKind.VILLAGE_MEETING: "Safe migration: know before you go",
    EventKind.SCHOOL_SESSION: "What brokers do not tell you",
    EventKind.PEER_EDUCATION: "Peer talk: working abroad legally",
    EventKind.DOOR_TO_DOOR: "Door-to-door visits: hotline and documents",
    EventKind.CULTURAL: "Theatre evening: the broker's promise",
    EventKind.RADIO_TV: "Radio call-in: your rights at work",
}
EVENT_KINDS = [
    (EventKind.VILLAGE_MEETING, 35),
    (EventKind.SCHOOL_SESSION, 30),
    (EventKind.PEER_EDUCATION, 15),
    (EventKind.DOOR_TO_DOOR, 10),
    (EventKind.CULTURAL, 10),
]
PLACES = ["Pagoda hall", "Primary school", "Village chief's house", "Commune hall", "Market"]

TRADES = [
    ("Motorbike repair", "male"),
    ("Hairdressing and beauty", "female"),
    ("Sewing and tailoring", "female"),
    ("Cooking for restaurants", ""),
    ("Electrical wiring", "male"),
    ("Vegetable growing with drip irrigation", ""),
    ("Computer skills", ""),
    ("Welding", "male"),
]
PROVIDERS = {
    "KH": ["Provincial Training Centre", "Don Bosco Technical School", "Youth skills NGO"],
    "VN": ["Trung tâm Giáo dục nghề nghiệp huyện", "Trường Cao đẳng nghề tỉnh", "Hội LHPN tỉnh"],
}
DROP_REASONS = [
    "Left to work in Thailand",
    "Needed at home for the harvest",
    "Too far to travel every day",
    "Got married",
    "Found a job",
]

# Situations at follow-ups after training, with their chances.
SITUATIONS = [
    (Situation.EMPLOYED_LOCALLY, 34),
    (Situation.SELF_EMPLOYED, 24),
    (Situation.MIGRATED_SAFELY, 12),
    (Situation.MIGRATED_UNSAFELY, 5),
    (Situation.UNEMPLOYED, 19),
    (Situation.IN_SCHOOL, 6),
]

# title, sector, unit, price, volume, variable costs per unit, fixed a month, investment
# (money in dollars; converted to the record's currency).
Costs = list[tuple[str, float]]
ACTIVITIES: list[tuple[str, str, str, float, int, Costs, Costs, Costs]] = [
    ("Chicken raising", "livestock", "chicken", 6.0, 40, [("Feed", 2.2), ("Vaccines", 0.25)],
     [("Transport to market", 10)], [("Coop and drinkers", 180), ("Chicks", 60)]),
    ("Pig fattening", "livestock", "pig", 190, 2, [("Piglet", 70), ("Feed", 80)],
     [("Vet visits", 8)], [("Pen", 350)]),
    ("Motorbike repair shop", "services", "repair", 3.7, 120, [("Spare parts", 1.5)],
     [("Rent", 25), ("Electricity", 6)], [("Tools and compressor", 380)]),
    ("Tailoring", "services", "garment", 5.0, 60, [("Thread and buttons", 0.4)],
     [("Rent", 12)], [("Sewing machine", 290)]),
    ("Hair salon", "services", "haircut", 2.0, 200, [("Shampoo and products", 0.3)],
     [("Rent", 35), ("Water and power", 8)], [("Chairs, mirrors, tools", 250)]),
    ("Vegetable growing", "agriculture", "kg", 0.6, 420, [("Seeds and fertiliser", 0.18)],
     [("Pump fuel", 15)], [("Drip irrigation kit", 150)]),
    ("Grocery stall", "trade", "basket of goods", 2.5, 320, [("Goods bought in", 2.0)],
     [("Market fee", 10)], [("Shelves and first stock", 220)]),
    ("Fish raising", "fishing", "kg", 2.2, 150, [("Fingerlings and feed", 1.1)],
     [("Pond upkeep", 12)], [("Pond and net", 480)]),
]  # fmt: skip

SUPPORT_KINDS = [
    (SupportKind.SCHOLARSHIP, 40, 60),  # kind, weight, value in dollars a year
    (SupportKind.MATERIALS, 20, 15),
    (SupportKind.UNIFORM, 15, 12),
    (SupportKind.TRANSPORT, 10, 55),
    (SupportKind.CATCH_UP, 10, 0),
    (SupportKind.NON_FORMAL, 5, 0),
]
MONITORED = [
    "The commune's safe-migration information desk",
    "Road safety on the way to school",
    "Whether the village chief shares the hotline number",
    "Children working in the brick kiln",
]
RECOMMENDATIONS = [
    ("Put the hotline number on the school gate", "School director"),
    ("Hold the safe-migration talk after the harvest, when youth are home", "Commune council"),
    ("Street lights on the road to the lower secondary school", "Commune council"),
    ("A girls' football team so girls have a reason to stay in school", "Youth club"),
    ("Tell parents how much a passport really costs", "District labour office"),
]


# --------------------------------------------------------------------------------------
# Follow-up visits.


def _visits(
    rng: random.Random,
    *,
    person: int,
    component: str,
    reference: dt.date,
    months: Iterable[int],
    as_of: dt.date,
    closed_on: dt.date | None = None,
    situation: Callable[[int], str] | None = None,
    income: Callable[[str], Decimal | None] | None = None,
    currency: str = "",
    overdue_share: float = 0.1,
    **links: Any,
) -> list[FollowUp]:
    out = []
    for n in months:
        due = add_months(reference, n)
        f = FollowUp(
            person_id=person,
            component=component,
            due_on=due,
            months_after=n,
            status=FollowUpStatus.DUE,
            created_at=_at(min(reference, as_of)),
            **links,
        )
        if closed_on is not None and due > closed_on:
            f.status = FollowUpStatus.CANCELLED
            f.outcome = "No longer needed: closed before the visit fell due."
        elif due <= as_of:
            r = rng.random()
            if r < overdue_share:
                pass  # still due: overdue
            elif r < overdue_share + 0.05:
                f.status = FollowUpStatus.MISSED
                f.outcome = rng.choice(
                    ["Nobody at home twice.", "Moved to another village.", "Away for work."]
                )
            else:
                f.status = FollowUpStatus.DONE
                f.visited_on = min(as_of, due + dt.timedelta(days=rng.randint(0, 12)))
                f.situation = situation(n) if situation else ""
                value = income(f.situation) if income else None
                if value is not None:
                    f.monthly_income, f.currency = value, currency
                f.outcome = rng.choice(
                    [
                        "Doing well.",
                        "Needs advice on selling.",
                        "Family supports the plan.",
                        "Asked about the next course.",
                    ]
                )
        out.append(f)
    return out


def _situation(rng: random.Random) -> Callable[[int], str]:
    """Situations of one trainee at 3, 6 and 12 months: the same more often than not."""
    first = rng.choices([s for s, _w in SITUATIONS], [w for _s, w in SITUATIONS])[0]
    state = {"now": first}

    def at(months: int) -> str:
        if months > 3 and rng.random() < 0.3:
            state["now"] = rng.choices([s for s, _w in SITUATIONS], [w for _s, w in SITUATIONS])[0]
        return state["now"]

    return at


# --------------------------------------------------------------------------------------
# The generator.


def _previous_run() -> dict[str, Any] | None:
    event = AuditEvent.objects.filter(action=ACTION).order_by("-id").first()
    if event is None:
        return None
    return {k: v.get("after") if isinstance(v, dict) else v for k, v in event.changes.items()}


def already_generated() -> dict[str, Any] | None:
    """The counts of the demo interventions already in the database, or None."""
    previous = _previous_run()
    if previous and AwarenessEvent.objects.filter(notes__startswith="Demo").exists():
        return previous
    return None


def _demo_villages(as_of: dt.date) -> dict[int, list[Village]]:
    """The villages holding demo households, by commune id, each with the 18 months
    before as_of (or before the unit ceased to exist) it gets interventions in."""
    prefixes = Q()
    for p in DEMO_PROVINCES:
        prefixes |= Q(code__startswith=p.code_prefix)
    ids = Household.objects.filter(prefixes).values_list("village_id", flat=True).distinct()
    by_commune: dict[int, list[Village]] = defaultdict(list)
    for area in Area.objects.filter(pk__in=list(ids)).select_related("parent").order_by("path"):
        end = min(as_of, area.valid_to or as_of)
        start = end - dt.timedelta(days=WINDOW_DAYS)
        if area.valid_from and area.valid_from > start:
            start = area.valid_from
        if start >= end:
            continue
        by_commune[area.parent_id or area.pk].append(Village(area, start, end))
    return by_commune


PERSON_FIELDS = (
    "id",
    "household_id",
    "household__village_id",
    "sex",
    "date_of_birth",
    "school_status",
    "relationship",
    "household__poverty_status",
    "services",
)


def _load_persons(villages: list[Village]) -> None:
    by_id = {v.area.pk: v for v in villages}
    rows = (
        Person.objects.filter(household__village_id__in=list(by_id), merged_into__isnull=True)
        .exclude(restricted())
        .annotate(services=has_consent(ConsentPurpose.SERVICES))
        .order_by("id")
        .values_list(*PERSON_FIELDS)
    )
    for row in rows:
        by_id[row[2]].persons.append(P(*row))


def generate_interventions(
    *,
    seed: int,
    as_of: dt.date,
    size: str,
    progress: Callable[[int], Any] | None = None,
) -> dict[str, int]:
    """Generate the demo interventions (nothing if they are there already: their counts
    are returned). Raises DemoDataError without demo persons."""
    if size not in SIZE_SPECS:
        raise DemoDataError(f"Unknown size {size}.")
    previous = already_generated()
    if previous is not None:
        return {k: int(v) for k, v in previous.items() if isinstance(v, int)}
    villages = _demo_villages(as_of)
    if not villages:
        raise DemoDataError("No demo households yet: run “ctip demo-data” first.")
    rates = RATES[size]
    counts: dict[str, int] = defaultdict(int)
    with transaction.atomic():
        load_default_plans()
        rng = random.Random(f"ctip-demo-interventions-{size}-{seed}")
        start = as_of - dt.timedelta(days=WINDOW_DAYS)
        materials = _ensure_materials(rng, start, as_of)
        counts["materials"] = len(materials)
        counts["material_reviews"] = MaterialReview.objects.filter(material__in=materials).count()
        gen = _Generator(
            seed=seed,
            size=size,
            as_of=as_of,
            rates=rates,
            counts=counts,
            materials=[m.pk for m in materials],
            products=_ensure_products(),
            benchmarks=_ensure_benchmarks(as_of),
        )
        gen.prepare_targeting()
        for commune_id in sorted(villages):
            group = villages[commune_id]
            _load_persons(group)
            gen.commune(commune_id, group)
            persons = sum(len(v.persons) for v in group)
            group.clear()
            # With DEBUG on, Django keeps every query's SQL: drop it so memory stays flat.
            reset_queries()
            if progress:
                progress(persons)
        gen.flush_training()
        summary = {"size": size, "seed": seed, "as_of": as_of.isoformat(), **dict(counts)}
        audit.record(
            actor=SYSTEM,
            action=ACTION,
            object_type="interventions.demo",
            object_id=f"{size}-{seed}",
            object_repr=f"demo interventions {size}, seed {seed}",
            changes=audit.diff(None, summary),
        )
    return dict(counts)


@dataclass
class _Generator:
    seed: int
    size: str
    as_of: dt.date
    rates: Rates
    counts: dict[str, int]
    materials: list[int]
    products: dict[str, LoanProduct]
    benchmarks: dict[str, list[MigrationBenchmark]]
    # The vocational training list's approved entries, by person, and its commune.
    entries: dict[int, int] = field(default_factory=dict)
    list_area: Area | None = None
    list_id: int | None = None
    showcase_commune: int | None = None
    course_no: int = 0
    # Trainees waiting for their district's courses: (district, country, persons, villages).
    pool: Any = ()

    # --- the committee's list ------------------------------------------------------

    def prepare_targeting(self) -> None:
        """The demo's vocational training list: if its committee has not decided yet,
        record that it approved the top two thirds of those with consent for services
        (the rest stay to decide, for the demo). Approved persons are enrolled first."""
        tl = (
            TargetingList.objects.filter(assistance_type__code="vocational-training")
            .select_related("area")
            .order_by("created_at", "id")
            .first()
        )
        if tl is None:
            return
        self.list_area, self.list_id = tl.area, tl.pk
        self.showcase_commune = tl.area.pk if tl.area.level == "commune" else None
        entries = list(
            tl.entries.filter(has_consent(ConsentPurpose.SERVICES, "person_id")).order_by("rank")
        )
        if not tl.entries.exclude(decision=Decision.PENDING).exists() and entries:
            approve = entries[: max(1, math.ceil(len(entries) * 2 / 3))]
            TargetingEntry.objects.filter(pk__in=[e.pk for e in approve]).update(
                decision=Decision.APPROVED,
                decided_at=_at(min(self.as_of, tl.as_of)),
            )
            if tl.meeting_on is None:
                TargetingList.objects.filter(pk=tl.pk).update(meeting_on=min(self.as_of, tl.as_of))
            self.counts["targeting_approved"] = len(approve)
        approved = tl.entries.filter(decision=Decision.APPROVED).order_by("rank")
        self.entries = {e.person_id: e.pk for e in approved}

    # --- one commune -----------------------------------------------------------------

    def commune(self, commune_id: int, villages: list[Village]) -> None:
        # The first village's official code, not its path: paths are made of row ids,
        # which differ between databases.
        code = f"{villages[0].area.country}-{villages[0].area.code}"
        rng = random.Random(f"ctip-demo-interventions-{self.size}-{self.seed}-{code}")
        out = Out()
        self.awareness(rng, villages, out)
        self.training(rng, commune_id, villages, out)
        iga_for = self.loans(rng, villages, out)
        self.savings(rng, villages, out)
        self.igas(rng, villages, iga_for, out)
        self.education(rng, villages, out)
        self.participation(rng, commune_id, villages, out)
        if commune_id == self.showcase_commune:
            self.showcase(rng, villages, out)
        self.flush(out)

    def flush(self, out: Out) -> None:
        FollowUp.objects.bulk_create(out.follow_ups, batch_size=2000)
        self._count_visits(out.follow_ups)

    def _count_visits(self, visits: list[FollowUp]) -> None:
        self.counts["follow_ups"] += len(visits)
        self.counts["follow_ups_overdue"] += sum(
            1 for f in visits if f.status == FollowUpStatus.DUE and f.due_on < self.as_of
        )

    # --- awareness ---------------------------------------------------------------------

    def awareness(self, rng: random.Random, villages: list[Village], out: Out) -> None:
        events: list[AwarenessEvent] = []
        plan: list[tuple[int, list[int]]] = []  # (event index, persons)
        counts: list[tuple[int, list[tuple[str, str, int]]]] = []
        for v in villages:
            youth = [
                p for p in v.persons if (a := _age(p.born, v.end)) is not None and 10 <= a <= 24
            ]
            reached = [p for p in youth if rng.random() < self.rates.awareness_youth]
            visits = [(p.id, rng.choice([1, 1, 1, 2, 2, 3])) for p in reached]
            n_events = max(1, math.ceil(sum(n for _p, n in visits) / rng.randint(18, 30)))
            first = len(events)
            for _ in range(n_events if reached else 0):
                kind = rng.choices([k for k, _w in EVENT_KINDS], [w for _k, w in EVENT_KINDS])[0]
                events.append(self._event(rng, v, kind))
            members: dict[int, list[int]] = defaultdict(list)
            for person, n in visits:
                for i in rng.sample(range(n_events), min(n, n_events)):
                    members[first + i].append(person)
            plan.extend(members.items())
            if rng.random() < self.rates.headcount_villages:
                kind = rng.choice([EventKind.RADIO_TV, EventKind.CULTURAL])
                events.append(self._event(rng, v, kind))
                # Some of the village's people by sex and age band, without names.
                present: dict[tuple[str, str], int] = defaultdict(int)
                for p in v.persons:
                    present[p.sex, age_band_for(_age(p.born, v.end))] += 1
                cells = []
                for (sex, band), n in sorted(present.items()):
                    if band in ("12-14", "15-17", "18-24", "25+"):
                        share = rng.uniform(0.1, 0.5) if band != "25+" else rng.uniform(0.05, 0.2)
                        if k := round(n * share):
                            cells.append((sex, band, k))
                counts.append((len(events) - 1, cells))
        made = AwarenessEvent.objects.bulk_create(events)
        EventAttendance.objects.bulk_create(
            (
                EventAttendance(
                    event_id=made[i].pk, person_id=p, recorded_at=_at(made[i].held_on, 17)
                )
                for i, persons in plan
                for p in persons
            ),
            batch_size=5000,
        )
        EventHeadcount.objects.bulk_create(
            EventHeadcount(event_id=made[i].pk, sex=sex, age_band=band, count=n)
            for i, cells in counts
            for sex, band, n in cells
        )
        through = AwarenessEvent.materials.through
        through.objects.bulk_create(
            through(awarenessevent_id=e.pk, material_id=m)
            for e in made
            for m in rng.sample(self.materials, rng.randint(0, 2))
        )
        self.counts["awareness_events"] += len(made)
        self.counts["attendance"] += sum(len(p) for _i, p in plan)
        self.counts["headcount_people"] += sum(n for _i, cells in counts for _s, _b, n in cells)

    def _event(self, rng: random.Random, v: Village, kind: str) -> AwarenessEvent:
        held = _day_between(rng, v.start, v.end)
        topics = rng.sample(
            [
                Topic.UNSAFE_MIGRATION_RISKS,
                Topic.SAFE_MIGRATION_STEPS,
                Topic.HOTLINES,
                Topic.RIGHTS_AT_WORK,
                Topic.LEGAL_CHANNELS,
                Topic.CHILD_RIGHTS,
            ],
            rng.randint(1, 3),
        )
        return AwarenessEvent(
            held_on=held,
            village_id=v.area.pk,
            kind=kind,
            title=EVENT_TITLES[kind],
            topics=[str(t) for t in topics],
            location="Provincial radio" if kind == EventKind.RADIO_TV else rng.choice(PLACES),
            notes="Demo event.",
            created_at=_at(held, 18),
        )

    # --- training ----------------------------------------------------------------------

    def training(
        self, rng: random.Random, commune_id: int, villages: list[Village], out: Out
    ) -> None:
        """Trainees of the commune: the committee's approved persons (half of them in a
        course running now in the commune, half left for the officer to enrol, for the
        demo's walk-through) and a share of the young with consent for services, who
        join courses run for their district."""
        country = villages[0].country
        end = max(v.end for v in villages)
        candidates = [
            p
            for v in villages
            for p in v.persons
            if p.services and (a := _age(p.born, end)) is not None and 15 <= a <= 24
        ]
        listed = [p for p in candidates if p.id in self.entries]
        others = [p for p in candidates if p.id not in self.entries]
        n_others = _count(rng, len(others) * self.rates.training_youth)
        province = villages[0].area.path.strip("/").split("/")[1]
        if self.pool and self.pool[0] != province:
            self.flush_training()
        if not self.pool:
            self.pool = (province, country, [], [])
        paths = {v.area.pk: v.area.path for v in villages}
        self.pool[2].extend(
            (paths[p.village], p) for p in rng.sample(others, min(n_others, len(others)))
        )
        self.pool[3].extend(villages)
        if listed:
            half = listed[: math.ceil(len(listed) / 2)]
            course = self._course(rng, commune_id, country, self.as_of - dt.timedelta(days=30))
            course.ends_on = max(course.ends_on, self.as_of + dt.timedelta(days=30))
            course.status = CourseStatus.RUNNING
            course.targeting_list_id = self.list_id
            self._train(rng, [(course, half, True)], out.follow_ups)

    def flush_training(self) -> None:
        """Courses for the trainees gathered in one province, 12 to 24 a course, each
        for the smallest area its trainees live in (neighbours train together)."""
        if not self.pool:
            return
        province, country, trainees, villages = self.pool
        self.pool = ()
        if not trainees:
            return
        rng = random.Random(f"ctip-demo-training-{self.size}-{self.seed}-{province}")
        start = min(v.start for v in villages)
        latest = max(v.end for v in villages) - dt.timedelta(days=20)
        trainees = sorted(trainees, key=lambda t: (t[0], t[1].id))
        courses = []
        while trainees:
            size = rng.randint(12, 24)
            group, trainees = trainees[:size], trainees[size:]
            if 0 < len(trainees) < 6:  # no course of a handful: join the last one
                group, trainees = group + trainees, []
            shared = [x.split("/") for x in (group[0][0], group[-1][0])]
            common = [a for a, b in zip(*shared, strict=False) if a == b and a]
            starts = _day_between(rng, start, latest)
            course = self._course(rng, int(common[-1]), country, starts)
            courses.append((course, [p for _path, p in group], False))
        visits: list[FollowUp] = []
        self._train(rng, courses, visits)
        FollowUp.objects.bulk_create(visits, batch_size=2000)
        self._count_visits(visits)

    def _train(
        self,
        rng: random.Random,
        courses: list[tuple[Course, list[P], bool]],
        visits: list[FollowUp],
    ) -> None:
        made = Course.objects.bulk_create([c for c, _g, _l in courses])
        enrolments: list[Enrolment] = []
        for course, (_c, group, from_list) in zip(made, courses, strict=True):
            for p in group:
                enrolments.append(self._enrolment(rng, course, p, from_list))
        Enrolment.objects.bulk_create(enrolments, batch_size=2000)
        self._sessions(rng, made, enrolments)
        currency = {c.pk: LOCAL_CURRENCY["KH" if c.currency == "USD" else "VN"] for c in made}
        for e in enrolments:
            if e.status == EnrolmentStatus.COMPLETED and e.completed_on:
                visits.extend(
                    _visits(
                        rng,
                        person=e.person_id,
                        component=Component.TRAINING,
                        reference=e.completed_on,
                        months=(3, 6, 12),
                        as_of=self.as_of,
                        situation=_situation(rng),
                        income=self._income(rng, currency[e.course_id], 90, 220),
                        currency=currency[e.course_id],
                        enrolment_id=e.pk,
                    )
                )
        self.counts["courses"] += len(made)
        self.counts["enrolments"] += len(enrolments)
        self.counts["enrolments_completed"] += sum(
            1 for e in enrolments if e.status == EnrolmentStatus.COMPLETED
        )

    def _course(self, rng: random.Random, area_id: int, country: str, starts: dt.date) -> Course:
        trade, _sex = rng.choice(TRADES)
        self.course_no += 1
        weeks = rng.choice([8, 10, 12, 13])
        currency = "USD" if country == "KH" else "VND"
        ends = starts + dt.timedelta(weeks=weeks)
        return Course(
            title=f"{trade} ({starts:%B %Y})",
            trade=trade,
            provider=rng.choice(PROVIDERS[country]),
            area_id=area_id,
            location=rng.choice(["Commune hall", "Provider's workshop", "District town"]),
            starts_on=starts,
            ends_on=ends,
            sessions_planned=weeks * 2,
            capacity=25,
            cost_per_trainee=_local(rng.choice([150, 220, 280, 350]), currency, 10_000),
            currency=currency,
            status=CourseStatus.RUNNING if ends > self.as_of else CourseStatus.FINISHED,
            created_at=_at(starts - dt.timedelta(days=21)),
        )

    def _enrolment(self, rng: random.Random, course: Course, p: P, from_list: bool) -> Enrolment:
        enrolled = min(self.as_of, course.starts_on - dt.timedelta(days=rng.randint(0, 14)))
        e = Enrolment(
            course_id=course.pk,
            person_id=p.id,
            targeting_entry_id=self.entries.get(p.id) if from_list else None,
            enrolled_on=enrolled,
            created_at=_at(enrolled),
        )
        finished = course.ends_on <= self.as_of
        r = rng.random()
        if r < 0.11:
            dropped = _day_between(rng, course.starts_on, min(course.ends_on, self.as_of))
            e.status, e.dropped_on = EnrolmentStatus.DROPPED_OUT, dropped
            e.drop_reason = rng.choice(DROP_REASONS)
        elif finished:
            e.status, e.completed_on = EnrolmentStatus.COMPLETED, course.ends_on
            if rng.random() < 0.92:
                self.counts["certificates"] += 1
                e.certificate = True
                e.certificate_number = f"C-{course.area_id}-{course.pk}-{p.id}"
        return e

    def _sessions(
        self, rng: random.Random, courses: list[Course], enrolments: list[Enrolment]
    ) -> None:
        by_course: dict[int, list[Enrolment]] = defaultdict(list)
        for e in enrolments:
            by_course[e.course_id].append(e)
        sessions = []
        for c in courses:
            span = (c.ends_on - c.starts_on).days
            for i in range(c.sessions_planned):
                day = c.starts_on + dt.timedelta(days=span * i // max(1, c.sessions_planned))
                if day <= self.as_of:
                    sessions.append(
                        CourseSession(course_id=c.pk, held_on=day, topic=f"Unit {i + 1}")
                    )
        made = CourseSession.objects.bulk_create(sessions, batch_size=2000)
        rows = []
        for s in made:
            for e in by_course[s.course_id]:
                if e.dropped_on is not None and s.held_on > e.dropped_on:
                    continue
                rows.append(
                    SessionAttendance(
                        session_id=s.pk,
                        enrolment_id=e.pk,
                        present=rng.random() < 0.88,
                        recorded_at=_at(s.held_on, 16),
                    )
                )
        SessionAttendance.objects.bulk_create(rows, batch_size=5000)

    def _income(
        self, rng: random.Random, currency: str, low: int, high: int
    ) -> Callable[[str], Decimal | None]:
        def income(situation: str) -> Decimal | None:
            if situation not in (Situation.EMPLOYED_LOCALLY, Situation.SELF_EMPLOYED):
                return None
            return _local(rng.randint(low, high), currency)

        return income

    # --- loans -------------------------------------------------------------------------

    def loans(self, rng: random.Random, villages: list[Village], out: Out) -> list[tuple[P, Loan]]:
        """Loans to households (the borrower an adult with consent for services); returns
        the (borrower, loan) pairs that finance an activity."""
        specs: list[tuple[P, Village, LoanProduct, Decimal, dt.date, str]] = []
        for v in villages:
            households: dict[int, list[P]] = defaultdict(list)
            for p in v.persons:
                households[p.household].append(p)
            for members in households.values():
                if rng.random() >= self.rates.loan_households:
                    continue
                adults = [
                    p
                    for p in members
                    if p.services and (a := _age(p.born, v.end)) is not None and 18 <= a <= 60
                ]
                if not adults:
                    continue
                borrower = rng.choice(adults)
                product = self._product(rng, v.country, _age(borrower.born, v.end) or 30)
                low = int(product.min_principal or 0)
                high = int(product.max_principal or low * 10)
                step = 100_000 if product.currency == "KHR" else 1_000_000
                principal = _round_to(Decimal(rng.uniform(low, high * 0.6)), step)
                principal = max(Decimal(low), principal)
                disbursed = _day_between(rng, v.start, v.end - dt.timedelta(days=10))
                behaviour = rng.choices(["good", "late", "arrears"], [74, 16, 10])[0]
                specs.append((borrower, v, product, principal, disbursed, behaviour))
        if not specs:
            return []
        loans, schedules = [], []
        for borrower, _v, product, principal, disbursed, _b in specs:
            schedule = build_schedule(
                principal=principal,
                annual_rate=product.annual_rate,
                term=product.term,
                frequency=product.frequency,
                method=product.method,
                grace=product.grace,
                currency=product.currency,
                start=disbursed,
            )
            schedules.append(schedule)
            loans.append(
                Loan(
                    product_id=product.pk,
                    household_id=borrower.household,
                    person_id=borrower.id,
                    principal=principal,
                    currency=product.currency,
                    method=product.method,
                    annual_rate=product.annual_rate,
                    term=product.term,
                    frequency=product.frequency,
                    grace=product.grace,
                    disbursed_on=disbursed,
                    purpose=rng.choice(
                        [
                            "Pigs",
                            "Seeds and fertiliser",
                            "A sewing machine",
                            "Stock for a shop",
                            "Tools for a repair shop",
                            "Fishing nets",
                        ]
                    ),
                    created_at=_at(disbursed),
                )
            )
        made = Loan.objects.bulk_create(loans)
        installments: list[Installment] = []
        repayments: list[Repayment] = []
        financed: list[tuple[P, Loan]] = []
        for loan, schedule, (borrower, _v, _p, _pr, _d, behaviour) in zip(
            made, schedules, specs, strict=True
        ):
            lines, pays = self._repay(rng, loan, schedule.installments, behaviour)
            installments.extend(lines)
            repayments.extend(pays)
            self._close(rng, loan, lines, behaviour)
            monthly = loan.frequency == Frequency.MONTHLY
            span = (
                range(1, loan.term + 1) if monthly else range(1, math.ceil(loan.term * 7 / 30) + 1)
            )
            out.follow_ups.extend(
                _visits(
                    rng,
                    person=borrower.id,
                    component=Component.LOAN,
                    reference=loan.disbursed_on,
                    months=span,
                    as_of=self.as_of,
                    closed_on=loan.closed_on,
                    overdue_share=0.25 if behaviour == "arrears" else 0.08,
                    loan_id=loan.pk,
                )
            )
            if rng.random() < 0.5:
                financed.append((borrower, loan))
        Installment.objects.bulk_create(installments, batch_size=5000)
        Repayment.objects.bulk_create(repayments, batch_size=5000)
        Loan.objects.bulk_update(
            [x for x in made if x.status != LoanStatus.ACTIVE],
            ["status", "closed_on", "written_off_amount", "write_off_reason"],
        )
        self.counts["loans"] += len(made)
        self.counts["installments"] += len(installments)
        self.counts["repayments"] += len(repayments)
        self.counts["loans_written_off"] += sum(
            1 for x in made if x.status == LoanStatus.WRITTEN_OFF
        )
        return financed

    def _product(self, rng: random.Random, country: str, age: int) -> LoanProduct:
        if country == "VN":
            return self.products[
                rng.choice(["demo-vn-business", "demo-vn-business", "demo-vn-weekly"])
            ]
        if age <= 24:
            return self.products["demo-kh-youth"]
        return self.products[rng.choice(["demo-kh-business", "demo-kh-business", "demo-kh-flat"])]

    def _repay(
        self, rng: random.Random, loan: Loan, lines: Sequence[Any], behaviour: str
    ) -> tuple[list[Installment], list[Repayment]]:
        """The schedule as instalments, with what the borrower paid against them: on
        time (a day or two either side), sometimes late, or stopping at some point and
        maybe paying part of the next instalment."""
        stop = len(lines) + 1
        if behaviour == "arrears":
            # Stop at an instalment more than 30 days past due where there is one, so
            # the loan is in arrears by the portfolio's definition (PAR30).
            late = [line.number for line in lines if line.due_date < self.as_of - PAR_DAYS]
            stop = rng.choice(late) if late else rng.randint(1, max(1, len(lines) - 1))
        installments = []
        repayments = []
        for line in lines:
            inst = Installment(
                loan_id=loan.pk,
                number=line.number,
                due_on=line.due_date,
                principal=line.principal,
                interest=line.interest,
                total=line.total,
                balance=line.balance,
            )
            installments.append(inst)
            if line.due_date > self.as_of + dt.timedelta(days=3) or line.number > stop:
                continue
            if line.number == stop:
                # In arrears: part of this instalment, interest first, then nothing more.
                if rng.random() < 0.5 and line.due_date <= self.as_of:
                    part = (line.total * Decimal(rng.choice(["0.3", "0.5"]))).quantize(
                        Decimal("1") if loan.currency != "USD" else Decimal("0.01")
                    )
                    interest = min(part, line.interest)
                    principal = part - interest
                    inst.interest_paid, inst.principal_paid = interest, principal
                    paid_on = min(self.as_of, line.due_date + dt.timedelta(days=rng.randint(0, 10)))
                    repayments.append(
                        Repayment(
                            loan_id=loan.pk,
                            paid_on=paid_on,
                            amount=part,
                            principal_part=principal,
                            interest_part=interest,
                            note="Part payment",
                            recorded_at=_at(paid_on, 15),
                        )
                    )
                continue
            delay = rng.randint(-3, 2)
            if behaviour == "late" and rng.random() < 0.35:
                delay = rng.randint(5, 45)
            paid_on = line.due_date + dt.timedelta(days=delay)
            paid_on = max(paid_on, loan.disbursed_on)
            if paid_on > self.as_of:
                continue
            inst.principal_paid, inst.interest_paid, inst.paid_on = (
                line.principal,
                line.interest,
                paid_on,
            )
            repayments.append(
                Repayment(
                    loan_id=loan.pk,
                    paid_on=paid_on,
                    amount=line.total,
                    principal_part=line.principal,
                    interest_part=line.interest,
                    note="Late" if delay > 3 else "",
                    recorded_at=_at(paid_on, 15),
                )
            )
        return installments, repayments

    def _close(
        self, rng: random.Random, loan: Loan, lines: list[Installment], behaviour: str
    ) -> None:
        if all(x.paid_on is not None for x in lines):
            loan.status = LoanStatus.REPAID
            loan.closed_on = max(x.paid_on for x in lines if x.paid_on is not None)
            return
        unpaid = next(x for x in lines if x.paid_on is None)
        old = unpaid.due_on < self.as_of - dt.timedelta(days=180)
        if behaviour == "arrears" and old and rng.random() < 0.4:
            repaid = sum((x.principal_paid for x in lines), Decimal(0))
            loan.status = LoanStatus.WRITTEN_OFF
            loan.closed_on = min(self.as_of, unpaid.due_on + dt.timedelta(days=150))
            loan.written_off_amount = (loan.principal - repaid).quantize(Decimal("0.01"))
            loan.write_off_reason = rng.choice(
                [
                    "The borrower migrated to Thailand; the household cannot repay.",
                    "The pigs died of disease; the committee agreed to write off.",
                ]
            )

    # --- savings groups ----------------------------------------------------------------

    def savings(self, rng: random.Random, villages: list[Village], out: Out) -> None:
        for v in villages:
            if rng.random() >= self.rates.savings_villages:
                continue
            eligible = [
                p
                for p in v.persons
                if p.services and (a := _age(p.born, v.end)) is not None and 15 <= a <= 65
            ]
            if len(eligible) < 8:
                continue
            self._savings_group(rng, v, eligible, out)

    def _savings_group(self, rng: random.Random, v: Village, eligible: list[P], out: Out) -> None:
        currency = LOCAL_CURRENCY[v.country]
        share_value = Decimal(5000 if currency == "KHR" else 50_000)
        social = Decimal(1000 if currency == "KHR" else 10_000)
        unit = Decimal(100 if currency == "KHR" else 1000)
        formed = _day_between(rng, v.start, v.end - dt.timedelta(days=60))
        name = f"{v.area.name_en or v.area.name} savings group"
        group = SavingsGroup.objects.create(
            name=name[:200],
            village_id=v.area.pk,
            formed_on=formed,
            share_value=share_value,
            currency=currency,
            loan_rate=Decimal(rng.choice(["2", "2.5", "3"])),
            cycle_started_on=formed,
            created_at=_at(formed),
        )
        people = rng.sample(eligible, min(len(eligible), rng.randint(10, 22)))
        roles = [MemberRole.CHAIR, MemberRole.TREASURER, MemberRole.SECRETARY]
        members = SavingsMember.objects.bulk_create(
            SavingsMember(
                group_id=group.pk,
                person_id=p.id,
                role=roles[i] if i < len(roles) else MemberRole.MEMBER,
                joined_on=formed
                if i < len(people) * 0.8
                else min(v.end, add_months(formed, rng.randint(1, 3))),
            )
            for i, p in enumerate(people)
        )
        dates = []
        day = formed
        while day <= v.end:
            dates.append(day)
            day = add_months(formed, len(dates))
        meetings = SavingsMeeting.objects.bulk_create(
            SavingsMeeting(group_id=group.pk, held_on=d, notes="Monthly meeting") for d in dates
        )
        ledger: list[LedgerEntry] = []
        present_rows: list[tuple[int, int]] = []
        fund = Decimal(0)
        debts: dict[int, Decimal] = defaultdict(Decimal)
        shares: dict[int, int] = defaultdict(int)
        cycle_start = formed

        def entry(meeting: SavingsMeeting, member: SavingsMember | None, kind: str,
                  amount: Decimal, n: int | None = None, note: str = "") -> None:  # fmt: skip
            nonlocal fund
            ledger.append(
                LedgerEntry(
                    group_id=group.pk,
                    meeting_id=meeting.pk,
                    member_id=member.pk if member else None,
                    entry_on=meeting.held_on,
                    kind=kind,
                    amount=amount,
                    shares=n,
                    note=note,
                    recorded_at=_at(meeting.held_on, 11),
                )
            )
            fund += -amount if kind in LEDGER_OUT else amount

        for index, meeting in enumerate(meetings):
            current = [m for m in members if m.joined_on <= meeting.held_on]
            here = [m for m in current if rng.random() < 0.9]
            present_rows.extend((meeting.pk, m.pk) for m in here)
            cycle_end = index > 0 and index % 12 == 0
            for m in here:
                n = rng.randint(1, 5)
                shares[m.pk] += n
                entry(meeting, m, LedgerKind.SHARES, share_value * n, n)
                entry(meeting, m, LedgerKind.SOCIAL_FUND, social)
                if rng.random() < 0.04:
                    entry(meeting, m, LedgerKind.FINE, social, note="Late to the meeting")
            # Members with a loan repay a third of it (all of it at the end of a cycle),
            # with the month's interest.
            for m in current:
                owed = debts.get(m.pk, Decimal(0))
                if not owed or (m not in here and not cycle_end):
                    continue
                interest = _round_to(owed * group.loan_rate / 100, int(unit))
                back = owed if cycle_end else min(owed, _round_to(owed / 3, int(unit)) or owed)
                if interest:
                    entry(meeting, m, LedgerKind.LOAN_INTEREST, interest)
                entry(meeting, m, LedgerKind.LOAN_REPAYMENT, back)
                debts[m.pk] = owed - back
            if cycle_end:
                # Share-out: the whole fund back to members by shares, to the last riel.
                total = sum(shares.values())
                paid = Decimal(0)
                holders = sorted((m for m in members if shares[m.pk]), key=lambda m: m.pk)
                pot = fund
                for i, m in enumerate(holders):
                    # Rounded down, the last member taking what is left: exactly the fund.
                    part = (
                        pot - paid
                        if i == len(holders) - 1
                        else (pot * shares[m.pk] / total / unit).to_integral_value(ROUND_FLOOR)
                        * unit
                    )
                    if part > 0:
                        entry(meeting, m, LedgerKind.SHARE_OUT, part, note="Share-out")
                        paid += part
                shares.clear()
                cycle_start = add_months(meeting.held_on, 0) + dt.timedelta(days=1)
                continue
            if index % 4 == 3 and fund > social * 3 and rng.random() < 0.5:
                entry(meeting, None, LedgerKind.EXPENSE, min(fund, social * 2), note="Stationery")
            if here and rng.random() < 0.15 and fund > social * 10:
                m = rng.choice(here)
                entry(
                    meeting, m, LedgerKind.SOCIAL_PAYOUT, social * 8, note="Illness in the family"
                )
            # New loans from the fund, up to half of what is in it.
            for m in rng.sample(here, min(len(here), rng.randint(0, 3))):
                if debts.get(m.pk) or index >= len(meetings) - 1:
                    continue
                amount = _round_to(fund * Decimal(rng.uniform(0.1, 0.35)), int(unit))
                if amount <= 0 or amount > fund:
                    continue
                entry(meeting, m, LedgerKind.LOAN_OUT, amount)
                debts[m.pk] += amount
        LedgerEntry.objects.bulk_create(ledger, batch_size=5000)
        through = SavingsMeeting.present.through
        through.objects.bulk_create(
            through(savingsmeeting_id=meeting, savingsmember_id=member)
            for meeting, member in present_rows
        )
        if cycle_start != formed:
            SavingsGroup.objects.filter(pk=group.pk).update(cycle_started_on=cycle_start)
        for m in members:
            out.follow_ups.extend(
                _visits(
                    rng,
                    person=m.person_id,
                    component=Component.SAVINGS,
                    reference=m.joined_on,
                    months=(6,),
                    as_of=self.as_of,
                )
            )
        self.counts["savings_groups"] += 1
        self.counts["savings_members"] += len(members)
        self.counts["savings_meetings"] += len(meetings)
        self.counts["ledger_entries"] += len(ledger)

    # --- income-generating activities --------------------------------------------------

    def igas(
        self,
        rng: random.Random,
        villages: list[Village],
        financed: list[tuple[P, Loan]],
        out: Out,
    ) -> None:
        country = villages[0].country
        currency = LOCAL_CURRENCY[country]
        plans: list[tuple[P, dt.date | None, Loan | None]] = [
            (p, loan.disbursed_on + dt.timedelta(days=rng.randint(3, 20)), loan)
            for p, loan in financed
        ]
        for v in villages:
            for p in v.persons:
                a = _age(p.born, v.end)
                adult = p.services and a is not None and 18 <= a <= 50
                if adult and rng.random() < self.rates.iga_households / 3:
                    begun = _day_between(rng, v.start, v.end)
                    plans.append((p, None if rng.random() < 0.2 else begun, None))
        activities: list[IncomeActivity] = []
        costs: list[list[ActivityCost]] = []
        loans: list[Loan | None] = []
        for p, started, loan in plans:
            if started is not None and started > self.as_of:
                started = self.as_of
            title, sector, unit, price, volume, variable, fixed, investment = rng.choice(ACTIVITIES)
            scale = Decimal(str(round(rng.uniform(0.75, 1.3), 2)))
            planned_on = started or self.as_of - dt.timedelta(days=rng.randint(5, 60))
            status = ActivityStatus.PLANNED if started is None else ActivityStatus.RUNNING
            if started and started < self.as_of - dt.timedelta(days=300) and rng.random() < 0.1:
                status = ActivityStatus.STOPPED
            options = self.benchmarks.get(currency, [])
            activities.append(
                IncomeActivity(
                    household_id=p.household,
                    person_id=p.id,
                    title=title,
                    sector=sector,
                    started_on=started,
                    status=status,
                    unit=unit,
                    expected_price=_local(
                        price * float(scale), currency, 100 if currency == "KHR" else 1000
                    ),
                    expected_volume=Decimal(round(volume * float(rng.uniform(0.8, 1.2)))),
                    currency=currency,
                    benchmark_id=rng.choice(options).pk if options and rng.random() < 0.9 else None,
                    market_notes="Demo: prices asked at the district market; "
                    "two other sellers nearby.",
                    created_at=_at(planned_on - dt.timedelta(days=7)),
                )
            )
            lines = [
                ActivityCost(item=item, kind=CostKind.VARIABLE, amount=_local(usd, currency))
                for item, usd in variable
            ]
            lines += [
                ActivityCost(item=item, kind=CostKind.FIXED, amount=_local(usd, currency))
                for item, usd in fixed
            ]
            lines += [
                ActivityCost(item=item, kind=CostKind.INVESTMENT, amount=_local(usd, currency))
                for item, usd in investment
            ]
            costs.append(lines)
            loans.append(loan)
        if not activities:
            return
        made = IncomeActivity.objects.bulk_create(activities)
        rows = []
        for activity, lines in zip(made, costs, strict=True):
            for line in lines:
                line.activity_id = activity.pk
                rows.append(line)
        ActivityCost.objects.bulk_create(rows, batch_size=5000)
        lines_of: dict[int, list[ActivityCost]] = defaultdict(list)
        for line in rows:
            lines_of[line.activity_id].append(line)
        linked = []
        for activity, loan in zip(made, loans, strict=True):
            if loan is not None:
                loan.iga_id = activity.pk
                linked.append(loan)
            if activity.started_on is not None and activity.status != ActivityStatus.STOPPED:
                margin = self._margin(activity, lines_of[activity.pk])

                def income(_s: str, margin: Decimal = margin) -> Decimal | None:
                    value = margin * Decimal(str(round(rng.uniform(0.4, 1.3), 2)))
                    return max(Decimal(0), value.quantize(ONE))

                out.follow_ups.extend(
                    _visits(
                        rng,
                        person=activity.person_id or 0,
                        component=Component.IGA,
                        reference=activity.started_on,
                        months=(3, 6, 12),
                        as_of=self.as_of,
                        situation=lambda _n: Situation.SELF_EMPLOYED,
                        income=income,
                        currency=currency,
                        activity_id=activity.pk,
                    )
                )
        Loan.objects.bulk_update(linked, ["iga"])
        self.counts["igas"] += len(made)
        self.counts["iga_costs"] += len(rows)

    @staticmethod
    def _margin(activity: IncomeActivity, lines: list[ActivityCost]) -> Decimal:
        variable = sum((c.amount for c in lines if c.kind == CostKind.VARIABLE), Decimal(0))
        fixed = sum((c.amount for c in lines if c.kind == CostKind.FIXED), Decimal(0))
        volume = activity.expected_volume
        return activity.expected_price * volume - variable * volume - fixed

    # --- education ---------------------------------------------------------------------

    def education(self, rng: random.Random, villages: list[Village], out: Out) -> None:
        supports: list[EducationSupport] = []
        for v in villages:
            currency = LOCAL_CURRENCY[v.country]
            for p in v.persons:
                a = _age(p.born, v.end)
                if not p.services or a is None or not 6 <= a <= 17:
                    continue
                need = 1.0
                if p.school in ("at_risk", "dropped_out"):
                    need = 4.0
                if p.poverty in ("poor_1", "poor_2"):
                    need *= 2
                if rng.random() >= self.rates.education_children * need / 2:
                    continue
                supports.append(self._support(rng, v, p, currency))
        self._education_rows(rng, supports, out)

    def _support(self, rng: random.Random, v: Village, p: P, currency: str) -> EducationSupport:
        kinds = [k for k, _w, _u in SUPPORT_KINDS]
        kind = rng.choices(kinds, [w for _k, w, _u in SUPPORT_KINDS])[0]
        if p.school == "dropped_out" and rng.random() < 0.6:
            kind = rng.choice([SupportKind.CATCH_UP, SupportKind.NON_FORMAL])
        usd = dict((k, u) for k, _w, u in SUPPORT_KINDS)[kind]
        starts = _day_between(rng, v.start, v.end)
        age = _age(p.born, starts) or 10
        return EducationSupport(
            person_id=p.id,
            kind=kind,
            school_name=(
                "Catch-up class at the pagoda"
                if kind in (SupportKind.CATCH_UP, SupportKind.NON_FORMAL)
                else "Primary school"
                if age < 12
                else "Lower secondary school"
                if age < 15
                else "Upper secondary school"
            ),
            grade=str(max(1, min(12, age - 5))),
            starts_on=starts,
            ends_on=add_months(starts, 12) if kind == SupportKind.SCHOLARSHIP else None,
            amount=_local(usd, currency) if usd else None,
            currency=currency if usd else "",
            provider=rng.choice(
                ["Commune council", "Programme partner NGO", "School support committee"]
            ),
            created_at=_at(starts),
        )

    def _education_rows(
        self, rng: random.Random, supports: list[EducationSupport], out: Out
    ) -> None:
        if not supports:
            return
        made = EducationSupport.objects.bulk_create(supports)
        terms: list[SchoolTerm] = []
        seen: set[tuple[int, str, int]] = set()
        for s in made:
            dropped = False
            year = s.starts_on.year - (1 if s.starts_on.month < 9 else 0)
            for y in range(year, self.as_of.year + 1):
                for term, (month, length) in enumerate(((9, 100), (2, 95)), start=1):
                    begins = dt.date(y if term == 1 else y + 1, month, 1)
                    ends = begins + dt.timedelta(days=120)
                    if ends > self.as_of or ends < s.starts_on:
                        continue
                    school_year = f"{y}-{y + 1}"
                    if (s.person_id, school_year, term) in seen:
                        continue
                    seen.add((s.person_id, school_year, term))
                    out_now = dropped or rng.random() < 0.04
                    terms.append(
                        SchoolTerm(
                            person_id=s.person_id,
                            support_id=s.pk,
                            school_year=school_year,
                            term=term,
                            school_name=s.school_name,
                            grade=s.grade,
                            enrolled=not dropped,
                            days_attended=None
                            if dropped
                            else rng.randint(length * 7 // 10, length),
                            days_possible=None if dropped else length,
                            dropped_out=out_now and not dropped,
                            dropout_reason="Works on the family farm"
                            if out_now and not dropped
                            else "",
                            recorded_at=_at(ends),
                        )
                    )
                    dropped = out_now
            out.follow_ups.extend(
                _visits(
                    rng,
                    person=s.person_id,
                    component=Component.EDUCATION,
                    reference=s.starts_on,
                    months=(6, 12),
                    as_of=self.as_of,
                    situation=lambda _n: Situation.IN_SCHOOL,
                    education_support_id=s.pk,
                )
            )
        SchoolTerm.objects.bulk_create(terms, batch_size=5000)
        self.counts["education_supports"] += len(made)
        self.counts["school_terms"] += len(terms)

    # --- participation -----------------------------------------------------------------

    def participation(
        self, rng: random.Random, commune_id: int, villages: list[Village], out: Out
    ) -> None:
        if rng.random() >= self.rates.participation_communes:
            return
        start = min(v.start for v in villages)
        end = max(v.end for v in villages)
        kind = rng.choices(
            [GroupKind.CHILDRENS_CLUB, GroupKind.YOUTH_CLUB, GroupKind.FORUM], [4, 4, 2]
        )[0]
        low, high = {GroupKind.CHILDRENS_CLUB: (10, 17), GroupKind.YOUTH_CLUB: (15, 24)}.get(
            kind, (12, 24)
        )
        young = [
            p
            for v in villages
            for p in v.persons
            if p.services and (a := _age(p.born, end)) is not None and low <= a <= high
        ]
        if len(young) < 6:
            return
        # The group's members, who come to most of its events.
        members = rng.sample(young, min(len(young), rng.randint(8, 20)))
        commune = villages[0].area.parent
        place = (commune.name_en or commune.name) if commune else "Commune"
        group = ParticipationGroup.objects.create(
            name=f"{place} {GroupKind(kind).label.lower()}"[:200],
            kind=kind,
            area_id=commune_id,
            formed_on=start,
            created_at=_at(start),
        )
        self._participation_events(rng, group, commune_id, members, start, end, 3, 8)
        self.counts["participation_groups"] += 1

    def _participation_events(
        self,
        rng: random.Random,
        group: ParticipationGroup | None,
        area_id: int,
        young: list[P],
        start: dt.date,
        end: dt.date,
        low: int,
        high: int,
    ) -> list[ParticipationEvent]:
        kinds = [
            (ParticipationEventKind.CLUB_MEETING, 5),
            (ParticipationEventKind.FORUM, 2),
            (ParticipationEventKind.CULTURAL_EVENT, 2),
            (ParticipationEventKind.CHILD_LED_MONITORING, 2),
        ]
        events = []
        for _ in range(rng.randint(low, high)):
            kind = rng.choices([k for k, _w in kinds], [w for _k, w in kinds])[0]
            held = _day_between(rng, start, end)
            events.append(
                ParticipationEvent(
                    group_id=group.pk if group else None,
                    kind=kind,
                    held_on=held,
                    area_id=area_id,
                    title={
                        ParticipationEventKind.CLUB_MEETING: "Club meeting",
                        ParticipationEventKind.FORUM: "Commune children's forum",
                        ParticipationEventKind.CULTURAL_EVENT: "Drama on safe migration",
                        ParticipationEventKind.CHILD_LED_MONITORING: "Child-led monitoring visit",
                    }[kind],
                    summary=rng.choice(
                        [
                            "They asked why the hotline poster was taken down.",
                            "They reported two classmates who left for Thailand with a broker.",
                            "They agreed to run a drama at the pagoda festival.",
                            "They found the information desk closed on market days.",
                        ]
                    ),
                    monitored_activity=rng.choice(MONITORED)
                    if kind == ParticipationEventKind.CHILD_LED_MONITORING
                    else "",
                    created_at=_at(held, 17),
                )
            )
        made = ParticipationEvent.objects.bulk_create(events)
        participants, recommendations = [], []
        for e in made:
            chosen = rng.sample(young, round(len(young) * rng.uniform(0.6, 0.9)))
            for i, p in enumerate(chosen):
                role = (
                    ParticipantRole.LEADER
                    if i == 0
                    else ParticipantRole.SPEAKER
                    if i < 3
                    else ParticipantRole.PARTICIPANT
                )
                participants.append(
                    Participant(
                        event_id=e.pk, person_id=p.id, role=role, recorded_at=_at(e.held_on, 18)
                    )
                )
            if e.kind in (
                ParticipationEventKind.FORUM,
                ParticipationEventKind.CHILD_LED_MONITORING,
            ):
                for text, to in rng.sample(RECOMMENDATIONS, rng.randint(1, 2)):
                    status = rng.choices(
                        [
                            RecommendationStatus.OPEN,
                            RecommendationStatus.ACCEPTED,
                            RecommendationStatus.DONE,
                            RecommendationStatus.DECLINED,
                        ],
                        [3, 3, 3, 1],
                    )[0]
                    closed = status in (RecommendationStatus.DONE, RecommendationStatus.DECLINED)
                    recommendations.append(
                        Recommendation(
                            event_id=e.pk,
                            text=text,
                            addressed_to=to,
                            status=status,
                            response={
                                RecommendationStatus.OPEN: "",
                                RecommendationStatus.ACCEPTED: "Put on the commune's plan.",
                                RecommendationStatus.DONE: "Done; the children checked it.",
                                RecommendationStatus.DECLINED: "No budget this year; "
                                "asked the district instead.",
                            }[status],
                            due_on=e.held_on + dt.timedelta(days=60),
                            closed_on=min(
                                self.as_of, e.held_on + dt.timedelta(days=rng.randint(20, 90))
                            )
                            if closed
                            else None,
                            created_at=_at(e.held_on, 18),
                        )
                    )
        Participant.objects.bulk_create(participants, batch_size=5000)
        Recommendation.objects.bulk_create(recommendations)
        self.counts["participation_events"] += len(made)
        self.counts["participants"] += len(participants)
        self.counts["recommendations"] += len(recommendations)
        return made

    # --- the walk-through child --------------------------------------------------------

    def showcase(self, rng: random.Random, villages: list[Village], out: Out) -> None:
        """In the demo facilitator's commune, one child whose history page shows
        awareness sessions, a scholarship and a forum (the issue's walk-through)."""
        children = sorted(
            (
                (p, v)
                for v in villages
                for p in v.persons
                if p.services and (a := _age(p.born, v.end)) is not None and 12 <= a <= 15
            ),
            key=lambda pv: pv[0].id,
        )
        if not children:
            return
        child, v = children[0]
        already = set(
            EventAttendance.objects.filter(person_id=child.id).values_list("event_id", flat=True)
        )
        events = list(
            AwarenessEvent.objects.filter(village_id=v.area.pk, headcounts__isnull=True)
            .exclude(pk__in=already)
            .order_by("held_on")[: max(0, 2 - len(already))]
        )
        while len(already) + len(events) < 2:
            e = self._event(rng, v, EventKind.SCHOOL_SESSION)
            e.save()
            self.counts["awareness_events"] += 1
            events.append(e)
        EventAttendance.objects.bulk_create(
            EventAttendance(event=e, person_id=child.id, recorded_at=_at(e.held_on, 17))
            for e in events
        )
        self.counts["attendance"] += len(events)
        if not EducationSupport.objects.filter(person_id=child.id).exists():
            s = self._support(rng, v, child, LOCAL_CURRENCY[v.country])
            s.kind = SupportKind.SCHOLARSHIP
            s.amount, s.currency = _local(60, LOCAL_CURRENCY[v.country]), LOCAL_CURRENCY[v.country]
            s.ends_on = add_months(s.starts_on, 12)
            self._education_rows(rng, [s], out)
        forum = self._participation_events(
            rng, None, v.area.parent_id or v.area.pk, [], v.start, v.end, 1, 1
        )[0]
        ParticipationEvent.objects.filter(pk=forum.pk).update(
            kind=ParticipationEventKind.FORUM, title="Commune children's forum"
        )
        Participant.objects.create(
            event=forum,
            person_id=child.id,
            role=ParticipantRole.SPEAKER,
            recorded_at=_at(forum.held_on, 18),
        )
        self.counts["participants"] += 1
        self.counts["showcase_person_id"] = child.id
