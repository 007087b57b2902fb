"""Duplicate detection and merges: the batch job, the registration-time check, the
merge and the "not the same person" decision."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from ctip.core.actors import cli_actor
from ctip.core.audit import MASK
from ctip.core.models import AuditEvent
from ctip.geography.models import Area, Level
from ctip.registry import dedup
from ctip.registry.models import (
    CandidateStatus,
    Consent,
    DuplicateCandidate,
    Household,
    Person,
    PersonMerge,
)
from ctip.registry.services import person_search_text
from ctip.vulnerability.models import (
    Assessment,
    AssistanceType,
    Instrument,
    InstrumentVersion,
    TargetingEntry,
    TargetingList,
)

from .conftest import World

_codes = itertools.count(1)


# --- helpers (also used by test_dedup_pages) ---------------------------------------


def other_village(village: Area) -> Area:
    """Another village of the same commune."""
    found = (
        Area.objects.filter(parent_id=village.parent_id, level=Level.VILLAGE)
        .exclude(pk=village.pk)
        .order_by("code")
        .first()
    )
    assert found is not None
    return found


def vn_hamlet(name: str = "Ấp Tân Thành") -> Area:
    """A hamlet under a commune of today's Tây Ninh (Viet Nam publishes no villages)."""
    province = Area.objects.get(country="VN", level=Level.PROVINCE, code="80", valid_to=None)
    commune = (
        Area.objects.filter(level=Level.COMMUNE, path__startswith=province.path)
        .order_by("code")
        .first()
    )
    assert commune is not None
    hamlet = Area.objects.create(
        country="VN",
        level=Level.VILLAGE,
        code=f"T{next(_codes):04d}",
        parent=commune,
        path="",
        name_vi=name,
        name_en=name,
        source="test",
    )
    hamlet.path = f"{commune.path}{hamlet.pk}/"
    hamlet.save(update_fields=["path"])
    return hamlet


def household(village: Area) -> Household:
    return Household.objects.create(village=village, code=f"DUP-{next(_codes)}")


def person(where: Household | Area, **fields: Any) -> Person:
    """A person written straight to the database, in a household (a new one when given
    a village), so that these tests depend only on the duplicate rules."""
    home = where if isinstance(where, Household) else household(where)
    values: dict[str, Any] = {"relationship": "child", "sex": "female"}
    values.update(fields)
    if isinstance(values.get("date_of_birth"), str):
        values["date_of_birth"] = dt.date.fromisoformat(values["date_of_birth"])
    p = Person(household=home, **values)
    p.search_text = person_search_text(p)
    p.save()
    return p


def pair(a: Person, b: Person) -> DuplicateCandidate | None:
    lo, hi = sorted([a.pk, b.pk])
    return DuplicateCandidate.objects.filter(person_a_id=lo, person_b_id=hi).first()


def codes(candidate: DuplicateCandidate) -> set[str]:
    return {r["code"] for r in candidate.reasons}


SREY = {"family_name_latin": "Sok", "given_name_latin": "Srey", "date_of_birth": "2010-04-12"}


# --- the batch job --------------------------------------------------------------------


def test_the_same_person_in_two_villages_of_a_commune_is_found_with_reasons(world: World):
    a = person(world.sr_village, family_name_local="សុខ", given_name_local="ស្រី", **SREY)
    b = person(other_village(world.sr_village), **SREY)

    summary = dedup.find_duplicates(actor=cli_actor())

    candidate = pair(a, b)
    assert candidate is not None and candidate.status == CandidateStatus.OPEN
    assert candidate.score >= dedup.THRESHOLD
    assert {"name_same", "dob_same", "sex_same", "same_commune"} <= codes(candidate)
    assert summary.created >= 1
    sentences = dedup.reasons_text(candidate.reasons)
    assert "Same date of birth." in sentences
    assert "Different villages of the same commune." in sentences


