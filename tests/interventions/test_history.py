"""A person's history across every component: what, when, where and by whom, the
dosage per component, scoped and audited like the person page, in a fixed number of
queries; the same as JSON."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ctip.core.models import AuditEvent
from ctip.interventions import models as m
from ctip.interventions.selectors import overview
from tests.interventions import factories as f
from tests.interventions import test_overview_world as w

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 1)


@pytest.fixture
def child() -> dict[str, object]:
    """Sokha, 14: awareness sessions, a scholarship, a forum; her mother's loan."""
    v = f.village("20")
    fac = f.staff("fac", "facilitator", w.commune_of(v))
    sokha = f.consenting_person(v, born=dt.date(2012, 2, 1), name="Sokha")
    mother = f.consenting_person(
        v, born=dt.date(1985, 1, 1), name="Mother", household=sokha.household
    )
    w.attend(sokha, on=dt.date(2026, 2, 10), by=fac)
    w.attend(sokha, on=dt.date(2026, 5, 10), by=fac)
    w.education(sokha, on=dt.date(2026, 1, 15), by=fac)
    w.participate(sokha, on=dt.date(2026, 6, 1), by=fac)
    w.loan(mother, on=dt.date(2026, 3, 1), principal="600000", by=fac)
    return {"v": v, "fac": fac, "sokha": sokha, "mother": mother}


def test_a_childs_history_shows_awareness_a_scholarship_a_forum_and_the_household_loan(
    child,
) -> None:
    history = overview.person_history(child["fac"], child["sokha"].pk, today=TODAY)
    kinds = [(i.on, i.kind) for i in history.items]
    assert kinds == sorted(kinds)
    by_kind: dict[str, list[overview.HistoryItem]] = {}
    for item in history.items:
        by_kind.setdefault(item.kind, []).append(item)
    assert len(by_kind["attendance"]) == 2
    session = by_kind["attendance"][0]
    assert session.title == "Safe migration"
    assert session.place.startswith("Pagoda")
    assert session.by == "fac"  # the facilitator of the event
    assert {f.key for f in session.facts} >= {"event_kind", "topics"}
    (scholarship,) = by_kind["education_support"]
    assert scholarship.status == m.SupportKind.SCHOLARSHIP
    assert scholarship.place == "Chantrea lower secondary school"
    (term,) = by_kind["school_term"]
    assert {f.key: f.value for f in term.facts}["days_attended"] == 55
    (forum,) = by_kind["participation"]
    assert forum.status == m.ParticipantRole.SPEAKER
    assert {f.key: f.value for f in forum.facts}["summary"] == "Asked for a safer road to school."
    (loan,) = by_kind["household_loan"]
    assert "Mother" in loan.title
    d = history.dosage
    assert (d.awareness_events, d.education_supports, d.school_terms) == (2, 1, 1)
    assert (d.participation_events, d.loans, d.household_loans) == (1, 0, 1)


def test_a_borrowers_loan_shows_principal_outstanding_and_arrears(child) -> None:
    mother = child["mother"]
    history = overview.person_history(child["fac"], mother.pk, today=TODAY)
    (loan,) = [i for i in history.items if i.kind == "loan"]
    facts = {f.key: f.value for f in loan.facts}
    assert facts["principal"] == "600000.00"
    assert facts["currency"] == "KHR"
    assert facts["outstanding_principal"] == "600000.00"
    # Nothing repaid: the instalments due 1 April to 1 October are overdue on 1 November.
    assert facts["days_overdue"] == (TODAY - dt.date(2026, 4, 1)).days
    assert facts["amount_overdue"] == "600000.00"
    assert loan.status == m.LoanStatus.ACTIVE
    assert history.dosage.loans == 1 and history.dosage.household_loans == 0


def test_training_with_completion_certificate_and_follow_ups(child) -> None:
    sokha = child["sokha"]
    enrolment = w.enrol(
        sokha,
        on=dt.date(2026, 1, 5),
        completed_on=dt.date(2026, 3, 30),
        situation_6m=m.Situation.SELF_EMPLOYED,
    )
    w.follow_up(sokha, due=dt.date(2026, 10, 1))
    history = overview.person_history(child["fac"], sokha.pk, today=TODAY)
    (item,) = [i for i in history.items if i.kind == "enrolment"]
    facts = {f.key: f.value for f in item.facts}
    assert item.status == m.EnrolmentStatus.COMPLETED
    assert facts["completed_on"] == "2026-03-30"
    assert facts["certificate"] is True
    visits = [i for i in history.items if i.kind == "follow_up"]
    assert {v.status for v in visits} == {"done", "overdue"}
    done = next(v for v in visits if v.status == "done")
    assert {f.key: f.value for f in done.facts}["situation"] == m.Situation.SELF_EMPLOYED
    assert history.dosage.courses == history.dosage.courses_completed == 1
    assert (history.dosage.follow_ups_done, history.dosage.follow_ups_due) == (1, 1)
    assert enrolment.pk == item.object_id


def test_savings_and_activities_are_in_the_history(child) -> None:
    mother = child["mother"]
    w.savings(mother, on=dt.date(2026, 4, 1))
    w.iga(mother, on=dt.date(2026, 4, 2), bench=w.benchmark())
    history = overview.person_history(child["fac"], mother.pk, today=TODAY)
    (savings,) = [i for i in history.items if i.kind == "savings"]
    assert savings.status == m.MemberRole.TREASURER
    assert {f.key: f.value for f in savings.facts}["shares_bought"] == "10000.00"
    (activity,) = [i for i in history.items if i.kind == "iga"]
    facts = {f.key: f.value for f in activity.facts}
    assert facts["gross_margin"] == "800000.00"
    assert facts["benchmark_net"] == "800000.00"


