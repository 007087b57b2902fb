"""The demo generator: deterministic, idempotent, plausible people in the right places."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from ctip.core.models import AuditEvent
from ctip.geography.models import Area, Level
from ctip.registry import demo
from ctip.registry.models import Consent, Household, Person, Sex
from ctip.registry.services import person_search_text

AS_OF = dt.date(2026, 3, 15)


def _snapshot() -> list[tuple[object, ...]]:
    return list(
        Person.objects.order_by("household__code", "id").values_list(
            "household__code",
            "household__village__code",
            "household__poverty_status",
            "household__debt_amount",
            "relationship",
            "school_status",
            "id_documents",
            "sex",
            "family_name_local",
            "given_name_local",
            "given_name_latin",
            "date_of_birth",
        )
    )


def _wipe_demo() -> None:
    Consent.objects.all().delete()
    Person.objects.all().delete()
    Household.objects.all().delete()
    Area.objects.filter(source=demo.SOURCE).delete()


@pytest.fixture
def small(geography: None) -> demo.DemoResult:
    return demo.generate(size="small", seed=7, as_of=AS_OF)


def test_small_has_about_two_thousand_plausible_persons(small: demo.DemoResult) -> None:
    assert small.created
    assert 1900 <= Person.objects.count() == small.persons <= 2200
    assert Household.objects.count() == small.households
    sizes = Household.objects.annotate(n=Count("members")).values_list("n", flat=True)
    assert min(sizes) >= 2 and max(sizes) <= 9
    assert set(Person.objects.values_list("sex", flat=True)) == set(Sex.values)
    assert Person.objects.filter(relationship="head").count() == small.households

    ages = [p.age_on(AS_OF) for p in Person.objects.all()]
    assert all(a is not None and 0 <= a <= 100 for a in ages)
    under_25 = sum(1 for a in ages if a is not None and a < 25)
    assert under_25 / len(ages) > 0.4  # children and youth are the focus
    for sex in Sex.values:  # youth of every sex
        youth = [p for p in Person.objects.filter(sex=sex) if (p.age_on(AS_OF) or 99) < 25]
        assert youth, sex
    assert Person.objects.filter(dob_estimated=True).exists()
    for head in Person.objects.filter(relationship="head").select_related("household")[:50]:
        children = Person.objects.filter(household=head.household, relationship="child")
        assert all(c.date_of_birth > head.date_of_birth for c in children)  # type: ignore[operator]


def test_names_are_in_both_scripts_and_searchable(small: demo.DemoResult) -> None:
    kh = Person.objects.filter(household__code__startswith="KH-").first()
    vn = Person.objects.filter(household__code__startswith="VN-").first()
    assert kh is not None and vn is not None
    assert any("\u1780" <= ch <= "\u17ff" for ch in kh.given_name_local)
    assert kh.given_name_latin.isascii()
    assert vn.given_name_latin.isascii() and vn.family_name_latin.isascii()
    assert not vn.given_name_local.isascii() or not vn.family_name_local.isascii()
    for p in Person.objects.all()[:200]:
        assert p.search_text == person_search_text(p)


def test_households_sit_in_every_demo_province_and_both_vn_structures(
    small: demo.DemoResult,
) -> None:
    reform = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    for p in demo.DEMO_PROVINCES:
        province = demo._province(p)
        households = Household.objects.filter(village__path__startswith=province.path)
        assert households.exists(), p.key
        assert households.filter(village__level=Level.VILLAGE).count() == households.count()
        if p.era == "before":
            assert not households.filter(created_at__gte=reform).exists()
            assert not households.filter(village__valid_to__isnull=True).exists()
        if p.era == "after":
            assert not households.filter(created_at__lt=reform).exists()
    hamlets = Area.objects.filter(source=demo.SOURCE)
    assert hamlets.count() == small.hamlets > 0
    assert set(hamlets.values_list("country", "level").distinct()) == {("VN", Level.VILLAGE)}
    for hamlet in hamlets:
        assert hamlet.parent is not None and hamlet.parent.level == Level.COMMUNE
        assert hamlet.path == f"{hamlet.parent.path}{hamlet.pk}/"
        assert hamlet.name_vi.startswith("Ấp ")
    assert Household.objects.filter(code="KH-20-000001").exists()


def test_one_audit_event_per_run(small: demo.DemoResult) -> None:
    events = AuditEvent.objects.filter(action=demo.ACTION)
    assert events.count() == 1
    assert events.get().changes["persons"]["after"] == small.persons
    assert AuditEvent.objects.filter(action="create").count() == 0


def test_same_seed_same_people(small: demo.DemoResult) -> None:
    first = _snapshot()
    _wipe_demo()
    again = demo.generate(size="small", seed=7, as_of=AS_OF)
    assert again.created
    assert _snapshot() == first


def test_another_seed_other_people(geography: None) -> None:
    demo.generate(size="small", seed=7, as_of=AS_OF)
    first = _snapshot()
    _wipe_demo()
    demo.generate(size="small", seed=8, as_of=AS_OF)
    assert _snapshot() != first


def test_rerun_does_nothing_and_says_so(small: demo.DemoResult) -> None:
    persons, events = Person.objects.count(), AuditEvent.objects.count()
    out = StringIO()
    call_command("demo_data", size="small", seed=7, no_progress=True, stdout=out)
    assert "already present" in out.getvalue()
    assert demo.generate(size="small", seed=7).created is False
    assert Person.objects.count() == persons
    assert AuditEvent.objects.count() == events


def test_other_seed_on_top_is_refused_with_nothing_written(small: demo.DemoResult) -> None:
    persons, events = Person.objects.count(), AuditEvent.objects.count()
    with pytest.raises(demo.DemoDataError, match="seed 7"):
        demo.generate(size="small", seed=9)
    assert Person.objects.count() == persons
    assert AuditEvent.objects.count() == events


def test_command_generates(geography: None) -> None:
    out = StringIO()
    call_command("demo_data", size="small", seed=3, no_progress=True, stdout=out)
    assert "Generated" in out.getvalue()
    assert Person.objects.count() > 1900


def test_demo_areas_for_demo_users(small: demo.DemoResult) -> None:
    svay_rieng = demo_province("20")
    prey_veng = demo_province("14")
    commune = demo.demo_area("20")
    assert commune.level == Level.COMMUNE and commune.path.startswith(svay_rieng.path)
    assert Household.objects.filter(village__path__startswith=commune.path).exists()
    village = demo.demo_area("14", level=Level.VILLAGE)
    assert village.level == Level.VILLAGE and village.path.startswith(prey_veng.path)
    assert demo.demo_area("14", level=Level.PROVINCE) == prey_veng


def test_demo_areas_before_any_demo_data(geography: None) -> None:
    with pytest.raises(demo.DemoDataError):
        demo.demo_area("20")


def demo_province(code: str) -> Area:
    return Area.objects.get(country="KH", level=Level.PROVINCE, code=code)


def test_households_have_facts_and_persons_consents(small: demo.DemoResult) -> None:
    households = Household.objects.all()
    assert households.filter(poverty_status__startswith="poor").count() > 0
    assert households.exclude(income_sources=[]).count() == households.count()
    single = households.filter(single_parent=True).first()
    assert single is not None
    assert not single.members.filter(relationship="spouse").exists()
    assert Consent.objects.filter(purpose="registration").count() == small.persons
    # Children's consent comes from a parent or guardian, with the child's assent from 7.
    for consent in Consent.objects.select_related("person")[:300]:
        assert consent.person.date_of_birth is not None
        age = consent.person.age_on(consent.given_on)
        assert age is not None
        if age < 18:
            assert consent.given_by in ("parent", "guardian") and consent.giver_name
            assert consent.child_assent is (True if age >= 7 else None)
        else:
            assert consent.given_by == "self"
    shared = Consent.objects.filter(purpose="data_sharing").count()
    assert 0.5 * small.persons < shared < 0.9 * small.persons
