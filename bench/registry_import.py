"""Benchmarks: registry import. Each function returns a Figure or a list of them.

`ctip import registry` of a CSV of BENCH_IMPORT_ROWS persons (default 1,000,000)
against raw inserts of the same rows into the same tables in the same run
(`executemany` on SQLite, `COPY` on PostgreSQL), and the import's peak memory on
that file against a file a tenth of its size: streamed, it should not grow.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import datetime as dt
import gc
import multiprocessing
import os
import random
import resource
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.figure import Figure

BENCHES: list[Callable[[], Any]] = []

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "1000000"))
BATCH = 5000
COLUMNS = [
    "household_id",
    "village_code",
    "address",
    "land_hectares",
    "income_sources",
    "monthly_income",
    "currency",
    "debt_amount",
    "lenders",
    "members_working_away",
    "poverty_status",
    "person_id",
    "relationship",
    "family_name_local",
    "given_name_local",
    "family_name_latin",
    "given_name_latin",
    "sex",
    "date_of_birth",
    "school_status",
    "id_documents",
    "phone",
    "disability",
]


def _villages() -> list[tuple[int, str]]:
    from ctip.geography.models import Area, Level

    rows = Area.objects.filter(country="KH", level=Level.VILLAGE, code__regex=r"^(03|14|20)")
    return list(rows.order_by("code").values_list("id", "code")[:600])


def write_csv(path: Path, rows: int, prefix: str, seed: int = 1) -> None:
    """A registry file of `rows` persons in households of 2 to 8, in Cambodian villages."""
    from ctip.registry import demo

    rng = random.Random(seed)
    villages = [code for _id, code in _villages()]
    today = dt.date.today()
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        done = household = 0
        while done < rows:
            household += 1
            village = rng.choice(villages)
            family = rng.choice(demo.KH_FAMILY)
            facts = [
                f"{prefix}H{household:08d}",
                village,
                f"Phum {village}, house {household}",
                rng.choice(["", "0.25", "0.5", "1.2", "2"]),
                rng.choice(["farming", "farming;remittances", "wage_labour", "factory"]),
                str(rng.randrange(100_000, 2_000_000, 10_000)),
                "KHR",
                rng.choice(["", "", "500000", "1200000"]),
                rng.choice(["", "", "bank", "moneylender;relatives"]),
                str(rng.choice([0, 0, 1, 2])),
                rng.choice(["none", "poor_1", "poor_2", "unknown"]),
            ]
            for member in range(rng.randint(2, 8)):
                if done >= rows:
                    break
                done += 1
                sex = rng.choice(["female", "male"])
                given = rng.choice(demo.KH_FEMALE if sex == "female" else demo.KH_MALE)
                age = rng.randint(25, 70) if member < 2 else rng.randint(0, 24)
                born = today - dt.timedelta(days=age * 365 + rng.randint(1, 360))
                out.writerow(
                    [
                        *facts,
                        f"{prefix}P{done:09d}",
                        "head" if member == 0 else ("spouse" if member == 1 else "child"),
                        family[0],
                        given[0],
                        family[1],
                        given[1],
                        sex,
                        born.isoformat(),
                        rng.choice(["enrolled", "dropped_out", "unknown", "not_yet"]),
                        rng.choice(["birth_certificate", "birth_certificate;family_book", ""]),
                        rng.choice(["", "012 345 678", "+855 97 123 4567"]),
                        rng.choice(["no", "no", "no", "yes"]),
                    ]
                )


def _raw_batches(
    path: Path, first_id: int
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """The file's households and persons as ready-to-insert tuples, a batch at a time
    (preparing them is not timed: the baseline is the insert alone)."""
    from django.db import connection
    from django.utils import timezone

    from ctip.core.text import fold_all

    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    village_ids = {code: pk for pk, code in _villages()}

    def js(text: str) -> Any:
        return ops.adapt_json_value([p for p in text.split(";") if p], None)

    households: list[tuple[Any, ...]] = []
    persons: list[tuple[Any, ...]] = []
    ids: dict[str, int] = {}
    next_id = first_id
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for r in reader:
            household_id = ids.get(r[0])
            if household_id is None:
                if len(ids) > 50_000:
                    ids.clear()
                household_id = ids[r[0]] = next_id
                next_id += 1
                households.append(
                    (household_id, now, now, r[0], r[0], r[2], village_ids[r[1]], r[3] or None,
                     js(r[4]), r[5] or None, r[6], r[7] or None, js(r[8]), int(r[9]), 0,
                     False, False, r[10])
                )  # fmt: skip
            persons.append(
                (now, now, r[11], household_id, r[12], r[13], r[14], r[15], r[16], r[17],
                 dt.date.fromisoformat(r[18]), False, r[19], js(r[20]), r[21], r[22] == "yes",
                 fold_all(r[13], r[14], r[15], r[16]))
            )  # fmt: skip
            if len(persons) >= BATCH:
                yield households, persons
                households, persons = [], []
    if persons:
        yield households, persons


HOUSEHOLD_COLUMNS = (
    "id, created_at, updated_at, external_id, code, address, village_id, land_hectares, "
    "income_sources, monthly_income, currency, debt_amount, lenders, members_working_away, "
    "members_with_disability, single_parent, child_headed, poverty_status"
)
PERSON_COLUMNS = (
    "created_at, updated_at, external_id, household_id, relationship, family_name_local, "
    "given_name_local, family_name_latin, given_name_latin, sex, date_of_birth, dob_estimated, "
    "school_status, id_documents, phone, disability, search_text"
)


def raw_insert(path: Path) -> tuple[int, float]:
    """Rows inserted and seconds spent in executemany / COPY and the commit, in one
    transaction (reading the file and preparing the rows is not counted)."""
    from django.db import connection, transaction
    from django.db.models import Max

    from ctip.registry.models import Household

    first_id = (Household.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    copy = connection.vendor == "postgresql"
    spent = 0.0
    rows = 0
    with transaction.atomic(), connection.cursor() as c:
        for households, persons in _raw_batches(path, first_id):
            started = time.perf_counter()
            for table, columns, batch in (
                ("registry_household", HOUSEHOLD_COLUMNS, households),
                ("registry_person", PERSON_COLUMNS, persons),
            ):
                if not batch:
                    continue
                if copy:
                    with c.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as out:
                        for row in batch:
                            out.write_row(row)
                else:
                    marks = ", ".join(["%s"] * len(batch[0]))
                    c.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", batch)
            spent += time.perf_counter() - started
            rows += len(persons)
        started = time.perf_counter()
    spent += time.perf_counter() - started  # the commit
    return rows, spent


def _rss_kib(field: str) -> int:
    with contextlib.suppress(OSError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _import_in_child(path: Path, pipe: Any) -> None:
    """Run in a forked process, so its peak memory is the import's own."""
    from ctip.core.actors import cli_actor
    from ctip.registry import imports

    start_rss = _rss_kib("VmRSS")
    actor = cli_actor()
    started = time.perf_counter()
    job = imports.import_job_create(actor=actor, path=path, original_name=path.name)
    outcome = imports.import_job_run(actor=actor, job=job)
    elapsed = time.perf_counter() - started
    peak = _rss_kib("VmHWM")
    problems = [imports.problem_text(p.row, p.column, p.message) for p in outcome.problems[:5]]
    pipe.send((outcome.persons_created, problems, elapsed, (peak - start_rss) / 1024))
    pipe.close()


