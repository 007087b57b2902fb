"""Small cells in the loan figures: a donor (figures, not persons) sees a count of 1 to 4
loans as "<5" (null in the API) and none of the amounts behind it, where a programme
manager of the same areas sees 3; a second area is hidden beside it when the area's
total would give it away; a repayment rate of a few closed loans is hidden too."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from ctip.core.models import AuditEvent
from ctip.geography.selectors import resolve_area_code
from ctip.interventions.models import Loan
from ctip.interventions.selectors import loans as sel
from ctip.interventions.services import loans as svc
from tests.interventions import factories as f
from tests.interventions import test_overview_world as w
from tests.interventions.test_loans import admin, disburse, product, today

pytestmark = pytest.mark.django_db

D = Decimal
PORTFOLIO = "/loans/portfolio/"
SUMMARY_API = "/api/v1/intervention-summary/"
HOME = "/interventions/"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world() -> dict[str, Any]:
    """Chantrea district: 3 loans; Kampong Rou district: 6 (Svay Rieng, 9 in all). Prey
    Veng: 2 loans, both written off (nothing left to repay, but what fell due counts)."""
    chantrea = f.village("20")
    kampong_rou = w.other_district_village("20", 1)
    prey_veng = f.village("14")
    prod = product()
    long_ago = today() - dt.timedelta(days=40)  # one monthly instalment fell due
    for i in range(3):
        disburse(f.consenting_person(chantrea, born=dt.date(1990, 1, 1), name=f"A{i}"), prod)
    for i in range(6):
        disburse(f.consenting_person(kampong_rou, born=dt.date(1990, 1, 1), name=f"B{i}"), prod)
    for i in range(2):
        person = f.consenting_person(prey_veng, born=dt.date(1990, 1, 1), name=f"C{i}")
        svc.loan_write_off(
            actor=admin(), loan=disburse(person, prod, disbursed_on=long_ago), reason="Moved"
        )
    return {
        "chantrea": w.district_of(chantrea),
        "kampong_rou": w.district_of(kampong_rou),
        "manager": f.staff("pm", "programme_manager", "KH-20", "KH-14"),
        "donor": f.staff("donor", "donor", "KH"),
        "district_manager": f.staff("dpm", "programme_manager", w.district_of(chantrea)),
        "district_donor": f.staff("ddonor", "donor", w.district_of(chantrea)),
    }


def _parts(response: Any) -> dict[str, Any]:
    return {area.code: rows[0]["f"] for area, rows in response.context["parts"]}


def test_the_portfolio_page_shows_a_donor_less_than_5_where_a_manager_sees_3(world) -> None:
    chantrea, kampong_rou = world["chantrea"].code, world["kampong_rou"].code
    manager = client_for(world["manager"]).get(PORTFOLIO, {"area": "KH-20"})
    parts = _parts(manager)
    assert (parts[chantrea].active_loans, parts[kampong_rou].active_loans) == (3, 6)
    assert parts[chantrea].outstanding_principal == D(3_000_000)
    assert 'id="suppressed"' not in manager.content.decode()

    before = AuditEvent.objects.count()
    donor = client_for(world["donor"]).get(PORTFOLIO, {"area": "KH-20"})
    parts = _parts(donor)
    # 3 is hidden, and 6 with it: 9 - 6 would give the 3 back.
    for code in (chantrea, kampong_rou):
        figures = parts[code]
        assert figures.active_loans is None and figures.outstanding_principal is None
        assert figures.par30 is None and figures.repayment_rate is None
    (total,) = donor.context["totals"]
    assert total["f"].active_loans == 9
    assert total["f"].outstanding_principal == D(9_000_000)
    html = donor.content.decode()
    assert "&lt;5" in html and 'id="suppressed"' in html
    assert "3,000,000" not in html and "6,000,000" not in html
    assert AuditEvent.objects.count() == before


def test_a_donor_does_not_see_one_district_with_three_loans(world) -> None:
    code = world["chantrea"].code
    donor = client_for(world["district_donor"]).get(PORTFOLIO, {"area": code})
    (total,) = donor.context["totals"]
    assert total["f"].active_loans is None and total["f"].outstanding_principal is None
    assert total["f"].due_to_date is None and total["f"].paid_of_due is None
    html = donor.content.decode()
    assert "&lt;5" in html and "3,000,000" not in html
    manager = client_for(world["district_manager"]).get(PORTFOLIO, {"area": code})
    (total,) = manager.context["totals"]
    assert total["f"].active_loans == 3 and "3,000,000" in manager.content.decode()


def test_a_repayment_rate_over_two_written_off_loans_is_hidden_from_a_donor(world) -> None:
    prey_veng = resolve_area_code("KH-14")
    (mine,) = sel.portfolio_for(world["manager"], prey_veng, today())
    assert (mine.active_loans, mine.disbursed_loans) == (0, 2)
    assert mine.repayment_rate == D(0) and mine.due_to_date > 0
    (theirs,) = sel.portfolio_for(world["donor"], prey_veng, today())
    # No loan being repaid: 0 is 0. What fell due on the two is theirs alone.
    assert (theirs.active_loans, theirs.outstanding_principal) == (0, D(0))
    assert theirs.repayment_rate is None and theirs.due_to_date is None
    assert Loan.objects.filter(status="written_off").count() == 2


def test_the_summary_api_gives_a_donor_null_where_a_manager_gets_3(world) -> None:
    def loans(user: Any, area: str) -> dict[str, Any]:
        body = client_for(user).get(SUMMARY_API, {"area": area}).json()
        return {
            row["area"]["code"]: row["loans"][0]
            for row in [body["total"], *body["children"]]
            if row["loans"]
        }

    chantrea, kampong_rou = world["chantrea"].code, world["kampong_rou"].code
    manager = loans(world["manager"], "KH-20")
    assert (manager[chantrea]["active_loans"], manager[kampong_rou]["active_loans"]) == (3, 6)
    donor = loans(world["donor"], "KH-20")
    assert donor[chantrea]["active_loans"] is None
    assert donor[chantrea]["outstanding_principal"] is None
    assert donor[kampong_rou]["active_loans"] is None  # its complement
    assert donor["20"]["active_loans"] == 9
    # Two loans written off: the repayment rate over them is one borrower's or another's.
    assert loans(world["manager"], "KH-14")["14"]["repayment_rate"] == 0
    assert loans(world["donor"], "KH-14")["14"]["repayment_rate"] is None


def test_the_home_page_hides_par30_of_three_loans_from_a_donor(world) -> None:
    ((currency, par30, outstanding),) = (
        client_for(world["district_manager"]).get(HOME).context["figures"].par30
    )
    assert (currency, par30, outstanding) == ("KHR", 0, D(3_000_000))
    response = client_for(world["district_donor"]).get(HOME)
    assert response.context["figures"].par30 == [("KHR", None, None)]
    html = response.content.decode()
    assert "&lt;5" in html and "3,000,000" not in html


def test_who_may_open_the_portfolio(world) -> None:
    before = AuditEvent.objects.count()
    anonymous = Client().get(PORTFOLIO, {"area": "KH-20"})
    assert anonymous.status_code == 302 and anonymous.url.startswith("/accounts/login/")
    nobody = f.staff("nobody", "donor")  # a role nowhere
    assert client_for(nobody).get(PORTFOLIO).status_code == 403
    elsewhere = f.staff("donor-vn", "donor", "VN")
    html = client_for(elsewhere).get(PORTFOLIO, {"area": "KH-20"}).content.decode()
    assert "You do not see figures for" in html and "9,000,000" not in html
    assert AuditEvent.objects.count() == before
