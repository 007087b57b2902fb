"""Recording income-generating activities with their costs, and the wage benchmarks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ctip.core.models import AuditEvent
from ctip.interventions import iga
from ctip.interventions.dates import add_months
from ctip.interventions.models import (
    ActivityCost,
    FollowUp,
    FollowUpStatus,
    IncomeActivity,
    MigrationBenchmark,
)
from ctip.interventions.selectors import igas as sel
from ctip.interventions.services import igas as svc
from tests.interventions import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def place():
    sr = f.village("20")
    return {
        "village": sr,
        "fac": f.staff("fac", "facilitator", sr.parent),
        "manager": f.staff("pm", "programme_manager", "KH-20"),
        "person": f.consenting_person(sr, name="Sokha", born=dt.date(2001, 2, 3)),
    }


def _bench(place, **kw) -> MigrationBenchmark:
    values = {
        "destination": "Bangkok",
        "destination_country": "th",
        "sector": "construction",
        "monthly_wage": "1200000",
        "monthly_costs": "500000",
        "currency": "KHR",
        "valid_from": dt.date(2025, 1, 1),
        "source": "IOM 2024 survey",
        **kw,
    }
    return svc.benchmark_create(actor=place["manager"], **values)


COSTS = [
    {"item": "Coop and chicks", "kind": "investment", "amount": "1500000"},
    {"item": "Vaccines", "kind": "fixed", "amount": "50000"},
    {"item": "Transport", "kind": "fixed", "amount": "30000"},
    {"item": "Feed per kg", "kind": "variable", "amount": "1000"},
]


def _activity(place, **kw) -> IncomeActivity:
    person = kw.pop("person", place["person"])
    actor = kw.pop("actor", place["fac"])
    values = {
        "household": person.household,
        "person": person,
        "title": "Chicken raising",
        "sector": "livestock",
        "unit": "kg",
        "expected_price": "2500",
        "expected_volume": "300",
        "currency": "KHR",
        "costs": COSTS,
        **kw,
    }
    return svc.activity_create(actor=actor, **values)


class TestActivities:
    def test_an_activity_with_its_costs_and_its_margin_against_migrating(self, place):
        bench = _bench(place)
        assert bench.destination_country == "TH"
        act = _activity(place, benchmark=bench)
        assert act.costs.count() == 4
        analysis = iga.analyse(act)
        assert analysis.gross_margin == D("370000")
        assert analysis.benchmark.verdict == iga.LESS
        assert analysis.benchmark.text == (
            "Earns less than migrating to Bangkok to work in Construction: 370,000 KHR a month "
            "against 700,000 KHR net of living costs there."
        )
        event = AuditEvent.objects.get(object_type="interventions.incomeactivity")
        assert event.action == "create" and len(event.changes["costs"]) == 4

    def test_a_negative_price_volume_or_cost_is_refused_naming_field_and_row(self, place):
        bad_costs = [*COSTS[:2], {"item": "Feed", "kind": "variable", "amount": "-1"}]
        with pytest.raises(ValidationError) as err:
            _activity(place, expected_price="-2500", expected_volume="-1", costs=bad_costs)
        assert err.value.message_dict == {
            "expected_price": ["The amount must not be negative."],
            "expected_volume": ["The amount must not be negative."],
            "costs[3].amount": ["The amount must not be negative."],
        }
        assert not IncomeActivity.objects.exists() and not ActivityCost.objects.exists()

    def test_cost_rows_need_an_item_and_a_kind(self, place):
        with pytest.raises(ValidationError) as err:
            _activity(place, costs=[{"item": "", "kind": "monthly", "amount": "x"}])
        errors = err.value.message_dict
        assert set(errors) == {"costs[1].item", "costs[1].kind", "costs[1].amount"}
        assert errors["costs[1].amount"] == ["Give an amount such as 150000 or 12.50."]

    def test_the_person_needs_consent_for_services(self, place):
        person = f.consenting_person(place["village"], name="Nary", purposes=("registration",))
        with pytest.raises(ValidationError) as err:
            _activity(place, person=person)
        assert err.value.message_dict == {
            "person": ["Chan Nary has no consent for referral to and delivery of services."]
        }

    def test_the_person_belongs_to_the_household(self, place):
        other = f.consenting_person(place["village"], name="Other")
        with pytest.raises(ValidationError) as err:
            svc.activity_create(
                actor=place["fac"],
                household=place["person"].household,
                person=other,
                title="x",
                sector="trade",
                unit="piece",
                expected_price="1",
                expected_volume="1",
                currency="KHR",
            )
        assert "is not a member of household" in err.value.message_dict["person"][0]

    def test_only_in_the_actors_area_and_with_the_right_to_record(self, place):
        outsider = f.staff("out", "facilitator", f.village("14").parent)
        reader = f.staff("me", "me_officer", "KH-20")
        for who in (outsider, reader):
            with pytest.raises(PermissionDenied):
                _activity(place, actor=who)
        assert not IncomeActivity.objects.exists()

    def test_starting_the_activity_schedules_its_follow_ups(self, place):
        start = TODAY - dt.timedelta(days=40)
        act = _activity(place, status="running", started_on=start)
        visits = list(FollowUp.objects.filter(activity=act).order_by("due_on"))
        assert [(v.component, v.due_on, v.months_after) for v in visits] == [
            ("iga", add_months(start, 3), 3),
            ("iga", add_months(start, 6), 6),
            ("iga", add_months(start, 12), 12),
        ]
        assert all(v.assigned_to == place["fac"] and v.person == place["person"] for v in visits)

    def test_a_planned_activity_has_no_visits_until_it_starts(self, place):
        act = _activity(place)
        assert not FollowUp.objects.filter(activity=act).exists()
        start = TODAY - dt.timedelta(days=3)
        svc.activity_update(actor=place["fac"], activity=act, status="running", started_on=start)
        assert FollowUp.objects.filter(activity=act).count() == 3
        # Saving again makes no second set.
        svc.activity_update(actor=place["fac"], activity=act, title="Chickens and ducks")
        assert FollowUp.objects.filter(activity=act).count() == 3

    def test_a_changed_start_moves_the_visits_still_due(self, place):
        first = TODAY - dt.timedelta(days=400)
        act = _activity(place, status="running", started_on=first)
        three = FollowUp.objects.get(activity=act, months_after=3)
        three.status = FollowUpStatus.DONE
        three.save()
        later = TODAY - dt.timedelta(days=100)
        svc.activity_update(actor=place["fac"], activity=act, started_on=later)
        due = FollowUp.objects.filter(activity=act, status=FollowUpStatus.DUE)
        assert sorted(due.values_list("due_on", flat=True)) == [
            add_months(later, 3),
            add_months(later, 6),
            add_months(later, 12),
        ]
        cancelled = FollowUp.objects.filter(activity=act, status=FollowUpStatus.CANCELLED)
        assert cancelled.count() == 2
        # The visit already made stays as it was.
        assert FollowUp.objects.get(pk=three.pk).status == FollowUpStatus.DONE

    def test_running_needs_a_start_date_in_the_past(self, place):
        with pytest.raises(ValidationError) as err:
            _activity(place, status="running")
        assert err.value.message_dict == {"started_on": ["Say when the activity started."]}
        with pytest.raises(ValidationError) as err:
            _activity(place, status="running", started_on=TODAY + dt.timedelta(days=1))
        assert "in the future" in err.value.message_dict["started_on"][0]

    def test_update_replaces_the_cost_lines_all_or_nothing(self, place):
        act = _activity(place)
        with pytest.raises(ValidationError) as err:
            svc.activity_update(
                actor=place["fac"],
                activity=act,
                expected_price="3000",
                costs=[{"item": "Feed", "kind": "variable", "amount": "1200"}, {"item": "x"}],
            )
        assert set(err.value.message_dict) == {"costs[2].kind", "costs[2].amount"}
        act.refresh_from_db()
        assert act.expected_price == D("2500") and act.costs.count() == 4
        svc.activity_update(
            actor=place["fac"],
            activity=act,
            expected_price="3000",
            costs=[{"item": "Feed", "kind": "variable", "amount": "1200"}],
        )
        act.refresh_from_db()
        assert iga.analyse(act).gross_margin == D("540000")  # (3,000 - 1,200) x 300
        event = AuditEvent.objects.filter(action="update").latest("id")
        assert event.changes["expected_price"] == {"before": "2500.00", "after": "3000.00"}
        assert len(event.changes["costs"]["after"]) == 1

    def test_an_activity_in_another_currency_is_not_compared(self, place):
        act = _activity(place, benchmark=_bench(place, currency="USD", monthly_wage="350"))
        assert iga.analyse(act).benchmark.verdict == iga.DIFFERENT_CURRENCY


class TestBenchmarks:
    def test_only_managers_set_benchmarks(self, place):
        with pytest.raises(PermissionDenied):
            _bench({"manager": place["fac"]})
        assert not MigrationBenchmark.objects.exists()

    def test_bad_benchmark_values_are_named(self, place):
        with pytest.raises(ValidationError) as err:
            _bench(place, monthly_wage="-1", destination_country="THA", sector="mining")
        assert set(err.value.message_dict) == {"monthly_wage", "destination_country", "sector"}

    def test_a_retired_benchmark_is_not_chosen_anew(self, place):
        bench = _bench(place)
        act = _activity(place, benchmark=bench)
        svc.benchmark_update(actor=place["manager"], benchmark=bench, active=False)
        # The activity keeps it...
        svc.activity_update(actor=place["fac"], activity=act, benchmark=bench, title="Chickens")
        # ...but a new activity cannot choose it.
        with pytest.raises(ValidationError) as err:
            _activity(place, benchmark=bench)
        assert "no longer in use" in err.value.message_dict["benchmark"][0]


class TestSelectors:
    def test_activities_are_scoped_by_the_households_village(self, place):
        act = _activity(place)
        assert list(sel.activities_visible_to(place["fac"])) == [act]
        assert not sel.activities_visible_to(f.staff("o", "facilitator", "KH-14")).exists()
        assert not sel.activities_visible_to(f.staff("d", "donor", "KH")).exists()

    def test_filter_by_the_comparison_with_migrating(self, place):
        cheap = _bench(place, destination="Phnom Penh", monthly_wage="600000")
        dear = _bench(place)
        usd = _bench(place, currency="USD", monthly_wage="300")
        more = _activity(place, benchmark=cheap)
        less = _activity(place, benchmark=dear)
        other = _activity(place, benchmark=usd)
        fac = place["fac"]
        assert list(sel.activity_search(fac, verdict="more")) == [more]
        assert list(sel.activity_search(fac, verdict="less")) == [less]
        assert list(sel.activity_search(fac, verdict="not_comparable")) == [other]
