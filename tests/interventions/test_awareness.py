"""Awareness events through the services and selectors: recording an event, who attended
(by name, only from the commune the event serves, never a restricted person), headcounts
by sex and age band, the reach figures, who sees what, and the attendance sheet's code."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ctip.accounts.models import User
from ctip.core.models import AuditEvent
from ctip.geography.models import Area, Level
from ctip.interventions.models import AwarenessEvent, EventAttendance, EventHeadcount
from ctip.interventions.selectors import awareness as sel
from ctip.interventions.services import awareness as svc
from ctip.registry import services as registry
from ctip.registry.models import Person
from tests.interventions import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def years_ago(years: int, days: int = 0, *, on: dt.date = TODAY) -> dt.date:
    return on.replace(year=on.year - years) - dt.timedelta(days=days)


@dataclass
class World:
    village: Area  # where events are held
    neighbour: Area  # another village of the same commune
    elsewhere: Area  # a village of another commune of the same province
    prey_veng: Area  # a village of another province
    fac: User  # facilitator of the commune
    officer: User  # provincial officer, Svay Rieng
    me: User  # M&E officer, Cambodia: sees persons, records nothing
    donor: User  # figures only
    fac_pv: User  # facilitator in Prey Veng


def make_world() -> World:
    village = f.village("20")
    commune = village.parent
    assert commune is not None and commune.level == Level.COMMUNE
    district = commune.parent
    assert district is not None
    neighbour = (
        Area.objects.filter(parent=commune, level=Level.VILLAGE).exclude(pk=village.pk).first()
    )
    elsewhere = (
        Area.objects.filter(level=Level.VILLAGE, path__startswith=district.path)
        .exclude(parent=commune)
        .order_by("code")
        .first()
    )
    assert neighbour is not None and elsewhere is not None
    prey_veng = f.village("14")
    return World(
        village=village,
        neighbour=neighbour,
        elsewhere=elsewhere,
        prey_veng=prey_veng,
        fac=f.staff("fac", "facilitator", commune),
        officer=f.staff("officer", "provincial_officer", "KH-20"),
        me=f.staff("me", "me_officer", "KH"),
        donor=f.staff("donor", "donor", "KH-20"),
        fac_pv=f.staff("fac-pv", "facilitator", prey_veng.code[:6]),
    )


@pytest.fixture
def w() -> World:
    return make_world()


def event(w: World, actor: User | None = None, **fields: Any) -> AwarenessEvent:
    values: dict[str, Any] = {
        "village": w.village,
        "held_on": TODAY - dt.timedelta(days=3),
        "kind": "village_meeting",
        "title": "Safe migration meeting",
        "topics": ["safe_migration_steps", "hotlines"],
    }
    values.update(fields)
    return svc.event_create(actor=actor or w.fac, **values)


# --------------------------------------------------------------------------------------
# Events.


def test_a_facilitator_records_an_event_in_their_commune_and_it_is_audited(w: World) -> None:
    e = event(w, facilitators=[w.fac, w.officer], location="Pagoda", notes="Rainy day")
    assert e.village == w.village and e.created_by == w.fac
    # Topics are kept in the list's own order, without repeats.
    assert e.topics == ["safe_migration_steps", "hotlines"]
    assert set(e.facilitators.all()) == {w.fac, w.officer}
    audit = AuditEvent.objects.get(action="create", object_type="interventions.awarenessevent")
    assert audit.actor == w.fac
    assert audit.changes["title"]["after"] == "Safe migration meeting"
    assert audit.changes["village"]["after"] == w.village.code


def test_an_event_in_the_future_is_refused_naming_the_date(w: World) -> None:
    with pytest.raises(ValidationError) as exc:
        event(w, held_on=TODAY + dt.timedelta(days=1))
    assert "held_on" in exc.value.message_dict
    assert "future" in exc.value.message_dict["held_on"][0]
    assert not AwarenessEvent.objects.exists()


def test_today_is_not_the_future(w: World) -> None:
    assert event(w, held_on=TODAY).held_on == TODAY


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "concert"}, "kind"),
        ({"topics": ["hotlines", "weather"]}, "topics"),
        ({"topics": []}, "topics"),
        ({"title": "  "}, "title"),
        ({"title": "=HYPERLINK(1)"}, "title"),
        ({"materials": [999999]}, "materials"),
        ({"facilitators": [999999]}, "facilitators"),
    ],
)
def test_bad_fields_are_refused_by_name_and_nothing_is_written(
    w: World, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        event(w, **fields)
    assert field in exc.value.message_dict
    assert not AwarenessEvent.objects.exists()
    assert not AuditEvent.objects.filter(object_type="interventions.awarenessevent").exists()


def test_an_event_is_held_in_a_village_not_a_commune(w: World) -> None:
    with pytest.raises(ValidationError) as exc:
        event(w, village=w.village.parent)
    assert "village" in exc.value.message_dict


def test_a_facilitator_must_work_in_the_events_village(w: World) -> None:
    with pytest.raises(ValidationError) as exc:
        event(w, facilitators=[w.fac, w.fac_pv])
    message = exc.value.message_dict["facilitators"][0]
    assert "fac-pv" in message and "fac," not in message
    # A donor holds a role there, but does not record interventions.
    with pytest.raises(ValidationError):
        event(w, facilitators=[w.donor])
    assert not AwarenessEvent.objects.exists()


@pytest.mark.parametrize("who", ["fac_pv", "me", "donor"])
def test_recording_an_event_needs_the_right_in_its_village(w: World, who: str) -> None:
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        event(w, actor=getattr(w, who))
    assert not AwarenessEvent.objects.exists() and AuditEvent.objects.count() == before


def test_an_event_is_changed_with_an_audited_difference(w: World) -> None:
    e = event(w)
    svc.event_update(
        actor=w.officer,
        event=e,
        title="Hotlines evening",
        topics=["hotlines"],
        facilitators=[w.fac],
    )
    e.refresh_from_db()
    assert e.title == "Hotlines evening" and e.topics == ["hotlines"]
    change = AuditEvent.objects.get(action="update")
    assert change.changes["title"] == {
        "before": "Safe migration meeting",
        "after": "Hotlines evening",
    }
    assert change.changes["facilitators"] == {"before": [], "after": [w.fac.pk]}
    # Nothing changed, nothing audited.
    svc.event_update(actor=w.officer, event=e, title="Hotlines evening")
    assert AuditEvent.objects.filter(action="update").count() == 1


def test_a_facilitator_of_another_province_cannot_change_an_event(w: World) -> None:
    e = event(w)
    with pytest.raises(PermissionDenied):
        svc.event_update(actor=w.fac_pv, event=e, title="Taken")
    e.refresh_from_db()
    assert e.title == "Safe migration meeting"


def test_moving_an_event_to_another_commune_is_refused_while_attendees_live_here(w: World) -> None:
    e = event(w, actor=w.officer)
    person = f.consenting_person(w.village, name="Dara")
    svc.attendance_record(actor=w.officer, event=e, persons=[person])
    with pytest.raises(ValidationError) as exc:
        svc.event_update(actor=w.officer, event=e, village=w.elsewhere)
    assert "Dara" in exc.value.message_dict["village"][0]
    e.refresh_from_db()
    assert e.village == w.village


def test_a_future_date_is_refused_on_change_too(w: World) -> None:
    e = event(w)
    with pytest.raises(ValidationError) as exc:
        svc.event_update(actor=w.fac, event=e, held_on=TODAY + dt.timedelta(days=30))
    assert "held_on" in exc.value.message_dict


# --------------------------------------------------------------------------------------
# Attendance.


def test_attendance_from_the_village_and_its_commune_is_recorded_once(w: World) -> None:
    e = event(w)
    here = f.consenting_person(w.village, name="Sophea")
    next_door = f.consenting_person(w.neighbour, name="Vanna")
    added = svc.attendance_record(actor=w.fac, event=e, persons=[here, next_door.pk, here])
    assert {a.person_id for a in added} == {here.pk, next_door.pk}
    # Recording again adds nobody and writes no audit event.
    assert svc.attendance_record(actor=w.fac, event=e, persons=[here]) == []
    assert EventAttendance.objects.filter(event=e).count() == 2
    audit = AuditEvent.objects.get(action="attendance.record")
    assert sorted(audit.changes["added"]) == sorted([here.pk, next_door.pk])


def test_a_person_outside_the_commune_is_refused_by_name_and_row_and_nobody_is_recorded(
    w: World,
) -> None:
    e = event(w, actor=w.officer)
    here = f.consenting_person(w.village, name="Sophea")
    far = f.consenting_person(w.elsewhere, name="Kosal")
    with pytest.raises(ValidationError) as exc:
        svc.attendance_record(actor=w.officer, event=e, persons=[here, far])
    errors = exc.value.message_dict
    assert list(errors) == ["persons[2]"]
    assert "Chan Kosal" in errors["persons[2]"][0]
    assert "Row 2" in errors["persons[2]"][0]
    assert "outside" in errors["persons[2]"][0]
    assert not EventAttendance.objects.exists()
    assert not AuditEvent.objects.filter(action="attendance.record").exists()


def test_a_person_the_actor_cannot_see_is_not_named(w: World) -> None:
    e = event(w)
    far = f.consenting_person(w.prey_veng, name="Secret")
    with pytest.raises(ValidationError) as exc:
        svc.attendance_record(actor=w.fac, event=e, persons=[far.pk, 0])
    errors = exc.value.message_dict
    assert "Secret" not in str(errors)
    assert f"#{far.pk}" in errors["persons[1]"][0]
    assert "persons[2]" in errors


def test_a_restricted_person_is_refused(w: World) -> None:
    e = event(w)
    person = f.consenting_person(w.village, name="Withdrawn")
    consent = person.consents.get(purpose="registration")
    registry.consent_withdraw(actor=f.registrar(), consent=consent, reason="asked")
    with pytest.raises(ValidationError) as exc:
        svc.attendance_record(actor=w.fac, event=e, persons=[person])
    assert "withdrew" in exc.value.message_dict["persons[1]"][0]
    assert not EventAttendance.objects.exists()


def test_a_merged_record_points_to_the_one_to_record(w: World) -> None:
    e = event(w)
    kept = f.consenting_person(w.village, name="Kept")
    dup = f.consenting_person(w.village, name="Dup")
    Person.objects.filter(pk=dup.pk).update(merged_into=kept)
    with pytest.raises(ValidationError) as exc:
        svc.attendance_record(actor=w.fac, event=e, persons=[dup])
    assert "Chan Kept" in exc.value.message_dict["persons[1]"][0]


@pytest.mark.parametrize("who", ["fac_pv", "me", "donor"])
def test_recording_attendance_needs_the_right_in_the_village(w: World, who: str) -> None:
    e = event(w)
    person = f.consenting_person(w.village)
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        svc.attendance_record(actor=getattr(w, who), event=e, persons=[person])
    assert not EventAttendance.objects.exists() and AuditEvent.objects.count() == before


def test_attendance_is_removed_and_audited(w: World) -> None:
    e = event(w)
    a, b = f.consenting_person(w.village, name="A"), f.consenting_person(w.village, name="B")
    svc.attendance_record(actor=w.fac, event=e, persons=[a, b])
    assert svc.attendance_remove(actor=w.fac, event=e, persons=[a, 999999]) == 1
    assert list(EventAttendance.objects.values_list("person_id", flat=True)) == [b.pk]
    assert AuditEvent.objects.get(action="attendance.remove").changes == {"removed": [a.pk]}
    assert svc.attendance_remove(actor=w.fac, event=e, persons=[a]) == 0
    assert AuditEvent.objects.filter(action="attendance.remove").count() == 1


# --------------------------------------------------------------------------------------
# Headcounts and reach.


def test_headcounts_replace_the_grid_and_are_audited(w: World) -> None:
    e = event(w)
    svc.headcounts_set(
        actor=w.fac, event=e, counts={("female", "15-17"): 12, ("male", "15-17"): "9"}
    )
    svc.headcounts_set(actor=w.fac, event=e, counts={("female", "15-17"): 10, ("male", "25+"): 0})
    assert list(EventHeadcount.objects.values_list("sex", "age_band", "count")) == [
        ("female", "15-17", 10)
    ]
    last = AuditEvent.objects.filter(action="headcounts.set").order_by("id").last()
    assert last is not None
    assert last.changes["total"] == {"before": 21, "after": 10}
    assert last.changes["counts"]["male 15-17"] == {"before": 9, "after": None}


@pytest.mark.parametrize(
    ("counts", "key"),
    [
        ({("female", "15-17"): -1}, "counts[female 15-17]"),
        ({("female", "15-17"): 2.5}, "counts[female 15-17]"),
        ({("female", "15-17"): "many"}, "counts[female 15-17]"),
        ({("female", "15-17"): True}, "counts[female 15-17]"),
        ({("female", "13-19"): 3}, "counts[female 13-19]"),
        ({("boys", "15-17"): 3}, "counts[boys 15-17]"),
    ],
)
def test_bad_headcounts_are_refused_and_the_grid_is_kept(
    w: World, counts: dict[tuple[str, str], object], key: str
) -> None:
    e = event(w)
    svc.headcounts_set(actor=w.fac, event=e, counts={("male", "0-11"): 4})
    with pytest.raises(ValidationError) as exc:
        svc.headcounts_set(actor=w.fac, event=e, counts={("male", "0-11"): 5, **counts})
    assert list(exc.value.message_dict) == [key]
    assert list(EventHeadcount.objects.values_list("count", flat=True)) == [4]


def test_headcounts_need_the_right_in_the_village(w: World) -> None:
    e = event(w)
    with pytest.raises(PermissionDenied):
        svc.headcounts_set(actor=w.donor, event=e, counts={("male", "0-11"): 4})
    assert not EventHeadcount.objects.exists()


def test_reach_counts_ages_on_the_events_day_and_adds_headcounts(w: World) -> None:
    held = TODAY - dt.timedelta(days=30)
    e = event(w, held_on=held)
    # Fourteen on the day of the event, fifteen since: counted as 12-14.
    turned_15_since = f.consenting_person(
        w.village, name="Mony", sex="female", born=years_ago(15, 10)
    )
    assert turned_15_since.age_on(held) == 14 and turned_15_since.age_on(TODAY) == 15
    boy = f.consenting_person(w.village, name="Rith", sex="male", born=years_ago(20, 5, on=held))
    unknown = f.consenting_person(w.neighbour, name="Nary", sex="female", born=None, purposes=())
    svc.attendance_record(actor=w.fac, event=e, persons=[turned_15_since, boy, unknown])
    svc.headcounts_set(actor=w.fac, event=e, counts={("female", "12-14"): 3, ("male", "25+"): 7})
    reach = sel.event_reach(e)
    assert (reach.registered, reach.counted, reach.total) == (3, 10, 13)
    rows = {r.sex: r for r in reach.rows}
    bands = reach.bands
    assert rows["female"].registered[bands.index("12-14")] == 1
    assert rows["female"].counted[bands.index("12-14")] == 3
    assert rows["female"].total[bands.index("12-14")] == 4
    assert rows["female"].registered[bands.index("")] == 1
    assert rows["male"].total[bands.index("18-24")] == 1
    assert rows["male"].total[bands.index("25+")] == 7
    assert reach.column_totals[bands.index("12-14")] == 4
    assert sum(reach.column_totals) == 13
    assert {(c["sex"], c["age_band"]): c["total"] for c in reach.cells()} == {
        ("female", "12-14"): 4,
        ("female", ""): 1,
        ("male", "18-24"): 1,
        ("male", "25+"): 7,
    }
    listed: Any = sel.event_search(w.fac).get(pk=e.pk)
    assert (listed.registered, listed.counted) == (3, 10)


def test_saving_a_keyed_sheet_is_all_or_nothing(w: World) -> None:
    e = event(w)
    a, b = f.consenting_person(w.village, name="A"), f.consenting_person(w.village, name="B")
    far = f.consenting_person(w.elsewhere, name="Far")
    svc.attendance_record(actor=w.fac, event=e, persons=[a])
    with pytest.raises(ValidationError) as exc:
        svc.attendance_save(
            actor=w.officer,
            event=e,
            present=[b, far],
            absent=[a],
            counts={("female", "0-11"): -2},
        )
    assert set(exc.value.message_dict) == {"persons[2]", "counts[female 0-11]"}
    assert list(EventAttendance.objects.values_list("person_id", flat=True)) == [a.pk]
    assert not EventHeadcount.objects.exists()
    svc.attendance_save(
        actor=w.fac, event=e, present=[b], absent=[a, b], counts={("female", "0-11"): 2}
    )
    assert list(EventAttendance.objects.values_list("person_id", flat=True)) == [b.pk]
    assert EventHeadcount.objects.get().count == 2


# --------------------------------------------------------------------------------------
# Who sees what.


def test_events_are_seen_in_the_actors_areas_names_only_with_view_persons(w: World) -> None:
    e = event(w)
    person = f.consenting_person(w.village, name="Sophea")
    svc.attendance_record(actor=w.fac, event=e, persons=[person])
    assert list(sel.events_visible_to(w.fac)) == [e]
    assert list(sel.events_visible_to(w.donor)) == [e]
    assert list(sel.events_visible_to(w.fac_pv)) == []
    assert [a.person for a in sel.attendees(w.me, e)] == [person]
    assert not sel.may_see_names(w.donor, e)
    assert list(sel.attendees(w.donor, e)) == []
    assert sel.event_reach(e).registered == 1


def test_a_restricted_attendee_is_counted_but_no_longer_listed(w: World) -> None:
    e = event(w)
    person = f.consenting_person(w.village, name="Later")
    svc.attendance_record(actor=w.fac, event=e, persons=[person])
    consent = person.consents.get(purpose="registration")
    registry.consent_withdraw(actor=f.registrar(), consent=consent, reason="asked")
    assert list(sel.attendees(w.fac, e)) == []
    assert sel.event_reach(e).registered == 1


def test_event_search_filters(w: World) -> None:
    a = event(w, held_on=TODAY - dt.timedelta(days=40), kind="school_session", topics=["hotlines"])
    b = event(w, actor=w.officer, village=w.elsewhere, topics=["rights_at_work"])
    assert list(sel.event_search(w.officer)) == [b, a]
    assert list(sel.event_search(w.officer, area_code=w.neighbour.code[:6])) == [a]
    assert list(sel.event_search(w.officer, kind="school_session")) == [a]
    assert list(sel.event_search(w.officer, topic="rights_at_work")) == [b]
    assert list(sel.event_search(w.officer, topic="hotlines")) == [a]
    assert list(sel.event_search(w.officer, held_from=TODAY - dt.timedelta(days=10))) == [b]
    assert list(sel.event_search(w.officer, held_to=TODAY - dt.timedelta(days=10))) == [a]


def test_facilitator_choices_are_those_recording_in_overlapping_areas(w: World) -> None:
    choices = set(sel.facilitator_choices(w.fac))
    assert {w.fac, w.officer} <= choices
    assert w.fac_pv not in choices and w.donor not in choices and w.me not in choices


# --------------------------------------------------------------------------------------
# The sheet.


def test_the_sheet_code_finds_its_event_and_a_slip_finds_nothing(w: World) -> None:
    e = event(w)
    code = sel.sheet_code(e)
    assert code.startswith(f"AW{e.pk}-") and len(code) == len(f"AW{e.pk}-") + 2
    assert sel.event_for_sheet_code(w.fac, code.lower()) == e
    wrong = code[:-1] + ("A" if code[-1] != "A" else "B")
    assert sel.event_for_sheet_code(w.fac, wrong) is None
    assert sel.event_for_sheet_code(w.fac_pv, code) is None
    assert sel.event_for_sheet_code(w.donor, code) is None
    assert sel.event_for_sheet_code(w.fac, "nonsense") is None


def test_the_sheet_lists_the_villages_persons_and_is_audited(w: World) -> None:
    e = event(w)
    child = f.consenting_person(w.village, name="Child", born=years_ago(9))
    adult = f.consenting_person(w.village, name="Adult", born=years_ago(40))
    f.consenting_person(w.neighbour, name="Neighbour")
    gone = f.consenting_person(w.village, name="Gone")
    registry.consent_withdraw(
        actor=f.registrar(), consent=gone.consents.get(purpose="registration"), reason=""
    )
    svc.attendance_record(actor=w.fac, event=e, persons=[child])
    sheet = sel.attendance_sheet(w.fac, e, file_format="pdf")
    assert [r.person for r in sheet.rows] == [adult, child]
    assert [r.attended for r in sheet.rows] == [False, True]
    assert sheet.code == sel.sheet_code(e)
    audit = AuditEvent.objects.get(action="export")
    assert audit.changes == {"sheet": sheet.code, "format": "pdf", "rows": 2}


@pytest.mark.parametrize("who", ["donor", "me", "fac_pv"])
def test_the_sheet_needs_record_and_view_persons_in_the_village(w: World, who: str) -> None:
    e = event(w)
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        sel.attendance_sheet(getattr(w, who), e, file_format="html")
    assert AuditEvent.objects.count() == before