def test_the_same_person_twice_in_one_village_with_another_spelling_is_found(world: World):
    a = person(world.sr_village, **SREY)
    b = person(
        world.sr_village,
        family_name_latin="Sokh",
        given_name_latin="Srei",
        date_of_birth=dt.date(2010, 7, 1),
        dob_estimated=True,
    )

    dedup.find_duplicates(actor=cli_actor())

    candidate = pair(a, b)
    assert candidate is not None
    assert {"name_variant", "dob_within_year", "same_village"} <= codes(candidate)
    name_reason = next(r for r in candidate.reasons if r["code"] == "name_variant")
    assert name_reason["script"] == "latin"


def test_vietnamese_names_with_and_without_tones_are_found_across_provinces(world: World):
    a = person(
        vn_hamlet(),
        family_name_local="Nguyễn",
        given_name_local="Thị Hoa",
        date_of_birth="2011-02-03",
    )
    b = person(
        world.sr_village,
        family_name_latin="Nguyen",
        given_name_latin="Thi Hoa",
        date_of_birth="2011-02-03",
    )

    dedup.find_duplicates(actor=cli_actor())

    candidate = pair(a, b)
    assert candidate is not None
    assert {"name_same", "dob_same", "different_country"} <= codes(candidate)
    assert "Same name (one in local script, one in Latin letters)." in dedup.reasons_text(
        candidate.reasons
    )


def test_family_and_given_name_swapped_are_found(world: World):
    a = person(world.sr_village, family_name_latin="Chan", given_name_latin="Dara", sex="male",
               date_of_birth="2001-01-05")  # fmt: skip
    b = person(world.sr_village, family_name_latin="Dara", given_name_latin="Chan", sex="male",
               date_of_birth="2001-01-05")  # fmt: skip

    dedup.find_duplicates(actor=cli_actor())

    candidate = pair(a, b)
    assert candidate is not None
    assert {"code": "name_same", "script": "latin", "swapped": True} in candidate.reasons


def test_namesakes_born_years_apart_with_different_sexes_are_not_proposed(world: World):
    a = person(world.sr_village, family_name_latin="Sok", given_name_latin="Dara", sex="male",
               date_of_birth="1990-06-01")  # fmt: skip
    b = person(world.sr_village, family_name_latin="Sok", given_name_latin="Dara",
               sex="female", date_of_birth="2005-06-01")  # fmt: skip
    c = person(other_village(world.sr_village), family_name_latin="Sok",
               given_name_latin="Dara", sex="male", date_of_birth="2012-06-01")  # fmt: skip

    dedup.find_duplicates(actor=cli_actor())

    assert pair(a, b) is None and pair(a, c) is None and pair(b, c) is None
    score, reasons = dedup.score_pair(dedup.person_features(a), dedup.person_features(b))
    assert score < dedup.THRESHOLD
    assert {"code": "sex_different"} in reasons
    assert any(r["code"] == "dob_conflict" for r in reasons)


def test_namesakes_of_an_estimated_age_in_different_communes_are_not_proposed(world: World):
    """Common names repeat: the same name and an estimated age alone are not enough
    across communes; in one village they are worth a look."""
    far = (
        Area.objects.filter(
            level=Level.VILLAGE, path__startswith=world.sr_commune.path.rsplit("/", 2)[0] + "/"
        )
        .exclude(parent=world.sr_commune)
        .first()
    )
    assert far is not None
    guessed = {"family_name_latin": "Sok", "given_name_latin": "Dara", "sex": "male",
               "date_of_birth": "1985-07-01", "dob_estimated": True}  # fmt: skip
    a = person(world.sr_village, **guessed)
    b = person(far, **guessed)
    c = person(world.sr_village, **guessed)

    dedup.find_duplicates(actor=cli_actor())

    assert pair(a, b) is None
    same_village = pair(a, c)
    assert same_village is not None
    assert {"dob_same_estimated", "same_village"} <= codes(same_village)


