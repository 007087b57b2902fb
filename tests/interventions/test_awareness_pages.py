"""Awareness pages as users meet them: the events list and its filters, recording an
event, an event's reach and attendees, the printable attendance sheet (page and PDF, in
Khmer too) and keying it back in on a phone; who may open what, and that a refusal
changes nothing and reads nobody."""

from __future__ import annotations

import datetime as dt
import re
import zlib

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ctip.accounts.models import User
from ctip.core.models import AuditEvent
from ctip.interventions.models import AwarenessEvent, EventAttendance, EventHeadcount
from ctip.interventions.selectors import awareness as sel
from ctip.interventions.services import awareness as svc
from ctip.registry import services as registry
from ctip.registry.models import Person
from tests.interventions import factories as f
from tests.interventions.test_awareness import World, event, make_world

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def w() -> World:
    return make_world()


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def khmer_person(w: World, **extra: object) -> Person:
    values: dict[str, object] = {
        "relationship": "head",
        "sex": "female",
        "given_name_local": "សុភា",
        "family_name_local": "ចាន់",
        "given_name_latin": "Sophea",
        "family_name_latin": "Chan",
        "date_of_birth": dt.date(2010, 4, 2),
    }
    values.update(extra)
    return registry.person_create(
        actor=f.registrar(), household=f.household_in(w.village), **values
    )


def pdf_fonts(pdf: bytes) -> set[bytes]:
    """Names of the fonts embedded in a PDF (WeasyPrint compresses its object streams)."""
    blob = pdf
    for match in re.finditer(rb"stream\r?\n", pdf):
        end = pdf.find(b"endstream", match.end())
        try:
            blob += zlib.decompress(pdf[match.end() : end])
        except zlib.error:
            continue
    return set(re.findall(rb"/BaseFont\s*/([A-Za-z0-9+_-]+)", blob))


def pages(e: AwarenessEvent) -> list[str]:
    return [
        f"/awareness/{e.pk}/",
        f"/awareness/{e.pk}/edit/",
        f"/awareness/{e.pk}/attendance/",
        f"/awareness/{e.pk}/sheet/",
        f"/awareness/{e.pk}/sheet.pdf",
    ]


# --------------------------------------------------------------------------------------
# Who may open what.


def test_anonymous_users_are_sent_to_sign_in_and_nothing_is_read(w: World) -> None:
    e = event(w)
    before = AuditEvent.objects.count()
    client = Client()
    for url in ["/awareness/", "/awareness/new/", "/awareness/awareness.css", *pages(e)]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/"), url
    response = client.post(f"/awareness/{e.pk}/attendance/", {"present": ["1"]})
    assert response.status_code == 302
    assert AuditEvent.objects.count() == before


def test_a_facilitator_of_another_province_finds_no_such_event(w: World) -> None:
    e = event(w)
    person = f.consenting_person(w.village)
    client = client_for(w.fac_pv)
    before = AuditEvent.objects.count()
    assert "Safe migration meeting" not in client.get("/awareness/").content.decode()
    for url in pages(e):
        assert client.get(url).status_code == 404, url
    response = client.post(f"/awareness/{e.pk}/attendance/", {"present": [person.pk]})
    assert response.status_code == 404
    assert not EventAttendance.objects.exists() and AuditEvent.objects.count() == before


def test_a_donor_sees_the_event_and_its_reach_but_no_names(w: World) -> None:
    e = event(w)
    person = f.consenting_person(w.village, name="Hidden")
    svc.attendance_record(actor=w.fac, event=e, persons=[person])
    client = client_for(w.donor)
    before = AuditEvent.objects.count()
    listing = client.get("/awareness/").content.decode()
    assert "Safe migration meeting" in listing and "Record an event" not in listing
    page = client.get(f"/awareness/{e.pk}/").content.decode()
    assert "Reached: &lt;5" in page  # one attendee: a small count, hidden from a donor
    assert "Hidden" not in page and "Take or key in attendance" not in page
    for url in pages(e)[1:]:
        assert client.get(url).status_code == 403, url
    assert AuditEvent.objects.count() == before


