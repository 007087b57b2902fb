"""Per-area summaries: people reached by component, sex and age band (age on the first
contact in the period), training completion and employment six months on, IGA margins
against migration, follow-ups overdue; small cells hidden from donors; a fixed number
of queries whatever the number of areas."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ctip.geography.selectors import resolve_area_code
from ctip.interventions import models as m
from ctip.interventions.selectors import summary as s
from ctip.registry.models import Person
from tests.interventions import factories as f
from tests.interventions import test_overview_world as w

pytestmark = pytest.mark.django_db

START, END, TODAY = dt.date(2026, 1, 1), dt.date(2026, 10, 31), dt.date(2026, 11, 1)


@pytest.fixture
def world() -> dict[str, object]:
    v1 = f.village("20")  # Chantrea district
    v2 = w.other_district_village("20", 1)  # Kampong Rou district
    a = f.consenting_person(v1, born=dt.date(2008, 5, 1), sex="female", name="Sophea")
    b = f.consenting_person(v1, born=dt.date(2012, 3, 1), sex="male", name="Dara")
    c = f.consenting_person(v2, born=dt.date(1990, 1, 1), sex="female", name="Chanthou")
    Person.objects.filter(pk=c.pk).update(date_of_birth=None)  # age no longer known
    d = f.consenting_person(v2, born=dt.date(2000, 1, 1), sex="male", name="Vuthy")
    w.attend(a, on=dt.date(2026, 3, 1))
    w.attend(a, on=dt.date(2026, 4, 1))
    w.attend(b, on=dt.date(2026, 3, 1))
    w.attend(b, on=dt.date(2025, 12, 1))  # before the period
    w.enrol(
        a,
        on=dt.date(2026, 6, 1),
        completed_on=dt.date(2026, 8, 1),
        situation_6m=m.Situation.EMPLOYED_LOCALLY,
    )
    w.enrol(d, on=dt.date(2026, 3, 1), dropped_on=dt.date(2026, 4, 1))
    w.loan(c, on=dt.date(2026, 2, 1))
    w.savings(c, on=dt.date(2026, 2, 1))
    w.iga(c, on=dt.date(2026, 2, 1), bench=w.benchmark("KHR", "1200000", "400000"))
    w.education(c, on=dt.date(2026, 9, 1))
    w.participate(c, on=dt.date(2026, 5, 1))
    w.follow_up(c, due=dt.date(2026, 10, 1))  # overdue on TODAY
    w.follow_up(c, due=dt.date(2026, 12, 1))  # due, not yet overdue
    w.headcount(v1, dt.date(2026, 5, 5), {("female", "15-17"): 30, ("male", "15-17"): 25})
    officer = f.staff("officer", "provincial_officer", "KH-20")
    return {"v1": v1, "v2": v2, "a": a, "b": b, "c": c, "d": d, "officer": officer}


def _summary(actor, code: str = "KH-20", **kw) -> s.Summary:
    return s.area_summary(
        actor, resolve_area_code(code), start=kw.get("start", START), end=END, today=TODAY
    )


def _child(summary: s.Summary, area) -> s.AreaSummary:
    return next(r for r in summary.children if r.area.pk == area.pk)


def test_people_reached_by_component_sex_and_age_at_first_contact(world) -> None:
    summary = _summary(world["officer"])
    assert not summary.suppressed
    reach = summary.total.reach
    awareness = reach[m.Component.AWARENESS]
    # Sophea twice (counted once), Dara once in the period (his 2025 event is outside it).
    assert awareness.total == 2
    assert awareness.by_sex == {"female": 1, "male": 1, "other": 0, "undisclosed": 0}
    # Sophea was 17 at her first event, Dara 13.
    assert awareness.by_band["15-17"] == 1 and awareness.by_band["12-14"] == 1
    training = reach[m.Component.TRAINING]
    assert training.total == 2
    # Sophea turned 18 before she enrolled; Vuthy was 26.
    assert training.by_band["18-24"] == 1 and training.by_band["25+"] == 1
    for component in (
        m.Component.LOAN,
        m.Component.SAVINGS,
        m.Component.IGA,
        m.Component.EDUCATION,
        m.Component.PARTICIPATION,
    ):
        assert reach[component].total == 1, component
        assert reach[component].by_band[s.UNKNOWN_BAND] == 1  # no date of birth
        assert reach[component].by_sex["female"] == 1
    anyone = reach[s.ANY]
    assert anyone.total == 4
    assert anyone.by_band == {
        "0-11": 0,
        "12-14": 1,
        "15-17": 1,
        "18-24": 0,
        "25+": 1,
        s.UNKNOWN_BAND: 1,
    }


def test_each_child_unit_gets_its_own_figures_and_they_add_up(world) -> None:
    summary = _summary(world["officer"])
    chantrea = _child(summary, w.district_of(world["v1"]))
    kampong_rou = _child(summary, w.district_of(world["v2"]))
    assert chantrea.reach[m.Component.AWARENESS].total == 2
    assert chantrea.reach[m.Component.TRAINING].total == 1
    assert chantrea.reach[m.Component.LOAN].total == 0
    assert kampong_rou.reach[m.Component.AWARENESS].total == 0
    assert kampong_rou.reach[m.Component.LOAN].total == 1
    assert (chantrea.reach[s.ANY].total, kampong_rou.reach[s.ANY].total) == (2, 2)
    # Every district of Svay Rieng has a row, with or without figures.
    assert len(summary.children) == resolve_area_code("KH-20").children.count()
    assert {r.area.level for r in summary.children} == {"district"}


def test_headcounts_at_large_events_are_counted_apart(world) -> None:
    summary = _summary(world["officer"])
    crowd = summary.total.large_events
    assert crowd.total == 55
    assert crowd.by_sex["female"] == 30 and crowd.by_sex["male"] == 25
    assert crowd.by_band["15-17"] == 55
    assert summary.total.reach[m.Component.AWARENESS].total == 2  # names only
    assert _child(summary, w.district_of(world["v1"])).large_events.total == 55


def test_training_completion_and_employment_six_months_on(world) -> None:
    t = _summary(world["officer"]).total.training
    assert (t.enrolled, t.completed, t.dropped_out, t.ongoing) == (2, 1, 1, 0)
    assert t.completion_rate == 0.5
    assert (t.followed_6m, t.employed_6m) == (1, 1)
    assert t.employment_rate == 1.0


def test_a_trainee_found_unemployed_lowers_the_employment_rate(world) -> None:
    e = f.consenting_person(world["v1"], born=dt.date(2005, 1, 1), name="Bopha")
    w.enrol(
        e,
        on=dt.date(2026, 2, 1),
        completed_on=dt.date(2026, 3, 1),
        situation_6m=m.Situation.UNEMPLOYED,
    )
    t = _summary(world["officer"]).total.training
    assert (t.followed_6m, t.employed_6m) == (2, 1)
    assert t.employment_rate == 0.5


def test_iga_margin_against_the_migration_benchmark(world) -> None:
    (figures,) = _summary(world["officer"]).total.igas
    # 5,000 x 300 - (1,500 + 500) x 300 - 100,000; the investment is not a monthly cost.
    assert figures.currency == "KHR"
    assert figures.average_margin == Decimal("800000.00")
    assert figures.compared == 1
    assert figures.average_benchmark_net == Decimal("800000.00")
    assert figures.at_or_above_benchmark == 1


def test_iga_margins_agree_with_the_activity_analysis(world) -> None:
    from ctip.interventions import iga

    c = world["c"]
    acts = [
        w.iga(c, on=dt.date(2026, 3, 1), price="2750.50", volume="41.25", variable=("612.35",)),
        w.iga(c, on=dt.date(2026, 4, 1), price="12000", volume="18", fixed=("35500", "9999.99")),
    ]
    first = m.IncomeActivity.objects.exclude(pk__in=[a.pk for a in acts]).get()
    analysed = [iga.analyse(a).gross_margin for a in [first, *acts]]
    expected = (sum(analysed, Decimal(0)) / 3).quantize(Decimal("0.01"))
    (figures,) = _summary(world["officer"]).total.igas
    assert figures.activities == 3
    assert figures.average_margin == expected


def test_a_stopped_activity_or_one_in_another_currency_is_left_out_of_the_comparison(
    world,
) -> None:
    c = world["c"]
    w.iga(c, on=dt.date(2026, 3, 1), status=m.ActivityStatus.STOPPED)
    w.iga(
        c,
        on=dt.date(2026, 3, 1),
        currency="USD",
        price="2",
        volume="100",
        variable=(),
        fixed=("50",),
        bench=w.benchmark("KHR"),
    )
    by_currency = {x.currency: x for x in _summary(world["officer"]).total.igas}
    assert by_currency["KHR"].activities == 1
    usd = by_currency["USD"]
    assert (usd.activities, usd.average_margin, usd.compared) == (1, Decimal("150.00"), 0)
    assert usd.average_benchmark_net is None


def test_par30_and_outstanding_from_the_loan_portfolio(world) -> None:
    # Chanthou's loan of 1 February: 600,000 KHR, nothing repaid; by 31 October the
    # instalments from 1 March are overdue, the oldest by 244 days.
    c, v1 = world["c"], world["v1"]
    w.loan(world["a"], on=dt.date(2026, 9, 15), principal="300000")  # nothing due yet
    summary = _summary(world["officer"])
    (total,) = summary.total.loans
    assert total.currency == "KHR"
    assert total.active_loans == 2
    assert total.outstanding_principal == Decimal("900000.00")
    assert total.at_risk_principal == Decimal("600000.00")
    assert total.par30 == pytest.approx(600000 / 900000, abs=1e-4)
    (chantrea,) = _child(summary, w.district_of(v1)).loans
    assert chantrea.par30 == 0 and chantrea.outstanding_principal == Decimal("300000.00")
    (kampong_rou,) = _child(summary, w.district_of(c.household.village)).loans
    assert kampong_rou.par30 == 1


def test_follow_ups_overdue(world) -> None:
    fu = _summary(world["officer"]).total.follow_ups
    assert (fu.due, fu.overdue) == (2, 1)


def test_the_period_bounds_what_is_counted(world) -> None:
    summary = s.area_summary(
        world["officer"],
        resolve_area_code("KH-20"),
        start=dt.date(2026, 4, 1),
        end=dt.date(2026, 5, 31),
        today=TODAY,
    )
    reach = summary.total.reach
    assert reach[m.Component.AWARENESS].total == 1  # Sophea's April event only
    assert reach[m.Component.TRAINING].total == 0
    assert reach[m.Component.PARTICIPATION].total == 1
    everything = s.area_summary(
        world["officer"], resolve_area_code("KH-20"), start=None, end=END, today=TODAY
    )
    assert everything.total.reach[m.Component.AWARENESS].total == 2
    assert everything.total.reach[m.Component.AWARENESS].by_band["12-14"] == 1
    # From the start, Dara's first event was in December 2025, when he was 13 too.


def test_a_village_summary_has_no_child_rows(world) -> None:
    summary = _summary(world["officer"], world["v1"].code)
    assert summary.children == []
    assert summary.total.reach[m.Component.AWARENESS].total == 2


# --- who may read ----------------------------------------------------------------------


def test_anonymous_a_user_without_roles_and_a_donor_elsewhere_are_refused(world) -> None:
    from ctip.accounts.models import User

    nobody = User.objects.create_user(username="nobody", password="x-long-password-1")
    donor_vn = f.staff("donor-vn", "donor", "VN")
    officer_pv = f.staff("officer-pv", "provincial_officer", "KH-14")
    for actor in (AnonymousUser(), nobody, donor_vn, officer_pv):
        with pytest.raises(PermissionDenied):
            _summary(actor)
    # Nor a country the officer holds only one province of.
    with pytest.raises(PermissionDenied):
        _summary(world["officer"], "KH")


def test_a_donor_sees_small_counts_hidden(world) -> None:
    donor = f.staff("donor", "donor", "KH")
    summary = _summary(donor)
    assert summary.suppressed
    awareness = summary.total.reach[m.Component.AWARENESS]
    assert awareness.total is None  # 2
    assert set(awareness.by_sex.values()) == {None}
    assert summary.total.reach[m.Component.AWARENESS].by_band["0-11"] is None
    t = summary.total.training
    assert t.enrolled is None and t.completion_rate is None and t.employment_rate is None
    assert summary.total.large_events.total == 55
    assert summary.total.large_events.by_band["15-17"] == 55
    # Female 30, male 25: both large enough, the zeros stay zeros.
    assert summary.total.large_events.by_sex == {
        "female": 30,
        "male": 25,
        "other": 0,
        "undisclosed": 0,
    }
    assert summary.total.follow_ups.overdue is None
    assert summary.total.igas[0].average_margin is None


def test_a_hidden_cell_is_not_left_alone_next_to_its_total(world) -> None:
    v1, v2 = world["v1"], world["v2"]
    ev1 = w.event(v1, dt.date(2026, 7, 1))
    ev2 = w.event(v2, dt.date(2026, 7, 1))
    for i in range(7):
        w.attend(f.consenting_person(v1, sex="female", name=f"Girl {i}"), on=ev1.held_on, ev=ev1)
    for i in range(3):
        w.attend(f.consenting_person(v1, sex="male", name=f"Boy {i}"), on=ev1.held_on, ev=ev1)
    for i in range(2):
        w.attend(f.consenting_person(v2, sex="male", name=f"Lad {i}"), on=ev2.held_on, ev=ev2)
    donor = f.staff("donor", "donor", "KH")
    summary = _summary(donor)
    awareness = summary.total.reach[m.Component.AWARENESS]
    # 14 in all: 8 female (7 + Sophea), 6 male (3 + 2 + Dara).
    assert awareness.total == 14
    assert awareness.by_sex["female"] == 8 and awareness.by_sex["male"] == 6
    # Chantrea 12, Kampong Rou 2: hiding the 2 alone would show it as 14 - 12.
    chantrea = _child(summary, w.district_of(v1)).reach[m.Component.AWARENESS]
    kampong_rou = _child(summary, w.district_of(v2)).reach[m.Component.AWARENESS]
    assert kampong_rou.total is None
    assert chantrea.total is None
    assert set(chantrea.by_sex.values()) | set(kampong_rou.by_sex.values()) == {None}
    # The officer, who may see the persons, sees every figure.
    officer = _summary(world["officer"])
    assert _child(officer, w.district_of(v2)).reach[m.Component.AWARENESS].total == 2


def test_a_districts_loans_and_training_are_not_left_to_work_out_from_the_total(world) -> None:
    v1, v2 = world["v1"], world["v2"]
    for i in range(6):
        p = f.consenting_person(v1, born=dt.date(2000, 1, 1), name=f"Borrower {i}")
        w.loan(p, on=dt.date(2026, 9, 1))
        w.enrol(p, on=dt.date(2026, 2, 1))
    summary = _summary(f.staff("donor", "donor", "KH"))
    (total,) = summary.total.loans
    assert total.active_loans == 7  # six in Chantrea, Chanthou's in Kampong Rou
    assert total.outstanding_principal == Decimal("4200000.00")
    (kampong_rou,) = _child(summary, w.district_of(v2)).loans
    (chantrea,) = _child(summary, w.district_of(v1)).loans
    assert kampong_rou.active_loans is None and kampong_rou.outstanding_principal is None
    assert chantrea.active_loans is None and chantrea.outstanding_principal is None
    assert summary.total.training.enrolled == 8
    assert _child(summary, w.district_of(v1)).training.enrolled is None  # 7, beside 1
    assert _child(summary, w.district_of(v2)).training.enrolled is None
    # Districts with nothing stay at zero.
    used = {w.district_of(v1).pk, w.district_of(v2).pk}
    others = [r for r in summary.children if r.area.pk not in used]
    assert any(r.training.enrolled == 0 for r in others)


def test_hidden_cells_rule() -> None:
    assert s.hidden_cells(10, {"f": 7, "m": 3}) == {"f", "m"}
    assert s.hidden_cells(20, {"f": 7, "m": 3, "o": 10}) == {"f", "m"}
    assert s.hidden_cells(20, {"f": 3, "m": 2, "o": 15}) == {"f", "m"}
    assert s.hidden_cells(12, {"f": 12, "m": 0}) == set()
    assert s.hidden_cells(None, {"f": 2, "m": 1}) == {"f", "m"}
    assert s.hidden_cells(9, {"f": 4, "m": 0, "o": 5}) == {"f", "o"}


# --- fixed number of queries -------------------------------------------------------------


def _count_queries(actor, code: str) -> int:
    area = resolve_area_code(code)
    actor = type(actor).objects.get(pk=actor.pk)  # no cached assignments
    with CaptureQueriesContext(connection) as ctx:
        s.area_summary(actor, area, start=START, end=END, today=TODAY)
    return len(ctx.captured_queries)


def test_the_number_of_queries_does_not_grow_with_areas_or_records(world) -> None:
    officer = world["officer"]
    one = _count_queries(officer, world["v1"].code)
    province = _count_queries(officer, "KH-20")
    for index in range(2, 6):
        v = w.other_district_village("20", index)
        for i in range(3):
            p = f.consenting_person(v, name=f"P{index}-{i}")
            w.attend(p, on=dt.date(2026, 3, 1))
            w.enrol(p, on=dt.date(2026, 3, 1))
            w.loan(p, on=dt.date(2026, 3, 1))
            w.iga(p, on=dt.date(2026, 3, 1))
            w.follow_up(p, due=dt.date(2026, 9, 1))
    more = _count_queries(officer, "KH-20")
    country = _count_queries(f.staff("admin", "administrator", "KH"), "KH")
    assert one == province == more == country
