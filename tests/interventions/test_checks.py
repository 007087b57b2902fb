"""The input checks every interventions service shares: what each accepts, what it
refuses and the message the user then reads next to the field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from ctip.accounts.models import User
from ctip.interventions.services import checks
from ctip.registry import services as registry
from tests.interventions import factories as f

TODAY = timezone.localdate()
TOMORROW = TODAY + dt.timedelta(days=1)


def run(check: Any, value: Any, **options: Any) -> tuple[Any, dict[str, Any]]:
    errors: dict[str, Any] = {}
    return check(value, "field", errors, **options), errors


class TestDates:
    @pytest.mark.parametrize(
        "value",
        [TODAY, TODAY.isoformat(), f" {TODAY.isoformat()} ", dt.datetime.combine(TODAY, dt.time())],
    )
    def test_a_day_is_taken_as_a_date_or_iso_text(self, value: Any) -> None:
        assert run(checks.clean_date, value) == (TODAY, {})

    @pytest.mark.parametrize("value", [None, "", "  "])
    def test_a_missing_day_is_required_unless_optional(self, value: Any) -> None:
        assert run(checks.clean_date, value) == (None, {"field": "This field is required."})
        assert run(checks.clean_date, value, required=False) == (None, {})

    @pytest.mark.parametrize("value", ["tomorrow", "31/01/2026", 20260131])
    def test_anything_else_asks_for_the_iso_form(self, value: Any) -> None:
        assert run(checks.clean_date, value) == (None, {"field": "Give the date as YYYY-MM-DD."})

    def test_a_day_after_today_is_refused_naming_it_unless_the_field_plans_ahead(self) -> None:
        assert run(checks.clean_date, TOMORROW) == (
            None,
            {"field": f"{TOMORROW.isoformat()} is in the future."},
        )
        assert run(checks.clean_date, TOMORROW, past=False) == (TOMORROW, {})


class TestAmounts:
    @pytest.mark.parametrize(
        ("value", "amount"),
        [
            ("150000", Decimal("150000.00")),
            ("12.5", Decimal("12.50")),
            (" 1,250,000 ", Decimal("1250000.00")),
            ("1,250.75", Decimal("1250.75")),
            (Decimal("0"), Decimal("0.00")),
            (7, Decimal("7.00")),
        ],
    )
    def test_money_is_a_decimal_with_two_places(self, value: Any, amount: Decimal) -> None:
        result, errors = run(checks.clean_amount, value)
        assert (result, errors) == (amount, {})
        assert str(result).endswith(str(amount)[-3:])

    @pytest.mark.parametrize(
        ("value", "options", "message"),
        [
            ("abc", {}, "Give an amount such as 150000 or 12.50."),
            ("12,50", {}, "Give an amount such as 150000 or 12.50."),
            ("NaN", {}, "Give an amount such as 150000 or 12.50."),
            (True, {}, "Give an amount such as 150000 or 12.50."),
            ("-5", {}, "The amount must not be negative."),
            ("0", {"positive": True}, "The amount must be more than 0."),
            ("1e15", {}, "The amount is too large."),
            ("12.345", {}, "At most 2 decimal places."),
            ("150000.50", {"currency": "KHR"}, "KHR amounts are whole numbers."),
            ("11", {"maximum": Decimal(10)}, "The amount is too large."),
            (None, {}, "This field is required."),
        ],
    )
    def test_a_bad_amount_is_refused_with_a_clear_message(
        self, value: Any, options: dict[str, Any], message: str
    ) -> None:
        assert run(checks.clean_amount, value, **options) == (None, {"field": message})

    def test_an_optional_amount_may_be_left_out_and_usd_takes_cents(self) -> None:
        assert run(checks.clean_amount, "", required=False) == (None, {})
        assert run(checks.clean_amount, "12.50", currency="USD") == (Decimal("12.50"), {})


class TestOtherValues:
    def test_text_is_trimmed_and_checked(self) -> None:
        assert run(checks.clean_text, "  Rice  ", max_length=10) == ("Rice", {})
        assert run(checks.clean_text, None, max_length=10, required=True) == (
            "",
            {"field": "This field is required."},
        )
        assert run(checks.clean_text, "x" * 11, max_length=10) == (
            "x" * 11,
            {"field": "At most 10 characters."},
        )
        assert run(checks.clean_text, "y" * 6000, max_length=None) == ("y" * 6000, {})

    @pytest.mark.parametrize("value", ["=HYPERLINK()", "+1", "-cmd", "@SUM(A1)"])
    def test_text_that_would_run_as_a_spreadsheet_formula_is_refused(self, value: str) -> None:
        _text, errors = run(checks.clean_text, value, max_length=100)
        assert errors == {
            "field": "Text may not start with = + - @ (it could run as a spreadsheet formula)."
        }
        assert run(checks.clean_text, value, max_length=100, formula_ok=True) == (value, {})

    def test_whole_numbers_rates_and_choices(self) -> None:
        assert run(checks.clean_whole, " 3 ", low=1, high=3) == (3, {})
        assert run(checks.clean_whole, "", low=1, high=3, required=False) == (None, {})
        assert run(checks.clean_whole, "2.5", low=1, high=3) == (
            None,
            {"field": "Give a whole number."},
        )
        assert run(checks.clean_whole, "4", low=1, high=3) == (
            None,
            {"field": "Give a number from 1 to 3."},
        )
        assert run(checks.clean_rate, "1.5") == (Decimal("1.500"), {})
        assert run(checks.clean_rate, "101") == (None, {"field": "Give a rate from 0 to 100."})
        assert run(checks.clean_rate, "1.0005") == (None, {"field": "At most 3 decimal places."})
        assert run(checks.clean_rate, "two") == (None, {"field": "Give a rate such as 2 or 1.5."})
        assert run(checks.clean_choice, "KHR", choices=["KHR", "USD"]) == ("KHR", {})
        assert run(checks.clean_choice, "EUR", choices=["KHR", "USD"]) == (
            "EUR",
            {"field": "Choose one of KHR, USD."},
        )

    def test_paths_overlap_when_one_area_holds_the_other(self) -> None:
        assert checks.paths_overlap("KH/20/", "KH/20/01/")
        assert checks.paths_overlap("KH/20/01/", "KH/20/")
        assert not checks.paths_overlap("KH/20/", "KH/14/")

    def test_the_author_of_a_change_is_a_user_or_nobody(self) -> None:
        user = User(username="someone")
        assert checks.author(user) is user
        assert checks.author(None) is None
        assert checks.author("ctip loans import") is None


@pytest.mark.django_db
class TestConsentForServices:
    def test_each_person_who_may_not_receive_services_is_named_with_the_reason(
        self, django_assert_num_queries: Any
    ) -> None:
        village = f.village("20")
        ok = f.consenting_person(village, name="Dara")
        none = f.consenting_person(village, name="Nary", purposes=("registration",))
        gone = f.consenting_person(village, name="Lina")
        registry.consent_withdraw(
            actor=f.registrar(), consent=gone.consents.get(purpose="registration"), reason="asked"
        )
        with django_assert_num_queries(1):
            problems = checks.services_consent_problems([ok, none, gone])
        assert problems == {
            none.pk: "Chan Nary has no consent for referral to and delivery of services.",
            gone.pk: "Chan Lina withdrew consent to registration: their record is no longer used.",
        }
        errors: dict[str, Any] = {}
        assert checks.check_services_consent(ok, errors) and errors == {}
        assert not checks.check_services_consent(none, errors, "persons[2]")
        assert errors == {"persons[2]": problems[none.pk]}
