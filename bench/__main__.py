"""`python -m bench`: ctip's benchmarks, each printed as

    name: value unit (baseline: value, ratio: x)

against a baseline measured in the same run on the same database. They run on
a throwaway SQLite file under var/ and, when BENCH_DATABASE_URL is set, on a
throwaway test database created next to that one (and dropped afterwards).

To add a figure, write a function taking no arguments that returns a `Figure`
(or a list of them) and append it to `BENCHES` (here or in the module of its
part: registry_import, scoring, api_load, loans, intervention_summary; `Figure`
lives in bench.figure).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.figure import Figure, best_of

ROOT = Path(__file__).resolve().parent.parent


def bench_geography_load() -> Figure:
    """`ctip geography load` on an empty database vs. raw executemany of the same rows."""
    from django.db import connection, transaction

    from ctip.geography import loaders
    from ctip.geography.models import Area, AreaSuccession, GeographySource

    started = time.perf_counter()
    loaders.load()
    ours = time.perf_counter() - started

    fields = [f for f in Area._meta.concrete_fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    rows = list(Area.objects.order_by("id").values_list(*[f.attname for f in fields]))
    table = Area._meta.db_table
    with transaction.atomic():
        AreaSuccession.objects.all().delete()
        GeographySource.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table}")

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)
    baseline = time.perf_counter() - started
    return Figure("geography_load", ours, baseline)


def bench_scoped_persons() -> list[Figure]:
    """Area-scoped person reads on the large demo programme (1,000,000 persons):
    the selectors every page and endpoint use vs. hand-written SQL for the same rows."""
    from django.db import connection

    from ctip.accounts.models import RoleAssignment, User
    from ctip.geography.selectors import resolve_area_code
    from ctip.registry import demo, selectors

    size = os.environ.get("BENCH_DEMO_SIZE", "large")
    demo.generate(size=size, seed=1)
    province = resolve_area_code("KH-20")
    officer = User.objects.create(username="bench-officer")
    RoleAssignment.objects.create(user=officer, role="provincial_officer", area=province)

    def ours_count() -> int:
        return selectors.persons_visible_to(officer).count()

    def ours_page() -> list[object]:
        qs = selectors.persons_visible_to(officer).select_related("household__village")
        return list(qs.order_by("id")[:50])

    join = (
        "FROM registry_person p JOIN registry_household h ON h.id = p.household_id "
        "JOIN geography_area a ON a.id = h.village_id WHERE a.path LIKE %s"
    )
    prefix = province.path + "%"

    def raw_count() -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) {join}", [prefix])
            return int(cursor.fetchone()[0])

    def raw_page() -> list[tuple[object, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT p.*, h.*, a.* {join} ORDER BY p.id LIMIT 50", [prefix])
            return cursor.fetchall()

    assert ours_count() == raw_count()
    return [
        Figure("persons_scoped_count_province", best_of(3, ours_count), best_of(3, raw_count)),
        Figure("persons_scoped_page_province", best_of(5, ours_page), best_of(5, raw_page)),
    ]


def _all_benches() -> list[Callable[[], Figure | list[Figure]]]:
    from bench import api_load, intervention_summary, loans, registry_import, scoring

    return [
        bench_geography_load,
        bench_scoped_persons,
        *registry_import.BENCHES,
        *scoring.BENCHES,
        *api_load.BENCHES,
        *loans.BENCHES,
        *intervention_summary.BENCHES,
    ]


def run(suffix: str) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    from django.db import connection

    created_test_db = False
    if connection.vendor != "sqlite":
        connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        created_test_db = True
    else:
        call_command("migrate", verbosity=0)
    try:
        for bench in _all_benches():
            result = bench()
            for figure in result if isinstance(result, list) else [result]:
                print(figure.line(suffix), flush=True)
    finally:
        if created_test_db:
            connection.creation.destroy_test_db(
                connection.settings_dict["NAME"], verbosity=0, keepdb=False
            )


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    if os.environ.get("BENCH_CHILD"):
        run(os.environ["BENCH_CHILD"].strip())
        return
    var = Path(os.environ.get("CTIP_VAR_DIR", ROOT / "var"))
    var.mkdir(parents=True, exist_ok=True)
    sqlite_file = var / f"bench-{os.getpid()}.sqlite3"
    targets = [("", f"sqlite:///{sqlite_file}")]
    if os.environ.get("BENCH_DATABASE_URL"):
        targets.append((".server", os.environ["BENCH_DATABASE_URL"]))
    failed = False
    try:
        # Settings read DATABASE_URL once, so each database gets its own process.
        for suffix, url in targets:
            env = {**os.environ, "DATABASE_URL": url, "BENCH_CHILD": suffix or " "}
            done = subprocess.run([sys.executable, "-m", "bench"], env=env, cwd=ROOT, check=False)
            failed = failed or done.returncode != 0
    finally:
        for path in var.glob(f"{sqlite_file.name}*"):
            path.unlink()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