def test_an_me_officer_reads_names_but_records_nothing(w: World) -> None:
    e = event(w)
    person = f.consenting_person(w.village, name="Seen")
    svc.attendance_record(actor=w.fac, event=e, persons=[person])
    client = client_for(w.me)
    assert "Chan Seen" in client.get(f"/awareness/{e.pk}/").content.decode()
    assert client.get("/awareness/new/").status_code == 403
    assert client.post(f"/awareness/{e.pk}/edit/", {"title": "x"}).status_code == 403
    response = client.post(f"/awareness/{e.pk}/attendance/{person.pk}/remove/")
    assert response.status_code == 403
    assert client.get(f"/awareness/{e.pk}/sheet/").status_code == 403
    assert EventAttendance.objects.count() == 1


def test_the_detail_page_with_names_is_audited_as_a_read(w: World) -> None:
    e = event(w)
    person = f.consenting_person(w.village, name="Read")
    svc.attendance_record(actor=w.fac, event=e, persons=[person])
    page = client_for(w.fac).get(f"/awareness/{e.pk}/").content.decode()
    assert "Chan Read" in page and sel.sheet_code(e) in page
    read = AuditEvent.objects.get(action="read", object_type="interventions.awarenessevent")
    assert read.actor == w.fac and read.changes == {"attendees_shown": 1}


# --------------------------------------------------------------------------------------
# Lists.


def test_the_list_filters_by_area_date_type_and_topic(w: World) -> None:
    event(w, title="School talk", kind="school_session", topics=["hotlines"])
    event(
        w,
        actor=w.officer,
        village=w.elsewhere,
        title="Radio spot",
        kind="radio_tv",
        topics=["rights_at_work"],
        held_on=TODAY - dt.timedelta(days=60),
    )
    client = client_for(w.officer)

    def titles(query: str) -> set[str]:
        page = client.get(f"/awareness/?{query}").content.decode()
        return {t for t in ("School talk", "Radio spot") if t in page}

    assert titles("") == {"School talk", "Radio spot"}
    assert titles(f"area={w.village.code}") == {"School talk"}
    assert titles("kind=radio_tv") == {"Radio spot"}
    assert titles("topic=hotlines") == {"School talk"}
    start = (TODAY - dt.timedelta(days=30)).isoformat()
    assert titles(f"held_from={start}") == {"School talk"}
    assert titles(f"held_to={start}") == {"Radio spot"}
    bad = client.get("/awareness/?area=99999999").content.decode()
    assert "No area has the code 99999999" in bad


def test_the_list_reads_a_fixed_number_of_queries_whatever_its_length(w: World) -> None:
    client = client_for(w.fac)
    person = f.consenting_person(w.village)
    counts = []
    for n in (1, 6):
        while AwarenessEvent.objects.count() < n:
            e = event(w, title=f"Event {AwarenessEvent.objects.count()}")
            svc.attendance_record(actor=w.fac, event=e, persons=[person])
            svc.headcounts_set(actor=w.fac, event=e, counts={("male", "25+"): 3})
        client.get("/awareness/")
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/awareness/")
        assert response.content.decode().count("/awareness/") >= n
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


# --------------------------------------------------------------------------------------
# Recording an event.


def form_data(w: World, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "village": f"KH-{w.village.code}",
        "held_on": (TODAY - dt.timedelta(days=1)).isoformat(),
        "kind": "peer_education",
        "title": "Peer talk on brokers",
        "topics": ["unsafe_migration_risks", "legal_channels"],
        "location": "School yard",
        "facilitators": [w.fac.pk],
        "notes": "",
    }
    data.update(extra)
    return data


def test_a_facilitator_records_an_event_through_the_form(w: World) -> None:
    client = client_for(w.fac)
    form = client.get("/awareness/new/").content.decode()
    assert 'name="topics"' in form and "fac" in form
    response = client.post("/awareness/new/", form_data(w))
    e = AwarenessEvent.objects.get()
    assert response.status_code == 302 and response.url == f"/awareness/{e.pk}/"
    assert e.topics == ["unsafe_migration_risks", "legal_channels"]
    assert list(e.facilitators.all()) == [w.fac]
    page = client.get(response.url).content.decode()
    assert "Peer talk on brokers" in page and "Legal migration channels" in page


def test_a_future_date_is_shown_next_to_the_field_and_nothing_is_saved(w: World) -> None:
    client = client_for(w.fac)
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    response = client.post("/awareness/new/", form_data(w, held_on=tomorrow))
    assert response.status_code == 200
    assert "is in the future" in response.content.decode()
    assert not AwarenessEvent.objects.exists()


