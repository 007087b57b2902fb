"""Benchmarks: scoring. Each function returns a Figure or a list of them.

Scoring every assessment of the demo programme from its answers, and building the
ranked targeting list of one province, each against numpy doing the same work on
arrays fetched from the same database in the same run (the results are checked
equal before anything is timed).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.figure import Figure, best_of

BENCHES: list[Callable[[], Any]] = []

PROVINCE = "KH-20"


def _world() -> tuple[list[int], Any, Any, Any]:
    """(version ids, assistance type, province, officer) on the demo programme: its
    persons (with their consents), one round of assessments of the young with the
    default instrument, the default assistance types and a provincial officer."""
    from django.utils import timezone

    from ctip.accounts.models import RoleAssignment, User
    from ctip.core.actors import SYSTEM
    from ctip.geography import loaders
    from ctip.geography.models import Area
    from ctip.geography.selectors import resolve_area_code
    from ctip.registry import demo
    from ctip.registry.models import Person
    from ctip.vulnerability import targeting
    from ctip.vulnerability.demo import generate_assessments
    from ctip.vulnerability.models import Assessment, AssistanceType, InstrumentVersion

    if not Area.objects.exists():
        loaders.load()
    if not Person.objects.exists():
        demo.generate(size=os.environ.get("BENCH_DEMO_SIZE", "large"), seed=1)
    if not Assessment.objects.exists():
        generate_assessments(seed=1, as_of=timezone.localdate())
    targeting.load_default_assistance_types(actor=SYSTEM)
    assistance_type = AssistanceType.objects.get(code="vocational-training")
    province = resolve_area_code(PROVINCE)
    officer, created = User.objects.get_or_create(username="bench-targeting-officer")
    if created:
        RoleAssignment.objects.create(user=officer, role="provincial_officer", area=province)
    version_ids = list(
        InstrumentVersion.objects.filter(instrument_id=assistance_type.instrument_id).values_list(
            "id", flat=True
        )
    )
    return version_ids, assistance_type, province, officer


# --------------------------------------------------------------------------------------
# Figure 1: every assessment's score from its answers.


def _numpy_scores(version_ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(assessment ids, score in hundredths, band index 0/1/2) from fetched arrays."""
    from django.db import connection

    marks = ", ".join(["%s"] * len(version_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id, v.medium_from, v.high_from FROM vulnerability_assessment a "
            "JOIN vulnerability_instrumentversion v ON v.id = a.version_id "
            f"WHERE a.version_id IN ({marks}) ORDER BY a.id",
            version_ids,
        )
        assessments = np.array(cursor.fetchall(), dtype=np.float64).reshape(-1, 3)
        cursor.execute(
            "SELECT an.assessment_id, an.contribution FROM vulnerability_answer an "
            "JOIN vulnerability_assessment a ON a.id = an.assessment_id "
            f"WHERE a.version_id IN ({marks})",
            version_ids,
        )
        answers = np.array(cursor.fetchall(), dtype=np.float64).reshape(-1, 2)
    ids = assessments[:, 0].astype(np.int64)
    slot = np.searchsorted(ids, answers[:, 0].astype(np.int64))
    milli = np.rint(answers[:, 1] * 1000)
    totals = np.bincount(slot, weights=milli, minlength=len(ids)).astype(np.int64)
    points = np.where(totals >= 0, (totals + 5) // 10, -((-totals + 5) // 10))
    medium_at = np.rint(assessments[:, 1] * 100).astype(np.int64)
    high_at = np.rint(assessments[:, 2] * 100).astype(np.int64)
    band = np.where(points >= high_at, 2, np.where(points >= medium_at, 1, 0))
    return ids, points, band


BAND_INDEX = {"low": 0, "medium": 1, "high": 2}


def _sql_scores(version_ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from ctip.vulnerability.targeting import score_all

    rows = score_all(version_ids)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    points = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    band = np.fromiter((BAND_INDEX[r[2]] for r in rows), dtype=np.int64, count=len(rows))
    return ids, points, band


def bench_score_all() -> Figure:
    """Score of every assessment from its answers: SQL aggregate vs numpy bincount."""
    version_ids, *_ = _world()
    ours, theirs = _sql_scores(version_ids), _numpy_scores(version_ids)
    for a, b in zip(ours, theirs, strict=True):
        assert np.array_equal(a, b), "score_all and numpy disagree"
    assert len(ours[0]) > 0
    return Figure(
        f"score_all_assessments ({len(ours[0]):,})",
        best_of(3, lambda: _sql_scores(version_ids)),
        best_of(3, lambda: _numpy_scores(version_ids)),
    )


# --------------------------------------------------------------------------------------
# Figure 2: the ranked list for one province.


def _numpy_ranking(assistance_type: Any, province: Any, as_of: dt.date) -> np.ndarray:
    """Person ids of the eligible, in rank order, from arrays of the province's persons
    and their assessments: the same rule as targeting.select_eligible, with the same
    household-first SQL to fetch them."""
    from django.db import connection

    from ctip.registry.selectors import age_band_bounds

    t = assistance_type
    earliest, latest = age_band_bounds(f"{t.min_age}-{t.max_age}", as_of)
    assessed_from = as_of - dt.timedelta(days=t.assessment_max_age_days)
    consent = (
        "EXISTS (SELECT 1 FROM registry_consent c WHERE c.person_id = p.id "
        "AND c.purpose = %s AND c.withdrawn_at IS {} NULL)"
    )
    in_province = (
        "FROM registry_person p WHERE p.household_id IN (SELECT h.id FROM registry_household h "
        "JOIN geography_area v ON v.id = h.village_id WHERE v.path LIKE %s) "
        "AND COALESCE(p.merged_into_id, 0) = 0 "
        f"AND NOT ({consent.format('NOT')} AND NOT {consent.format('')})"
    )
    province_params = [province.path + "%", "registration", "registration"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id, p.date_of_birth, p.sex, p.school_status, {consent.format('')}, "
            "EXISTS (SELECT 1 FROM vulnerability_targetingentry e JOIN "
            "vulnerability_targetinglist l ON l.id = e.targeting_list_id WHERE e.person_id = p.id "
            f"AND e.decision = 'approved' AND l.assistance_type_id = %s) {in_province}",
            ["services", t.pk, *province_params],
        )
        persons = cursor.fetchall()
        cursor.execute(
            "SELECT a.person_id, a.id, a.assessed_on, a.score, a.band "
            "FROM vulnerability_assessment a JOIN vulnerability_instrumentversion iv "
            "ON iv.id = a.version_id WHERE iv.instrument_id = %s AND a.assessed_on >= %s "
            f"AND a.assessed_on <= %s AND a.person_id IN (SELECT p.id {in_province})",
            [t.instrument_id, assessed_from, as_of, *province_params],
        )
        assessments = cursor.fetchall()
    person_id = np.array([r[0] for r in persons], dtype=np.int64)
    born = np.array([str(r[1] or "0001-01-01") for r in persons], dtype="datetime64[D]")
    has_dob = np.array([r[1] is not None for r in persons])
    sex = np.array([r[2] for r in persons])
    school = np.array([r[3] for r in persons])
    with_consent = np.array([bool(r[4]) for r in persons])
    approved = np.array([bool(r[5]) for r in persons])
    ok = has_dob & (born >= np.datetime64(earliest)) & (born <= np.datetime64(latest))
    if t.sexes:
        ok &= np.isin(sex, t.sexes)
    if t.school_statuses:
        ok &= np.isin(school, t.school_statuses)
    ok &= with_consent
    a_person = np.array([r[0] for r in assessments], dtype=np.int64)
    a_id = np.array([r[1] for r in assessments], dtype=np.int64)
    a_day = np.array([str(r[2]) for r in assessments], dtype="datetime64[D]")
    a_score = np.array([float(r[3]) for r in assessments])
    a_band = np.array([BAND_INDEX[r[4]] for r in assessments], dtype=np.int64)
    keep = np.isin(a_person, person_id[ok])
    a_person, a_id, a_day, a_score, a_band = (
        x[keep] for x in (a_person, a_id, a_day, a_score, a_band)
    )
    # Latest per person: sort by person, then day and id, keep the last of each person.
    order = np.lexsort((a_id, a_day, a_person))
    last = np.r_[a_person[order][1:] != a_person[order][:-1], True]
    pick = order[last]
    pick = pick[a_band[pick] >= BAND_INDEX[t.min_band]]
    if t.exclude_already_approved:
        pick = pick[~np.isin(a_person[pick], person_id[approved])]
    rank = np.lexsort((a_person[pick], a_day[pick], -a_band[pick], -a_score[pick]))
    return a_person[pick][rank]


def bench_targeting_province() -> list[Figure]:
    """The ranked vocational-training list of Svay Rieng (15-24, high band): selecting it
    (who is left out by which criterion, the ranking and the reasons, one statement)
    and building it (the same, plus the inserted entries and the audit event) vs numpy
    ranking the same persons from arrays fetched with the same household-first SQL."""
    from django.utils import timezone

    from ctip.vulnerability import targeting
    from ctip.vulnerability.models import TargetingList

    _versions, assistance_type, province, officer = _world()
    as_of = timezone.localdate()

    def ours() -> TargetingList:
        return targeting.targeting_list_build(
            actor=officer, assistance_type=assistance_type, area=province, as_of=as_of
        )

    def selected() -> list[int]:
        selection = targeting.select_eligible(officer, assistance_type, province, as_of)
        return [row[1] for row in selection.rows]

    def theirs() -> np.ndarray:
        return _numpy_ranking(assistance_type, province, as_of)

    built = ours()
    listed = list(built.entries.order_by("rank").values_list("person_id", flat=True))
    assert listed == theirs().tolist() == selected(), "targeting and numpy disagree"
    assert listed, "nobody eligible: the bench data is wrong"
    baseline = best_of(3, theirs)
    return [
        Figure(f"targeting_select_province ({len(listed):,})", best_of(3, selected), baseline),
        Figure(f"targeting_build_province ({len(listed):,})", best_of(3, ours), baseline),
    ]


BENCHES += [bench_score_all, bench_targeting_province]
