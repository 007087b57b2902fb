"""Benchmark: the per-area interventions summary (selectors.summary.area_summary) for a
country and each of its provinces, on the large demo programme with its demo
interventions, against one hand-written SQL aggregate per figure, grouped by
province, run in the same process on the same database.

Both are checked to give the same figures before anything is timed. The number of
queries the summary takes is printed too (a province's against the country's: the
same, whatever the number of areas), and the run stops if it is not fixed.

    intervention_summary_country: <s> (baseline: <s>, ratio: x)   target: within 1.5x
    intervention_summary_queries: <n> queries (baseline: <n> for a province)
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bench.figure import Figure, best_of

BENCHES: list[Callable[[], Any]] = []

COUNTRY = "KH"
PROVINCE = "KH-20"


def _world() -> tuple[Any, Any, dt.date, dt.date]:
    """(actor, country, start, end): the demo programme (made here when the database
    has none) with its interventions, and an administrator of the country."""
    from django.utils import timezone

    from ctip.accounts.models import RoleAssignment, User
    from ctip.geography import loaders
    from ctip.geography.models import Area
    from ctip.geography.selectors import resolve_area_code
    from ctip.interventions import demo as idemo
    from ctip.registry import demo
    from ctip.registry.models import Person

    size = os.environ.get("BENCH_DEMO_SIZE", "large")
    if not Area.objects.exists():
        loaders.load()
    if not Person.objects.exists():
        demo.generate(size=size, seed=1)
    today = timezone.localdate()
    if idemo.already_generated() is None:
        idemo.generate_interventions(seed=1, as_of=today, size=size)
        demo.refresh_statistics()
    country = resolve_area_code(COUNTRY)
    actor, created = User.objects.get_or_create(username="bench-summary-admin")
    if created:
        RoleAssignment.objects.create(user=actor, role="administrator", area=country)
    # The demo's 18 months: every intervention it made.
    return actor, country, today - dt.timedelta(days=idemo.WINDOW_DAYS), today


# --------------------------------------------------------------------------------------
# The baseline: one statement per figure, written for this benchmark, grouped by the
# province (the path segment after the country's) of the person's village.


def _province(path: str, parent_len: int) -> str:
    from django.db import connection

    rest = f"substr({path}, {parent_len + 1})"
    if connection.vendor == "postgresql":
        return f"split_part({rest}, '/', 1)"
    return f"substr({rest}, 1, instr({rest}, '/') - 1)"


def _ymd(expr: str) -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        return f"CAST(to_char({expr}, 'YYYYMMDD') AS integer)"
    return f"CAST(replace({expr}, '-', '') AS integer)"


def _first_day(expr: str) -> str:
    from django.db import connection

    return (
        f"CAST({expr} AS date)" if connection.vendor == "postgresql" else f"substr({expr}, 1, 10)"
    )


def baseline_statements(parent_path: str) -> dict[str, str]:
    prov = _province("v.path", len(parent_path))
    age = f"(({_ymd('c.first_on')} - {_ymd('p.date_of_birth')}) / 10000)"
    band = (
        "CASE WHEN p.date_of_birth IS NULL THEN 'unknown' "
        f"WHEN {age} BETWEEN 0 AND 11 THEN '0-11' WHEN {age} BETWEEN 12 AND 14 THEN '12-14' "
        f"WHEN {age} BETWEEN 15 AND 17 THEN '15-17' WHEN {age} BETWEEN 18 AND 24 THEN '18-24' "
        f"WHEN {age} >= 25 THEN '25+' ELSE 'unknown' END"
    )
    where = "v.path LIKE %(under)s"
    people = (
        "JOIN registry_person p ON p.id = c.person_id "
        "JOIN registry_household h ON h.id = p.household_id "
        "JOIN geography_area v ON v.id = h.village_id"
    )
    between = "BETWEEN %(start)s AND %(end)s"
    contacts = f"""
        SELECT 'awareness' AS component, a.person_id, e.held_on AS on_day
          FROM interventions_eventattendance a
          JOIN interventions_awarenessevent e ON e.id = a.event_id WHERE e.held_on {between}
        UNION ALL SELECT 'training', person_id, enrolled_on FROM interventions_enrolment
          WHERE enrolled_on {between}
        UNION ALL SELECT 'loan', person_id, disbursed_on FROM interventions_loan
          WHERE person_id IS NOT NULL AND disbursed_on {between}
        UNION ALL SELECT 'savings', person_id, joined_on FROM interventions_savingsmember
          WHERE joined_on {between}
        UNION ALL SELECT 'iga', person_id, COALESCE(started_on, {_first_day("created_at")})
          FROM interventions_incomeactivity WHERE person_id IS NOT NULL
          AND COALESCE(started_on, {_first_day("created_at")}) {between}
        UNION ALL SELECT 'education', person_id, starts_on FROM interventions_educationsupport
          WHERE starts_on {between}
        UNION ALL SELECT 'participation', pa.person_id, ev.held_on
          FROM interventions_participant pa
          JOIN interventions_participationevent ev ON ev.id = pa.event_id
          WHERE ev.held_on {between}
    """
    return {
        "reach": f"""
            WITH contact AS ({contacts}),
            firsts AS (
                SELECT component, person_id, MIN(on_day) AS first_on FROM contact
                GROUP BY component, person_id
                UNION ALL
                SELECT 'any', person_id, MIN(on_day) FROM contact GROUP BY person_id
            )
            SELECT c.component, {prov}, p.sex, {band}, COUNT(*)
            FROM firsts c {people} WHERE {where}
            GROUP BY 1, 2, 3, 4""",
        "headcounts": f"""
            SELECT {prov}, hc.sex, hc.age_band, SUM(hc.count)
            FROM interventions_eventheadcount hc
            JOIN interventions_awarenessevent e ON e.id = hc.event_id
            JOIN geography_area v ON v.id = e.village_id
            WHERE e.held_on {between} AND {where} GROUP BY 1, 2, 3""",
        "training": f"""
            SELECT {prov}, COUNT(*),
                   SUM(CASE WHEN c.status = 'completed' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN c.status = 'dropped_out' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN c.status = 'completed' AND six.id IS NOT NULL THEN 1 ELSE 0 END),
                   SUM(CASE WHEN c.status = 'completed' AND six.situation IN
                       ('employed_locally', 'self_employed') THEN 1 ELSE 0 END)
            FROM interventions_enrolment c
            LEFT JOIN (SELECT enrolment_id, MIN(id) AS id, MIN(situation) AS situation
                       FROM interventions_followup
                       WHERE months_after = 6 AND status = 'done' AND enrolment_id IS NOT NULL
                       GROUP BY enrolment_id) six ON six.enrolment_id = c.id
            {people} WHERE c.enrolled_on {between} AND {where} GROUP BY 1""",
        "loans": f"""
            SELECT {prov}, c.currency, SUM(c.live),
                   SUM(CASE WHEN c.live = 1 THEN c.outstanding ELSE 0 END),
                   SUM(CASE WHEN c.live = 1 AND c.late = 1 THEN c.outstanding ELSE 0 END),
                   SUM(c.due), SUM(CASE WHEN c.paid < c.due THEN c.paid ELSE c.due END)
            FROM (
                SELECT l.household_id, l.currency,
                       CASE WHEN l.status = 'active' OR l.closed_on > %(end)s
                            THEN 1 ELSE 0 END AS live,
                       l.principal - COALESCE((SELECT SUM(r.principal_part)
                           FROM interventions_repayment r
                           WHERE r.loan_id = l.id AND r.paid_on <= %(end)s), 0) AS outstanding,
                       CASE WHEN EXISTS (SELECT 1 FROM interventions_installment i
                           WHERE i.loan_id = l.id AND i.due_on < %(risk)s
                           AND (i.paid_on IS NULL OR i.paid_on > %(end)s))
                            THEN 1 ELSE 0 END AS late,
                       COALESCE((SELECT SUM(i.total) FROM interventions_installment i
                           WHERE i.loan_id = l.id AND i.due_on <= %(end)s), 0) AS due,
                       COALESCE((SELECT SUM(r.amount) FROM interventions_repayment r
                           WHERE r.loan_id = l.id AND r.paid_on <= %(end)s), 0) AS paid
                FROM interventions_loan l
                WHERE l.disbursed_on <= %(end)s
            ) c
            JOIN registry_household h ON h.id = c.household_id
            JOIN geography_area v ON v.id = h.village_id
            WHERE {where} GROUP BY 1, 2""",
        "igas": f"""
            SELECT {prov}, a.currency, COUNT(*),
                   SUM(a.expected_price * a.expected_volume
                       - COALESCE(k.variable, 0) * a.expected_volume - COALESCE(k.fixed, 0))
            FROM interventions_incomeactivity a
            LEFT JOIN (SELECT activity_id,
                              SUM(CASE WHEN kind = 'variable' THEN amount ELSE 0 END) AS variable,
                              SUM(CASE WHEN kind = 'fixed' THEN amount ELSE 0 END) AS fixed
                       FROM interventions_activitycost GROUP BY activity_id) k
                   ON k.activity_id = a.id
            JOIN registry_household h ON h.id = a.household_id
            JOIN geography_area v ON v.id = h.village_id
            WHERE a.status <> 'stopped'
              AND COALESCE(a.started_on, {_first_day("a.created_at")}) {between}
              AND {where} GROUP BY 1, 2""",
        "follow_ups": f"""
            SELECT {prov}, SUM(CASE WHEN c.status = 'due' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN c.status = 'due' AND c.due_on < %(today)s THEN 1 ELSE 0 END),
                   SUM(CASE WHEN c.status = 'done' AND c.visited_on {between} THEN 1 ELSE 0 END)
            FROM interventions_followup c {people}
            WHERE c.status IN ('due', 'done') AND {where} GROUP BY 1""",
    }


def run_baseline(
    statements: dict[str, str], params: dict[str, Any]
) -> dict[str, list[tuple[Any, ...]]]:
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for name, sql in statements.items():
            cursor.execute(sql, params)
            out[name] = cursor.fetchall()
    return out


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def check_same(summary: Any, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    """The summary's province rows give the baseline's figures (else AssertionError)."""
    by_id = {str(r.area.pk): r for r in summary.children}
    reach: dict[tuple[str, str], int] = defaultdict(int)
    for component, province, _sex, _band, n in rows["reach"]:
        reach[component, str(province)] += n
    for (component, province), n in reach.items():
        assert by_id[province].reach[component].total == n, (component, province)
    for province, enrolled, completed, dropped, followed, employed in rows["training"]:
        t = by_id[str(province)].training
        got = (t.enrolled, t.completed, t.dropped_out, t.followed_6m, t.employed_6m)
        assert got == (enrolled, completed, dropped, followed, employed), province
    for province, currency, n, outstanding, at_risk, due, paid in rows["loans"]:
        (f,) = [x for x in by_id[str(province)].loans if x.currency == currency]
        assert f.active_loans == n, (province, currency)
        assert f.outstanding_principal == _money(outstanding), (province, currency)
        assert f.at_risk_principal == _money(at_risk), (province, currency)
        rate = float(_money(paid) / _money(due)) if due else None
        assert rate is None or abs((f.repayment_rate or 0) - rate) < 1e-4, (province, currency)
    for province, currency, n, margins in rows["igas"]:
        (g,) = [x for x in by_id[str(province)].igas if x.currency == currency]
        assert g.activities == n and g.margin_sum == _money(margins), (province, currency)
    for province, due, overdue, done in rows["follow_ups"]:
        fu = by_id[str(province)].follow_ups
        assert (fu.due, fu.overdue, fu.done_in_period) == (due, overdue, done), province
    heads: dict[str, int] = defaultdict(int)
    for province, _sex, _band, n in rows["headcounts"]:
        heads[str(province)] += int(n)
    for province, n in heads.items():
        assert by_id[province].large_events.total == n, province


def bench_intervention_summary() -> list[Figure]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ctip.accounts.models import User
    from ctip.geography.selectors import resolve_area_code
    from ctip.interventions.selectors.loans import AT_RISK_DAYS
    from ctip.interventions.selectors.summary import area_summary

    actor, country, start, end = _world()
    statements = baseline_statements(country.path)
    params = {
        "under": country.path + "%",
        "start": start,
        "end": end,
        "today": end,
        "risk": end - dt.timedelta(days=AT_RISK_DAYS),
    }

    def ours() -> Any:
        return area_summary(actor, country, start=start, end=end, today=end)

    def baseline() -> Any:
        return run_baseline(statements, params)

    check_same(ours(), baseline())

    def queries(area: Any) -> int:
        fresh = User.objects.get(pk=actor.pk)  # no cached role assignments
        with CaptureQueriesContext(connection) as ctx:
            area_summary(fresh, area, start=start, end=end, today=end)
        return len(ctx.captured_queries)

    in_country, in_province = queries(country), queries(resolve_area_code(PROVINCE))
    if in_country != in_province:
        raise AssertionError(
            f"the summary took {in_country} queries for {COUNTRY} but {in_province} for "
            f"{PROVINCE}: the number of queries must not depend on the areas"
        )
    provinces = len(ours().children)
    print(
        f"intervention_summary: {COUNTRY} and its {provinces} provinces in {in_country} "
        f"queries (a province and its districts: {in_province})",
        flush=True,
    )
    return [
        Figure("intervention_summary_country", best_of(5, ours), best_of(5, baseline)),
        Figure(
            "intervention_summary_queries", float(in_country), float(in_province), unit="queries"
        ),
    ]


BENCHES.append(bench_intervention_summary)
