"""IGA and benchmark pages: the margin against migrating as a committee reads it, and
who may see and change what."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ctip.core.models import AuditEvent
from ctip.interventions.models import ActivityCost, IncomeActivity, MigrationBenchmark
from ctip.interventions.services import followups as followup_svc
from ctip.interventions.services import igas as svc
from tests.interventions import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def world():
    sr = f.village("20")
    manager = f.staff("pm", "programme_manager", "KH-20")
    bench = svc.benchmark_create(
        actor=manager,
        destination="Bangkok",
        destination_country="TH",
        sector="construction",
        monthly_wage="1200000",
        monthly_costs="500000",
        currency="KHR",
        valid_from=dt.date(2025, 1, 1),
    )
    return {
        "village": sr,
        "fac": f.staff("fac", "facilitator", sr.parent),
        "manager": manager,
        "person": f.consenting_person(sr, name="Sokha", born=dt.date(2001, 2, 3)),
        "bench": bench,
        "outsider": f.staff("out", "facilitator", f.village("14").parent),
        "reader": f.staff("me", "me_officer", "KH-20"),
        "donor": f.staff("donor", "donor", "KH"),
    }


def _activity(world, **kw) -> IncomeActivity:
    person = kw.pop("person", world["person"])
    return svc.activity_create(
        actor=world["fac"],
        household=person.household,
        person=person,
        title=kw.pop("title", "Chicken raising"),
        sector="livestock",
        unit="kg",
        expected_price=kw.pop("price", "2500"),
        expected_volume="300",
        currency="KHR",
        benchmark=kw.pop("benchmark", world["bench"]),
        costs=[
            {"item": "Coop", "kind": "investment", "amount": "1500000"},
            {"item": "Vaccines", "kind": "fixed", "amount": "80000"},
            {"item": "Feed", "kind": "variable", "amount": "1000"},
        ],
        **kw,
    )


def _form_data(world, **over) -> dict:
    data = {
        "person": world["person"].pk,
        "title": "Vegetable stall",
        "sector": "trade",
        "unit": "bundle",
        "currency": "KHR",
        "expected_price": "1500",
        "expected_volume": "600",
        "benchmark": world["bench"].pk,
        "status": "planned",
        "started_on": "",
        "market_notes": "",
        "costs-TOTAL_FORMS": "3",
        "costs-INITIAL_FORMS": "0",
        "costs-MIN_NUM_FORMS": "0",
        "costs-MAX_NUM_FORMS": "100",
        "costs-0-item": "Seeds",
        "costs-0-kind": "variable",
        "costs-0-amount": "300",
        "costs-1-item": "Market fee",
        "costs-1-kind": "fixed",
        "costs-1-amount": "20000",
        "costs-2-item": "",
        "costs-2-kind": "",
        "costs-2-amount": "",
    }
    data.update(over)
    return data


class TestList:
    def test_the_list_shows_margin_and_verdict(self, client, world):
        _activity(world)
        client.force_login(world["fac"])
        text = client.get(reverse("interventions:iga-list")).content.decode()
        assert "Chicken raising" in text
        assert "370,000 KHR" in text  # 750,000 - 300,000 - 80,000
        assert "earns less" in text
        response = client.get(reverse("interventions:iga-list"), {"verdict": "more"})
        assert "Chicken raising" not in response.content.decode()

    def test_a_fixed_number_of_queries_whatever_the_number_of_activities(self, client, world):
        _activity(world)
        client.force_login(world["fac"])
        url = reverse("interventions:iga-list")
        client.get(url)
        with CaptureQueriesContext(connection) as few:
            client.get(url)
        for i in range(5):
            _activity(world, title=f"Activity {i}")
        with CaptureQueriesContext(connection) as many:
            response = client.get(url)
        assert response.content.count(b"Activity ") >= 5
        assert len(many) == len(few)

    def test_scoping_and_denial(self, client, world):
        _activity(world)
        url = reverse("interventions:iga-list")
        assert client.get(url).status_code == 302
        client.force_login(world["donor"])
        assert client.get(url).status_code == 403
        client.force_login(world["outsider"])
        assert b"Chicken raising" not in client.get(url).content


class TestDetail:
    def test_the_analysis_the_chart_and_actual_income(self, client, world):
        act = _activity(world, status="running", started_on=TODAY - dt.timedelta(days=120))
        visit = act.follow_ups.order_by("due_on").first()
        followup_svc.follow_up_record_visit(
            actor=world["fac"],
            follow_up=visit,
            visited_on=TODAY,
            situation="self_employed",
            monthly_income="410000",
            currency="KHR",
        )
        client.force_login(world["fac"])
        events = AuditEvent.objects.filter(action="read").count()
        response = client.get(reverse("interventions:iga-detail", args=[act.pk]))
        text = response.content.decode()
        assert response.status_code == 200
        assert (
            "Earns less than migrating to Bangkok to work in Construction: 370,000 KHR a month "
            "against 700,000 KHR net of living costs there." in text
        )
        assert "<svg" in text and "<script" not in text.split("<main")[1].split("</main>")[0]
        assert "Expected gross margin: 370,000 KHR" in text
        assert "Income found, 3 months after the start: 410,000 KHR" in text
        assert "Migrating to Bangkok, net: 700,000 KHR" in text
        assert "+40,000" in text  # found against expected
        assert AuditEvent.objects.filter(action="read").count() == events + 1

    def test_wrong_area_gets_404_and_nothing_is_audited(self, client, world):
        act = _activity(world)
        client.force_login(world["outsider"])
        events = AuditEvent.objects.count()
        for name in ("iga-detail", "iga-edit"):
            assert client.get(reverse(f"interventions:{name}", args=[act.pk])).status_code == 404
        assert AuditEvent.objects.count() == events


class TestForm:
    def test_recording_an_activity_with_its_costs(self, client, world):
        client.force_login(world["fac"])
        url = reverse("interventions:iga-create")
        pick = client.get(url)
        assert pick.status_code == 200 and b"Household code" in pick.content
        code = world["person"].household.code
        assert client.get(url, {"household": code}).status_code == 200
        response = client.post(f"{url}?household={code}", _form_data(world))
        act = IncomeActivity.objects.get(title="Vegetable stall")
        assert response.url == reverse("interventions:iga-detail", args=[act.pk])
        assert sorted(act.costs.values_list("item", flat=True)) == ["Market fee", "Seeds"]

    def test_a_negative_price_and_cost_are_shown_next_to_their_field(self, client, world):
        client.force_login(world["fac"])
        url = f"{reverse('interventions:iga-create')}?household={world['person'].household.code}"
        data = _form_data(world, expected_price="-1500", **{"costs-1-amount": "-20000"})
        response = client.post(url, data)
        assert response.status_code == 200
        assert response.context["form"].errors["expected_price"] == [
            "The amount must not be negative."
        ]
        assert response.context["costs"].forms[1].errors["amount"] == [
            "The amount must not be negative."
        ]
        assert not IncomeActivity.objects.exists() and not ActivityCost.objects.exists()

    def test_more_cost_lines_without_a_script(self, client, world):
        client.force_login(world["fac"])
        url = f"{reverse('interventions:iga-create')}?household={world['person'].household.code}"
        response = client.post(url, {**_form_data(world), "more_rows": "1"})
        assert len(response.context["costs"].forms) == 6
        assert response.context["costs"].forms[0]["item"].value() == "Seeds"
        assert not IncomeActivity.objects.exists()

    def test_a_household_elsewhere_is_not_offered(self, client, world):
        other = f.consenting_person(f.village("14"), name="Far")
        client.force_login(world["fac"])
        response = client.get(
            reverse("interventions:iga-create"), {"household": other.household.code}
        )
        assert response.context["pick"].errors["household"] == [
            "No household with this code in your areas."
        ]

    def test_editing(self, client, world):
        act = _activity(world)
        client.force_login(world["fac"])
        url = reverse("interventions:iga-edit", args=[act.pk])
        page = client.get(url)
        assert page.context["costs"].forms[0]["item"].value() in {"Coop", "Vaccines", "Feed"}
        data = _form_data(
            world, title="Chickens", **{"costs-TOTAL_FORMS": "1", "costs-0-amount": "200"}
        )
        assert client.post(url, data).status_code == 302
        act.refresh_from_db()
        assert act.title == "Chickens" and act.costs.get().amount == D("200")

    @pytest.mark.parametrize(("who", "status"), [("reader", 403), ("donor", 403)])
    def test_readers_cannot_record(self, client, world, who, status):
        act = _activity(world)
        client.force_login(world[who])
        assert client.get(reverse("interventions:iga-create")).status_code == status
        url = reverse("interventions:iga-edit", args=[act.pk])
        assert client.post(url, _form_data(world, title="Changed")).status_code == status
        act.refresh_from_db()
        assert act.title == "Chicken raising"


class TestBenchmarks:
    def test_everyone_on_staff_reads_them_and_managers_add_them(self, client, world):
        url = reverse("interventions:benchmark-list")
        for who in ("fac", "donor", "reader"):
            client.force_login(world[who])
            response = client.get(url)
            assert b"Bangkok" in response.content and b"700,000" in response.content
            assert b"Add a benchmark" not in response.content
        client.force_login(world["fac"])
        new = reverse("interventions:benchmark-create")
        data = {
            "destination": "Kuala Lumpur",
            "destination_country": "MY",
            "sector": "factory",
            "currency": "USD",
            "monthly_wage": "420",
            "monthly_costs": "150",
            "valid_from": "2025-06-01",
            "source": "",
            "active": "on",
        }
        assert client.post(new, data).status_code == 403
        assert not MigrationBenchmark.objects.filter(destination="Kuala Lumpur").exists()
        client.force_login(world["manager"])
        response = client.post(new, {**data, "monthly_wage": "-420"})
        assert response.context["form"].errors["monthly_wage"] == [
            "The amount must not be negative."
        ]
        assert client.post(new, data).status_code == 302
        bench = MigrationBenchmark.objects.get(destination="Kuala Lumpur")
        edit = reverse("interventions:benchmark-edit", args=[bench.pk])
        assert client.post(edit, {**data, "monthly_costs": "200"}).status_code == 302
        bench.refresh_from_db()
        assert bench.monthly_costs == D("200")
