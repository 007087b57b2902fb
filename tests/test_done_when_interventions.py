"""The interventions issue's "done when", end to end on the small demo programme,
through the web pages as a browser submits their forms (and the API where a phone app
would use it), asserting what the user reads:

- a provincial officer sets up a course for the committee's vocational training list,
  enrols approved young people from it, keeps a session's register, records a
  completion with its certificate, sees the visits scheduled 3, 6 and 12 months on,
  records the 6-month visit (employed locally) and finds it in the course's outcomes
  and in the area summary's employment at 6 months;
- a facilitator lends to a household from its page after previewing the schedule,
  records the first two instalments paid on time, leaves the third unpaid more than 30
  days and sees the loan overdue and PAR30 on the area's portfolio; the late payment
  brings PAR30 back to 0;
- an income-generating activity shows its monthly gross margin against the migration
  benchmark, each figure equal to the calculation by hand;
- a child's history page shows two awareness sessions, a scholarship and a forum.

"Today" cannot move, so the course is keyed in after it ran (it ended seven months
ago: its 6-month visit has fallen due) and the loan was disbursed 130 days ago."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from io import StringIO
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.test import Client
from django.utils import timezone

from ctip.accounts.demo import facilitator_commune
from ctip.accounts.models import User
from ctip.geography.models import Area
from ctip.geography.selectors import resolve_area_code
from ctip.interventions.dates import add_months
from ctip.interventions.models import (
    EducationSupport,
    Enrolment,
    EventAttendance,
    FollowUp,
    Loan,
    MigrationBenchmark,
    Participant,
)
from ctip.registry.consent import has_consent
from ctip.registry.models import ConsentPurpose, Person
from ctip.registry.selectors import restricted
from ctip.vulnerability.models import TargetingEntry

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------------------
# A small browser: reads a page's forms and links, submits a form with what it holds
# (hidden fields, ticked boxes, chosen options) plus what the user types or picks.


@dataclass
class _Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    # select, checkbox and radio names -> the (value, label) pairs offered
    choices: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def names(self) -> set[str]:
        return {n for n, _v in self.fields} | set(self.choices)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self.links: list[tuple[str, str]] = []
        self._form: _Form | None = None
        self._select: tuple[str, bool, list[tuple[str, str, bool]]] | None = None
        self._option: list[Any] | None = None
        self._textarea: list[Any] | None = None
        self._link: list[Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self._link = [a["href"], []]
        elif tag == "form":
            self._form = _Form(a.get("action", ""), (a.get("method") or "get").lower())
            self.forms.append(self._form)
        if self._form is None:
            return
        form = self._form
        if tag == "option":
            if self._select is not None:
                self._option = [a.get("value"), [], "selected" in a]
            return
        name = a.get("name", "")
        if not name:
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                value = a.get("value", "on")
                form.choices.setdefault(name, []).append((value, ""))
                if "checked" in a:
                    form.fields.append((name, value))
            elif kind in ("submit", "button", "image", "reset"):
                form.buttons.append((name, a.get("value", "")))
            elif kind != "file":
                form.fields.append((name, a.get("value", "")))
        elif tag == "button" and a.get("type", "submit") == "submit":
            form.buttons.append((name, a.get("value", "")))
        elif tag == "select":
            self._select = (name, "multiple" in a, [])
        elif tag == "textarea":
            self._textarea = [name, []]

    def handle_data(self, data: str) -> None:
        for open_ in (self._option, self._textarea, self._link):
            if open_ is not None:
                open_[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link is not None:
            self.links.append((self._link[0], " ".join("".join(self._link[1]).split())))
            self._link = None
        elif tag == "option" and self._option is not None and self._select is not None:
            label = " ".join("".join(self._option[1]).split())
            value = self._option[0] if self._option[0] is not None else label
            self._select[2].append((value, label, self._option[2]))
            self._option = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, multiple, options = self._select
            self._form.choices[name] = [(v, label) for v, label, _s in options]
            chosen = [v for v, _l, s in options if s] or ([] if multiple else [options[0][0]])
            self._form.fields.extend((name, v) for v in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea[0], "".join(self._textarea[1]).lstrip("\n")))
            self._textarea = None
        elif tag == "form":
            self._form = None


def _text(page: str) -> str:
    """What the reader sees: the page without its tags, spaces collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    return re.sub(r" ([,;.])", r"\1", text)  # "1,200 KHR</strong>, on" reads "1,200 KHR, on"


