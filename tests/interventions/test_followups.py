"""Follow-up visits: when they fall due, recording them, and who has what to do."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ctip.core.models import AuditEvent
from ctip.interventions import followup_plans
from ctip.interventions.models import FollowUp, FollowUpPlan, FollowUpStatus
from ctip.interventions.selectors import followups as sel
from ctip.interventions.services import followups as svc
from ctip.registry import services as registry
from tests.interventions import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def place():
    sr = f.village("20")
    return {
        "village": sr,
        "fac": f.staff("fac", "facilitator", sr.parent),
        "fac2": f.staff("fac2", "facilitator", sr),
        "po": f.staff("po", "provincial_officer", "KH-20"),
        "person": f.consenting_person(sr, name="Sokha", born=dt.date(2004, 6, 1)),
    }


def _visits(place, component="training", reference=None, until=None, **kw) -> list[FollowUp]:
    return followup_plans.follow_ups_schedule(
        actor=kw.pop("actor", place["fac"]),
        person=kw.pop("person", place["person"]),
        component=component,
        reference=reference or TODAY - dt.timedelta(days=200),
        until=until,
        **kw,
    )


class TestSchedule:
    def test_three_six_twelve_months_from_31_january_land_on_month_ends(self, place):
        made = _visits(place, "iga", reference=dt.date(2025, 1, 31))
        assert [(v.due_on, v.months_after) for v in made] == [
            (dt.date(2025, 4, 30), 3),
            (dt.date(2025, 7, 31), 6),
            (dt.date(2026, 1, 31), 12),
        ]

    def test_monthly_visits_while_a_loan_runs(self, place):
        made = _visits(place, "loan", reference=dt.date(2024, 1, 31), until=dt.date(2024, 6, 30))
        assert [v.due_on for v in made] == [
            dt.date(2024, 2, 29),  # a leap year's February
            dt.date(2024, 3, 31),
            dt.date(2024, 4, 30),
            dt.date(2024, 5, 31),
            dt.date(2024, 6, 30),
        ]
        assert [v.months_after for v in made] == [1, 2, 3, 4, 5]

    def test_running_again_makes_no_duplicates(self, place):
        first = _visits(place, "training", reference=dt.date(2025, 1, 31))
        again = _visits(place, "training", reference=dt.date(2025, 1, 31))
        assert len(first) == 3 and again == []
        assert FollowUp.objects.filter(person=place["person"]).count() == 3
        # A longer loan adds only the months not yet scheduled.
        _visits(place, "loan", reference=dt.date(2025, 1, 15), until=dt.date(2025, 3, 15))
        more = _visits(place, "loan", reference=dt.date(2025, 1, 15), until=dt.date(2025, 5, 15))
        assert [v.due_on for v in more] == [dt.date(2025, 4, 15), dt.date(2025, 5, 15)]

    def test_a_plan_not_in_use_makes_no_visits(self, place):
        FollowUpPlan.objects.filter(component="education").update(active=False)
        assert _visits(place, "education") == []

    def test_a_changed_plan_applies_to_what_happens_next(self, place):
        plan = FollowUpPlan.objects.get(component="training")
        svc.plan_update(actor=place["po"], plan=plan, months_after="1, 24 ,1")
        made = _visits(place, "training", reference=dt.date(2025, 1, 31))
        assert [v.months_after for v in made] == [1, 24]


class TestPlans:
    @pytest.mark.parametrize("months", [[0], [61], ["x"], "3, six", [-3], [True]])
    def test_months_are_whole_numbers_from_1_to_60(self, place, months):
        plan = FollowUpPlan.objects.get(component="iga")
        with pytest.raises(ValidationError) as err:
            svc.plan_update(actor=place["po"], plan=plan, months_after=months)
        assert "is not a number of months from 1 to 60" in err.value.message_dict["months_after"][0]
        plan.refresh_from_db()
        assert plan.months_after == [3, 6, 12]

    def test_only_managers_change_plans(self, place):
        plan = FollowUpPlan.objects.get(component="iga")
        with pytest.raises(PermissionDenied):
            svc.plan_update(actor=place["fac"], plan=plan, months_after=[1])
        plan = svc.plan_update(
            actor=place["po"], plan=plan, months_after=[12, 6], monthly_while_active=True
        )
        assert plan.months_after == [6, 12] and plan.monthly_while_active
        event = AuditEvent.objects.get(object_type="interventions.followupplan")
        assert event.changes["months_after"] == {"before": [3, 6, 12], "after": [6, 12]}


class TestVisits:
    def test_recording_a_visit(self, place):
        visit = _visits(place)[0]
        svc.follow_up_record_visit(
            actor=place["fac"],
            follow_up=visit,
            visited_on=TODAY,
            situation="self_employed",
            monthly_income="450000",
            currency="KHR",
            outcome="Sells vegetables at the market.",
        )
        visit.refresh_from_db()
        assert visit.status == FollowUpStatus.DONE and visit.visited_by == place["fac"]
        assert visit.monthly_income == D("450000") and visit.currency == "KHR"
        event = AuditEvent.objects.filter(object_type="interventions.followup", action="update")
        assert event.get().changes["status"] == {"before": "due", "after": "done"}

    def test_bad_visits_are_refused_naming_the_field(self, place):
        visit = _visits(place, reference=TODAY - dt.timedelta(days=10))[0]
        cases = [
            ({"visited_on": TODAY + dt.timedelta(days=1)}, "visited_on", "in the future"),
            ({"visited_on": TODAY - dt.timedelta(days=30)}, "visited_on", "is before the"),
            ({"situation": "travelling"}, "situation", "Choose one of"),
            ({"monthly_income": "-5", "currency": "KHR"}, "monthly_income", "must not be negative"),
            ({"monthly_income": "5"}, "currency", "Say which currency"),
        ]
        for change, field, words in cases:
            values = {"visited_on": TODAY, "situation": "unemployed", **change}
            with pytest.raises(ValidationError) as err:
                svc.follow_up_record_visit(actor=place["fac"], follow_up=visit, **values)
            assert words in err.value.message_dict[field][0], (change, err.value)
        visit.refresh_from_db()
        assert visit.status == FollowUpStatus.DUE and visit.visited_on is None

    def test_only_someone_recording_in_the_area(self, place):
        visit = _visits(place)[0]
        for who in (
            f.staff("other", "facilitator", f.village("14").parent),
            f.staff("me", "me_officer", "KH-20"),
        ):
            with pytest.raises(PermissionDenied):
                svc.follow_up_record_visit(
                    actor=who, follow_up=visit, visited_on=TODAY, situation="unemployed"
                )
        visit.refresh_from_db()
        assert visit.status == FollowUpStatus.DUE

    def test_a_person_who_withdrew_consent_is_not_visited(self, place):
        visit = _visits(place)[0]
        consent = place["person"].consents.get(purpose="registration")
        registry.consent_withdraw(actor=f.registrar(), consent=consent, reason="moved")
        with pytest.raises(ValidationError) as err:
            svc.follow_up_record_visit(
                actor=place["fac"], follow_up=visit, visited_on=TODAY, situation="unemployed"
            )
        assert "withdrew consent" in err.value.message_dict["person"][0]
        assert not sel.follow_ups_visible_to(place["fac"]).exists()

    def test_missed_and_cancelled_need_a_reason(self, place):
        first, second, _third = _visits(place)
        with pytest.raises(ValidationError) as err:
            svc.follow_up_mark_missed(actor=place["fac"], follow_up=first, reason=" ")
        assert err.value.message_dict == {"reason": ["Say why."]}
        svc.follow_up_mark_missed(actor=place["fac"], follow_up=first, reason="Not at home")
        svc.follow_up_cancel(actor=place["fac"], follow_up=second, reason="Left the programme")
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.status, first.outcome) == ("missed", "Not at home")
        assert second.status == "cancelled"
        with pytest.raises(ValidationError) as err:
            svc.follow_up_record_visit(
                actor=place["fac"], follow_up=second, visited_on=TODAY, situation="unemployed"
            )
        assert "no longer needed" in err.value.message_dict["status"][0]
        # A missed visit can still happen later.
        svc.follow_up_record_visit(
            actor=place["fac"], follow_up=first, visited_on=TODAY, situation="in_school"
        )

    def test_handing_a_visit_to_another_facilitator_of_the_area(self, place):
        visit = _visits(place)[0]
        assert set(sel.facilitators_for(visit)) >= {place["fac"], place["fac2"], place["po"]}
        svc.follow_up_reassign(actor=place["fac"], follow_up=visit, assigned_to=place["fac2"])
        visit.refresh_from_db()
        assert visit.assigned_to == place["fac2"]
        far = f.staff("far", "facilitator", f.village("14").parent)
        assert far not in sel.facilitators_for(visit)
        with pytest.raises(ValidationError) as err:
            svc.follow_up_reassign(actor=place["fac"], follow_up=visit, assigned_to=far)
        assert "does not record interventions in" in err.value.message_dict["assigned_to"][0]


class TestDueLists:
    @pytest.fixture
    def work(self, place):
        """fac: 2 overdue training visits, 1 IGA visit due this month; fac2: 1 overdue
        loan visit; one overdue visit in Prey Veng nobody here can see; visits done,
        cancelled or due after this month are not counted."""
        p1, p2 = place["person"], f.consenting_person(place["village"], name="Dara")
        fac, fac2 = place["fac"], place["fac2"]
        pv = f.village("14")
        far = f.consenting_person(pv, name="Far")
        end = sel.month_end(TODAY)
        rows = [
            (p1, "training", TODAY - dt.timedelta(days=1), fac, "due"),
            (p2, "training", TODAY - dt.timedelta(days=40), fac, "due"),
            (p2, "iga", TODAY, fac, "due"),
            (p1, "loan", TODAY - dt.timedelta(days=3), fac2, "due"),
            (far, "training", TODAY - dt.timedelta(days=1), None, "due"),
            (p1, "iga", end + dt.timedelta(days=1), fac, "due"),
            (p1, "education", TODAY - dt.timedelta(days=9), fac, "done"),
            (p2, "education", TODAY - dt.timedelta(days=9), fac, "cancelled"),
        ]
        FollowUp.objects.bulk_create(
            FollowUp(person=p, component=c, due_on=d, assigned_to=u, status=s)
            for p, c, d, u, s in rows
        )
        return place

    def test_due_and_overdue_per_facilitator_with_components(self, work):
        rows = {r.key: r for r in sel.due_by_facilitator(work["po"])}
        assert set(rows) == {work["fac"].pk, work["fac2"].pk}
        fac = rows[work["fac"].pk]
        assert (fac.label, fac.overdue, fac.due_this_month) == ("fac", 2, 1)
        assert fac.components == [
            ("Vocational training", 0, 2),
            ("Income-generating activity", 1, 0),
        ]
        fac2 = rows[work["fac2"].pk]
        assert (fac2.overdue, fac2.due_this_month) == (1, 0)
        # Most overdue first.
        assert sel.due_by_facilitator(work["po"])[0].key == work["fac"].pk

    def test_due_and_overdue_per_area(self, work):
        (commune,) = sel.due_by_area(work["po"])
        assert commune.key == work["village"].parent_id
        assert (commune.overdue, commune.due_this_month) == (3, 1)
        assert work["village"].parent.code in commune.label

    def test_lists_are_scoped(self, work):
        pv_officer = f.staff("pvo", "provincial_officer", "KH-14")
        ((key, overdue),) = [(r.key, r.overdue) for r in sel.due_by_facilitator(pv_officer)]
        assert (key, overdue) == (None, 1)  # nobody holds the Prey Veng visit
        donor = f.staff("donor", "donor", "KH")
        assert sel.due_by_facilitator(donor) == [] and sel.due_by_area(donor) == []
        overdue_here = sel.follow_up_search(work["po"], overdue=True)
        assert overdue_here.count() == 3
        assert sel.follow_up_search(work["po"], overdue=True, component="loan").count() == 1
        assert sel.follow_up_search(work["po"], assigned_to=work["fac2"].pk).count() == 1

    def test_my_visits(self, work):
        mine = sel.my_visits(work["fac"])
        assert len(mine.overdue) == 2 and len(mine.this_month) == 1
        assert all(v.assigned_to == work["fac"] for v in mine.overdue + mine.this_month)
        assert [v.component for v in mine.this_month] == ["iga"]
        theirs = sel.my_visits(work["fac2"])
        assert [v.component for v in theirs.overdue] == ["loan"]
