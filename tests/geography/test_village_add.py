from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ctip.accounts.models import User
from ctip.core.models import AuditEvent
from ctip.geography import services
from ctip.geography.models import Area

pytestmark = pytest.mark.django_db


@pytest.fixture
def commune() -> Area:
    return Area.objects.get(country="VN", level="commune", code="00070", valid_to__isnull=True)


def test_an_administrator_of_the_province_adds_a_hamlet(
    make_user: Callable[..., User], commune: Area
) -> None:
    assert commune.parent is not None
    admin = make_user("admin", "administrator", commune.parent)
    events = AuditEvent.objects.count()
    village = services.village_add(
        actor=admin, commune=commune, code="T01", name_local="Tổ dân phố 1", name_en="Group 1"
    )
    assert (village.level, village.parent, village.source) == ("village", commune, "manual")
    assert village.name_vi == "Tổ dân phố 1"
    assert village.valid_from == commune.valid_from
    assert "to dan pho 1" in village.search_text
    assert AuditEvent.objects.count() == events + 1


def test_someone_in_another_area_is_refused_and_nothing_is_written(
    make_user: Callable[..., User], commune: Area
) -> None:
    elsewhere = make_user("admin-kh", "administrator", Area.objects.get(level="country", code="KH"))
    before = (Area.objects.count(), AuditEvent.objects.count())
    with pytest.raises(PermissionDenied):
        services.village_add(actor=elsewhere, commune=commune, code="T01", name_local="Tổ 1")
    assert (Area.objects.count(), AuditEvent.objects.count()) == before


def test_a_role_without_manage_areas_is_refused(
    make_user: Callable[..., User], commune: Area
) -> None:
    facilitator = make_user("fac", "facilitator", commune)
    with pytest.raises(PermissionDenied):
        services.village_add(actor=facilitator, commune=commune, code="T01", name_local="Tổ 1")
    assert not Area.objects.filter(parent=commune).exists()


def test_a_code_already_used_in_the_commune_is_refused(
    make_user: Callable[..., User], commune: Area
) -> None:
    admin = make_user("admin", "administrator", commune)
    services.village_add(actor=admin, commune=commune, code="T01", name_local="Tổ 1")
    with pytest.raises(ValidationError) as caught:
        services.village_add(actor=admin, commune=commune, code="T01", name_local="Tổ 2")
    assert set(caught.value.message_dict) == {"code"}
    assert Area.objects.filter(parent=commune, code="T01").count() == 1
