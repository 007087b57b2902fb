"""Synthetic demo programme: households and persons in the evaluation's provinces.

Deterministic for a given size and seed (same names, codes and dates for the
same `as_of` day), set-based (households and persons go in with bulk inserts in
large batches, memory stays flat) and recorded with one audit event per run.

Viet Nam publishes no villages, so the generator adds hamlets ("ấp", source
"demo") under communes of both structures: pre-July-2025 communes of the old
provinces (records dated before 2025-07-01) and today's communes of the new ones.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.db import connection, reset_queries, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.core import audit
from ctip.core.models import AuditEvent
from ctip.core.text import fold_all
from ctip.geography.models import LEVEL_DEPTH, Area, Level
from ctip.geography.services import set_paths

from .models import (
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
from .services import search_text_for

ACTION = "demo.generate"
SOURCE = "demo"
VN_REFORM = dt.date(2025, 7, 1)
SIZES = {"small": 2_000, "large": 1_000_000}
BATCH_HOUSEHOLDS = 2_000


class DemoDataError(Exception):
    """The demo cannot be generated here (no geography, or another demo run present)."""


@dataclass(frozen=True)
class DemoProvince:
    country: str
    code: str
    name_en: str
    # "current" (Cambodia), "before" (Viet Nam to 2025-06-30), "after" (from 2025-07-01)
    era: str
    share: float

    @property
    def key(self) -> str:
        return f"{self.country}-{self.code}-{self.era}"

    @property
    def code_prefix(self) -> str:
        # Viet Nam's old and new Cần Thơ share code 92: one numbering for both.
        return f"{self.country}-{self.code}-"


DEMO_PROVINCES: list[DemoProvince] = [
    DemoProvince("KH", "03", "Kampong Cham", "current", 0.19),
    DemoProvince("KH", "20", "Svay Rieng", "current", 0.19),
    DemoProvince("KH", "14", "Prey Veng", "current", 0.19),
    DemoProvince("VN", "72", "Tây Ninh (before July 2025)", "before", 0.08),
    DemoProvince("VN", "93", "Hậu Giang (before July 2025)", "before", 0.07),
    DemoProvince("VN", "92", "Cần Thơ (before July 2025)", "before", 0.07),
    DemoProvince("VN", "80", "Tây Ninh", "after", 0.11),
    DemoProvince("VN", "92", "Cần Thơ", "after", 0.10),
]


@dataclass(frozen=True)
class SizeSpec:
    persons: int
    villages_per_province: int  # Cambodia
    communes_per_province: int  # Viet Nam
    hamlets_per_commune: int


SIZE_SPECS = {
    "small": SizeSpec(SIZES["small"], 4, 2, 2),
    "large": SizeSpec(SIZES["large"], 250, 40, 6),
}


# --- names -----------------------------------------------------------------
# (local script, Latin). Khmer given names; Vietnamese middle + given names.
KH_FAMILY = [
    ("សុខ", "Sok"), ("ចាន់", "Chan"), ("គឹម", "Kim"), ("ហេង", "Heng"), ("ម៉ៅ", "Mao"),
    ("ឈឹម", "Chhim"), ("ប៉ុល", "Pol"), ("ស៊ុន", "Sun"), ("ទូច", "Touch"), ("ឡុង", "Long"),
    ("មាស", "Meas"), ("ឯក", "Ek"), ("យិន", "Yin"), ("ព្រំ", "Prom"), ("សេង", "Seng"),
    ("ខៀវ", "Khiev"), ("ណុប", "Nop"), ("អ៊ុក", "Ouk"), ("កែវ", "Keo"), ("នួន", "Nuon"),
    ("ជា", "Chea"), ("លី", "Ly"), ("វង់", "Vong"), ("ស្រេង", "Sreng"), ("ឃុន", "Khun"),
]  # fmt: skip
KH_FEMALE = [
    ("ស្រីមុំ", "Srey Mom"), ("សុភា", "Sophea"), ("ចន្ធូ", "Chanthou"), ("ធីតា", "Thida"),
    ("ដាវី", "Davy"), ("រតនា", "Ratana"), ("បុប្ផា", "Bopha"), ("ស្រីពៅ", "Srey Pov"),
    ("ចរិយា", "Chariya"), ("ស្រីលក្ខណ៍", "Sreyleak"), ("សុគន្ធា", "Sokunthea"), ("ម៉ាលី", "Maly"),
    ("ចិន្តា", "Chenda"), ("សុជាតា", "Socheata"), ("ធារី", "Theary"), ("ណារី", "Nary"),
    ("សុម៉ាលី", "Somaly"), ("គន្ធា", "Kunthea"), ("ផល្លា", "Phalla"), ("វណ្ណី", "Vanny"),
]  # fmt: skip
KH_MALE = [
    ("វណ្ណា", "Vanna"), ("ដារ៉ា", "Dara"), ("សុផល", "Sophal"), ("វិចិត្រ", "Vichet"),
    ("ពិសិដ្ឋ", "Piseth"), ("វុទ្ធី", "Vuthy"), ("សំណាង", "Samnang"), ("បូរ៉ា", "Bora"),
    ("រិទ្ធី", "Rithy"), ("កុសល", "Kosal"), ("សុវណ្ណ", "Sovann"), ("វីរៈ", "Virak"),
    ("ចាន់ណា", "Channa"), ("សម្បត្តិ", "Sambath"), ("មករា", "Makara"), ("ភក្តី", "Pheakdey"),
    ("សុធា", "Sothea"), ("វាសនា", "Veasna"), ("ឧត្តម", "Oudom"), ("សុខុម", "Sokhom"),
]  # fmt: skip
KH_ANY = [
    ("សុខា", "Sokha"), ("រស្មី", "Reaksmey"), ("ចាន់ថា", "Chantha"), ("ពិសី", "Pisey"),
    ("សុភី", "Sophy"), ("មុន្នី", "Mony"),
]  # fmt: skip
VN_FAMILY = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
    "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Trương", "Đinh", "Lâm", "Châu",
]  # fmt: skip
VN_FEMALE = [
    "Thị Hồng", "Thị Lan", "Ngọc Ánh", "Thị Mai", "Thu Trang", "Thị Hạnh", "Bích Ngọc",
    "Kim Ngân", "Thanh Hương", "Thị Thảo", "Mỹ Linh", "Thị Nhung", "Thị Diễm", "Ngọc Hân",
    "Thị Yến", "Thùy Dương", "Thị Cúc", "Khánh Vy",
]  # fmt: skip
VN_MALE = [
    "Văn Hùng", "Minh Tuấn", "Quốc Bảo", "Đức Anh", "Văn Phúc", "Thành Long", "Hoàng Nam",
    "Gia Huy", "Văn Tài", "Hữu Nghĩa", "Công Danh", "Minh Khang", "Văn Lợi", "Tấn Phát",
    "Văn Đạt", "Quang Vinh", "Trọng Nhân", "Văn Sang",
]  # fmt: skip
VN_ANY = ["Minh Anh", "Thanh Bình", "Gia An", "Bảo Châu", "Ngọc Khánh", "Hải Đăng"]
VN_HAMLETS = [
    "Tân Thành", "Bình Hòa", "Phước Lợi", "Long Hưng", "Thạnh Phú", "An Lạc", "Mỹ Hiệp",
    "Hòa Bình", "Tân Lập", "Phú Thạnh", "Vĩnh Lợi", "Đông Thành",
]  # fmt: skip


def unaccent(text: str) -> str:
    """'Nguyễn Thị Hồng' -> 'Nguyen Thi Hong' (case kept)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_VN_FAMILY = [(n, unaccent(n)) for n in VN_FAMILY]
