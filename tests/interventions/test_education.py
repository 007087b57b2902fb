"""Education support: support given to children (with its follow-ups), their school
term by term, the supported children and dropouts lists; pages and API, for each kind
of user, and nothing changed when refused."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ctip.accounts.models import User
from ctip.core.models import AuditEvent
from ctip.geography.models import Area
from ctip.interventions.dates import add_months
from ctip.interventions.models import EducationSupport, FollowUp, SchoolTerm
from ctip.interventions.selectors import education as sel
from ctip.interventions.services import education as svc
from ctip.registry.models import Person
from tests.interventions import factories as f
from tests.interventions.test_training import other_district_village

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
YEAR = f"{TODAY.year - 1}-{TODAY.year}"
LAST_YEAR = f"{TODAY.year - 2}-{TODAY.year - 1}"


@dataclass
class World:
    officer: User  # provincial officer, Svay Rieng
    facilitator: User  # facilitator of the commune of `village`
    me: User  # M&E officer: reads persons, records nothing
    donor: User
    pv_officer: User
    village: Area
    far_village: Area
    c: dict[str, Person] = field(default_factory=dict)


@pytest.fixture
def world() -> World:
    village = f.village("20")
    w = World(
        officer=f.staff("officer", "provincial_officer", "KH-20"),
        facilitator=f.staff("facilitator", "facilitator", village.parent),  # type: ignore[arg-type]
        me=f.staff("me", "me_officer", "KH-20"),
        donor=f.staff("donor", "donor", "KH-20"),
        pv_officer=f.staff("pv-officer", "provincial_officer", "KH-14"),
        village=village,
        far_village=other_district_village(village.parent.parent.parent, village),  # type: ignore[union-attr]
    )
    w.c["kim"] = f.consenting_person(village, born=dt.date(2014, 2, 1), name="Kim")
    w.c["lina"] = f.consenting_person(village, born=dt.date(2013, 6, 1), name="Lina")
    w.c["mony"] = f.consenting_person(w.far_village, born=dt.date(2012, 9, 1), name="Mony")
    w.c["nary"] = f.consenting_person(
        village, born=dt.date(2015, 1, 1), name="Nary", purposes=["registration"]
    )
    w.c["pv"] = f.consenting_person(f.village("14"), born=dt.date(2014, 1, 1), name="Oun")
    return w


def support(w: World, who: str = "kim", actor: Any = None, **values: Any) -> EducationSupport:
    values = {
        "kind": "scholarship",
        "starts_on": TODAY - dt.timedelta(days=30),
        "school_name": "Svay Rieng lower secondary",
        "grade": "7",
        "amount": "200000",
        "currency": "KHR",
        **values,
    }
    return svc.education_support_create(actor=actor or w.officer, person=w.c[who], **values)


def term(w: World, who: str = "kim", actor: Any = None, **values: Any) -> SchoolTerm:
    values = {"school_year": YEAR, "term": 1, "days_attended": 50, "days_possible": 60, **values}
    return svc.school_term_record(actor=actor or w.officer, person=w.c[who], **values)


def state() -> tuple[int, ...]:
    return (
        EducationSupport.objects.count(),
        SchoolTerm.objects.count(),
        FollowUp.objects.count(),
        AuditEvent.objects.count(),
    )


def errors_of(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


# --------------------------------------------------------------------------------------
# Support.


def test_support_is_recorded_with_its_follow_ups(world: World) -> None:
    s = support(world, actor=world.facilitator)
    assert (s.amount, s.currency, s.created_by) == (Decimal("200000.00"), "KHR", world.facilitator)
    visits = FollowUp.objects.filter(education_support=s).order_by("due_on")
    assert [(v.months_after, v.due_on) for v in visits] == [
        (6, add_months(s.starts_on, 6)),
        (12, add_months(s.starts_on, 12)),
    ]
    assert {v.component for v in visits} == {"education"}
    event = AuditEvent.objects.get(action="create", object_type="interventions.educationsupport")
    assert event.changes["person"] == world.c["kim"].pk and event.changes["amount"] == "200000.00"
    # Support without a money value (a uniform) needs no currency.
    uniform = support(world, kind="uniform", amount=None, currency="")
    assert uniform.amount is None and uniform.currency == ""


@pytest.mark.parametrize(
    "values, key, message",
    [
        ({"amount": "-5"}, "amount", "must not be negative"),
        ({"currency": ""}, "currency", "Give the currency"),
        ({"amount": None}, "amount", "or leave the currency empty"),
        ({"starts_on": TODAY + dt.timedelta(days=1)}, "starts_on", "in the future"),
        ({"ends_on": TODAY - dt.timedelta(days=60)}, "ends_on", "cannot end before it starts"),
        ({"kind": "laptop"}, "kind", "Choose the kind"),
        ({"school_name": "=cmd"}, "school_name", "spreadsheet formula"),
    ],
)
def test_bad_support_input_names_the_field_and_writes_nothing(
    world: World, values: dict[str, Any], key: str, message: str
) -> None:
    before = state()
    with pytest.raises(ValidationError) as exc:
        support(world, **values)
    assert message in errors_of(exc)[key][0]
    assert state() == before


@pytest.mark.parametrize(
    "who, actor, message",
    [
        ("nary", "officer", "Chan Nary has no consent for referral to and delivery of services."),
        ("pv", "officer", "Chan Oun is not a person in your areas."),
        ("mony", "facilitator", "Chan Mony is not a person in your areas."),
    ],
)
def test_support_for_a_child_without_consent_or_outside_the_area_is_refused(
    world: World, who: str, actor: str, message: str
) -> None:
    before = state()
    with pytest.raises(ValidationError) as exc:
        support(world, who, actor=getattr(world, actor))
    assert errors_of(exc)["person"] == [message]
    assert state() == before


def test_only_those_who_record_interventions_record_support(world: World) -> None:
    before = state()
    for actor in (world.me, world.donor):
        with pytest.raises(PermissionDenied):
            support(world, actor=actor)
    # Another province's officer records interventions, but not for this child.
    with pytest.raises(ValidationError):
        support(world, actor=world.pv_officer)
    assert state() == before


def test_correcting_the_start_moves_the_visits_still_due(world: World) -> None:
    s = support(world)
    start = TODAY - dt.timedelta(days=10)
    svc.education_support_update(actor=world.facilitator, support=s, starts_on=start, grade="8")
    assert sorted(
        FollowUp.objects.filter(education_support=s).values_list("due_on", flat=True)
    ) == [
        add_months(start, 6),
        add_months(start, 12),
    ]
    event = AuditEvent.objects.get(action="update", object_type="interventions.educationsupport")
    assert event.changes["grade"] == {"before": "7", "after": "8"}
    assert event.changes["follow_ups_moved"] == 2
    with pytest.raises(ValidationError) as exc:
        svc.education_support_update(actor=world.officer, support=s, amount="-1")
    assert "negative" in errors_of(exc)["amount"][0]
    with pytest.raises(PermissionDenied):
        svc.education_support_update(actor=world.me, support=s, grade="9")
    assert EducationSupport.objects.get(pk=s.pk).grade == "8"


# --------------------------------------------------------------------------------------
# School terms.


def test_a_term_is_recorded_once_and_corrected(world: World) -> None:
    s = support(world)
    t = term(world)
    assert (t.support, t.days_attended, t.days_possible, t.recorded_by) == (
        s,
        50,
        60,
        world.officer,
    )
    again = term(world, actor=world.facilitator, days_attended=55)
    assert again.pk == t.pk and SchoolTerm.objects.count() == 1
    assert SchoolTerm.objects.get().days_attended == 55
    event = AuditEvent.objects.get(action="update", object_type="interventions.schoolterm")
    assert event.changes == {"days_attended": {"before": 50, "after": 55}}
    # The same again changes nothing and is not audited twice.
    term(world, days_attended=55)
    assert AuditEvent.objects.filter(object_type="interventions.schoolterm").count() == 2


@pytest.mark.parametrize(
    "values, key, message",
    [
        ({"days_attended": 61}, "days_attended", "61 days attended is more than the 60 school"),
        ({"days_possible": None}, "days_possible", "Give the school days"),
        ({"school_year": "2025/2026"}, "school_year", "two consecutive years"),
        ({"school_year": "2025-2027"}, "school_year", "two consecutive years"),
        ({"school_year": f"{TODAY.year + 1}-{TODAY.year + 2}"}, "school_year", "not one recorded"),
        ({"term": 4}, "term", "from 1 to 3"),
        ({"dropped_out": True}, "dropout_reason", "Give the reason"),
        ({"dropout_reason": "Work"}, "dropout_reason", "only given when"),
        ({"enrolled": False}, "days_attended", "not enrolled"),
    ],
)
def test_bad_terms_name_the_field_and_write_nothing(
    world: World, values: dict[str, Any], key: str, message: str
) -> None:
    support(world)
    before = state()
    with pytest.raises(ValidationError) as exc:
        term(world, **values)
    assert message in errors_of(exc)[key][0]
    assert state() == before


def test_terms_are_for_supported_children_the_actor_records_for(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        term(world, "lina")
    assert "has no education support recorded" in errors_of(exc)["person"][0]
    other = support(world, "lina")
    support(world, "kim")
    with pytest.raises(ValidationError) as exc:
        term(world, "kim", support=other)
    assert "someone else" in errors_of(exc)["support"][0]
    with pytest.raises(PermissionDenied):
        term(world, "kim", actor=world.me)
    assert not SchoolTerm.objects.exists()


# --------------------------------------------------------------------------------------
# Lists.


def test_supported_children_with_their_latest_term_and_the_dropouts(world: World) -> None:
    support(world, "kim")
    support(world, "lina", kind="uniform", amount=None, currency="")
    support(world, "mony", kind="transport", amount="30", currency="USD")
    term(world, "kim", school_year=LAST_YEAR, term=3)
    term(world, "kim", term=1, days_attended=30, days_possible=60)
    term(world, "lina", school_year=LAST_YEAR, term=3, dropped_out=True, dropout_reason="Work")
    term(
        world,
        "lina",
        term=1,
        enrolled=False,
        days_attended=None,
        days_possible=None,
        dropped_out=True,
        dropout_reason="Migrated with parents",
    )
    term(world, "mony", term=1, dropped_out=True, dropout_reason="Distance")
    rows = {c.given_name_latin: c for c in sel.supported_children(world.officer)}
    assert set(rows) == {"Kim", "Lina", "Mony"}
    kim = rows["Kim"]
    assert (kim.latest_school_year, kim.latest_term, kim.latest_dropped_out) == (YEAR, 1, False)  # type: ignore[attr-defined]
    assert sel.attendance_rate(kim) == Decimal("50.0")
    assert rows["Lina"].latest_kind == "uniform"  # type: ignore[attr-defined]
    dropped = {c.given_name_latin for c in sel.supported_children(world.officer, dropped_out=True)}
    assert dropped == {"Lina", "Mony"}
    assert {
        c.given_name_latin for c in sel.supported_children(world.officer, kind="transport")
    } == {"Mony"}
    mine = {c.given_name_latin for c in sel.supported_children(world.facilitator)}
    assert mine == {"Kim", "Lina"}
    assert not sel.supported_children(world.pv_officer).exists()
    assert not sel.supported_children(world.donor).exists()
    terms = sel.dropouts(world.officer)
    assert [(t.person.given_name_latin, t.school_year) for t in terms] == [
        ("Lina", YEAR),
        ("Mony", YEAR),
        ("Lina", LAST_YEAR),
    ]
    by_commune = {r.area: r.children for r in sel.dropouts_by_commune(terms)}
    assert by_commune == {world.village.parent: 1, world.far_village.parent: 1}
    area = sel.dropouts(world.officer, area_code=world.far_village.code)
    assert [t.person.given_name_latin for t in area] == ["Mony"]


# --------------------------------------------------------------------------------------
# Pages.


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_anonymous_visitors_and_donors_get_no_education_page(world: World) -> None:
    s = support(world)
    before = state()
    for url in (
        "/education/",
        "/education/dropouts/",
        f"/education/children/{s.person_id}/",
        f"/education/children/{s.person_id}/terms/",
        "/education/support/new/",
        f"/education/support/{s.pk}/edit/",
    ):
        response = client_for(None).get(url)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/")
        assert client_for(world.donor).get(url).status_code == 403
    assert state() == before


def test_the_supported_children_page(world: World) -> None:
    support(world, "kim")
    support(world, "mony")
    term(world, "mony", dropped_out=True, dropout_reason="Distance")
    body = client_for(world.officer).get("/education/").content.decode()
    assert "Chan Kim" in body and "Chan Mony" in body and "Scholarship" in body
    body = client_for(world.officer).get("/education/?dropped_out=yes").content.decode()
    assert "Chan Kim" not in body and "Chan Mony" in body
    body = client_for(world.facilitator).get("/education/").content.decode()
    assert "Chan Kim" in body and "Chan Mony" not in body
    body = client_for(world.pv_officer).get("/education/").content.decode()
    assert "Chan Kim" not in body
    body = client_for(world.officer).get("/education/dropouts/").content.decode()
    assert "Distance" in body and "Chan Mony" in body


def test_a_childs_education_page_is_audited(world: World) -> None:
    s = support(world)
    term(world)
    reads = AuditEvent.objects.filter(action="read", object_type="registry.person")
    page = client_for(world.facilitator).get(f"/education/children/{s.person_id}/")
    body = page.content.decode()
    assert page.status_code == 200 and 'id="supports"' in body and 'id="terms"' in body
    assert "200000.00 KHR" in body and "83.3%" in body and "Record a school term" in body
    assert reads.count() == 1
    response = client_for(world.me).get(f"/education/support/{s.pk}/")
    assert response.url == f"/education/children/{s.person_id}/#support-{s.pk}"
    assert client_for(world.pv_officer).get(f"/education/support/{s.pk}/").status_code == 404
    body = client_for(world.me).get(f"/education/children/{s.person_id}/").content.decode()
    assert "Record a school term" not in body
    before = state()
    assert (
        client_for(world.pv_officer).get(f"/education/children/{s.person_id}/").status_code == 404
    )
    assert state() == before


def test_recording_support_from_the_pages(world: World) -> None:
    client = client_for(world.facilitator)
    body = client.get("/education/support/new/?q=chan").content.decode()
    assert "Chan Kim" in body and "Chan Mony" not in body and "No consent for services" in body
    url = f"/education/support/new/?person={world.c['kim'].pk}"
    assert client.get(url).status_code == 200
    data = {
        "person": world.c["kim"].pk,
        "kind": "materials",
        "starts_on": TODAY.isoformat(),
        "amount": "-3",
        "currency": "KHR",
    }
    before = state()
    page = client.post("/education/support/new/", data)
    assert "The amount must not be negative." in page.content.decode()
    assert state() == before
    response = client.post("/education/support/new/", {**data, "amount": "35000"})
    assert response.status_code == 302
    assert response.url == f"/education/children/{world.c['kim'].pk}/"
    s = EducationSupport.objects.get()
    assert s.kind == "materials" and FollowUp.objects.filter(education_support=s).count() == 2
    response = client.post(
        f"/education/support/{s.pk}/edit/",
        {"kind": "materials", "starts_on": TODAY.isoformat(), "amount": "40000", "currency": "KHR"},
    )
    assert response.status_code == 302 and EducationSupport.objects.get().amount == 40000
    before = state()
    data = {**data, "amount": "1"}
    assert client_for(world.me).post("/education/support/new/", data).status_code == 403
    assert client_for(world.me).post(f"/education/support/{s.pk}/edit/", data).status_code == 403
    assert client_for(world.pv_officer).post("/education/support/new/", data).status_code == 404
    assert (
        client.post("/education/support/new/", {**data, "person": world.c["mony"].pk}).status_code
        == 404
    )
    assert state() == before


def test_recording_a_term_from_the_page(world: World) -> None:
    support(world)
    client = client_for(world.facilitator)
    url = f"/education/children/{world.c['kim'].pk}/terms/"
    data = {
        "school_year": YEAR,
        "term": "2",
        "enrolled": "on",
        "days_attended": "70",
        "days_possible": "65",
    }
    page = client.post(url, data)
    assert "70 days attended is more than the 65 school days." in page.content.decode()
    assert not SchoolTerm.objects.exists()
    assert client.post(url, {**data, "days_attended": "60"}).status_code == 302
    body = client.get(url + f"?year={YEAR}&term=2").content.decode()
    assert 'value="60"' in body
    client.post(url, {**data, "days_attended": "61"})
    assert SchoolTerm.objects.get().days_attended == 61
    before = state()
    assert client_for(world.me).post(url, data).status_code == 403
    assert client_for(world.pv_officer).post(url, data).status_code == 404
    assert state() == before


def test_the_education_lists_take_a_fixed_number_of_queries(world: World) -> None:
    client = client_for(world.officer)
    counts = []
    for names in (("kim",), ("lina", "mony")):
        for name in names:
            support(world, name)
            term(world, name, dropped_out=True, dropout_reason="Work")
        row = []
        for url in ("/education/", "/education/dropouts/", "/api/v1/education-support/"):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            row.append(len(ctx.captured_queries))
        counts.append(row)
    assert counts[0] == counts[1]


# --------------------------------------------------------------------------------------
# API.


def test_the_education_api(world: World) -> None:
    api = client_for(world.facilitator)
    before = state()
    assert client_for(None).get("/api/v1/education-support/").status_code in (401, 403)
    assert client_for(world.donor).get("/api/v1/education-support/").status_code == 403
    body = {
        "person": world.c["kim"].pk,
        "kind": "scholarship",
        "starts_on": TODAY.isoformat(),
        "amount": "150000",
        "currency": "KHR",
    }
    bad = api.post(
        "/api/v1/education-support/", {**body, "amount": "-1"}, content_type="application/json"
    )
    assert bad.status_code == 400 and "negative" in bad.json()["amount"][0]
    bad = api.post(
        "/api/v1/education-support/",
        {**body, "person": world.c["mony"].pk},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "person" in bad.json()
    bad = api.post(
        "/api/v1/education-support/",
        {**body, "person": world.c["nary"].pk},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "no consent" in bad.json()["person"][0]
    denied = client_for(world.me).post(
        "/api/v1/education-support/", body, content_type="application/json"
    )
    assert denied.status_code == 403
    assert state() == before
    created = api.post("/api/v1/education-support/", body, content_type="application/json")
    assert created.status_code == 201
    sid = created.json()["id"]
    assert [v["months_after"] for v in created.json()["follow_ups"]] == [6, 12]
    reads = AuditEvent.objects.filter(action="read", object_type="interventions.educationsupport")
    assert api.get(f"/api/v1/education-support/{sid}/").status_code == 200 and reads.count() == 1
    assert client_for(world.pv_officer).get(f"/api/v1/education-support/{sid}/").status_code == 404
    changed = api.patch(
        f"/api/v1/education-support/{sid}/", {"grade": "8"}, content_type="application/json"
    )
    assert changed.status_code == 200 and changed.json()["grade"] == "8"
    url = f"/api/v1/education-support/{sid}/terms/"
    bad = api.post(
        url,
        {"school_year": YEAR, "term": 1, "days_attended": 70, "days_possible": 60},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "days_attended" in bad.json()
    made = api.post(
        url,
        {"school_year": YEAR, "term": 1, "days_attended": 58, "days_possible": 60},
        content_type="application/json",
    )
    assert made.status_code == 201 and made.json()["support"] == sid
    fixed = api.post(
        url,
        {"school_year": YEAR, "term": 1, "days_attended": 59, "days_possible": 60},
        content_type="application/json",
    )
    assert fixed.status_code == 200 and fixed.json()["id"] == made.json()["id"]
    assert [t["days_attended"] for t in api.get(url).json()] == [59]
    denied = client_for(world.me).post(
        url, {"school_year": YEAR, "term": 2}, content_type="application/json"
    )
    assert denied.status_code == 403
    listed = api.get(f"/api/v1/education-support/?person={world.c['kim'].pk}").json()
    assert listed["count"] == 1 and listed["results"][0]["name"] == "Chan Kim"