def test_a_facilitator_chooses_among_the_villages_of_their_commune(w: World) -> None:
    client = client_for(w.fac)
    form = client.get("/awareness/new/").content.decode()
    assert f'<option value="KH-{w.village.code}">' in form
    assert f'<option value="KH-{w.neighbour.code}">' in form
    assert w.elsewhere.code not in form
    response = client.post("/awareness/new/", form_data(w, village=f"KH-{w.elsewhere.code}"))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not AwarenessEvent.objects.exists()


def test_an_event_in_another_province_is_refused_on_the_form(w: World) -> None:
    client = client_for(w.officer)
    assert 'name="village" maxlength="30"' in client.get("/awareness/new/").content.decode()
    response = client.post("/awareness/new/", form_data(w, village=w.prey_veng.code))
    assert "You do not record interventions in" in response.content.decode()
    response = client.post("/awareness/new/", form_data(w, village="nonsense"))
    assert "No area has the code" in response.content.decode()
    assert not AwarenessEvent.objects.exists()


def test_an_event_is_edited(w: World) -> None:
    e = event(w)
    client = client_for(w.officer)
    form = client.get(f"/awareness/{e.pk}/edit/").content.decode()
    assert "Safe migration meeting" in form
    response = client.post(f"/awareness/{e.pk}/edit/", form_data(w, title="Renamed"))
    assert response.status_code == 302
    e.refresh_from_db()
    assert e.title == "Renamed" and e.kind == "peer_education"


# --------------------------------------------------------------------------------------
# The sheet.


def test_the_sheet_page_lists_the_village_in_both_scripts_and_is_audited(w: World) -> None:
    e = event(w)
    sophea = khmer_person(w)
    f.consenting_person(w.neighbour, name="Neighbour")
    response = client_for(w.fac).get(f"/awareness/{e.pk}/sheet/")
    page = response.content.decode()
    assert "ចាន់ សុភា" in page and "Chan Sophea" in page
    assert "Neighbour" not in page
    assert sel.sheet_code(e) in page
    assert 'href="/awareness/awareness.css"' in page
    for band in ("0-11", "12-14", "15-17", "18-24", "25+"):
        assert f"<th>{band}</th>" in page
    read = AuditEvent.objects.get(action="read")
    assert read.changes == {"sheet": sel.sheet_code(e), "format": "html", "rows": 1}
    assert read.object_id == str(e.pk) and sophea.pk