_VN_FEMALE = [(n, unaccent(n)) for n in VN_FEMALE]
_VN_MALE = [(n, unaccent(n)) for n in VN_MALE]
_VN_ANY = [(n, unaccent(n)) for n in VN_ANY]
_GIVEN = {
    "KH": {Sex.FEMALE: KH_FEMALE, Sex.MALE: KH_MALE, "any": KH_ANY},
    "VN": {Sex.FEMALE: _VN_FEMALE, Sex.MALE: _VN_MALE, "any": _VN_ANY},
}
_FAMILY = {"KH": KH_FAMILY, "VN": _VN_FAMILY}


@lru_cache(maxsize=20_000)
def _search_text(family_local: str, given_local: str, family_latin: str, given_latin: str) -> str:
    # Names come from small pools, so cache.
    return search_text_for(family_local, given_local, family_latin, given_latin)


# --- households --------------------------------------------------------------
Member = tuple[str, str, tuple[str, str], tuple[str, str], dt.date, bool]
# relationship, sex, family (local, latin), given (local, latin), date of birth, estimated

_SIZE_WEIGHTS = [(2, 8), (3, 14), (4, 20), (5, 20), (6, 15), (7, 10), (8, 8), (9, 5)]
_SIZES, _SIZE_CUM = zip(*_SIZE_WEIGHTS, strict=True)


