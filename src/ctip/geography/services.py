"""Writes to the geography: loads (see loaders.py) and villages/hamlets added by hand."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import MANAGE_AREAS
from ctip.core import audit
from ctip.core.text import fold_all

from .models import Area, Level


def set_paths(level: str, country: str | None = None) -> None:
    """Fill the materialised path of every area of `level` whose path is empty, set-based."""
    sql = (
        "UPDATE geography_area SET path = "
        "(SELECT p.path FROM geography_area p WHERE p.id = geography_area.parent_id) "
        "|| CAST(geography_area.id AS TEXT) || '/' "
        "WHERE level = %s AND path = '' AND parent_id IS NOT NULL"
    )
    params: list[Any] = [level]
    if country:
        sql += " AND country = %s"
        params.append(country)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@transaction.atomic
def village_add(
    *,
    actor: Any,
    commune: Area,
    code: str,
    name_local: str,
    name_en: str = "",
) -> Area:
    """A village or hamlet that no published list has (all of Viet Nam's), under a commune."""
    access.require_in(actor, MANAGE_AREAS, commune)
    errors: dict[str, str] = {}
    if commune.level != Level.COMMUNE:
        errors["commune"] = _("Villages go under a commune, not a %(level)s.") % {
            "level": commune.get_level_display()
        }
    code = (code or "").strip()
    if not code:
        errors["code"] = _("Give the village a code.")
    elif Area.objects.filter(parent=commune, code=code).exists():
        errors["code"] = _("Code %(code)s is already used in this commune.") % {"code": code}
    if not (name_local or "").strip():
        errors["name_local"] = _("Give the village's name.")
    if errors:
        raise ValidationError(errors)
    local_field = "name_km" if commune.country == "KH" else "name_vi"
    village = Area(
        country=commune.country,
        level=Level.VILLAGE,
        code=code,
        parent=commune,
        path="",
        name_en=name_en.strip(),
        valid_from=commune.valid_from,
        valid_to=commune.valid_to,
        source="manual",
        created_by=actor,
        **{local_field: name_local.strip()},
    )
    village.search_text = fold_all(village.name_en, village.name_km, village.name_vi, code)
    village.save()
    village.path = f"{commune.path}{village.pk}/"
    village.save(update_fields=["path"])
    audit.record(
        actor=actor,
        action="create",
        obj=village,
        changes=audit.diff(
            None,
            {
                "code": code,
                "parent": commune.code,
                "name_en": village.name_en,
                local_field: name_local,
            },
        ),
    )
    return village