def _trim_heap() -> None:
    """Give this process's free heap back to the system before forking an import.

    A child reuses the free memory it inherits without its resident size growing, so
    what this process freed before (deleting a million rows frees plenty) would count
    against whichever import it forks next, not the import's own use."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # glibc only
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def ctip_import(path: Path) -> tuple[int, float, float]:
    """Persons created, seconds, peak memory growth in MB of `ctip import registry`."""
    from django.db import connections

    connections.close_all()
    _trim_heap()
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_import_in_child, args=(path, send))
    child.start()
    send.close()
    created, problems, elapsed, peak_mb = receive.recv()
    child.join()
    if problems:
        raise RuntimeError("the bench file has problems: " + "; ".join(problems))
    return created, elapsed, peak_mb


def _delete_since(household_id: int) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as c:
        c.execute("DELETE FROM registry_person WHERE household_id >= %s", [household_id])
        c.execute("DELETE FROM registry_household WHERE id >= %s", [household_id])


def bench_registry_import() -> list[Figure]:
    """Import of BENCH_IMPORT_ROWS persons from CSV vs raw inserts of the same rows;
    peak memory at that size vs a tenth of it."""
    from django.conf import settings
    from django.db.models import Max

    from ctip.geography import loaders
    from ctip.geography.models import Area
    from ctip.registry.models import Household

    if not Area.objects.exists():
        loaders.load()
    folder = Path(settings.VAR_DIR) / f"bench-import-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    big, small = folder / "persons.csv", folder / "persons-tenth.csv"
    try:
        write_csv(big, ROWS, "BI")
        write_csv(small, max(ROWS // 10, 1), "BS", seed=2)
        start = (Household.objects.aggregate(m=Max("id"))["m"] or 0) + 1

        raw_rows, raw_seconds = raw_insert(big)
        _delete_since(start)
        created, seconds, peak_big = ctip_import(big)
        _created_small, _seconds_small, peak_small = ctip_import(small)
        assert created == raw_rows == ROWS, (created, raw_rows, ROWS)
        _delete_since(start)
    finally:
        for path in folder.glob("*"):
            path.unlink()
        folder.rmdir()
    return [
        Figure(f"registry_import_csv_{ROWS}", ROWS / seconds, raw_rows / raw_seconds, "rows/s"),
        Figure(f"registry_import_peak_memory_{ROWS}_vs_{ROWS // 10}", peak_big, peak_small, "MB"),
    ]


BENCHES.append(bench_registry_import)
