"""Follow-up pages: a facilitator's visits on a phone, the area lists, recording a visit,
and the plans."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ctip.core.models import AuditEvent
from ctip.interventions.models import FollowUp, FollowUpPlan, FollowUpStatus
from tests.interventions import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def world():
    sr = f.village("20")
    fac = f.staff("fac", "facilitator", sr.parent)
    fac2 = f.staff("fac2", "facilitator", sr)
    sokha = f.consenting_person(sr, name="Sokha")
    dara = f.consenting_person(sr, name="Dara")
    visits = {
        "late": FollowUp.objects.create(
            person=sokha,
            component="training",
            due_on=TODAY - dt.timedelta(days=5),
            months_after=3,
            assigned_to=fac,
        ),
        "soon": FollowUp.objects.create(
            person=dara, component="iga", due_on=TODAY, months_after=6, assigned_to=fac
        ),
        "theirs": FollowUp.objects.create(
            person=dara,
            component="loan",
            due_on=TODAY - dt.timedelta(days=2),
            months_after=1,
            assigned_to=fac2,
        ),
    }
    return {
        "village": sr,
        "fac": fac,
        "fac2": fac2,
        "po": f.staff("po", "provincial_officer", "KH-20"),
        "visits": visits,
        "outsider": f.staff("out", "facilitator", f.village("14").parent),
        "reader": f.staff("me", "me_officer", "KH-20"),
        "donor": f.staff("donor", "donor", "KH"),
    }


class TestMine:
    def test_my_visits_overdue_and_this_month(self, client, world):
        client.force_login(world["fac"])
        response = client.get(reverse("interventions:followup-mine"))
        visits = response.context["visits"]
        assert visits.overdue == [world["visits"]["late"]]
        assert visits.this_month == [world["visits"]["soon"]]
        text = response.content.decode()
        assert "Chan Sokha" in text and "Record the visit" in text
        assert "Micro-finance loan" not in text  # fac2's visit

    def test_anonymous_and_donor(self, client, world):
        url = reverse("interventions:followup-mine")
        assert client.get(url).status_code == 302
        client.force_login(world["donor"])
        assert client.get(url).status_code == 403


class TestLists:
    def test_filters(self, client, world):
        client.force_login(world["po"])
        url = reverse("interventions:followup-list")
        page = client.get(url, {"overdue": "on"}).context["page"]
        assert {v.pk for v in page} == {world["visits"]["late"].pk, world["visits"]["theirs"].pk}
        page = client.get(url, {"component": "iga"}).context["page"]
        assert [v.pk for v in page] == [world["visits"]["soon"].pk]
        page = client.get(url, {"facilitator": world["fac2"].pk}).context["page"]
        assert [v.pk for v in page] == [world["visits"]["theirs"].pk]
        page = client.get(url, {"facilitator": "none"}).context["page"]
        assert list(page) == []

    def test_the_list_is_scoped(self, client, world):
        client.force_login(world["outsider"])
        page = client.get(reverse("interventions:followup-list")).context["page"]
        assert list(page) == []

    def test_a_fixed_number_of_queries(self, client, world):
        client.force_login(world["po"])
        url = reverse("interventions:followup-list")
        client.get(url)
        with CaptureQueriesContext(connection) as few:
            client.get(url)
        person = f.consenting_person(world["village"], name="Vanna")
        FollowUp.objects.bulk_create(
            FollowUp(person=person, component="savings", due_on=TODAY, assigned_to=world["fac"])
            for _ in range(6)
        )
        with CaptureQueriesContext(connection) as many:
            response = client.get(url)
        assert response.context["page"].paginator.count == 9
        assert len(many) == len(few)

    def test_due_and_overdue_per_facilitator_and_commune(self, client, world):
        client.force_login(world["po"])
        response = client.get(reverse("interventions:followup-due"))
        rows = {r.label: (r.overdue, r.due_this_month) for r in response.context["by_facilitator"]}
        assert rows == {"fac": (1, 1), "fac2": (1, 0)}
        (commune,) = response.context["by_area"]
        assert (commune.overdue, commune.due_this_month) == (2, 1)
        assert b"Vocational training: 0 / 1" in response.content


class TestVisit:
    def test_detail_is_audited_and_offers_the_actions(self, client, world):
        visit = world["visits"]["late"]
        client.force_login(world["fac"])
        events = AuditEvent.objects.filter(action="read").count()
        text = client.get(reverse("interventions:followup-detail", args=[visit.pk])).content
        assert b"overdue" in text and b"Hand over" in text and b"Could not be visited" in text
        assert AuditEvent.objects.filter(action="read").count() == events + 1

    def test_recording_a_visit(self, client, world):
        visit = world["visits"]["soon"]
        client.force_login(world["fac"])
        url = reverse("interventions:followup-visit", args=[visit.pk])
        assert client.get(url).status_code == 200
        data = {
            "visited_on": TODAY.isoformat(),
            "situation": "self_employed",
            "monthly_income": "-5",
            "currency": "KHR",
            "outcome": "",
        }
        response = client.post(url, data)
        assert response.context["form"].errors["monthly_income"] == [
            "The amount must not be negative."
        ]
        visit.refresh_from_db()
        assert visit.status == FollowUpStatus.DUE
        future = (TODAY + dt.timedelta(days=1)).isoformat()
        response = client.post(url, {**data, "monthly_income": "300000", "visited_on": future})
        assert "in the future" in response.context["form"].errors["visited_on"][0]
        response = client.post(url, {**data, "monthly_income": "300000"})
        assert response.url == reverse("interventions:followup-mine")
        visit.refresh_from_db()
        assert visit.status == FollowUpStatus.DONE and visit.monthly_income == D("300000")

    @pytest.mark.parametrize(
        ("who", "status"), [("outsider", 404), ("reader", 403), ("donor", 403)]
    )
    def test_others_cannot_record(self, client, world, who, status):
        visit = world["visits"]["late"]
        client.force_login(world[who])
        events = AuditEvent.objects.count()
        data = {"visited_on": TODAY.isoformat(), "situation": "unemployed"}
        assert (
            client.post(reverse("interventions:followup-visit", args=[visit.pk]), data).status_code
            == status
        )
        for name in ("followup-missed", "followup-cancel"):
            url = reverse(f"interventions:{name}", args=[visit.pk])
            assert client.post(url, {"reason": "x"}).status_code == status
        url = reverse("interventions:followup-reassign", args=[visit.pk])
        assert client.post(url, {"assigned_to": world["fac2"].pk}).status_code == status
        visit.refresh_from_db()
        assert (visit.status, visit.assigned_to) == (FollowUpStatus.DUE, world["fac"])
        assert AuditEvent.objects.count() == events
        if who != "donor":
            expected = 404 if who == "outsider" else 200
            detail = reverse("interventions:followup-detail", args=[visit.pk])
            assert client.get(detail).status_code == expected

    def test_missed_cancelled_and_handed_over(self, client, world):
        late, soon = world["visits"]["late"], world["visits"]["soon"]
        client.force_login(world["fac"])
        client.post(reverse("interventions:followup-missed", args=[late.pk]), {"reason": "Away"})
        client.post(reverse("interventions:followup-cancel", args=[soon.pk]), {"reason": "Moved"})
        late.refresh_from_db()
        soon.refresh_from_db()
        assert (late.status, late.outcome) == ("missed", "Away")
        assert soon.status == "cancelled"
        url = reverse("interventions:followup-reassign", args=[late.pk])
        client.post(url, {"assigned_to": world["fac2"].pk})
        late.refresh_from_db()
        assert late.assigned_to == world["fac2"]
        client.post(url, {"assigned_to": world["outsider"].pk})
        late.refresh_from_db()
        assert late.assigned_to == world["fac2"]


class TestPlans:
    def test_managers_change_the_plans(self, client, world):
        url = reverse("interventions:followup-plans")
        client.force_login(world["fac"])
        assert client.get(url).status_code == 403
        plan = FollowUpPlan.objects.get(component="iga")
        edit = reverse("interventions:followup-plan-edit", args=[plan.pk])
        prefix = f"p{plan.pk}"
        assert client.post(edit, {f"{prefix}-months_after": "1"}).status_code == 403
        client.force_login(world["po"])
        assert b"Income-generating activity" in client.get(url).content
        response = client.post(
            edit, {f"{prefix}-months_after": "3, 61", f"{prefix}-active": "on"}, follow=True
        )
        assert "61 is not a number of months from 1 to 60" in response.content.decode()
        plan.refresh_from_db()
        assert plan.months_after == [3, 6, 12]
        client.post(edit, {f"{prefix}-months_after": "2, 4", f"{prefix}-active": "on"})
        plan.refresh_from_db()
        assert plan.months_after == [2, 4] and plan.active
