"""The duplicate review pages and the merge explanation, as their users see them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from ctip.core.actors import cli_actor
from ctip.core.models import AuditEvent
from ctip.registry import dedup
from ctip.registry.models import CandidateStatus, Consent, DuplicateCandidate, Person, PersonMerge

from .conftest import World
from .test_dedup import SREY, other_village, pair, person


@pytest.fixture
def twins(world: World) -> tuple[Person, Person, DuplicateCandidate]:
    """One girl registered twice in two villages of the Svay Rieng commune."""
    a = person(world.sr_village, family_name_local="សុខ", given_name_local="ស្រី", **SREY)
    b = person(other_village(world.sr_village), phone="012 345 678", **SREY)
    Consent.objects.create(person=b, purpose="registration", given_on=dt.date(2025, 1, 1),
                           given_by="parent", method="signed")  # fmt: skip
    dedup.find_duplicates(actor=cli_actor())
    candidate = pair(a, b)
    assert candidate is not None
    return a, b, candidate


def _client(user: object) -> Client:
    c = Client()
    c.force_login(user)  # type: ignore[arg-type]
    return c


def test_the_list_shows_open_pairs_with_their_reasons(world: World, twins):
    a, b, candidate = twins

    page = _client(world.admin).get(reverse("registry:duplicate-list")).content.decode()

    assert "Sok Srey" in page and f"#{a.pk}" in page and f"#{b.pk}" in page
    assert "Different villages of the same commune." in page
    assert reverse("registry:duplicate-detail", args=[candidate.pk]) in page


def test_the_list_filters_by_area_and_score(world: World, twins):
    client = _client(world.admin)
    url = reverse("registry:duplicate-list")

    in_area = client.get(url, {"area": "KH-20", "min_score": "0.8"}).content.decode()
    elsewhere = client.get(url, {"area": "KH-14"}).content.decode()
    too_high = client.get(url, {"min_score": "1"}).content.decode()
    wrong = client.get(url, {"area": "99999999"}).content.decode()

    assert "1 pair to review" in in_area
    assert "No pair to review in your areas." in elsewhere
    assert "Sok Srey" not in too_high or twins[2].score >= 1
    assert "No area has the code 99999999." in wrong


def test_who_may_review_pairs(world: World, twins):
    _a, _b, candidate = twins
    lst = reverse("registry:duplicate-list")
    detail = reverse("registry:duplicate-detail", args=[candidate.pk])
    events = AuditEvent.objects.count()

    assert Client().get(lst).url.startswith("/accounts/login/")  # type: ignore[attr-defined]
    # A facilitator registers but does not merge; a donor sees figures only.
    for user in (world.facilitator, world.donor):
        assert _client(user).get(lst).status_code == 403
        assert _client(user).get(detail).status_code == 403
    # An officer of another province sees no pair of Svay Rieng.
    officer = _client(world.officer_pv)
    assert "No pair to review in your areas." in officer.get(lst).content.decode()
    assert officer.get(detail).status_code == 404
    assert AuditEvent.objects.count() == events


def test_the_comparison_shows_both_records_and_audits_the_reads(world: World, twins):
    a, b, candidate = twins

    response = _client(world.admin).get(reverse("registry:duplicate-detail", args=[candidate.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Are these the same person?" in page
    assert "សុខ" in page and "012 345 678" in page
    assert "Same date of birth." in page
    assert 'name="use_phone"' in page and 'name="keep"' in page
    assert "Consents" in page  # one consent on the second record
    reads = AuditEvent.objects.filter(action="read", actor=world.admin)
    assert {e.object_id for e in reads} == {str(a.pk), str(b.pk)}


def test_merging_from_the_page_explains_the_merge_afterwards(world: World, twins):
    a, b, candidate = twins
    client = _client(world.admin)

    response = client.post(
        reverse("registry:duplicate-merge", args=[candidate.pk]),
        {
            "keep": "a",
            "use_phone": "b",
            "use_household": "a",
            "use_family_name_local": "a",
            "use_given_name_local": "a",
            "reason": "Same girl, registered again after moving",
        },
        follow=True,
    )

    merge = PersonMerge.objects.get()
    assert response.redirect_chain[-1][0] == reverse("registry:merge-detail", args=[merge.pk])
    page = response.content.decode()
    assert f"Record #{b.pk} was merged into record #{a.pk}" in page
    assert "Same girl, registered again after moving" in page
    assert "the merged record&#x27;s value" in page or "the merged record's value" in page
    assert "Moved to the kept record" in page and "Consents" in page
    a.refresh_from_db()
    b.refresh_from_db()
    assert b.merged_into == a and a.phone == "012 345 678"
    assert Consent.objects.get(person__in=[a, b]).person == a
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.MERGED
    # The pair's page now leads to the explanation.
    again = client.get(reverse("registry:duplicate-detail", args=[candidate.pk]))
    assert again.status_code == 302 and again.url == reverse(  # type: ignore[attr-defined]
        "registry:merge-detail", args=[merge.pk]
    )


def test_a_merge_without_a_reason_is_refused_and_changes_nothing(world: World, twins):
    _a, b, candidate = twins

    response = _client(world.admin).post(
        reverse("registry:duplicate-merge", args=[candidate.pk]), {"keep": "a"}
    )

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    b.refresh_from_db()
    assert b.merged_into is None and not PersonMerge.objects.exists()


def test_someone_who_may_not_merge_cannot_post_a_merge(world: World, twins):
    _a, b, candidate = twins
    data = {"keep": "a", "reason": "x"}

    assert (
        _client(world.facilitator)
        .post(reverse("registry:duplicate-merge", args=[candidate.pk]), data)
        .status_code
        == 403
    )
    assert (
        _client(world.officer_pv)
        .post(reverse("registry:duplicate-merge", args=[candidate.pk]), data)
        .status_code
        == 404
    )
    b.refresh_from_db()
    assert b.merged_into is None and not PersonMerge.objects.exists()


def test_not_the_same_person_takes_the_pair_off_the_list(world: World, twins):
    _a, _b, candidate = twins
    client = _client(world.admin)

    refused = client.post(reverse("registry:duplicate-distinct", args=[candidate.pk]), {})
    response = client.post(
        reverse("registry:duplicate-distinct", args=[candidate.pk]),
        {"reason": "Twin sisters"},
        follow=True,
    )

    assert refused.status_code == 400
    page = response.content.decode()
    assert "are not the same person" in page
    assert "No pair to review in your areas." in page
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.DISTINCT
    detail = client.get(reverse("registry:duplicate-detail", args=[candidate.pk])).content
    assert "Twin sisters" in detail.decode()
    assert 'name="keep"' not in detail.decode()


def test_the_merge_explanation_shows_the_merged_record_to_readers_in_its_area(world: World, twins):
    a, b, _candidate = twins
    merge = dedup.person_merge(actor=world.admin, kept=a, merged=b, reason="Moved village")
    url = reverse("registry:merge-detail", args=[merge.pk])
    before = AuditEvent.objects.filter(action="read").count()

    # The M&E officer reads all of Cambodia but may not merge.
    page = _client(world.me).get(url).content.decode()

    assert f"Record #{b.pk} was merged into record #{a.pk}" in page
    assert "Moved village" in page and "012 345 678" in page
    reads = AuditEvent.objects.filter(action="read", actor=world.me)
    assert {e.object_id for e in reads} == {str(a.pk), str(b.pk)}
    assert AuditEvent.objects.filter(action="read").count() == before + 2
    assert f"#{b.pk}" in _client(world.me).get(reverse("registry:merge-list")).content.decode()
    assert _client(world.officer_pv).get(url).status_code == 404
    assert _client(world.donor).get(url).status_code == 403
    assert Client().get(url).status_code == 302


def test_a_sensitive_kind_of_linked_record_is_named_only_to_those_with_the_right(
    world: World,
):
    from ctip.registry.views.duplicates import _linked
    from ctip.vulnerability.models import Outcome

    a = person(world.sr_village, **SREY)
    b = person(world.sr_village, **SREY)
    Outcome.objects.create(person=b, kind="exploitation", occurred_on=dt.date(2025, 2, 1))

    assert ("Outcomes", 0, 1) in _linked(a, b, sensitive_ok=True)
    assert ("Sensitive records", 0, 1) in _linked(a, b, sensitive_ok=False)


def test_a_full_page_of_pairs_stays_light(world: World):
    import gzip

    home = person(world.sr_village, **SREY).household
    for _ in range(60):
        a, b = person(home, **SREY), person(home, **SREY)
        DuplicateCandidate.objects.create(
            person_a=a, person_b=b, score=0.9, reasons=[{"code": "same_household"}]
        )

    response = _client(world.admin).get(reverse("registry:duplicate-list"))

    page = response.content
    assert page.decode().count("Compare</a>") == 50  # one page
    assert len(gzip.compress(page)) < 20 * 1024