def test_other_and_undisclosed_sex_neither_count_for_nor_against(world: World):
    a = person(world.sr_village, sex="other", **SREY)
    b = person(world.sr_village, sex="female", **SREY)
    c = person(world.sr_village, sex="male", **SREY)
    fa, fb, fc = (dedup.person_features(p) for p in (a, b, c))

    neutral, reasons = dedup.score_pair(fa, fb)
    different, _ = dedup.score_pair(fb, fc)

    assert {"code": "sex_not_comparable"} in reasons
    assert neutral >= dedup.THRESHOLD > different


def test_rerunning_the_job_does_not_reopen_a_pair_marked_distinct(world: World):
    a = person(world.sr_village, **SREY)
    b = person(world.sr_village, **SREY)
    dedup.find_duplicates(actor=cli_actor())
    candidate = pair(a, b)
    assert candidate is not None
    dedup.candidate_mark_distinct(actor=world.admin, candidate=candidate, reason="Twins")

    summary = dedup.find_duplicates(actor=cli_actor())

    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.DISTINCT
    assert candidate.decided_by == world.admin
    assert summary.already_decided == 1 and summary.created == 0
    assert DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN).count() == 0


def test_rerunning_the_job_creates_nothing_new_and_writes_one_event_per_run(world: World):
    a = person(world.sr_village, **SREY)
    b = person(world.sr_village, **SREY)
    first = dedup.find_duplicates(actor=cli_actor())
    events = AuditEvent.objects.filter(action="duplicate.find")
    assert events.count() == 1
    assert events.get().changes["created"] == first.created

    second = dedup.find_duplicates(actor=cli_actor())

    assert second.created == 0 and second.unchanged == first.created
    assert DuplicateCandidate.objects.filter(person_a=min(a.pk, b.pk)).count() == 1
    assert events.count() == 2


def test_a_pair_no_longer_alike_after_a_correction_is_withdrawn(world: World):
    a = person(world.sr_village, **SREY)
    b = person(world.sr_village, **SREY)
    c = person(world.sr_village, **SREY)
    dedup.find_duplicates(actor=cli_actor())
    assert pair(a, c) is not None and pair(b, c) is not None
    # c's birth date was a typing mistake: she was born in 2004, and is a boy.
    Person.objects.filter(pk=c.pk).update(date_of_birth=dt.date(2004, 1, 1), sex="male")

    summary = dedup.find_duplicates(actor=cli_actor())

    assert pair(a, c) is None and pair(b, c) is None
    assert summary.withdrawn == 2
    assert pair(a, b) is not None


