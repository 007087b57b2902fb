"""The registry issue's "done when", end to end through the web pages and the API:
a facilitator registers a household with three children, assesses them and sees them
on the ranked list with the reasons; the provincial committee approves two."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from ctip.core.actors import SYSTEM
from ctip.geography.models import Area, Level
from ctip.registry.models import Household
from ctip.vulnerability.instruments import load_default_instrument
from ctip.vulnerability.models import Direction, TargetingEntry
from ctip.vulnerability.targeting import load_default_assistance_types
from tests.helpers import make_user

pytestmark = pytest.mark.django_db


def _login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _years_ago(years: int) -> str:
    today = dt.date.today()
    return (today.replace(year=today.year - years) - dt.timedelta(days=40)).isoformat()


def _answers(version: Any, risk: float) -> dict[str, str]:
    """For each factor, the option nearest to `risk` (1 = the most risky answer)."""
    chosen = {}
    for factor in version.factors.prefetch_related("options"):
        options = list(factor.options.all())
        target = risk if factor.direction == Direction.RISK else 1 - risk
        chosen[factor.code] = min(options, key=lambda o: abs(float(o.value) - target)).code
    return chosen


def test_register_assess_rank_and_decide() -> None:
    version = load_default_instrument(SYSTEM)
    load_default_assistance_types(actor=SYSTEM)
    village = (
        Area.objects.filter(level=Level.VILLAGE, country="KH", code__startswith="200103")
        .order_by("code")
        .first()
    )
    assert village is not None and village.parent is not None
    facilitator = make_user("sophal", "facilitator", village.parent.code)
    officer = make_user("officer", "provincial_officer", "KH-20")
    fac = _login(facilitator)

    # 1. Register the household with its three children on the web form.
    form: dict[str, Any] = {
        "m-TOTAL_FORMS": "6",
        "m-INITIAL_FORMS": "0",
        "m-MIN_NUM_FORMS": "0",
        "m-MAX_NUM_FORMS": "20",
        "village": village.code,
        "code": "PT-0001",
        "poverty_status": "poor_1",
        "income_sources": ["farming"],
        "members_working_away": "1",
        "members_with_disability": "0",
        "currency": "KHR",
        "debt_amount": "3000000",
        "lenders": ["moneylender"],
    }
    people = [
        ("head", "female", "Chan", "Sreypov", _years_ago(42)),
        ("child", "female", "Chan", "Sreyneang", _years_ago(17)),
        ("child", "male", "Chan", "Vibol", _years_ago(19)),
        ("child", "male", "Chan", "Piseth", _years_ago(12)),
    ]
    for i, (rel, sex, family, given, born) in enumerate(people):
        form |= {
            f"m-{i}-relationship": rel,
            f"m-{i}-sex": sex,
            f"m-{i}-family_name_latin": family,
            f"m-{i}-given_name_latin": given,
            f"m-{i}-date_of_birth": born,
            f"m-{i}-school_status": "dropped_out",
        }
    response = fac.post("/registry/households/new/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    household = Household.objects.get(code="PT-0001")
    members = {p.given_name_latin: p for p in household.members.all()}
    children = [members["Sreyneang"], members["Vibol"], members["Piseth"]]

    # 2. Consent to services: the parent and the child under 18, the youth himself.
    today = dt.date.today().isoformat()
    for child in children:
        adult = child.age is not None and child.age >= 18
        consent = {
            "purpose": "services",
            "given_on": today,
            "method": "signed",
            "given_by": "self" if adult else "parent",
            "giver_name": "" if adult else "Chan Sreypov",
            "child_assent": "unknown" if adult else "true",
        }
        assert fac.post(f"/registry/persons/{child.pk}/consent/", consent).status_code == 302

    # 3. Assess the three children (over the API, as a phone app would).
    for child, risk in ((children[0], 1.0), (children[1], 0.9), (children[2], 0.8)):
        response = fac.post(
            "/api/v1/assessments/",
            {
                "person": child.pk,
                "instrument": version.instrument.code,
                "assessed_on": today,
                "answers": _answers(version, risk),
            },
            content_type="application/json",
        )
        assert response.status_code == 201, response.json()
        assert response.json()["band"] == "high"

    # 4. The provincial committee builds the vocational training list for the commune.
    response = _login(officer).post(
        "/api/v1/targeting-lists/",
        {"assistance_type": "vocational-training", "area": village.parent.code},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    list_id = response.json()["id"]

    # 5. The facilitator sees the two young people (15-24) ranked, with the reasons.
    page = fac.get(f"/targeting/{list_id}/").content.decode()
    assert "Sreyneang" in page and "Vibol" in page
    assert "Piseth" not in page  # 12 years old: not eligible for vocational training
    entries = list(TargetingEntry.objects.filter(targeting_list_id=list_id).order_by("rank"))
    assert [e.person.given_name_latin for e in entries] == ["Sreyneang", "Vibol"]
    assert all(e.reasons for e in entries)

    # 6. The committee approves both.
    for entry in entries:
        response = _login(officer).post(
            f"/api/v1/targeting-lists/{list_id}/decisions/",
            {"entry": entry.pk, "decision": "approved"},
            content_type="application/json",
        )
        assert response.status_code == 200, response.json()
    assert set(
        TargetingEntry.objects.filter(targeting_list_id=list_id).values_list("decision", flat=True)
    ) == {"approved"}
    # A facilitator cannot decide for the committee.
    response = fac.post(
        f"/api/v1/targeting-lists/{list_id}/decisions/",
        {"entry": entries[0].pk, "decision": "rejected", "reason": "no"},
        content_type="application/json",
    )
    assert response.status_code == 403
