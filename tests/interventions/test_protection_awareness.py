"""Small cells in the reach of awareness events: a donor (figures, not persons, in the
event's village) sees "<5" on the pages and null in the API where a programme manager
sees 3 persons recorded by name, and the sex by age band table with a hidden cell
never lets it be worked out from the totals beside it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from ctip.core.models import AuditEvent
from ctip.interventions import models as m
from ctip.interventions.selectors import awareness as sel
from tests.interventions import factories as f
from tests.interventions import test_overview_world as w

pytestmark = pytest.mark.django_db

HELD_ON = dt.date(2026, 3, 1)
API = "/api/v1/awareness-events/"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world() -> dict[str, Any]:
    """A village meeting: 3 girls of 17 recorded by name; counted without names, 10 more
    girls and 8 boys of 15-17 and 2 boys under 12."""
    village = f.village("20")
    event = w.event(village, HELD_ON)
    for i in range(3):
        girl = f.consenting_person(village, born=dt.date(2008, 5, 1), name=f"Girl {i}")
        w.attend(girl, on=HELD_ON, ev=event)
    for (sex, band), n in {
        ("female", "15-17"): 10,
        ("male", "15-17"): 8,
        ("male", "0-11"): 2,
    }.items():
        m.EventHeadcount.objects.create(event=event, sex=sex, age_band=band, count=n)
    return {
        "event": event,
        "manager": f.staff("pm", "programme_manager", "KH-20"),
        "donor": f.staff("donor", "donor", "KH-20"),
    }


def test_the_event_page_shows_a_donor_less_than_5_where_a_manager_sees_3(world) -> None:
    url = f"/awareness/{world['event'].pk}/"
    manager = client_for(world["manager"]).get(url)
    reach = manager.context["reach"]
    assert (reach.registered, reach.counted, reach.total) == (3, 20, 23)
    html = manager.content.decode()
    assert "3 registered persons by name" in html and 'id="suppressed"' not in html

    before = AuditEvent.objects.count()
    donor = client_for(world["donor"]).get(url)
    reach = donor.context["reach"]
    assert reach.suppressed and reach.total == 23
    # 3 by name is hidden, and 20 counted with it (23 - 20 would give 3).
    assert (reach.registered, reach.counted) == (None, None)
    male = next(r for r in reach.rows if r.sex == "male")
    assert male.total[reach.bands.index("0-11")] is None  # 2 boys
    assert male.row_total == 10
    html = donor.content.decode()
    assert "Reached: 23" in html
    assert "&lt;5 registered persons by name, &lt;5 counted without names" in html
    assert 'id="suppressed"' in html and "Girl" not in html
    assert AuditEvent.objects.count() == before


def test_the_event_list_hides_the_split_from_a_donor(world) -> None:
    def figures(user: Any) -> Any:
        ((_event, _topics, n),) = client_for(user).get("/awareness/").context["rows"]
        return n

    assert (figures(world["manager"]).registered, figures(world["manager"]).total) == (3, 23)
    donor = figures(world["donor"])
    assert (donor.total, donor.registered, donor.counted) == (23, None, None)
    html = client_for(world["donor"]).get("/awareness/").content.decode()
    assert "&lt;5 by name, &lt;5 counted" in html and 'id="suppressed"' in html


def test_the_api_gives_a_donor_null_where_a_manager_gets_3(world) -> None:
    e = world["event"]
    (row,) = client_for(world["manager"]).get(API).json()["results"]
    assert (row["registered"], row["counted"]) == (3, 20)
    (row,) = client_for(world["donor"]).get(API).json()["results"]
    assert (row["registered"], row["counted"]) == (None, None)
    assert client_for(world["donor"]).get(f"{API}{e.pk}/").json()["registered"] is None

    reach = client_for(world["manager"]).get(f"{API}{e.pk}/reach/").json()
    assert (reach["registered"], reach["total"], reach["suppressed"]) == (3, 23, False)
    assert {
        "sex": "female",
        "age_band": "15-17",
        "registered": 3,
        "counted": 10,
        "total": 13,
    } in reach["cells"]
    reach = client_for(world["donor"]).get(f"{API}{e.pk}/reach/").json()
    assert (reach["registered"], reach["total"], reach["suppressed"]) == (None, 23, True)
    cells = {(c["sex"], c["age_band"]): c for c in reach["cells"]}
    assert cells["male", "0-11"]["total"] is None
    # The split by name / counted is never given by cell to a donor.
    assert {c["registered"] for c in reach["cells"]} == {None}
    assert {c["counted"] for c in reach["cells"]} == {None}


def test_the_headcount_grid_is_for_those_who_see_exact_figures(world) -> None:
    url = f"{API}{world['event'].pk}/headcounts/"
    grid = client_for(world["manager"]).get(url)
    assert grid.status_code == 200
    assert {"sex": "male", "age_band": "0-11", "count": 2} in grid.json()["counts"]
    before = AuditEvent.objects.count()
    # Exact cells next to the reach's totals would give the hidden ones away.
    assert client_for(world["donor"]).get(url).status_code == 403
    assert AuditEvent.objects.count() == before
    assert m.EventHeadcount.objects.count() == 3


def test_the_reach_selector_is_exact_only_where_persons_are_seen(world) -> None:
    e = sel.event_get(world["donor"], world["event"].pk)
    assert sel.event_reach_for(world["manager"], e).registered == 3
    assert sel.event_reach_for(world["donor"], e).registered is None
    assert sel.event_figures(world["donor"], [e])[e.pk].registered is None
    assert sel.event_figures(world["manager"], [e])[e.pk].registered == 3


def test_who_may_read_an_events_figures(world) -> None:
    e = world["event"]
    before = AuditEvent.objects.count()
    page = Client().get(f"/awareness/{e.pk}/")
    assert page.status_code == 302 and page.url.startswith("/accounts/login/")
    assert Client().get(f"{API}{e.pk}/reach/").status_code in (401, 403)
    elsewhere = f.staff("donor-pv", "donor", "KH-14")
    assert client_for(elsewhere).get(f"/awareness/{e.pk}/").status_code == 404
    assert client_for(elsewhere).get(f"{API}{e.pk}/reach/").status_code == 404
    nobody = f.staff("nobody", "donor")
    assert client_for(nobody).get(f"{API}{e.pk}/reach/").status_code == 403
    assert AuditEvent.objects.count() == before
