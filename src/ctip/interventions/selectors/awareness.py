"""Reads of awareness raising: events in the actor's areas with their reach, who
attended, the attendance sheet of an event, and the materials library with its review
figures and the side-by-side comparison a programme uses to pick the best elements.

Events are seen by whoever sees figures, persons or records interventions in the
event's village; names of attendees only by those who see persons there, and so are
exact figures: others see an event's reach with small counts hidden (`cells.py`). Materials are
not person data: any active user who sees figures or records interventions browses them.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from django.db.models import (
    Avg,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.http import Http404
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.models import RoleAssignment, User
from ctip.accounts.roles import (
    MANAGE_INTERVENTIONS,
    RECORD_INTERVENTIONS,
    VIEW_AGGREGATES,
    VIEW_PERSONS,
    roles_with,
)
from ctip.core import audit
from ctip.geography.models import Area
from ctip.registry.models import Person, Sex
from ctip.registry.selectors import areas_for_code, person_search, persons_visible_to, restricted

from ..models import (
    REVIEW_CRITERIA,
    AgeBand,
    AwarenessEvent,
    EventAttendance,
    EventHeadcount,
    Material,
    MaterialReview,
    ReviewerKind,
    Topic,
    age_band_for,
)
from ..services.awareness import event_area
from . import cells

EVENT_READ_PERMISSIONS = (VIEW_AGGREGATES, VIEW_PERSONS, RECORD_INTERVENTIONS)


def _scope(actor: Any, *permissions: str) -> list[str]:
    paths: set[str] = set()
    for permission in permissions:
        paths.update(access.scope_paths(actor, permission))
    return sorted(paths)


def _under(prefix: str, paths: list[str]) -> Q:
    cond = Q()
    for path in paths:
        cond |= Q(**{f"{prefix}path__startswith": path})
    return cond


# --------------------------------------------------------------------------------------
# Events.


def may_see_events(actor: Any) -> bool:
    return any(access.has_permission(actor, p) for p in EVENT_READ_PERMISSIONS)


def events_visible_to(actor: Any) -> QuerySet[AwarenessEvent]:
    """Events held in a village where the actor sees figures, persons or records
    interventions (an aggregate reader sees the event and its reach, not the names)."""
    paths = _scope(actor, *EVENT_READ_PERMISSIONS)
    if not paths:
        return AwarenessEvent.objects.none()
    return AwarenessEvent.objects.filter(_under("village__", paths))


def with_reach(events: QuerySet[AwarenessEvent]) -> QuerySet[AwarenessEvent]:
    """Each event with `registered` (attendees recorded by name) and `counted` (the
    headcount grid's total), in the same query whatever the number of events."""
    registered = (
        EventAttendance.objects.filter(event_id=OuterRef("pk"))
        .order_by()
        .values("event_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    counted = (
        EventHeadcount.objects.filter(event_id=OuterRef("pk"))
        .order_by()
        .values("event_id")
        .annotate(n=Sum("count"))
        .values("n")
    )
    return events.annotate(
        registered=Coalesce(Subquery(registered, output_field=IntegerField()), Value(0)),
        counted=Coalesce(Subquery(counted, output_field=IntegerField()), Value(0)),
    )


def event_search(
    actor: Any,
    *,
    area_code: str = "",
    held_from: dt.date | None = None,
    held_to: dt.date | None = None,
    kind: str = "",
    topic: str = "",
) -> QuerySet[AwarenessEvent]:
    """Visible events by area (an official code: the area and all below it), date
    range, type and topic, newest first, with their village and reach. Raises
    AreaCodeError for an unknown area code."""
    qs = events_visible_to(actor)
    if area_code:
        qs = qs.filter(_under("village__", [a.path for a in areas_for_code(area_code)]))
    if held_from:
        qs = qs.filter(held_on__gte=held_from)
    if held_to:
        qs = qs.filter(held_on__lte=held_to)
    if kind:
        qs = qs.filter(kind=kind)
    if topic:
        # Topic codes are distinct words, so the quoted code matches only itself; this
        # works on SQLite and PostgreSQL alike (JSON `contains` does not on SQLite).
        qs = qs.filter(topics__icontains=f'"{topic}"')
    return with_reach(qs).select_related("village__parent").order_by("-held_on", "-id")


def event_get(actor: Any, pk: int) -> AwarenessEvent:
    try:
        return with_reach(events_visible_to(actor)).select_related("village__parent").get(pk=pk)
    except AwarenessEvent.DoesNotExist:
        # The same answer whether the event does not exist or is outside the actor's areas.
        raise Http404 from None


def may_see_names(actor: Any, event: AwarenessEvent) -> bool:
    return access.can_act_in(actor, VIEW_PERSONS, event.village)


def may_record(actor: Any, event: AwarenessEvent) -> bool:
    return access.can_act_in(actor, RECORD_INTERVENTIONS, event.village)


def attendees(actor: Any, event: AwarenessEvent) -> QuerySet[EventAttendance]:
    """Attendees recorded by name whom the actor may see (persons in their areas), in
    name order; a person who has since withdrawn registration consent is not shown."""
    if not may_see_names(actor, event):
        return EventAttendance.objects.none()
    visible = persons_visible_to(actor, include_merged=True).values("pk")
    return (
        EventAttendance.objects.filter(event=event, person_id__in=visible)
        .exclude(restricted("person_id"))
        .select_related("person__household__village", "recorded_by")
        .order_by(
            "person__family_name_latin",
            "person__given_name_latin",
            "person__family_name_local",
            "person__given_name_local",
            "person_id",
        )
    )


def event_read(actor: Any, event: AwarenessEvent, *, rows: int) -> None:
    """Audit that the actor opened an event's list of attendees (it names persons)."""
    audit.record(actor=actor, action="read", obj=event, changes={"attendees_shown": rows})


def facilitator_choices(actor: Any) -> QuerySet[User]:
    """Users who could facilitate an event the actor records: active users recording
    interventions in an area that overlaps the actor's (the service checks the village)."""
    paths = access.scope_paths(actor, RECORD_INTERVENTIONS)
    if not paths:
        return User.objects.none()
    overlap = Q()
    for path in paths:
        overlap |= Q(area__path__startswith=path)
        parts = [p for p in path.split("/") if p]
        overlap |= Q(area__path__in=["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))])
    holders = RoleAssignment.objects.filter(overlap, role__in=roles_with(RECORD_INTERVENTIONS))
    return User.objects.filter(is_active=True, pk__in=holders.values("user_id")).order_by(
        "last_name", "first_name", "username"
    )


# Reach: who an event reached, by sex and age band.

UNKNOWN_BAND = ""


def band_label(band: str) -> str:
    return band or _("unknown")


@dataclass
class ReachRow:
    sex: str
    label: str
    registered: list[int]
    counted: list[int]

    @property
    def total(self) -> list[int]:
        return [a + b for a, b in zip(self.registered, self.counted, strict=True)]

    @property
    def row_total(self) -> int:
        return sum(self.total)


@dataclass
class Reach:
    """Registered attendees (age on the event's day) plus headcounts, by sex and age
    band; the bands are AgeBand's, with a last column for registered persons whose
    date of birth is unknown."""

    bands: list[str]
    rows: list[ReachRow]

    @property
    def band_labels(self) -> list[str]:
        return [band_label(b) for b in self.bands]

    @property
    def registered(self) -> int:
        return sum(sum(r.registered) for r in self.rows)

    @property
    def counted(self) -> int:
        return sum(sum(r.counted) for r in self.rows)

    @property
    def total(self) -> int:
        return self.registered + self.counted

    @property
    def column_totals(self) -> list[int]:
        return [sum(r.total[i] for r in self.rows) for i in range(len(self.bands))]

    def cells(self) -> list[dict[str, Any]]:
        """Non-empty cells, for the API."""
        out = []
        for row in self.rows:
            for i, band in enumerate(self.bands):
                if row.registered[i] or row.counted[i]:
                    out.append(
                        {
                            "sex": row.sex,
                            "age_band": band,
                            "registered": row.registered[i],
                            "counted": row.counted[i],
                            "total": row.registered[i] + row.counted[i],
                        }
                    )
        return out


def event_reach(event: AwarenessEvent) -> Reach:
    """An event's reach (figures only: no names), in two queries."""
    bands = [*AgeBand.values, UNKNOWN_BAND]
    index = {b: i for i, b in enumerate(bands)}
    registered: dict[str, list[int]] = defaultdict(lambda: [0] * len(bands))
    counted: dict[str, list[int]] = defaultdict(lambda: [0] * len(bands))
    for sex, born in EventAttendance.objects.filter(event=event).values_list(
        "person__sex", "person__date_of_birth"
    ):
        age = None
        if born is not None:
            day = event.held_on
            age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
        registered[sex][index[age_band_for(age)]] += 1
    for sex, band, n in EventHeadcount.objects.filter(event=event).values_list(
        "sex", "age_band", "count"
    ):
        counted[sex][index.get(band, index[UNKNOWN_BAND])] += n
    sexes = [s for s in Sex.values if s in registered or s in counted or s in ("female", "male")]
    sexes += sorted(s for s in {*registered, *counted} if s not in Sex.values)
    labels = dict(Sex.choices)
    return Reach(
        bands=bands,
        rows=[
            ReachRow(
                sex=s,
                label=str(labels.get(s, s)),
                registered=list(registered[s]),
                counted=list(counted[s]),
            )
            for s in sexes
        ],
    )


@dataclass
class ShownReachRow:
    sex: str
    label: str
    total: list[int | None]
    row_total: int | None
    # By name and counted, per band: only for readers who see exact figures.
    registered: list[int | None]
    counted: list[int | None]


@dataclass
class ShownReach:
    """An event's reach as a reader is shown it. Exact for those who may see persons in
    the event's village; for others (`suppressed`) small counts are hidden (None) by
    `cells.suppress_table` over sex by age band, the split between persons by name and
    counted without names is given only for the whole event (`cells.hidden_cells`),
    never by cell (it would be a third dimension to protect)."""

    bands: list[str]
    rows: list[ShownReachRow]
    column_totals: list[int | None]
    total: int | None
    registered: int | None
    counted: int | None
    suppressed: bool

    @property
    def band_labels(self) -> list[str]:
        return [band_label(b) for b in self.bands]

    @property
    def text(self) -> dict[str, str]:
        """The totals as a page shows them ("<5" when hidden)."""
        return {
            "total": cells.text(self.total),
            "registered": cells.text(self.registered),
            "counted": cells.text(self.counted),
        }

    def cells(self) -> list[dict[str, Any]]:
        """The cells the API lists: those not shown as 0."""
        out = []
        for row in self.rows:
            for i, band in enumerate(self.bands):
                if row.total[i] != 0:
                    out.append(
                        {
                            "sex": row.sex,
                            "age_band": band,
                            "registered": row.registered[i],
                            "counted": row.counted[i],
                            "total": row.total[i],
                        }
                    )
        return out


def shown_reach(reach: Reach, *, exact: bool) -> ShownReach:
    """`reach` as shown to a reader who sees exact figures, or not."""
    if exact:
        return ShownReach(
            bands=reach.bands,
            rows=[
                ShownReachRow(
                    sex=r.sex,
                    label=r.label,
                    total=list[int | None](r.total),
                    row_total=r.row_total,
                    registered=list[int | None](r.registered),
                    counted=list[int | None](r.counted),
                )
                for r in reach.rows
            ],
            column_totals=list[int | None](reach.column_totals),
            total=reach.total,
            registered=reach.registered,
            counted=reach.counted,
            suppressed=False,
        )
    table = cells.suppress_table([r.total for r in reach.rows])
    split = cells.shown_parts(
        table.total, {"registered": reach.registered, "counted": reach.counted}
    )
    unknown: list[int | None] = [None] * len(reach.bands)
    return ShownReach(
        bands=reach.bands,
        rows=[
            ShownReachRow(
                sex=r.sex,
                label=r.label,
                total=table.cells[i],
                row_total=table.row_totals[i],
                registered=list(unknown),
                counted=list(unknown),
            )
            for i, r in enumerate(reach.rows)
        ],
        column_totals=table.column_totals,
        total=table.total,
        registered=split["registered"],
        counted=split["counted"],
        suppressed=True,
    )


def may_see_exact(actor: Any, event: AwarenessEvent) -> bool:
    """Exact figures of an event for those who may see persons in its village."""
    return cells.exact_in(actor, event.village)


def event_reach_for(actor: Any, event: AwarenessEvent) -> ShownReach:
    """An event's reach as the actor may see it (figures only: no names)."""
    return shown_reach(event_reach(event), exact=may_see_exact(actor, event))


@dataclass(frozen=True)
class ReachFigures:
    """An event's reach in a list: everyone, by name and counted (None: hidden)."""

    total: int | None
    registered: int | None
    counted: int | None

    @property
    def text(self) -> dict[str, str]:
        """The figures as a page shows them ("<5" when hidden)."""
        return {
            "total": cells.text(self.total),
            "registered": cells.text(self.registered),
            "counted": cells.text(self.counted),
        }


def reach_figures(registered: int, counted: int, *, exact: bool) -> ReachFigures:
    """The totals of an event (annotated by `with_reach`) as shown to a reader."""
    if exact:
        return ReachFigures(registered + counted, registered, counted)
    total = cells.small(registered + counted)
    split = cells.shown_parts(total, {"registered": registered, "counted": counted})
    return ReachFigures(total, split["registered"], split["counted"])


def event_figures(
    actor: Any, events: Iterable[AwarenessEvent], scope: cells.ExactScope | None = None
) -> dict[int, ReachFigures]:
    """Each event's (annotated) reach as the actor is shown it, by event id; one query
    for the actor's scope, none per event (the village must be loaded)."""
    scope = scope or cells.ExactScope(actor)
    return {
        e.pk: reach_figures(
            e.registered,  # type: ignore[attr-defined]
            e.counted,  # type: ignore[attr-defined]
            exact=scope.covers(e.village),
        )
        for e in events
    }


def headcount_grid(event: AwarenessEvent) -> dict[tuple[str, str], int]:
    return {(h.sex, h.age_band): h.count for h in EventHeadcount.objects.filter(event=event)}


# The attendance sheet.

SHEET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def sheet_code(event: AwarenessEvent) -> str:
    """A short code printed on the sheet, typed back to find the event: the event's id
    and two check characters, so a slip of one digit finds no event rather than another."""
    crc = zlib.crc32(f"{event.pk}:{event.village_id}:{event.held_on.isoformat()}".encode())
    check = SHEET_ALPHABET[crc % 32] + SHEET_ALPHABET[(crc // 32) % 32]
    return f"AW{event.pk}-{check}"


def event_for_sheet_code(actor: Any, code: str) -> AwarenessEvent | None:
    """The event a sheet code names, among the events the actor may record; None when
    the code is malformed, its check fails or the event is not theirs."""
    raw = (code or "").strip().upper().replace(" ", "")
    if not raw.startswith("AW") or "-" not in raw:
        return None
    number, _sep, _check = raw[2:].partition("-")
    if not number.isdigit():
        return None
    event = events_visible_to(actor).select_related("village").filter(pk=int(number)).first()
    if event is None or sheet_code(event) != raw or not may_record(actor, event):
        return None
    return event


@dataclass
class SheetRow:
    person: Person
    age: int | None
    attended: bool


@dataclass
class Sheet:
    event: AwarenessEvent
    code: str
    area: Area
    rows: list[SheetRow]
    blank_lines: int
    sexes: list[tuple[str, str]]
    bands: list[str]
    facilitators: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)


def _name_order(prefix: str = "") -> list[str]:
    return [
        f"{prefix}family_name_latin",
        f"{prefix}given_name_latin",
        f"{prefix}family_name_local",
        f"{prefix}given_name_local",
        f"{prefix}id",
    ]


def sheet_persons(actor: Any, event: AwarenessEvent) -> QuerySet[Person]:
    """Registered persons of the event's village the actor sees, in name order:
    children, youth and adults, not merged records, not restricted persons."""
    return (
        persons_visible_to(actor)
        .filter(household__village_id=event.village_id)
        .exclude(restricted())
        .select_related("household")
        .order_by(*_name_order())
    )


def require_sheet(actor: Any, event: AwarenessEvent) -> None:
    """The sheet lists persons: it is for those who record interventions and see
    persons in the event's village."""
    access.require_in(actor, RECORD_INTERVENTIONS, event.village)
    access.require_in(actor, VIEW_PERSONS, event.village)


def attendance_sheet(
    actor: Any, event: AwarenessEvent, *, file_format: str, blank_lines: int = 15
) -> Sheet:
    """The printable attendance sheet of an event; reading it is audited ("read" for the
    page, "export" for the PDF) with its code and number of persons before any leaves."""
    require_sheet(actor, event)
    code = sheet_code(event)
    attended = set(EventAttendance.objects.filter(event=event).values_list("person_id", flat=True))
    rows = [
        SheetRow(person=p, age=p.age_on(event.held_on), attended=p.pk in attended)
        for p in sheet_persons(actor, event)
    ]
    audit.record(
        actor=actor,
        action="export" if file_format == "pdf" else "read",
        obj=event,
        changes={"sheet": code, "format": file_format, "rows": len(rows)},
    )
    return Sheet(
        event=event,
        code=code,
        area=event_area(event),
        rows=rows,
        blank_lines=blank_lines,
        sexes=[(s, str(label)) for s, label in Sex.choices],
        bands=list(AgeBand.values),
        facilitators=[u.get_full_name() or u.username for u in event.facilitators.all()],
        topics=topic_labels(event.topics),
    )


def keying_persons(actor: Any, event: AwarenessEvent, *, q: str = "") -> QuerySet[Person]:
    """Persons offered on the keying-in page: the sheet's list (the village's persons)
    and anyone already recorded; with a search, matching persons anywhere in the area
    the event serves (its commune)."""
    if q:
        persons = person_search(actor, q=q, village=event_area(event))
    else:
        recorded = EventAttendance.objects.filter(event=event).values("person_id")
        persons = (
            persons_visible_to(actor)
            .filter(Q(household__village_id=event.village_id) | Q(pk__in=recorded))
            .exclude(restricted())
        )
    attended = EventAttendance.objects.filter(event=event, person_id=OuterRef("pk"))
    return (
        persons.select_related("household__village")
        .annotate(attended=Exists(attended))
        .order_by(*_name_order())
    )


def topic_labels(codes: list[str]) -> list[str]:
    labels = dict(Topic.choices)
    return [str(labels.get(c, c)) for c in codes]


# --------------------------------------------------------------------------------------
# Materials.


def may_browse_materials(actor: Any) -> bool:
    """Materials are not person data: anyone who sees figures or records or sets up
    interventions, anywhere, may browse the library."""
    return any(
        access.has_permission(actor, p)
        for p in (VIEW_AGGREGATES, RECORD_INTERVENTIONS, MANAGE_INTERVENTIONS)
    )


def materials_visible_to(actor: Any) -> QuerySet[Material]:
    if not may_browse_materials(actor):
        return Material.objects.none()
    return Material.objects.all()


def with_review_figures(materials: QuerySet[Material]) -> QuerySet[Material]:
    """Each material with `review_count`, `average` (all criteria, all reviews; None
    without reviews) and `superseded` (a newer version replaces it)."""
    total = sum(
        (F(f"reviews__{c}") for c in REVIEW_CRITERIA[1:]), F(f"reviews__{REVIEW_CRITERIA[0]}")
    )
    newer = Material.objects.filter(supersedes_id=OuterRef("pk"))
    return materials.annotate(
        review_count=Count("reviews"),
        average=Cast(Avg(total), FloatField()) / float(len(REVIEW_CRITERIA)),
        superseded=Exists(newer),
    )


def material_search(
    actor: Any,
    *,
    q: str = "",
    kind: str = "",
    language: str = "",
    audience: str = "",
    topic: str = "",
    agency: str = "",
    current_only: bool = False,
) -> QuerySet[Material]:
    qs = materials_visible_to(actor)
    if q:
        for term in q.split():
            qs = qs.filter(Q(title__icontains=term) | Q(description__icontains=term))
    if kind:
        qs = qs.filter(kind=kind)
    if language:
        qs = qs.filter(language=language.strip().lower())
    if audience:
        qs = qs.filter(audiences__icontains=f'"{audience}"')
    if topic:
        qs = qs.filter(topics__icontains=f'"{topic}"')
    if agency:
        qs = qs.filter(agency__icontains=agency.strip())
    qs = with_review_figures(qs)
    if current_only:
        qs = qs.exclude(Exists(Material.objects.filter(supersedes_id=OuterRef("pk"))))
    return qs.select_related("supersedes").order_by("title", "id")


def material_get(actor: Any, pk: int) -> Material:
    try:
        return (
            with_review_figures(materials_visible_to(actor))
            .select_related("supersedes", "created_by")
            .get(pk=pk)
        )
    except Material.DoesNotExist:
        raise Http404 from None


def material_reviews(actor: Any, material: Material) -> QuerySet[MaterialReview]:
    if not may_browse_materials(actor):
        return MaterialReview.objects.none()
    return MaterialReview.objects.filter(material=material).select_related("created_by")


def newer_versions(material: Material) -> QuerySet[Material]:
    return Material.objects.filter(supersedes=material).order_by("-created_at")


# Comparison.

STAFF = "staff"
YOUNG = "young"  # children and youth together
COMPARE_MIN, COMPARE_MAX = 2, 6
SCORE_PLACES = Decimal("0.1")


def _group(reviewer_kind: str) -> str:
    return STAFF if reviewer_kind == ReviewerKind.STAFF else YOUNG


def _shown(value: Fraction | None) -> Decimal | None:
    if value is None:
        return None
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(SCORE_PLACES, rounding=ROUND_HALF_UP)


@dataclass
class Score:
    overall: Decimal | None
    staff: Decimal | None
    young: Decimal | None
    best: bool = False


@dataclass
class CriterionRow:
    code: str
    label: str
    scores: list[Score]


@dataclass
class BestElement:
    reviewer: str
    reviewed_on: dt.date
    text: str


@dataclass
class MaterialColumn:
    material: Material
    reviews: int
    staff_reviews: int
    young_reviews: int
    best_elements: list[BestElement]


@dataclass
class Comparison:
    columns: list[MaterialColumn]
    rows: list[CriterionRow]  # one per criterion, then "all criteria"


def criterion_labels() -> dict[str, str]:
    fields = MaterialReview._meta
    return {c: str(getattr(fields.get_field(c), "verbose_name", c)) for c in REVIEW_CRITERIA}


def material_scores(materials: list[Material]) -> Comparison:
    """Average score per criterion of each material, over all reviews and split by
    reviewer (staff; children and youth), with the number of reviews and the "best
    elements" noted; per criterion, the material(s) with the highest average over all
    reviews are marked best (exact averages compared, shown to one decimal). Two
    queries whatever the number of reviews."""
    ids = [m.pk for m in materials]
    sums: dict[tuple[int, str], dict[str, int]] = defaultdict(
        lambda: {"n": 0, **{c: 0 for c in REVIEW_CRITERIA}}
    )
    grouped = (
        MaterialReview.objects.filter(material_id__in=ids)
        .order_by()
        .values("material_id", "reviewer_kind")
        .annotate(n=Count("id"), **{f"sum_{c}": Sum(c) for c in REVIEW_CRITERIA})
    )
    for g in grouped:
        cell = sums[(g["material_id"], _group(g["reviewer_kind"]))]
        cell["n"] += g["n"]
        for c in REVIEW_CRITERIA:
            cell[c] += g[f"sum_{c}"] or 0
    notes: dict[int, list[BestElement]] = defaultdict(list)
    kind_labels = dict(ReviewerKind.choices)
    for r in (
        MaterialReview.objects.filter(material_id__in=ids)
        .exclude(best_elements="")
        .order_by("-reviewed_on", "-id")
    ):
        notes[r.material_id].append(
            BestElement(
                reviewer=str(kind_labels.get(r.reviewer_kind, r.reviewer_kind)),
                reviewed_on=r.reviewed_on,
                text=r.best_elements,
            )
        )

    def mean(
        material_id: int, criteria: tuple[str, ...], groups: tuple[str, ...]
    ) -> Fraction | None:
        n = sum(sums[(material_id, g)]["n"] for g in groups if (material_id, g) in sums)
        if not n:
            return None
        total = sum(
            sums[(material_id, g)][c] for g in groups if (material_id, g) in sums for c in criteria
        )
        return Fraction(total, n * len(criteria))

    labels = criterion_labels()
    rows: list[CriterionRow] = []
    for code, criteria in [*((c, (c,)) for c in REVIEW_CRITERIA), ("all", REVIEW_CRITERIA)]:
        exact = [mean(pk, criteria, (STAFF, YOUNG)) for pk in ids]
        known = [v for v in exact if v is not None]
        top = max(known) if known else None
        rows.append(
            CriterionRow(
                code=code,
                label=labels[code] if code in labels else _("All criteria"),
                scores=[
                    Score(
                        overall=_shown(value),
                        staff=_shown(mean(pk, criteria, (STAFF,))),
                        young=_shown(mean(pk, criteria, (YOUNG,))),
                        best=value is not None and value == top and len(known) > 1,
                    )
                    for pk, value in zip(ids, exact, strict=True)
                ],
            )
        )
    columns = [
        MaterialColumn(
            material=m,
            reviews=sums[(m.pk, STAFF)]["n"] + sums[(m.pk, YOUNG)]["n"],
            staff_reviews=sums[(m.pk, STAFF)]["n"],
            young_reviews=sums[(m.pk, YOUNG)]["n"],
            best_elements=notes.get(m.pk, []),
        )
        for m in materials
    ]
    return Comparison(columns=columns, rows=rows)


def materials_for_comparison(actor: Any, ids: list[int]) -> list[Material]:
    """The chosen materials (2 to 6, in the order chosen); a ValueError says what is
    wrong with the choice."""
    wanted = list(dict.fromkeys(ids))
    if not COMPARE_MIN <= len(wanted) <= COMPARE_MAX:
        raise ValueError(
            _("Choose from %(min)s to %(max)s materials to compare (you chose %(n)s).")
            % {"min": COMPARE_MIN, "max": COMPARE_MAX, "n": len(wanted)}
        )
    found = with_review_figures(materials_visible_to(actor)).in_bulk(wanted)
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise ValueError(_("The library has no material %(ids)s.") % {"ids": ", ".join(missing)})
    return [found[i] for i in wanted]