class _Browser:
    def __init__(self, user: User) -> None:
        self.client = Client()
        self.client.force_login(user)
        self.url = ""
        self.html = ""

    def _land(self, response: Any) -> str:
        request = response.request
        query = request.get("QUERY_STRING", "")
        self.url = request["PATH_INFO"] + (f"?{query}" if query else "")
        self.html = response.content.decode()
        return _text(self.html)

    def get(self, url: str) -> str:
        response = self.client.get(url, follow=True)
        assert response.status_code == 200, (url, response.status_code)
        return self._land(response)

    def _parsed(self) -> _PageParser:
        parser = _PageParser()
        parser.feed(self.html)
        return parser

    def link(self, text: str, *, href: str = "") -> str:
        """The address of the link reading `text` (and going to `href`, if given)."""
        found = {urljoin(self.url, u) for u, t in self._parsed().links if t == text}
        if href:
            found = {u for u in found if u == href or urlsplit(u).path == href}
        assert len(found) == 1, (text, href, found, self.url)
        return found.pop()

    def follow(self, text: str, *, href: str = "") -> str:
        return self.get(self.link(text, href=href))

    def form(self, to: str = "", method: str = "post") -> _Form:
        """The form on the page that sends to `to` (default: this page)."""
        target = to or urlsplit(self.url).path
        forms = [
            f
            for f in self._parsed().forms
            if f.method == method and urlsplit(urljoin(self.url, f.action)).path == target
        ]
        assert len(forms) == 1, (target, method, len(forms), self.url)
        return forms[0]

    def choice(self, name: str, label: str, *, to: str = "") -> str:
        """The value of the option of `name` whose label holds `label`."""
        options = [v for v, text in self.form(to).choices[name] if label in text]
        assert len(options) == 1, (name, label, self.form(to).choices[name])
        return options[0]

    def offered(self, name: str, *, to: str = "", method: str = "post") -> list[str]:
        return [v for v, _label in self.form(to, method).choices.get(name, [])]

    def submit(
        self,
        values: dict[str, str | list[str]] | None = None,
        *,
        to: str = "",
        method: str = "post",
        button: str = "",
        status: int = 200,
    ) -> str:
        """Fill in the form and send it as the browser would, following redirects. Only
        fields the form has can be filled, only options it offers chosen."""
        form = self.form(to, method)
        data: dict[str, list[str]] = {}
        for name, value in form.fields:
            data.setdefault(name, []).append(value)
        for name, typed in (values or {}).items():
            assert name in form.names(), f"the form has no field {name}"
            chosen = [typed] if isinstance(typed, str) else list(typed)
            if name in form.choices:
                offered = {v for v, _label in form.choices[name]}
                assert set(chosen) <= offered, f"{name}: {chosen} not offered ({offered})"
            data[name] = chosen
        if button:
            pressed = [(n, v) for n, v in form.buttons if n == button]
            assert pressed, f"the form has no button {button}"
            data[button] = [pressed[0][1]]
        url = urljoin(self.url, form.action) if form.action else self.url
        if method == "get":
            url = f"{urlsplit(url).path}?{urlencode(data, doseq=True)}"
            response = self.client.get(url, follow=True)
        else:
            response = self.client.post(url, data, follow=True)
        assert response.status_code == status, (
            url,
            response.status_code,
            _text(response.content.decode())[:3000],
        )
        return self._land(response)


