"""The interventions home page, the per-area summary page with its charts and
spreadsheet, and the summary's JSON: who reaches them, what each sees (donors see
figures with small counts hidden), nothing written on denial."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from ctip.core.models import AuditEvent
from ctip.geography.selectors import resolve_area_code
from ctip.interventions import models as m
from tests.interventions import factories as f
from tests.interventions import test_overview_world as w

pytestmark = pytest.mark.django_db

HOME = "/interventions/"
SUMMARY = "/interventions/summary/"
EXPORT = "/interventions/summary/export.xlsx"
API = "/api/v1/intervention-summary/"


@pytest.fixture
def world() -> dict[str, object]:
    """Svay Rieng this year: 12 young people at an event (7 girls, 5 boys) in Chantrea,
    one of them enrolled and a loan with an instalment 40 days late; 3 in Kampong Rou."""
    today = timezone.localdate()
    day = today - dt.timedelta(days=1) if today.month > 1 or today.day > 1 else today
    v1, v2 = f.village("20"), w.other_district_village("20", 1)
    ev1 = w.event(v1, day)
    people = []
    for i in range(12):
        p = f.consenting_person(v1, sex="female" if i < 7 else "male", name=f"Youth {i}")
        w.attend(p, on=day, ev=ev1)
        people.append(p)
    ev2 = w.event(v2, day)
    for i in range(3):
        w.attend(f.consenting_person(v2, name=f"Other {i}"), on=day, ev=ev2)
    w.enrol(people[0], on=day)
    late = w.loan(people[1], on=today - dt.timedelta(days=100))
    w.follow_up(people[2], due=today - dt.timedelta(days=3), assigned_to=None)
    fac = f.staff("fac", "facilitator", w.commune_of(v1))
    w.follow_up(people[3], due=today - dt.timedelta(days=2), assigned_to=fac)
    return {
        "v1": v1,
        "v2": v2,
        "day": day,
        "officer": f.staff("officer", "provincial_officer", "KH-20"),
        "donor": f.staff("donor", "donor", "KH"),
        "fac": fac,
        "late": late,
    }


# --- the menu and the home page --------------------------------------------------------


def test_the_menu_has_interventions_for_staff_and_donors(client, world) -> None:
    for user in (world["fac"], world["donor"], world["officer"]):
        client.force_login(user)
        html = client.get("/").content.decode()
        assert f'href="{HOME}"' in html, user.username


def test_the_home_page_gives_a_facilitator_figures_links_and_their_visits(client, world) -> None:
    client.force_login(world["fac"])
    response = client.get(HOME)
    assert response.status_code == 200
    figures = response.context["figures"]
    # The facilitator holds the commune of Chantrea's first village: 12 reached there.
    assert figures.reach == 12
    assert not figures.suppressed
    assert (figures.due_mine, figures.overdue_mine) == (1, 1)
    html = response.content.decode()
    assert reverse("interventions:summary") in html
    for section in response.context["sections"]:
        for link in section["links"]:
            assert link["url"] in html
    assert "Awareness raising" in html and "Follow-up" in html


def test_the_home_page_hides_small_counts_from_a_donor_and_shows_no_person_pages(
    client, world
) -> None:
    client.force_login(world["donor"])
    response = client.get(HOME)
    assert response.status_code == 200
    figures = response.context["figures"]
    assert figures.suppressed
    assert figures.reach == 15
    assert figures.overdue_in_areas is None  # 2 overdue visits
    assert dict((c, n) for c, _label, n in figures.reach_by_component)["training"] is None
    assert not figures.records
    for section in response.context["sections"]:
        for link in section["links"]:
            assert "new" not in link["url"] and "create" not in link["url"]
    assert "&lt;5" in response.content.decode()


def test_par30_moves_when_an_instalment_is_more_than_30_days_late(client, world) -> None:
    client.force_login(world["officer"])
    figures = client.get(HOME).context["figures"]
    ((currency, par30, outstanding),) = figures.par30
    assert currency == "KHR"
    assert outstanding == Decimal("600000.00")
    assert par30 == 1  # nothing repaid, the first instalment is 70 days late


@pytest.mark.parametrize("url", [HOME, SUMMARY, EXPORT])
def test_anonymous_is_sent_to_sign_in(client, world, url) -> None:
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("url", [HOME, SUMMARY, EXPORT, API])
def test_a_user_without_a_role_is_refused(client, world, url) -> None:
    from ctip.accounts.models import User

    client.force_login(User.objects.create_user(username="norole", password="a-long-pw-123"))
    events = AuditEvent.objects.count()
    assert client.get(url).status_code == 403
    assert AuditEvent.objects.count() == events


# --- the summary page ----------------------------------------------------------------------


def test_the_summary_defaults_to_the_officers_province_and_this_year(client, world) -> None:
    client.force_login(world["officer"])
    response = client.get(SUMMARY)
    assert response.status_code == 200
    summary = response.context["summary"]
    assert summary.area == resolve_area_code("KH-20")
    assert summary.start == timezone.localdate().replace(month=1, day=1)
    assert summary.total.reach[m.Component.AWARENESS].total == 15
    html = response.content.decode()
    assert "<svg" in html and 'id="by-area"' in html
    # The same figures as a table for screen readers.
    assert "<caption" in html
    assert "Chantrea" in html and "Kampong Rou" in html
    assert response.context["form"].initial["area"] == "KH-20"


def test_a_donor_sees_the_country_with_small_counts_hidden(client, world) -> None:
    client.force_login(world["donor"])
    response = client.get(SUMMARY, {"area": "KH-20"})
    assert response.status_code == 200
    summary = response.context["summary"]
    assert summary.suppressed
    assert summary.total.reach[m.Component.AWARENESS].total == 15
    assert summary.total.reach[m.Component.TRAINING].total is None
    html = response.content.decode()
    assert "&lt;5" in html
    assert 'id="suppressed"' in html


def test_drilling_down_keeps_the_period(client, world) -> None:
    client.force_login(world["officer"])
    district = w.district_of(world["v1"])
    start = world["day"].isoformat()
    response = client.get(SUMMARY, {"area_id": district.pk, "from": start, "to": start})
    assert response.status_code == 200
    summary = response.context["summary"]
    assert summary.area == district
    assert summary.start == summary.end == world["day"]
    assert summary.total.reach[m.Component.AWARENESS].total == 12
    assert f"area_id={district.parent_id}" in response.content.decode()  # up one level


def test_an_empty_from_counts_from_the_beginning(client, world) -> None:
    client.force_login(world["officer"])
    response = client.get(SUMMARY, {"area": "KH-20", "from": "", "to": ""})
    summary = response.context["summary"]
    assert summary.start is None and summary.end == timezone.localdate()


def test_bad_input_is_named_on_the_form(client, world) -> None:
    client.force_login(world["officer"])
    response = client.get(SUMMARY, {"area": "KH-99999"})
    assert response.status_code == 200
    assert response.context["summary"] is None
    assert "area" in response.context["form"].errors
    response = client.get(SUMMARY, {"area": "KH-20", "from": "2026-05-01", "to": "2026-04-01"})
    assert "to" in response.context["form"].errors


@pytest.mark.parametrize("params", [{"area": "KH-14"}, {"area": "KH"}, {"area": "VN"}])
def test_an_area_outside_the_officers_is_refused(client, world, params) -> None:
    client.force_login(world["officer"])
    events = AuditEvent.objects.count()
    assert client.get(SUMMARY, params).status_code == 403
    assert client.get(EXPORT, params).status_code == 403
    assert client.get(API, params).status_code == 403
    assert AuditEvent.objects.count() == events


# --- the spreadsheet -------------------------------------------------------------------------


def _sheets(content: bytes) -> dict[str, list[tuple[object, ...]]]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


def test_the_spreadsheet_has_every_table_and_the_export_is_audited(client, world) -> None:
    client.force_login(world["officer"])
    response = client.get(EXPORT, {"area": "KH-20"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "interventions-KH-20-" in response["Content-Disposition"]
    sheets = _sheets(response.content)
    assert list(sheets) == ["Reach", "Large events", "Training", "Loans", "IGAs", "Follow-ups"]
    reach = sheets["Reach"]
    row = next(r for r in reach if r[1] == "Awareness raising" and "Svay Rieng" in str(r[0]))
    assert row[2] == 15
    event = AuditEvent.objects.get(action="export", object_type="interventions.summary")
    assert event.changes["area"] == "20"


def test_the_donors_spreadsheet_hides_small_counts(client, world) -> None:
    client.force_login(world["donor"])
    sheets = _sheets(client.get(EXPORT, {"area": "KH-20"}).content)
    row = next(r for r in sheets["Reach"] if r[1] == "Vocational training" and r[0])
    assert row[2] == "<5"
    assert any("hidden" in str(r[1]) for r in sheets["Reach"][:6] if r[0] == "Note")


# --- the JSON ----------------------------------------------------------------------------


def test_the_api_gives_the_summary(client, world) -> None:
    client.force_login(world["officer"])
    response = client.get(API, {"area": "KH-20", "from": world["day"].isoformat()})
    assert response.status_code == 200
    data = response.json()
    assert data["area"]["code"] == "20"
    assert data["from"] == world["day"].isoformat()
    assert data["suppressed"] is False
    assert data["total"]["reach"]["awareness"]["total"] == 15
    assert data["total"]["reach"]["awareness"]["by_sex"]["female"] == 7 + 3
    assert {c["area"]["code"] for c in data["children"]} >= {"2001", "2002"}
    assert data["total"]["loans"][0]["currency"] == "KHR"


def test_the_api_hides_small_counts_from_a_donor(client, world) -> None:
    client.force_login(world["donor"])
    data = client.get(API, {"area": "KH-20"}).json()
    assert data["suppressed"] is True
    assert data["total"]["reach"]["training"]["total"] is None
    assert data["total"]["loans"][0]["par30"] is None


def test_the_api_refuses_anonymous_callers_and_names_bad_input(client, world) -> None:
    assert client.get(API).status_code in (401, 403)
    client.force_login(world["officer"])
    response = client.get(API, {"area": "KH-20", "from": "not-a-date"})
    assert response.status_code == 400
    assert "from" in response.json() or "from" in str(response.json())