def test_the_sheet_pdf_renders_khmer_and_is_audited_as_an_export(w: World) -> None:
    e = event(w)
    khmer_person(w)
    client = client_for(w.fac)
    client.cookies["django_language"] = "km"
    response = client.get(f"/awareness/{e.pk}/sheet.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    # The Khmer OS font (fonts-khmeros) is embedded: Khmer did not fall back to boxes.
    assert any(name.endswith(b"+Khmer-OS") for name in pdf_fonts(pdf))
    export = AuditEvent.objects.get(action="export")
    assert export.changes == {"sheet": sel.sheet_code(e), "format": "pdf", "rows": 1}


def test_the_styles_are_served_to_signed_in_users(w: World) -> None:
    response = client_for(w.donor).get("/awareness/awareness.css")
    assert response.status_code == 200 and response["Content-Type"] == "text/css"
    assert "@media print" in response.content.decode()


def test_a_sheet_code_opens_the_keying_page(w: World) -> None:
    e = event(w)
    client = client_for(w.fac)
    response = client.get("/awareness/sheet/", {"code": sel.sheet_code(e).lower()})
    assert response.status_code == 302 and response.url == f"/awareness/{e.pk}/attendance/"
    response = client.get("/awareness/sheet/", {"code": "AW999-XX"}, follow=True)
    assert "No event of yours has the sheet code AW999-XX" in response.content.decode()
    assert client_for(w.donor).get("/awareness/sheet/", {"code": "x"}).status_code == 403


# --------------------------------------------------------------------------------------
# Keying in.


def test_keying_in_ticks_persons_and_fills_the_grid(w: World) -> None:
    e = event(w)
    a = f.consenting_person(w.village, name="Anna")
    b = f.consenting_person(w.village, name="Bopha")
    svc.attendance_record(actor=w.fac, event=e, persons=[b])
    client = client_for(w.fac)
    page = client.get(f"/awareness/{e.pk}/attendance/").content.decode()
    assert "Chan Anna" in page and "Chan Bopha" in page
    assert f'name="present" value="{b.pk}" checked' in page
    assert f'name="present" value="{a.pk}">' in page
    assert 'name="hc-female-15-17"' in page
    response = client.post(
        f"/awareness/{e.pk}/attendance/",
        {"shown": [a.pk, b.pk], "present": [a.pk], "hc-female-15-17": "7", "hc-male-25+": ""},
    )
    assert response.status_code == 302
    assert list(EventAttendance.objects.values_list("person_id", flat=True)) == [a.pk]
    assert list(EventHeadcount.objects.values_list("sex", "age_band", "count")) == [
        ("female", "15-17", 7)
    ]
    page = client.get(response.url).content.decode()
    assert "Attendance saved." in page and 'value="7"' in page


def test_keying_a_person_from_outside_the_commune_names_them_and_saves_nothing(w: World) -> None:
    e = event(w, actor=w.officer)
    a = f.consenting_person(w.village, name="Anna")
    far = f.consenting_person(w.elsewhere, name="Faraway")
    client = client_for(w.officer)
    response = client.post(
        f"/awareness/{e.pk}/attendance/",
        {"shown": [a.pk], "present": [a.pk, far.pk], "hc-female-0-11": "4"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Chan Faraway" in page and "outside" in page
    # What was ticked stays ticked, to correct and send again.
    assert f'name="present" value="{a.pk}" checked' in page
    assert not EventAttendance.objects.exists() and not EventHeadcount.objects.exists()


def test_a_negative_headcount_is_refused(w: World) -> None:
    e = event(w)
    response = client_for(w.fac).post(f"/awareness/{e.pk}/attendance/", {"hc-male-0-11": "-3"})
    assert response.status_code == 200
    assert "Check the numbers in the headcount grid." in response.content.decode()
    assert not EventHeadcount.objects.exists()


def test_searching_finds_persons_of_the_commune_only(w: World) -> None:
    e = event(w)
    f.consenting_person(w.neighbour, name="Visaka")
    f.consenting_person(w.elsewhere, name="Visal")
    page = client_for(w.officer).get(f"/awareness/{e.pk}/attendance/?q=visa").content.decode()
    assert "Chan Visaka" in page and "Chan Visal" not in page


def test_a_restricted_person_is_not_offered(w: World) -> None:
    e = event(w)
    gone = f.consenting_person(w.village, name="Gone")
    registry.consent_withdraw(
        actor=f.registrar(), consent=gone.consents.get(purpose="registration"), reason=""
    )
    client = client_for(w.fac)
    assert "Chan Gone" not in client.get(f"/awareness/{e.pk}/attendance/").content.decode()
    assert "Chan Gone" not in client.get(f"/awareness/{e.pk}/sheet/").content.decode()


def test_an_attendee_is_removed_from_the_event_page(w: World) -> None:
    e = event(w)
    a = f.consenting_person(w.village, name="Anna")
    svc.attendance_record(actor=w.fac, event=e, persons=[a])
    response = client_for(w.fac).post(f"/awareness/{e.pk}/attendance/{a.pk}/remove/")
    assert response.status_code == 302
    assert not EventAttendance.objects.exists()
    assert AuditEvent.objects.filter(action="attendance.remove").count() == 1


@pytest.mark.parametrize("language", ["en", "km"])
def test_the_keying_page_of_a_full_village_fits_the_page_budget(w: World, language: str) -> None:
    import gzip

    from django.contrib.staticfiles import finders

    e = event(w)
    household = f.household_in(w.village)
    for i in range(120):
        registry.person_create(
            actor=f.registrar(),
            household=household,
            relationship="child",
            sex="male" if i % 2 else "female",
            given_name_local=f"សុភា{i}",
            given_name_latin=f"Sophea{i}",
            family_name_latin="Chan",
            date_of_birth=dt.date(2005, 1, 1),
        )
    client = client_for(w.fac)
    client.cookies["django_language"] = language
    page = client.get(f"/awareness/{e.pk}/attendance/").content
    assert page.count(b'name="present"') == 100
    css = client.get("/awareness/awareness.css").content
    assets = 0
    for name in ("ctip/ctip.css", "ctip/ctip.js"):
        path = finders.find(name)
        assert isinstance(path, str)
        with open(path, "rb") as fh:
            assets += len(gzip.compress(fh.read()))
    assert len(gzip.compress(page)) + len(gzip.compress(css)) + assets < 100 * 1024