def test_unsafe_migration_found_at_a_visit_is_hidden_from_a_facilitator(child) -> None:
    sokha = child["sokha"]
    w.enrol(
        sokha,
        on=dt.date(2026, 1, 5),
        completed_on=dt.date(2026, 3, 30),
        situation_6m=m.Situation.MIGRATED_UNSAFELY,
    )
    history = overview.person_history(child["fac"], sokha.pk, today=TODAY)
    (visit,) = [i for i in history.items if i.kind == "follow_up"]
    situation = next(x for x in visit.facts if x.key == "situation")
    # "Migrated", as for a safe migration: the facilitator cannot tell which it was.
    assert (situation.value, situation.text) == ("migrated", "Migrated")
    assert history.masked == 1 and not history.shows_sensitive
    officer = f.staff("officer", "provincial_officer", "KH-20")
    history = overview.person_history(officer, sokha.pk, today=TODAY)
    (visit,) = [i for i in history.items if i.kind == "follow_up"]
    situation = next(x for x in visit.facts if x.key == "situation")
    assert situation.value == m.Situation.MIGRATED_UNSAFELY
    assert history.shows_sensitive


def _history_queries(actor, pk: int) -> int:
    actor = type(actor).objects.get(pk=actor.pk)
    with CaptureQueriesContext(connection) as ctx:
        overview.person_history(actor, pk, today=TODAY)
    return len(ctx.captured_queries)


def test_the_number_of_queries_does_not_grow_with_the_history(child) -> None:
    sokha, fac = child["sokha"], child["fac"]
    before = _history_queries(fac, sokha.pk)
    for month in range(1, 9):
        day = dt.date(2026, month, 20)
        w.attend(sokha, on=day, by=fac)
        w.enrol(sokha, on=day, completed_on=day + dt.timedelta(days=30), situation_6m="in_school")
        w.loan(sokha, on=day)
        w.savings(sokha, on=day)
        w.iga(sokha, on=day, bench=w.benchmark())
        w.education(sokha, on=day, term=month + 1)
        w.participate(sokha, on=day)
        w.follow_up(sokha, due=day)
    after = _history_queries(fac, sokha.pk)
    assert after == before
    assert len(overview.person_history(fac, sokha.pk, today=TODAY).items) > 70


# --- the page and the API ------------------------------------------------------------------


def _page(pk: int) -> str:
    return reverse("interventions:person-history", args=[pk])


def _api(pk: int) -> str:
    return f"/api/v1/intervention-history/{pk}/"


def test_the_page_shows_the_timeline_and_the_read_is_audited(client, child) -> None:
    sokha = child["sokha"]
    client.force_login(child["fac"])
    response = client.get(_page(sokha.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Interventions received by" in html
    assert html.count('data-kind="attendance"') == 2
    assert 'data-kind="education_support"' in html and 'data-kind="participation"' in html
    assert 'data-dosage="awareness_events"' in html
    assert AuditEvent.objects.filter(
        action="read", object_type="registry.person", object_id=str(sokha.pk)
    ).exists()


def test_the_person_page_links_to_the_history(client, child) -> None:
    client.force_login(child["fac"])
    response = client.get(reverse("registry:person-detail", args=[child["sokha"].pk]))
    assert _page(child["sokha"].pk) in response.content.decode()


def test_the_api_gives_the_same_history(client, child) -> None:
    sokha = child["sokha"]
    client.force_login(child["fac"])
    response = client.get(_api(sokha.pk))
    assert response.status_code == 200
    data = response.json()
    assert data["person"]["id"] == sokha.pk
    assert data["dosage"]["awareness_events"] == 2
    assert [i["kind"] for i in data["items"]].count("attendance") == 2
    loan = next(i for i in data["items"] if i["kind"] == "household_loan")
    assert loan["details"]["principal"] == "600000.00"
    assert loan["component"] == "loan"


@pytest.mark.parametrize("who", ["anonymous", "wrong_area", "donor", "facilitator_elsewhere"])
def test_others_are_refused_and_nothing_is_audited(client, child, who) -> None:
    sokha = child["sokha"]
    if who == "wrong_area":
        client.force_login(f.staff("pv", "provincial_officer", "KH-14"))
    elif who == "donor":
        client.force_login(f.staff("donor", "donor", "KH"))
    elif who == "facilitator_elsewhere":
        client.force_login(f.staff("fac2", "facilitator", w.commune_of(w.other_district_village())))
    events = AuditEvent.objects.count()
    page = client.get(_page(sokha.pk))
    api = client.get(_api(sokha.pk))
    if who == "anonymous":
        assert page.status_code == 302 and page.url.startswith("/accounts/login/")
        assert api.status_code in (401, 403)
    elif who == "donor":
        assert page.status_code == 403 and api.status_code == 403
    else:
        assert page.status_code == 404 and api.status_code == 404
    assert AuditEvent.objects.count() == events


def test_a_person_who_does_not_exist_is_not_found(client, child) -> None:
    client.force_login(child["fac"])
    assert client.get(_page(999_999)).status_code == 404
    assert client.get(_api(999_999)).status_code == 404