def _api(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --------------------------------------------------------------------------------------
# The demo programme and who the walk-through is about.


@dataclass
class _Demo:
    officer: User
    facilitator: User
    commune: Area


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[_Demo]:
    """The small demo and its users, made once for the module in a transaction rolled
    back at its end; each test runs in a savepoint inside it, so starts from the demo."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("demo_data", size="small", seed=1, no_progress=True, stdout=StringIO())
        call_command("demo_users", stdout=StringIO())
        yield _Demo(
            officer=User.objects.get(username="officer.svayrieng"),
            facilitator=User.objects.get(username="facilitator"),
            commune=resolve_area_code(facilitator_commune()),
        )
        transaction.set_rollback(True)


def _with_services_consent(area: Area) -> QuerySet[Person]:
    return (
        Person.objects.filter(
            household__village__path__startswith=area.path, merged_into__isnull=True
        )
        .filter(has_consent(ConsentPurpose.SERVICES))
        .exclude(restricted())
        .select_related("household__village")
        .order_by("id")
    )


def _day(day: dt.date) -> str:
    return day.isoformat()


def _money(amount: Decimal, places: int = 0) -> str:
    """As the pages show money: grouped digits, the currency's places."""
    return f"{amount.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP):,}"


def _table(page: str, section_id: str) -> list[dict[str, str]]:
    """The rows of the first table in the section, as {column heading: cell text}."""
    section = page.split(f'id="{section_id}"', 1)[1]
    table = section.split("</table>", 1)[0]
    head = table.split("</thead>", 1)[0]
    heads = [_text(h) for h in re.findall(r"<th\b[^>]*>(.*?)</th>", head, flags=re.S)]
    body = table.split("</thead>", 1)[1]
    rows = []
    for row in re.findall(r"<tr\b[^>]*>(.*?)</tr>", body, flags=re.S):
        cells = [_text(c) for c in re.findall(r"<t[dh]\b[^>]*>(.*?)</t[dh]>", row, flags=re.S)]
        rows.append(dict(zip(heads, cells, strict=True)))
    return rows


# --------------------------------------------------------------------------------------
# 1. Vocational training: enrolment from the committee's list to the 6-month visit.


def test_officer_enrols_targeted_youth_records_completion_and_the_6_month_visit(
    demo: _Demo,
) -> None:
    today = timezone.localdate()
    starts, ends = add_months(today, -9), add_months(today, -7)
    enrolled_on = starts - dt.timedelta(days=7)
    officer = _Browser(demo.officer)

    # The officer sets up the course on the form, for the committee's list of the commune.
    officer.get("/training/courses/new/")
    page = officer.submit(
        {
            "title": "Motorbike repair, commune course",
            "trade": "Motorbike repair",
            "provider": "Provincial Training Centre",
            "area": f"KH-{demo.commune.code}",
            "location": "Commune hall",
            "starts_on": _day(starts),
            "ends_on": _day(ends),
            "sessions_planned": "16",
            "capacity": "20",
            "cost_per_trainee": "250",
            "currency": "USD",
            "targeting_list": officer.choice("targeting_list", f"({demo.commune.code})"),
            "status": "running",
        }
    )
    assert "The course is saved." in page
    assert "Motorbike repair, commune course" in page and "Provincial Training Centre" in page
    course_url = officer.url
    assert re.fullmatch(r"/training/courses/\d+/", course_url)

    # Enrol two approved young people the list offers. The page also offers those the
    # demo already put in its running course from the same list: take two who are not.
    page = officer.follow("Enrol from the targeting list")
    offered = officer.offered("entries")
    training = Enrolment.objects.filter(targeting_entry_id=OuterRef("pk"))
    chosen = list(
        TargetingEntry.objects.filter(pk__in=offered)
        .exclude(Exists(training))
        .select_related("person__household__village")
        .order_by("rank")[:2]
    )
    assert len(chosen) == 2, page
    assert all(e.decision == "approved" for e in chosen)
    names = [e.person.full_name for e in chosen]
    assert all(name in page for name in names)
    page = officer.submit(
        {"entries": [str(e.pk) for e in chosen], "enrolled_on": _day(enrolled_on)}
    )
    assert officer.url == course_url
    assert "2 persons enrolled." in page and "Places 20 (18 left)" in page
    for entry in chosen:  # each trainee marked as approved by the committee
        where = entry.person.household.village
        assert f"{entry.person.full_name} approved {where.name} {where.code} Enrolled" in page

    enrolments = {
        e.person.full_name: e
        for e in Enrolment.objects.filter(
            course__title="Motorbike repair, commune course"
        ).select_related("person")
    }
    first, second = (enrolments[n] for n in names)

    # A session: the first came, the second did not.
    officer.follow("Record a session")
    page = officer.submit({"held_on": _day(starts + dt.timedelta(days=7)), "topic": "Engines"})
    assert "The session is saved: mark who came." in page
    assert set(officer.offered("e" + str(first.pk))) == {"present", "absent"}
    page = officer.submit({f"e{first.pk}": "present", f"e{second.pk}": "absent"})
    assert "The register is saved." in page
    page = officer.get(course_url)
    assert f"{_day(starts + dt.timedelta(days=7))} Engines 1 / 2" in page
    assert "50.0% attendance" in page
    assert f"{first.person.full_name} approved" in page and "Enrolled 100.0% (1/1)" in page
    assert f"{second.person.full_name} approved" in page and "Enrolled 0.0% (0/1)" in page

    # The first completes, with a certificate; the visits are scheduled.
    page = officer.follow("Completed", href=f"/training/enrolments/{first.pk}/complete/")
    page = officer.submit(
        {"completed_on": _day(ends), "certificate": "on", "certificate_number": "MR-0001"}
    )
    assert officer.url == course_url
    assert f"{first.person.full_name} completed the course; follow-up visits are scheduled." in page
    assert f"Completed {_day(ends)}" in page and "yes MR-0001" in page

    due = {m: add_months(ends, m) for m in (3, 6, 12)}
    page = officer.follow("Outcomes after the course")
    assert "3 months 6 months 12 months" in page
    assert (
        f"{first.person.full_name} {_day(ends)} yes overdue {_day(due[3])} "
        f"overdue {_day(due[6])} due {_day(due[12])}"
    ) in page

    # The area summary before the visit: enrolments made since the course's.
    summary_url = "/interventions/summary/?" + urlencode(
        {"area": f"KH-{demo.commune.code}", "from": _day(enrolled_on), "to": _day(today)}
    )
    officer.get(summary_url)
    before = next(r for r in _table(officer.html, "training") if r["Area"] == "All")

    # The 6-month visit, from the trainee's history page.
    officer.get(f"/registry/persons/{first.person_id}/")
    page = officer.follow("Interventions received")
    assert "Motorbike repair, commune course (Motorbike repair)" in page
    page = officer.follow("Follow-up visit: Vocational training (6 months after)")
    assert f"Due on {_day(due[6])} (6 months after) Status overdue" in page
    officer.follow("Record the visit")
    visited = due[6] + dt.timedelta(days=3)
    page = officer.submit(
        {
            "visited_on": _day(visited),
            "situation": "employed_locally",
            "monthly_income": "180",
            "currency": "USD",
            "outcome": "Works in a repair shop in the district town.",
        }
    )
    assert f"Visit to {first.person} recorded." in page
    visit = FollowUp.objects.get(enrolment=first, months_after=6)
    assert (visit.status, visit.situation, visit.visited_on) == (
        "done",
        "employed_locally",
        visited,
    )

    # The course's outcomes: employed locally at 6 months.
    page = officer.get(f"{course_url}outcomes/")
    outcomes = _table(officer.html, "outcomes")
    by_situation = {r.pop("Situation"): r for r in outcomes}
    assert by_situation["Employed locally"] == {
        "3 months": "0",
        "6 months": "1 (100.0%)",
        "12 months": "0",
    }
    assert by_situation["Visited"] == {"3 months": "0", "6 months": "1", "12 months": "0"}
    assert by_situation["Not visited yet"] == {"3 months": "1", "6 months": "0", "12 months": "1"}
    assert (
        f"{first.person.full_name} {_day(ends)} yes overdue {_day(due[3])} "
        f"Employed locally due {_day(due[12])}"
    ) in page

    # The area summary: one more visited at 6 months, and employed.
    officer.get(summary_url)
    after = next(r for r in _table(officer.html, "training") if r["Area"] == "All")

    def n(row: dict[str, str], column: str) -> int:
        return int(row[column].replace(",", ""))

    assert n(after, "Visited at 6 months") == n(before, "Visited at 6 months") + 1
    assert n(after, "Employed") == n(before, "Employed") + 1
    rate = 100 * n(after, "Employed") / n(after, "Visited at 6 months")
    assert after["Employment rate"] == f"{rate:.1f}%"


# --------------------------------------------------------------------------------------
# 2. A loan: schedule, repayments on time, one late, PAR30 up and back down.


def _borrower(commune: Area) -> Person:
    today = timezone.localdate()
    return next(p for p in _with_services_consent(commune) if 25 <= (p.age_on(today) or 0) <= 55)


def _portfolio(page: str) -> dict[str, str]:
    """The portfolio's figures by currency, as read."""
    return {
        currency: _text(body)
        for currency, body in re.findall(
            r'<section class="card">\s*<h2>(\w+)</h2>(.*?)</section>', page, flags=re.S
        )
    }


def test_facilitator_lends_records_repayments_and_a_late_one_and_sees_par30_move(
    demo: _Demo,
) -> None:
    today = timezone.localdate()
    borrower = _borrower(demo.commune)
    household, village = borrower.household, borrower.household.village
    portfolio = f"/loans/portfolio/?area=KH-{village.code}"

    # The officer offers a dollar loan: 15% a year, flat, six monthly instalments. The
    # demo lends in riel: the village's dollar portfolio will be this loan alone.
    officer = _Browser(demo.officer)
    officer.get("/loans/products/")
    officer.follow("New loan product")
    page = officer.submit(
        {
            "code": "usd-flat-6",
            "name": "Small trade loan (dollars)",
            "method": "flat",
            "annual_rate": "15",
            "term": "6",
            "frequency": "monthly",
            "grace": "0",
            "currency": "USD",
            "min_principal": "100",
            "max_principal": "3000",
            "active": "on",
        }
    )
    assert "Loan product Small trade loan (dollars) saved." in page
    assert "Small trade loan (dollars) usd-flat-6 15% a year" in page
    fac = _Browser(demo.facilitator)
    fac.get(portfolio)
    assert "USD" not in _portfolio(fac.html)

    # From the household's page, a new loan of 1,200 dollars, disbursed 130 days ago.
    fac.get(f"/registry/households/{household.pk}/")
    page = fac.follow("New loan")
    assert f"New loan to household {household.code}" in page
    disbursed = today - dt.timedelta(days=130)
    page = fac.submit(
        {
            "product": fac.choice("product", "Small trade loan (dollars)"),
            "person": str(borrower.pk),
            "principal": "1,200",
            "disbursed_on": _day(disbursed),
            "purpose": "Stock for a grocery stall",
        },
        button="preview",
    )
    # By hand: flat interest 1,200 x 15% / 12 = 15.00 a month, principal 200.00.
    due = [add_months(disbursed, k) for k in range(1, 7)]
    assert "Schedule (preview, nothing recorded yet)" in page
    assert "1,200.00 USD lent: 90.00 USD interest, 1,290.00 USD to repay in all." in page
    for k, day in enumerate(due, start=1):
        balance = _money(Decimal(1_200 - 200 * k), 2)
        assert f"{k} {_day(day)} 200.00 15.00 215.00 {balance}" in page
    assert not Loan.objects.filter(household=household, currency="USD").exists()

    page = fac.submit(button="disburse")  # the form keeps what was typed
    assert "Loan recorded with its schedule." in page
    loan = Loan.objects.get(household=household, currency="USD")
    loan_url = fac.url
    assert loan_url == f"/loans/{loan.pk}/"
    assert f"Loan to {borrower.full_name}" in page
    assert f"1,200.00 USD, disbursed on {_day(disbursed)}" in page

    # The first two instalments paid on the day they fell due.
    for day in due[:2]:
        page = fac.submit({"amount": "215", "paid_on": _day(day)}, to=f"{loan_url}repay/")
        assert fac.url == loan_url and "Repayment recorded." in page
    late = (today - due[2]).days
    assert late > 30
    assert f"1 {_day(due[0])} 200.00 15.00 215.00 1,000.00 215.00 paid {_day(due[0])}" in page
    assert f"2 {_day(due[1])} 200.00 15.00 215.00 800.00 215.00 paid {_day(due[1])}" in page
    assert f"3 {_day(due[2])} 200.00 15.00 215.00 600.00 0.00 overdue {late} days" in page
    assert f"Arrears {late} days overdue 430.00 USD unpaid on 2 instalments" in page
    assert "Still owed 860.00 USD (principal 800.00)" in page
    api = _api(demo.facilitator)
    body = api.get(f"/api/v1/loans/{loan.pk}/").json()
    assert body["days_overdue"] == late
    assert body["arrears"]["installments_overdue"] == 2
    assert Decimal(body["arrears"]["amount_overdue"]) == Decimal(430)

    # The village's portfolio in dollars: all 800 outstanding is at risk over 30 days;
    # of the 860 that fell due (four instalments), 430 was paid.
    fac.get(portfolio)
    assert _portfolio(fac.html)["USD"] == (
        "Loans being repaid 1 Outstanding principal 800.00 USD "
        "At risk over 30 days 800.00 USD PAR30 100.0% Fell due so far 860.00 USD "
        "Paid of it 430.00 USD Repayment rate 50.0%"
    )

    # The borrower pays the third instalment late, recorded from the phone.
    response = api.post(
        "/api/v1/repayments/",
        {"loan": loan.pk, "amount": "215.00", "paid_on": _day(today), "note": "Late"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    assert Decimal(response.json()["principal_part"]) == Decimal(200)
    assert Decimal(response.json()["interest_part"]) == Decimal(15)

    page = fac.get(loan_url)
    assert f"3 {_day(due[2])} 200.00 15.00 215.00 600.00 215.00 paid late {_day(today)}" in page
    fourth = (today - due[3]).days  # the fourth is late too, but not 30 days
    assert 0 < fourth <= 30
    assert f"Arrears {fourth} days overdue 215.00 USD unpaid on 1 instalment" in page
    fac.get(portfolio)
    assert _portfolio(fac.html)["USD"] == (
        "Loans being repaid 1 Outstanding principal 600.00 USD "
        "At risk over 30 days 0.00 USD PAR30 0.0% Fell due so far 860.00 USD "
        "Paid of it 645.00 USD Repayment rate 75.0%"
    )


# --------------------------------------------------------------------------------------
# 3. An income-generating activity against migrating.


def test_an_activity_shows_its_margin_against_the_migration_benchmark(demo: _Demo) -> None:
    today = timezone.localdate()
    runner = next(
        p for p in _with_services_consent(demo.commune) if 20 <= (p.age_on(today) or 0) <= 50
    )
    benchmark = MigrationBenchmark.objects.get(
        destination="Bangkok, Thailand", sector="construction", currency="KHR", active=True
    )
    started = today - dt.timedelta(days=10)
    fac = _Browser(demo.facilitator)

    fac.get("/igas/new/")
    page = fac.submit({"household": runner.household.code}, method="get")
    assert f"Household {runner.household.code}" in page
    fac.submit(button="more_rows")  # three cost lines are not enough: three more
    costs = [
        ("Feed, per kg sold", "variable", "5000"),
        ("Vaccines and medicine, per kg sold", "variable", "1500"),
        ("Electricity and water", "fixed", "100000"),
        ("Chicken house and drinkers", "investment", "2000000"),
    ]
    cost_fields = {
        f"costs-{i}-{name}": value
        for i, line in enumerate(costs)
        for name, value in zip(("item", "kind", "amount"), line, strict=True)
    }
    page = fac.submit(
        {
            "person": str(runner.pk),
            "title": "Chicken raising",
            "sector": "livestock",
            "unit": "kg",
            "currency": "KHR",
            "expected_price": "12000",
            "expected_volume": "150",
            "benchmark": fac.choice("benchmark", "Bangkok, Thailand, Construction"),
            "status": "running",
            "started_on": _day(started),
            "market_notes": "Sold live at the district market; prices fall before Khmer New Year.",
            **cost_fields,
        }
    )
    assert "Activity recorded." in page
    assert re.fullmatch(r"/igas/\d+/", fac.url)

    # By hand, per month.
    price, volume = Decimal(12_000), Decimal(150)
    revenue = price * volume  # 1,800,000
    variable_per_kg = Decimal(5_000) + Decimal(1_500)  # 6,500
    variable = variable_per_kg * volume  # 975,000
    fixed, investment = Decimal(100_000), Decimal(2_000_000)
    margin = revenue - variable - fixed  # 725,000
    net = benchmark.monthly_wage - benchmark.monthly_costs
    assert (revenue, variable, margin) == (1_800_000, 975_000, 725_000)

    assert f"Revenue {_money(revenue)} KHR" in page
    assert f"Variable cost per unit {_money(variable_per_kg)} KHR" in page
    assert f"Variable costs − {_money(variable)} KHR" in page
    assert f"Fixed costs − {_money(fixed)} KHR" in page
    pct = margin / revenue * 100
    assert f"Gross margin {_money(margin)} KHR ({_money(pct, 1)}% of revenue)" in page
    assert f"Break-even {_money(fixed / (price - variable_per_kg), 2)} kg" in page  # 18.18
    assert f"Start-up investment {_money(investment)} KHR" in page
    assert f"Payback {_money(investment / margin, 1)} months" in page  # 2.8
    assert (
        f"Migrating, net Bangkok, Thailand (Construction): {_money(benchmark.monthly_wage)} − "
        f"{_money(benchmark.monthly_costs)} KHR"
    ) in page
    verdict = "more" if margin > net else "less"
    assert (
        f"Earns {verdict} than migrating to Bangkok, Thailand to work in Construction: "
        f"{_money(margin)} KHR a month against {_money(net)} KHR net of living costs there."
    ) in page
    assert f"The activity earns {_money(margin / net, 2)} times what migrating nets." in page
    assert f"Expected gross margin: {_money(margin)} KHR" in page  # beside the chart
    assert f"Migrating to Bangkok, Thailand, net: {_money(net)} KHR" in page
    assert "<svg" in fac.html
    for months in (3, 6, 12):  # visits to find what it really earns
        assert f"{_day(add_months(started, months))} ({months} months) Due — —" in page

    # The same comparison in the list of activities of the village.
    page = fac.get(f"/igas/?village=KH-{runner.household.village.code}")
    assert (
        f"Chicken raising Running {runner.full_name} {runner.household.village.name} "
        f"{_money(margin)} KHR ({_money(pct)}%) earns {verdict} Bangkok, Thailand: {_money(net)}"
    ) in page


# --------------------------------------------------------------------------------------
# 4. A child's history: awareness sessions, a scholarship and a forum.


def _child(commune: Area) -> Person:
    """A child of 12 to 15 with consent for services who has received nothing yet."""
    today = timezone.localdate()
    for person in _with_services_consent(commune).exclude(
        Exists(EventAttendance.objects.filter(person=OuterRef("pk")))
        | Exists(EducationSupport.objects.filter(person=OuterRef("pk")))
        | Exists(Participant.objects.filter(person=OuterRef("pk")))
        | Exists(Enrolment.objects.filter(person=OuterRef("pk")))
        | Exists(Loan.objects.filter(person=OuterRef("pk")))
    ):
        if 12 <= (person.age_on(today) or 0) <= 15:
            return person
    raise AssertionError("no child with consent for services who received nothing yet")


def _history_items(page: str) -> list[tuple[str, str, str]]:
    """(component, kind, text) of each card of the history's timeline."""
    return [
        (component, kind, _text(body))
        for component, kind, body in re.findall(
            r'<article class="card item" data-component="(\w+)" data-kind="(\w+)">(.*?)</article>',
            page,
            flags=re.S,
        )
    ]


def test_a_childs_history_shows_awareness_sessions_a_scholarship_and_a_forum(
    demo: _Demo,
) -> None:
    today = timezone.localdate()
    child = _child(demo.commune)
    village = child.household.village
    name = f"{child.family_name_latin} {child.given_name_latin}"
    fac = _Browser(demo.facilitator)

    # Two awareness sessions in the child's village; the attendance keyed in after each.
    sessions = [
        ("school_session", "Safe migration at the school", today - dt.timedelta(days=40)),
        ("peer_education", "Peer educators on hotlines", today - dt.timedelta(days=12)),
    ]
    for kind, title, held_on in sessions:
        fac.get("/awareness/new/")
        page = fac.submit(
            {
                "village": fac.choice("village", f"({village.code})"),
                "held_on": _day(held_on),
                "kind": kind,
                "title": title,
                "topics": ["unsafe_migration_risks", "hotlines"],
                "location": "Primary school",
            }
        )
        assert f"{title} is saved." in page
        fac.follow("Take or key in attendance")
        page = fac.submit({"q": name}, method="get")  # find the child by name
        assert child.full_name in page and f"#{child.pk}" in page
        page = fac.submit({"present": [str(child.pk)]})
        assert "Attendance saved." in page
        assert "1 recorded by name, 0 counted." in page

    # A scholarship, on the education support form.
    fac.get("/education/support/new/")
    page = fac.submit({"q": name}, method="get")
    assert child.full_name in page
    page = fac.follow("Choose", href=f"/education/support/new/?person={child.pk}")
    assert f"Record support for {child.full_name}" in page
    starts = today - dt.timedelta(days=30)
    page = fac.submit(
        {
            "kind": "scholarship",
            "school_name": "Lower secondary school",
            "grade": "8",
            "starts_on": _day(starts),
            "ends_on": _day(add_months(starts, 12)),
            "amount": "240000",
            "currency": "KHR",
            "provider": "Commune education fund",
        }
    )
    assert "The support is saved; follow-up visits are scheduled." in page

    # A forum of the commune's children, where the child spoke.
    fac.get("/participation/events/new/")
    forum = "Commune children's forum on safe migration"
    page = fac.submit(
        {
            "kind": "forum",
            "held_on": _day(today - dt.timedelta(days=5)),
            "area": f"KH-{demo.commune.code}",
            "title": forum,
            "summary": "The children asked for the hotline number on the school's notice board.",
        }
    )
    assert "The event is saved: now record who took part." in page
    page = fac.submit({"q": name}, method="get")
    assert child.full_name in page
    page = fac.submit({"persons": [str(child.pk)], "role": "speaker"})
    assert "1 persons recorded." in page
    assert f"{child.full_name} Speaker or presenter" in page

    # The child's history page, from the person's page.
    fac.get(f"/registry/persons/{child.pk}/")
    page = fac.follow("Interventions received")
    assert f"Interventions received by {child.full_name}" in page
    items = _history_items(fac.html)
    attended = [t for c, k, t in items if (c, k) == ("awareness", "attendance")]
    assert len(attended) == 2
    for (_kind, title, held_on), label in zip(
        sessions, ["School session", "Peer education"], strict=True
    ):
        assert any(
            t.startswith(f"{_day(held_on)} Awareness raising {title} · Attended")
            and f"Type: {label}" in t
            for t in attended
        ), attended
    support = [t for c, k, t in items if (c, k) == ("education", "education_support")]
    assert len(support) == 1
    assert support[0].startswith(
        f"{_day(starts)} – {_day(add_months(starts, 12))} Education support Scholarship"
    )
    assert "Value: 240,000 KHR" in support[0] and "Grade: 8" in support[0]
    forums = [t for c, k, t in items if (c, k) == ("participation", "participation")]
    assert len(forums) == 1
    assert f"{forum} · Speaker or presenter" in forums[0] and "Type: Forum" in forums[0]

    # The same history over the API, as a phone app reads it.
    body = _api(demo.facilitator).get(f"/api/v1/intervention-history/{child.pk}/").json()
    kinds = sorted(i["kind"] for i in body["items"] if i["kind"] != "follow_up")
    assert kinds == ["attendance", "attendance", "education_support", "participation"]