def test_an_open_pair_hidden_by_a_skipped_block_is_kept(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    a = person(world.sr_village, **SREY)
    b = person(world.sr_village, **SREY)
    dedup.find_duplicates(actor=cli_actor())
    person(world.sr_village, **SREY)
    monkeypatch.setattr(dedup, "MAX_BLOCK", 2)

    summary = dedup.find_duplicates(actor=cli_actor())

    assert summary.skipped_blocks >= 1 and summary.rescored >= 1
    candidate = pair(a, b)
    assert candidate is not None and candidate.status == CandidateStatus.OPEN


def test_the_job_in_one_area_leaves_other_areas_alone(world: World):
    person(world.sr_village, **SREY)
    person(world.sr_village, **SREY)
    pv_a = person(world.pv_village, **SREY)
    pv_b = person(world.pv_village, **SREY)
    svay_rieng = Area.objects.get(country="KH", level=Level.PROVINCE, code="20")

    summary = dedup.find_duplicates(actor=cli_actor(), area=svay_rieng)

    assert summary.found == 1 and summary.area == "KH-20"
    assert pair(pv_a, pv_b) is None


def test_a_user_runs_the_job_only_over_their_own_areas(world: World):
    person(world.sr_village, **SREY)
    person(world.sr_village, **SREY)
    pv_a = person(world.pv_village, **SREY)
    pv_b = person(world.pv_village, **SREY)

    summary = dedup.find_duplicates(actor=world.officer_pv)

    assert summary.found == 1
    assert pair(pv_a, pv_b) is not None
    with pytest.raises(PermissionDenied):
        dedup.find_duplicates(actor=world.facilitator)


def test_giant_blocks_are_skipped_and_counted(world: World, monkeypatch: pytest.MonkeyPatch):
    for _ in range(4):
        person(world.sr_village, **SREY)
    monkeypatch.setattr(dedup, "MAX_BLOCK", 3)

    summary = dedup.find_duplicates(actor=cli_actor())

    assert summary.skipped_blocks >= 1 and summary.skipped_block_persons >= 4
    assert summary.found == 0


def test_merged_records_are_left_out_of_the_job(world: World):
    a = person(world.sr_village, **SREY)
    b = person(world.sr_village, **SREY)
    c = person(world.sr_village, **SREY)
    dedup.person_merge(actor=world.admin, kept=a, merged=b)

    dedup.find_duplicates(actor=cli_actor())

    assert pair(a, c) is not None
    assert pair(a, b) is None and pair(b, c) is None


def test_the_command_finds_and_lists(world: World, capsys: pytest.CaptureFixture[str]):
    a = person(world.sr_village, **SREY)
    b = person(world.sr_village, family_name_latin="Sokh", given_name_latin="Srei",
               date_of_birth="2010-04-12")  # fmt: skip

    call_command("duplicates", "find", "--area", "KH-20")
    found = capsys.readouterr().out
    call_command("duplicates", "list", "--area", "20")
    listed = capsys.readouterr().out

    assert "1 new" in found
    assert f"#{a.pk}" in listed and f"#{b.pk}" in listed
    assert "Names spelled differently but sounding the same (in Latin letters)." in listed


def test_the_command_names_a_wrong_area_code(world: World):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--area"):
        call_command("duplicates", "find", "--area", "99999999")


# --- the registration-time check ----------------------------------------------------


def test_candidates_for_finds_the_existing_record_in_the_village(world: World):
    existing = person(world.sr_village, **SREY)
    person(world.sr_village, family_name_latin="Chan", given_name_latin="Dara",
           sex="male", date_of_birth="2010-04-12")  # fmt: skip

    found = dedup.candidates_for(
        world.facilitator,
        family_name_latin="Sokh",
        given_name_latin="Srei",
        sex="female",
        date_of_birth=dt.date(2010, 4, 12),
        village=world.sr_village,
    )

    assert [c.person for c in found] == [existing]
    assert found[0].score >= dedup.THRESHOLD
    assert "Same village." in found[0].reason_sentences


def test_candidates_for_finds_a_record_elsewhere_and_respects_scope(world: World):
    elsewhere = person(world.pv_village, family_name_local="សុខ", given_name_local="ស្រី",
                       **SREY)  # fmt: skip
    probe = {
        "family_name_local": "សុខ",
        "given_name_local": "ស្រី",
        "sex": "female",
        "date_of_birth": dt.date(2010, 4, 12),
        "village": world.sr_village,
    }

    assert [c.person for c in dedup.candidates_for(world.me, **probe)] == [elsewhere]
    # The facilitator works in one Svay Rieng commune: the Prey Veng record stays hidden.
    assert dedup.candidates_for(world.facilitator, **probe) == []
    assert dedup.candidates_for(world.donor, **probe) == []


def test_candidates_for_leaves_out_the_record_itself_and_merged_records(world: World):
    a = person(world.sr_village, **SREY)
    b = person(world.sr_village, **SREY)
    probe = {**SREY, "date_of_birth": dt.date(2010, 4, 12), "village": world.sr_village}
    dedup.person_merge(actor=world.admin, kept=a, merged=b)

    assert dedup.candidates_for(world.admin, exclude_id=a.pk, **probe) == []
    assert [c.person for c in dedup.candidates_for(world.admin, **probe)] == [a]


def test_candidates_for_without_names_finds_nothing(world: World):
    person(world.sr_village, **SREY)
    assert dedup.candidates_for(world.admin, village=world.sr_village) == []


# --- merging ----------------------------------------------------------------------------


def _assessment(p: Person) -> Assessment:
    instrument = Instrument.objects.create(code=f"vi-{next(_codes)}", name_en="Vulnerability")
    version = InstrumentVersion.objects.create(
        instrument=instrument, number=1, medium_from=Decimal(3), high_from=Decimal(6)
    )
    return Assessment.objects.create(
        version=version, person=p, assessed_on=dt.date(2025, 3, 1), score=Decimal(4), band="medium"
    )


def test_merge_moves_linked_records_and_keeps_the_merged_record(world: World):
    kept = person(world.sr_village, phone="", **SREY)
    merged = person(other_village(world.sr_village), phone="012 345 678", **SREY)
    consent = Consent.objects.create(
        person=merged, purpose="registration", given_on=dt.date(2025, 1, 1), given_by="parent",
        method="signed",
    )  # fmt: skip
    assessment = _assessment(merged)
    dedup.find_duplicates(actor=cli_actor())
    candidate = pair(kept, merged)
    assert candidate is not None

    merge = dedup.person_merge(
        actor=world.admin,
        kept=kept,
        merged=merged,
        candidate=candidate,
        reason="Registered again after moving",
        choose={"phone": "merged"},
    )

    consent.refresh_from_db()
    assessment.refresh_from_db()
    kept.refresh_from_db()
    merged.refresh_from_db()
    candidate.refresh_from_db()
    assert consent.person == kept and assessment.person == kept
    assert merged.merged_into == kept
    assert Person.objects.filter(pk=merged.pk).exists()
    assert kept.phone == "012 345 678"
    assert candidate.status == CandidateStatus.MERGED and candidate.decided_by == world.admin
    assert merge == PersonMerge.objects.get()
    assert merge.moved == {"registry.consent": 1, "vulnerability.assessment": 1}
    assert merge.fields["phone"] == ["", "012 345 678", "merged"]
    assert merge.fields["household"][2] == "kept"
    assert (merge.kept, merge.merged, merge.merged_by) == (kept, merged, world.admin)
    events = AuditEvent.objects.filter(action="merge").order_by("id")
    assert [e.object_id for e in events] == [str(kept.pk), str(merged.pk)]
    assert events[0].changes["fields"]["phone"] == {"before": "", "after": MASK}
    assert events[1].changes["fields"]["merged_into"] == {"before": None, "after": kept.pk}
    assert events[0].changes["reason"] == "Registered again after moving"


def test_merge_takes_blank_fields_from_the_merged_record_unless_told_otherwise(world: World):
    kept = person(world.sr_village, family_name_latin="Sok", given_name_latin="Srey")
    merged = person(world.sr_village, date_of_birth="2010-04-12", dob_estimated=True,
                    family_name_local="សុខ", given_name_local="ស្រី", **{
                        k: v for k, v in SREY.items() if k != "date_of_birth"})  # fmt: skip

    merge = dedup.person_merge(
        actor=world.admin, kept=kept, merged=merged, choose={"given_name_local": "kept"}
    )

    kept.refresh_from_db()
    assert kept.date_of_birth == dt.date(2010, 4, 12) and kept.dob_estimated
    assert kept.family_name_local == "សុខ" and kept.given_name_local == ""
    assert kept.search_text == person_search_text(kept)
    assert merge.fields["date_of_birth"] == [None, "2010-04-12", "merged"]
    event = AuditEvent.objects.filter(action="merge", object_id=str(kept.pk)).get()
    assert event.changes["fields"]["date_of_birth"] == {"before": None, "after": MASK}


def test_merge_closes_the_merged_persons_other_open_candidates(world: World):
    a = person(world.sr_village, **SREY)
    b = person(world.sr_village, **SREY)
    c = person(world.sr_village, **SREY)
    dedup.find_duplicates(actor=cli_actor())

    dedup.person_merge(actor=world.admin, kept=a, merged=b)

    closed_ab, closed_bc, open_ac = pair(a, b), pair(b, c), pair(a, c)
    assert closed_ab is not None and closed_bc is not None and open_ac is not None
    assert closed_ab.status == closed_bc.status == CandidateStatus.MERGED
    assert open_ac.status == CandidateStatus.OPEN


def test_merge_keeps_the_kept_persons_entry_when_both_are_on_one_targeting_list(world: World):
    kept = person(world.sr_village, **SREY)
    merged = person(world.sr_village, **SREY)
    assessment = _assessment(kept)
    kind = AssistanceType.objects.create(
        code="school-kit", name_en="School kit", instrument=assessment.version.instrument,
        min_band="medium",
    )  # fmt: skip
    shared = TargetingList.objects.create(
        assistance_type=kind, area=world.sr_village, as_of=dt.date(2025, 4, 1)
    )
    only_merged = TargetingList.objects.create(
        assistance_type=kind, area=world.sr_village, as_of=dt.date(2025, 5, 1)
    )
    entry = {"assessment": assessment, "rank": 1, "score": Decimal(4), "band": "medium"}
    kept_entry = TargetingEntry.objects.create(targeting_list=shared, person=kept, **entry)
    left_entry = TargetingEntry.objects.create(targeting_list=shared, person=merged, **entry)
    moved_entry = TargetingEntry.objects.create(targeting_list=only_merged, person=merged, **entry)

    merge = dedup.person_merge(actor=world.admin, kept=kept, merged=merged)

    for e in (kept_entry, left_entry, moved_entry):
        e.refresh_from_db()
    assert kept_entry.person == kept and moved_entry.person == kept
    assert left_entry.person == merged
    assert merge.moved["vulnerability.targetingentry"] == 1
    assert merge.moved[dedup.LEFT_KEY] == {"vulnerability.targetingentry": 1}


def _state() -> tuple[Any, ...]:
    return (
        list(Person.objects.order_by("id").values_list("id", "merged_into_id", "phone")),
        list(Consent.objects.values_list("id", "person_id")),
        list(DuplicateCandidate.objects.values_list("id", "status")),
        PersonMerge.objects.count(),
        AuditEvent.objects.filter(action="merge").count(),
    )


def test_merging_without_permission_changes_nothing(world: World):
    kept = person(world.sr_village, **SREY)
    merged = person(world.sr_village, phone="012345678", **SREY)
    Consent.objects.create(person=merged, purpose="registration", given_on=dt.date(2025, 1, 1),
                           given_by="self", method="signed")  # fmt: skip
    dedup.find_duplicates(actor=cli_actor())
    before = _state()

    # A facilitator may register but not merge; an officer of another province may merge
    # only there.
    for actor in (world.facilitator, world.officer_pv, world.donor):
        with pytest.raises(PermissionDenied):
            dedup.person_merge(actor=actor, kept=kept, merged=merged, choose={"phone": "merged"})
        with pytest.raises(PermissionDenied):
            dedup.candidate_mark_distinct(actor=actor, candidate=pair(kept, merged), reason="x")

    assert _state() == before


def test_merging_across_provinces_needs_the_right_in_both(world: World):
    sr = person(world.sr_village, **SREY)
    pv = person(world.pv_village, **SREY)
    before = _state()

    with pytest.raises(PermissionDenied):
        dedup.person_merge(actor=world.officer_pv, kept=pv, merged=sr)

    assert _state() == before
    dedup.person_merge(actor=world.admin, kept=pv, merged=sr)
    sr.refresh_from_db()
    assert sr.merged_into == pv


def test_a_merge_is_refused_into_itself_into_a_merged_record_or_twice(world: World):
    a = person(world.sr_village, **SREY)
    b = person(world.sr_village, **SREY)
    c = person(world.sr_village, **SREY)
    with pytest.raises(ValidationError, match="itself"):
        dedup.person_merge(actor=world.admin, kept=a, merged=a)
    dedup.person_merge(actor=world.admin, kept=a, merged=b)
    before = _state()

    with pytest.raises(ValidationError, match="already merged"):
        dedup.person_merge(actor=world.admin, kept=c, merged=b)
    with pytest.raises(ValidationError, match="merge into that one instead"):
        dedup.person_merge(actor=world.admin, kept=b, merged=c)
    # b -> a exists: a into b would close a cycle.
    with pytest.raises(ValidationError):
        dedup.person_merge(actor=world.admin, kept=b, merged=a)
    with pytest.raises(ValidationError, match="cannot be chosen"):
        dedup.person_merge(actor=world.admin, kept=a, merged=c, choose={"merged_into": "merged"})

    assert _state() == before


def test_the_external_id_follows_the_chosen_record(world: World):
    kept = person(world.sr_village, **SREY)
    merged = person(world.sr_village, external_id="KH-IMPORT-7", **SREY)

    dedup.person_merge(actor=world.admin, kept=kept, merged=merged)

    kept.refresh_from_db()
    merged.refresh_from_db()
    assert (kept.external_id, merged.external_id) == ("KH-IMPORT-7", "")


def test_marking_distinct_needs_a_reason_and_is_audited(world: World):
    a = person(world.sr_village, **SREY)
    b = person(world.sr_village, **SREY)
    dedup.find_duplicates(actor=cli_actor())
    candidate = pair(a, b)
    assert candidate is not None

    with pytest.raises(ValidationError):
        dedup.candidate_mark_distinct(actor=world.admin, candidate=candidate, reason=" ")
    dedup.candidate_mark_distinct(actor=world.admin, candidate=candidate, reason="Twins")

    event = AuditEvent.objects.get(action="duplicate.distinct")
    assert event.changes["reason"] == "Twins"
    assert event.changes["persons"] == [candidate.person_a_id, candidate.person_b_id]
    with pytest.raises(ValidationError, match="already decided"):
        dedup.candidate_mark_distinct(actor=world.admin, candidate=candidate, reason="Again")


def test_every_link_to_a_person_is_found_including_hidden_ones():
    keys = {link.key for link in dedup.person_links()}
    assert {"registry.consent", "vulnerability.assessment", "vulnerability.outcome"} <= keys
    # TargetingEntry.person has no reverse accessor (related_name="+"): still found.
    assert "vulnerability.targetingentry" in keys
    assert not keys & {"registry.duplicatecandidate", "registry.personmerge", "registry.person"}


def test_the_block_scorer_agrees_with_the_pair_scorer():
    """The batch job scores whole blocks in numpy and confirms with score_pair: the two
    must agree (to the rounding of names to whole percents) on every kind of pair."""
    import random

    rng = random.Random(7)
    names = [
        ("Sok", "Srey"), ("Sokh", "Srei"), ("Chan", "Dara"), ("Dara", "Chan"),
        ("Nguyen", "Thi Hoa"), ("Nguyễn", "Thị Hoà"), ("Sok", "Sreymom"), ("", "Mony"),
    ]  # fmt: skip
    days = [None, dt.date(2010, 4, 12), dt.date(2010, 12, 4), dt.date(2010, 5, 1),
            dt.date(2010, 7, 1), dt.date(2011, 6, 30), dt.date(2013, 1, 1)]  # fmt: skip
    block = [
        dedup.make_features(
            id=i + 1,
            household_id=rng.choice([1, 2, 3]),
            village_id=rng.choice([10, 11, 12]),
            commune_id=rng.choice([100, 101]),
            village_path=rng.choice(["/1/5/", "/1/6/", "/2/7/"]),
            family_name_latin=rng.choice(names)[0],
            given_name_latin=rng.choice(names)[1],
            family_name_local=rng.choice(["", "សុខ"]),
            given_name_local=rng.choice(["", "ស្រី"]),
            sex=rng.choice(["female", "male", "other", "undisclosed", ""]),
            date_of_birth=rng.choice(days),
            dob_estimated=rng.random() < 0.3,
            phone=rng.choice(["", "012 345 678", "097 111 222"]),
            external_id=rng.choice(["", "", "X-1"]),
        )
        for i in range(120)
    ]

    matrix = dedup.block_scores(block)

    for i in range(len(block)):
        for j in range(i + 1, len(block)):
            expected, _ = dedup.score_pair(block[i], block[j])
            assert abs(matrix[i, j] - expected) <= 0.011, (block[i], block[j])