def _child_sex(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.485:
        return Sex.FEMALE
    if r < 0.97:
        return Sex.MALE
    return Sex.OTHER if r < 0.985 else Sex.UNDISCLOSED


def _adult_sex(rng: random.Random, opposite_of: str | None = None) -> str:
    r = rng.random()
    if r < 0.01:
        return Sex.OTHER if r < 0.005 else Sex.UNDISCLOSED
    if opposite_of == Sex.MALE:
        return Sex.FEMALE
    if opposite_of == Sex.FEMALE:
        return Sex.MALE
    return Sex.FEMALE if r < 0.5 else Sex.MALE


def _given(rng: random.Random, country: str, sex: str) -> tuple[str, str]:
    pools = _GIVEN[country]
    if sex in (Sex.FEMALE, Sex.MALE) and rng.random() > 0.08:
        return rng.choice(pools[sex])
    return rng.choice(pools["any"])


def _dob(rng: random.Random, age: int, as_of: dt.date, estimated: bool) -> dt.date:
    """A birth date that makes the person `age` years old on `as_of`."""
    year = as_of.year - age
    if estimated:
        # What an enumerator writes when only the age is known.
        return dt.date(year - (1 if as_of.month < 7 else 0), 7, 1)
    anniversary = as_of.replace(
        year=year, day=28 if as_of.day == 29 and as_of.month == 2 else as_of.day
    )
    return anniversary - dt.timedelta(days=rng.randrange(365))


def household_members(rng: random.Random, country: str, as_of: dt.date) -> list[Member]:
    """One plausible household: head, maybe a spouse, children, grandparents, relatives."""
    size = rng.choices(_SIZES, weights=_SIZE_CUM)[0]
    family = rng.choice(_FAMILY[country])
    head_age = int(rng.triangular(20, 72, 38))
    head_sex = Sex.MALE if rng.random() < 0.68 else _adult_sex(rng)
    members: list[tuple[str, str, tuple[str, str], int]] = [
        (Relationship.HEAD, head_sex, family, head_age)
    ]
    if rng.random() < 0.82:
        spouse_age = max(18, min(90, head_age + rng.randint(-8, 4)))
        spouse_sex = _adult_sex(rng, opposite_of=head_sex)
        members.append((Relationship.SPOUSE, spouse_sex, rng.choice(_FAMILY[country]), spouse_age))
    if len(members) < size and head_age < 50 and rng.random() < 0.25:
        parent_age = min(95, head_age + rng.randint(20, 32))
        members.append((Relationship.PARENT, _adult_sex(rng), family, parent_age))
    grandchildren = head_age >= 48 and rng.random() < 0.5
    oldest_child = max(0, min(head_age - 17, 35))
    while len(members) < size:
        r = rng.random()
        if grandchildren and r < 0.45:
            age = rng.randint(0, min(14, max(0, head_age - 38)))
            members.append((Relationship.GRANDCHILD, _child_sex(rng), family, age))
        elif r < 0.93 or len(members) < 2:
            age = rng.randint(0, oldest_child) if oldest_child else 0
            members.append((Relationship.CHILD, _child_sex(rng), family, age))
        elif r < 0.97:
            age = max(10, min(70, head_age + rng.randint(-10, 10)))
            members.append((Relationship.SIBLING, _adult_sex(rng), family, age))
        else:
            age = rng.randint(8, 24)
            other = rng.choice(_FAMILY[country])
            members.append((Relationship.OTHER_RELATIVE, _child_sex(rng), other, age))
    out: list[Member] = []
    for relationship, sex, fam, age in members:
        estimated = rng.random() < (0.22 if age >= 25 else 0.05)
        out.append(
            (
                relationship,
                sex,
                fam,
                _given(rng, country, sex),
                _dob(rng, age, as_of, estimated),
                estimated,
            )
        )
    return out


# --- places --------------------------------------------------------------------
def _province(p: DemoProvince) -> Area:
    qs = Area.objects.filter(country=p.country, level=Level.PROVINCE, code=p.code)
    if p.era == "before":
        qs = qs.filter(valid_to__lt=VN_REFORM)
    elif p.era == "after":
        qs = qs.filter(valid_from__gte=VN_REFORM)
    area = qs.order_by("valid_from").first()
    if area is None:
        raise DemoDataError(
            _(
                "Province %(country)s-%(code)s (%(name)s) is not loaded: "
                "run “ctip geography load” first."
            )
            % {"country": p.country, "code": p.code, "name": p.name_en}
        )
    return area


def _rural_first(communes: list[Area]) -> list[Area]:
    rural = [c for c in communes if (c.name_vi or "").startswith("Xã")]
    return rural or communes


@dataclass
class _Plan:
    province: DemoProvince
    villages: list[Area]
    new_hamlets: list[Area] = field(default_factory=list)


def _plan_villages(p: DemoProvince, spec: SizeSpec, rng: random.Random) -> _Plan:
    province = _province(p)
    if p.country == "KH":
        villages = list(
            Area.objects.filter(level=Level.VILLAGE, path__startswith=province.path).order_by(
                "code"
            )
        )
        if not villages:
            raise DemoDataError(
                _("Province KH-%(code)s has no villages loaded.") % {"code": p.code}
            )
        # A handful of neighbouring villages: keep the first commune whole, then sample.
        n = min(spec.villages_per_province, len(villages))
        chosen = sorted(rng.sample(villages[1:], n - 1), key=lambda a: a.code) if n > 1 else []
        return _Plan(p, [villages[0], *chosen])
    communes = _rural_first(
        list(
            Area.objects.filter(level=Level.COMMUNE, path__startswith=province.path).order_by(
                "code"
            )
        )
    )
    if not communes:
        raise DemoDataError(_("Province VN-%(code)s has no communes loaded.") % {"code": p.code})
    n = min(spec.communes_per_province, len(communes))
    picked = sorted(rng.sample(communes, n), key=lambda a: a.code)
    existing = {
        (a.parent_id, a.code): a
        for a in Area.objects.filter(parent__in=picked, level=Level.VILLAGE)
    }
    plan = _Plan(p, [])
    for commune in picked:
        for i in range(1, spec.hamlets_per_commune + 1):
            code = f"{commune.code}{i:02d}"
            hamlet = existing.get((commune.pk, code))
            if hamlet is None:
                name = VN_HAMLETS[(sum(map(ord, commune.code)) + i) % len(VN_HAMLETS)]
                named = i <= len(VN_HAMLETS) // 2
                name_vi = f"Ấp {name}" if named else f"Ấp {i}"
                name_en = f"{unaccent(name)} hamlet" if named else f"Hamlet {i}"
                hamlet = Area(
                    country="VN",
                    level=Level.VILLAGE,
                    code=code,
                    parent=commune,
                    path="",
                    name_vi=name_vi,
                    name_en=name_en,
                    division_type="ấp",
                    valid_from=commune.valid_from,
                    valid_to=commune.valid_to,
                    source=SOURCE,
                )
                hamlet.search_text = fold_all(hamlet.name_en, "", hamlet.name_vi, code)
                plan.new_hamlets.append(hamlet)
            plan.villages.append(hamlet)
    return plan


# --- the run -------------------------------------------------------------------
@dataclass(frozen=True)
class DemoResult:
    created: bool
    size: str
    seed: int
    households: int
    persons: int
    hamlets: int


def _previous_run() -> dict[str, Any] | None:
    event = AuditEvent.objects.filter(action=ACTION).order_by("-id").first()
    if event is None:
        return None
    return {k: v.get("after") for k, v in event.changes.items()}


def already_generated(size: str, seed: int) -> bool:
    previous = _previous_run()
    return bool(
        previous
        and previous.get("size") == size
        and previous.get("seed") == seed
        and Household.objects.filter(code=first_code()).exists()
    )


def first_code() -> str:
    return f"{DEMO_PROVINCES[0].code_prefix}{1:06d}"


def _created_at(rng: random.Random, p: DemoProvince, as_of: dt.date) -> dt.datetime:
    """When the record was made: Viet Nam's old-structure records before the reform."""
    if p.era == "before":
        start, end = dt.date(2023, 1, 1), VN_REFORM - dt.timedelta(days=1)
    elif p.era == "after":
        start, end = VN_REFORM, max(VN_REFORM, as_of)
    else:
        start, end = dt.date(2023, 1, 1), max(dt.date(2023, 1, 1), as_of)
    day = start + dt.timedelta(days=rng.randrange((end - start).days + 1))
    return timezone.make_aware(
        dt.datetime.combine(day, dt.time(9, 0)) + dt.timedelta(minutes=rng.randrange(480))
    )


def generate(
    *,
    size: str = "small",
    seed: int = 1,
    as_of: dt.date | None = None,
    progress: Callable[[int], Any] | None = None,
) -> DemoResult:
    """Generate the demo programme, or do nothing if this size and seed are already there."""
    if size not in SIZE_SPECS:
        raise DemoDataError(_("Unknown size %(size)s.") % {"size": size})
    spec = SIZE_SPECS[size]
    previous = _previous_run()
    if Household.objects.filter(code=first_code()).exists():
        if previous and previous.get("size") == size and previous.get("seed") == seed:
            return DemoResult(
                False, size, seed, previous.get("households", 0), previous.get("persons", 0), 0
            )
        raise DemoDataError(
            _(
                "Demo data (size %(size)s, seed %(seed)s) is already in this database; "
                "household codes would clash. "
                "Start from an empty database for another size or seed."
            )
            % {
                "size": (previous or {}).get("size", "?"),
                "seed": (previous or {}).get("seed", "?"),
            }
        )
    as_of = as_of or timezone.localdate()
    rng = random.Random(f"ctip-demo-{size}-{seed}")
    with transaction.atomic():
        plans = [_plan_villages(p, spec, rng) for p in DEMO_PROVINCES]
        hamlets = [h for plan in plans for h in plan.new_hamlets]
        if hamlets:
            Area.objects.bulk_create(hamlets, batch_size=1000)
            set_paths(Level.VILLAGE, "VN")
            by_key = {
                (a.parent_id, a.code): a
                for a in Area.objects.filter(
                    Q(source=SOURCE), parent__in={h.parent_id for h in hamlets}
                )
            }
            for plan in plans:
                plan.villages = [by_key.get((v.parent_id, v.code), v) for v in plan.villages]
        households, persons = _insert_people(plans, spec, rng, as_of, progress)
        counts = {
            "size": size,
            "seed": seed,
            "households": households,
            "persons": persons,
            "hamlets": len(hamlets),
            "as_of": as_of.isoformat(),
        }
        audit.record(
            actor=None,
            action=ACTION,
            object_type="registry.demo",
            object_id=f"{size}-{seed}",
            object_repr=f"demo data {size}, seed {seed}",
            changes=audit.diff(None, counts),
        )
    refresh_statistics()
    return DemoResult(True, size, seed, households, persons, len(hamlets))


def refresh_statistics() -> None:
    """Let the query planner see the new rows. SQLite has no statistics until ANALYZE,
    and without them picks a full scan for scoped person queries."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _iter_households(
    plans: list[_Plan], spec: SizeSpec, rng: random.Random, as_of: dt.date
) -> Iterator[tuple[_Plan, Area, str, dt.datetime, list[Member]]]:
    counters: dict[str, int] = {}
    for plan in plans:
        target = round(spec.persons * plan.province.share)
        made = 0
        villages = plan.villages
        while made < target:
            village = villages[rng.randrange(len(villages))]
            members = household_members(rng, plan.province.country, as_of)
            prefix = plan.province.code_prefix
            counters[prefix] = counters.get(prefix, 0) + 1
            code = f"{prefix}{counters[prefix]:06d}"
            made += len(members)
            yield plan, village, code, _created_at(rng, plan.province, as_of), members


# --- facts and consent ------------------------------------------------------------
_CURRENCY = {"KH": Currency.KHR, "VN": Currency.VND}
# Typical monthly cash income of a rural household, in the local currency.
_INCOME_RANGE = {"KH": (300_000, 2_400_000), "VN": (2_500_000, 15_000_000)}


def household_facts(rng: random.Random, country: str, members: list[Member]) -> dict[str, Any]:
    """Socio-economic facts consistent with the household's members."""
    relationships = [m[0] for m in members]
    poor = rng.random()
    poverty = (
        PovertyStatus.POOR_1
        if poor < 0.12
        else PovertyStatus.POOR_2
        if poor < 0.27
        else PovertyStatus.NONE
        if poor < 0.95
        else PovertyStatus.UNKNOWN
    )
    sources = [IncomeSource.FARMING] if rng.random() < 0.75 else []
    for source, p in [
        (IncomeSource.WAGE_LABOUR, 0.45),
        (IncomeSource.FISHING, 0.12),
        (IncomeSource.FACTORY, 0.15),
        (IncomeSource.SMALL_BUSINESS, 0.18),
        (IncomeSource.REMITTANCES, 0.3),
    ]:
        if rng.random() < p:
            sources.append(source)
    sources = sources or [IncomeSource.OTHER]
    lo, hi = _INCOME_RANGE[country]
    income = round(rng.uniform(lo, hi) * (0.6 if poverty.startswith("poor") else 1), -3)
    in_debt = rng.random() < (0.55 if poverty.startswith("poor") else 0.35)
    lenders = (
        sorted(
            rng.sample(
                [Lender.BANK, Lender.MONEYLENDER, Lender.RELATIVES, Lender.SAVINGS_GROUP],
                k=rng.choice([1, 1, 2]),
            )
        )
        if in_debt
        else []
    )
    if in_debt and rng.random() < 0.04:
        lenders.append(Lender.EMPLOYER_OR_BROKER)
    away = 0
    if IncomeSource.REMITTANCES in sources:
        away = rng.choice([1, 1, 1, 2, 2, 3])
    return {
        "land_hectares": round(rng.uniform(0, 2.5), 2) if IncomeSource.FARMING in sources else 0,
        "income_sources": sorted(sources),
        "monthly_income": income,
        "currency": _CURRENCY[country],
        "debt_amount": round(income * rng.uniform(1, 12), -3) if in_debt else 0,
        "lenders": lenders,
        "members_working_away": away,
        "members_with_disability": 1 if rng.random() < 0.06 else 0,
        "single_parent": Relationship.SPOUSE not in relationships
        and Relationship.CHILD in relationships,
        "child_headed": False,
        "poverty_status": poverty,
    }


def _age(dob: dt.date, day: dt.date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def person_facts(rng: random.Random, dob: dt.date, as_of: dt.date) -> dict[str, Any]:
    age = _age(dob, as_of)
    if age < 6:
        school = SchoolStatus.NOT_YET
    elif age < 18:
        r = rng.random()
        school = (
            SchoolStatus.ENROLLED
            if r < 0.78
            else SchoolStatus.AT_RISK
            if r < 0.86
            else SchoolStatus.DROPPED_OUT
            if r < 0.97
            else SchoolStatus.NEVER
        )
    else:
        r = rng.random()
        school = (
            SchoolStatus.COMPLETED
            if r < 0.45
            else SchoolStatus.DROPPED_OUT
            if r < 0.85
            else SchoolStatus.NEVER
            if r < 0.95
            else SchoolStatus.UNKNOWN
        )
    docs = []
    if rng.random() < 0.85:
        docs.append(IdDocument.BIRTH_CERTIFICATE)
    if rng.random() < 0.9:
        docs.append(IdDocument.FAMILY_BOOK)
    if age >= 15 and rng.random() < 0.7:
        docs.append(IdDocument.NATIONAL_ID)
    if age >= 18 and rng.random() < 0.04:
        docs.append(IdDocument.PASSPORT)
    phone = ""
    if age >= 15 and rng.random() < 0.6:
        prefix = rng.choice([10, 12, 15, 16, 17, 31, 38, 70, 81, 92, 96, 97])
        phone = f"0{prefix}{rng.randrange(10**6, 10**7)}"
    return {
        "school_status": school,
        "id_documents": sorted(docs),
        "phone": phone,
        "disability": rng.random() < 0.02,
    }


_CONSENT_SHARE = [
    (ConsentPurpose.REGISTRATION, 1.0),
    (ConsentPurpose.SERVICES, 0.93),
    (ConsentPurpose.DATA_SHARING, 0.7),
    (ConsentPurpose.PHOTOS, 0.4),
]


def consent_rows(
    rng: random.Random, person_id: int, dob: dt.date, registered: dt.date, parent_name: str
) -> list[tuple[Any, ...]]:
    """(person, purpose, given_on, given_by, giver_name, child_assent, method, recorded_at)"""
    given_on = max(registered, dob)
    age = _age(dob, given_on)
    if age >= 18:
        given_by, giver, assent = ConsentGiver.SELF, "", None
    else:
        given_by = ConsentGiver.PARENT if rng.random() < 0.9 else ConsentGiver.GUARDIAN
        giver, assent = parent_name, (True if age >= 7 else None)
    method = ConsentMethod.SIGNED if rng.random() < 0.6 else ConsentMethod.THUMBPRINT
    recorded = dt.datetime.combine(given_on, dt.time(9), tzinfo=dt.UTC)
    return [
        (person_id, purpose, given_on, given_by, giver, assent, method, recorded)
        for purpose, share in _CONSENT_SHARE
        if rng.random() < share
    ]


def _insert_consents(rows: list[tuple[Any, ...]]) -> None:
    table = Consent._meta.db_table
    fields = [
        "person_id",
        "purpose",
        "given_on",
        "given_by",
        "giver_name",
        "child_assent",
        "method",
        "recorded_at",
    ]
    columns = ", ".join(
        connection.ops.quote_name(f) for f in [*fields, "note", "withdrawal_reason"]
    )
    placeholders = ", ".join(["%s"] * (len(fields) + 2))
    adapted = [
        (
            *row[:7],
            connection.ops.adapt_datetimefield_value(row[7]),
            "",
            "",
        )
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", adapted)  # noqa: S608


def _insert_people(
    plans: list[_Plan],
    spec: SizeSpec,
    rng: random.Random,
    as_of: dt.date,
    progress: Callable[[int], Any] | None,
) -> tuple[int, int]:
    n_households = n_persons = 0
    batch: list[tuple[Household, list[Member]]] = []
    # A stream of its own, so facts and consents leave the people themselves unchanged.
    facts_rng = random.Random(f"{rng.random()}-facts")

    def flush() -> None:
        nonlocal n_persons
        created = Household.objects.bulk_create([h for h, _members in batch])
        rows: list[Person] = []
        parents: list[str] = []
        for household, (_household, members) in zip(created, batch, strict=True):
            head = members[0]
            head_name = f"{head[2][0]} {head[3][0]}"
            for relationship, sex, fam, given, dob, estimated in members:
                rows.append(
                    Person(
                        household_id=household.pk,
                        relationship=relationship,
                        sex=sex,
                        family_name_local=fam[0],
                        given_name_local=given[0],
                        family_name_latin=fam[1],
                        given_name_latin=given[1],
                        date_of_birth=dob,
                        dob_estimated=estimated,
                        search_text=_search_text(fam[0], given[0], fam[1], given[1]),
                        created_at=household.created_at,
                        **person_facts(facts_rng, dob, as_of),
                    )
                )
                parents.append(head_name)
        Person.objects.bulk_create(rows, batch_size=5000)
        consents: list[tuple[Any, ...]] = []
        for person, parent in zip(rows, parents, strict=True):
            assert person.date_of_birth is not None
            consents.extend(
                consent_rows(
                    facts_rng,
                    person.pk,
                    person.date_of_birth,
                    person.created_at.date(),
                    parent,
                )
            )
        _insert_consents(consents)
        n_persons += len(rows)
        # With DEBUG on, Django keeps every query's SQL: drop it so memory stays flat.
        reset_queries()
        if progress:
            progress(len(rows))
        batch.clear()

    for plan, village, code, created_at, members in _iter_households(plans, spec, rng, as_of):
        facts = household_facts(facts_rng, plan.province.country, members)
        household = Household(village_id=village.pk, code=code, created_at=created_at, **facts)
        batch.append((household, members))
        n_households += 1
        if len(batch) >= BATCH_HOUSEHOLDS:
            flush()
    if batch:
        flush()
    return n_households, n_persons


def demo_area(province_code: str = "20", level: str = Level.COMMUNE) -> Area:
    """A Cambodian commune (or village) that holds demo households, e.g. for demo users.

    `demo_area("20")` is in Svay Rieng, `demo_area("14")` in Prey Veng.
    """
    household = (
        Household.objects.filter(code__startswith=f"KH-{province_code}-")
        .select_related("village", "village__parent")
        .order_by("code")
        .first()
    )
    if household is None:
        raise DemoDataError(_("No demo households yet: run “ctip demo-data” first."))
    village = household.village
    if level == Level.VILLAGE:
        return village
    if level == Level.COMMUNE and village.parent is not None:
        return village.parent
    ids = [int(x) for x in village.path.strip("/").split("/") if x]
    return Area.objects.get(pk=ids[LEVEL_DEPTH[Level(level)]])
