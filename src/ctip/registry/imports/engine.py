"""One streaming pass over a registry file: check every row, and (for an import)
write households and persons in batches inside the caller's transaction.

Memory stays flat as files grow. Rows are read one at a time and handled in
batches of BATCH_ROWS; what must be remembered across the whole file (which
external ids and household codes were already seen, and each household's
columns, to check that its rows agree) goes to temporary tables, not to Python.
Existing records are matched by external id with one indexed query per batch;
the villages the actor may import into are computed once. New rows go in with
COPY on PostgreSQL.

Rows are numbered as the file or spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import operator
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.db import DatabaseError, connection
from django.utils import timezone
from django.utils.translation import gettext as _

from ctip.accounts import access
from ctip.accounts.roles import CHANGE_PERSONS
from ctip.geography.models import Area, Level

from .. import services
from ..models import Household, Person
from .fields import FIELDS_BY_NAME, HOUSEHOLD, MAX_AGE, Bad, Field, cell_text, mapping_errors
from .reader import FileProblem, Table

BATCH_ROWS = 5000
MAX_PROBLEMS = 1000
# Bound on the per-run cache of village codes (there are about 15,000 villages).
_VILLAGE_CACHE = 50_000

Progress = Callable[[int], Any]

# The columns written, in the order a row's values are kept.
HOUSEHOLD_DATA = (
    "address",
    "land_hectares",
    "income_sources",
    "monthly_income",
    "currency",
    "debt_amount",
    "lenders",
    "members_working_away",
    "members_with_disability",
    "single_parent",
    "child_headed",
    "poverty_status",
)
H_EXT, H_CODE, H_VILLAGE = len(HOUSEHOLD_DATA), len(HOUSEHOLD_DATA) + 1, len(HOUSEHOLD_DATA) + 2
PERSON_DATA = (
    "relationship",
    "sex",
    "family_name_local",
    "given_name_local",
    "family_name_latin",
    "given_name_latin",
    "date_of_birth",
    "dob_estimated",
    "school_status",
    "id_documents",
    "phone",
    "disability",
)
(REL, SEX, FAMILY_LOCAL, GIVEN_LOCAL, FAMILY_LATIN, GIVEN_LATIN, DOB, ESTIMATED) = range(8)
DOCUMENTS = PERSON_DATA.index("id_documents")
P_EXT, P_AGE = len(PERSON_DATA), len(PERSON_DATA) + 1
JSON_COLUMNS = frozenset({"income_sources", "lenders", "id_documents"})

# A step of the plan: (cell index, column name, field name, position in the record, parser)
Step = tuple[int, str, str, int, Callable[[Any], Any]]


@dataclass(frozen=True)
class Problem:
    row: int  # as the file shows it (the header is row 1); 0 when about the whole file
    column: str  # the column's name in the file; '' when about the whole row or file
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Outcome:
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    households_created: int = 0
    households_updated: int = 0
    persons_created: int = 0
    persons_updated: int = 0
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS

    def add(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "households_created": self.households_created,
            "households_updated": self.households_updated,
            "persons_created": self.persons_created,
            "persons_updated": self.persons_updated,
        }

    def summary(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "problem_count": self.problem_count,
            "ignored_columns": self.ignored_columns,
        }


def derived_code(external_id: str) -> str:
    """The household code given to a new household whose file has none: its external id,
    or (if longer than a code may be) its start and a hash of the whole."""
    limit = Household._meta.get_field("code").max_length or 40
    if len(external_id) <= limit:
        return external_id
    digest = hashlib.sha256(external_id.encode("utf-8")).hexdigest()[:12]
    return f"{external_id[: limit - 13]}-{digest}"


def _estimated_birth(age: int, today: dt.date) -> dt.date:
    # 1 January: the age is right on the day of import and the date stays the same
    # when the same file is imported again within the year.
    return dt.date(today.year - age, 1, 1)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


KEYS = "IN (@keys)"


def _select(sql: str, keys: Sequence[str], params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of `sql` for all the keys: its "IN (@keys)" stands for the list of keys, and
    `params` are the values of any %s before it.

    The list is one parameter, however long: an array on PostgreSQL (= ANY(%s)), a JSON
    array on SQLite. A query listing thousands of parameters costs more to bind and
    plan than to run."""
    if not keys:
        return []
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            c.execute(sql.replace(KEYS, "= ANY(%s)"), [*params, list(keys)])
        else:
            c.execute(
                sql.replace(KEYS, "IN (SELECT value FROM json_each(%s))"),
                [*params, json.dumps(list(keys))],
            )
        return c.fetchall()


def _insert_rows(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Many rows at once: COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    q = connection.ops.quote_name
    names = ", ".join(q(c) for c in columns)
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            with c.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            c.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608


@contextlib.contextmanager
def _serial_queries() -> Iterator[None]:
    """On PostgreSQL, no parallel workers for the pass's queries.

    Each looks a batch's keys up through an index in a few milliseconds; once the
    registry is large, PostgreSQL plans the person lookup with parallel workers, and
    starting them takes several times as long as the lookup itself."""
    if connection.vendor != "postgresql":
        yield
        return
    setting = "max_parallel_workers_per_gather"
    # Inside the caller's transaction, a pass that fails leaves the change to its
    # rollback (an aborted transaction runs nothing more); otherwise it is put back.
    local = connection.in_atomic_block
    with connection.cursor() as c:
        c.execute("SELECT current_setting(%s)", [setting])
        before = c.fetchone()[0]
        c.execute("SELECT set_config(%s, '0', %s)", [setting, local])
    failed = True
    try:
        yield
        failed = False
    finally:
        if not (failed and local):
            with connection.cursor() as c:
                c.execute("SELECT set_config(%s, %s, %s)", [setting, before, local])


_collections_lock = threading.Lock()
_collections_passes = 0
_collections_threshold: tuple[int, ...] = ()


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Collect garbage less often while a pass runs.

    A pass allocates millions of short-lived lists and tuples; at the default
    threshold (a collection per 700 new objects) the collector, which also walks
    every object the application holds, takes a fifth of the pass's time. Garbage is
    still collected, every 50,000 new objects: memory stays flat. The threshold is the
    process's own, so it is put back when the last pass running ends."""
    global _collections_passes, _collections_threshold
    with _collections_lock:
        if not _collections_passes:
            _collections_threshold = first, *older = gc.get_threshold()
            if first:  # 0: collection is off
                gc.set_threshold(max(50_000, first), *older)
        _collections_passes += 1
    try:
        yield
    finally:
        with _collections_lock:
            _collections_passes -= 1
            if not _collections_passes:
                gc.set_threshold(*_collections_threshold)


class _Seen:
    """What the pass has seen so far in this file, in temporary tables: person external
    ids (with their row) and households (code, the agreed columns, first row)."""

    HOUSEHOLDS = "ctip_import_seen_households"
    PERSONS = "ctip_import_seen_persons"

    def __init__(self) -> None:
        # Rows in each table, and at its last ANALYZE (see _grown).
        self._rows = {self.HOUSEHOLDS: 0, self.PERSONS: 0}
        self._analyzed = {self.HOUSEHOLDS: 0, self.PERSONS: 0}
        with connection.cursor() as c:
            for table in (self.HOUSEHOLDS, self.PERSONS):
                c.execute(f"DROP TABLE IF EXISTS {table}")
            c.execute(
                f"CREATE TEMPORARY TABLE {self.HOUSEHOLDS} "
                "(ext VARCHAR(64) PRIMARY KEY, code VARCHAR(64), sig TEXT, row_number BIGINT)"
            )
            c.execute(f"CREATE INDEX {self.HOUSEHOLDS}_code ON {self.HOUSEHOLDS} (code)")
            c.execute(
                f"CREATE TEMPORARY TABLE {self.PERSONS} "
                "(ext VARCHAR(64) PRIMARY KEY, row_number BIGINT)"
            )

    def close(self) -> None:
        with connection.cursor() as c:
            for table in (self.HOUSEHOLDS, self.PERSONS):
                c.execute(f"DROP TABLE IF EXISTS {table}")

    def person_rows(self, keys: Sequence[str]) -> dict[str, int]:
        sql = f"SELECT ext, row_number FROM {self.PERSONS} WHERE ext {KEYS}"  # noqa: S608
        return {ext: row for ext, row in _select(sql, keys)}

    def add_persons(self, items: list[tuple[str, int]]) -> None:
        _insert_rows(self.PERSONS, ("ext", "row_number"), items)
        self._grown(self.PERSONS, len(items))

    def household_rows(self, keys: Sequence[str]) -> dict[str, tuple[str, int]]:
        sql = f"SELECT ext, sig, row_number FROM {self.HOUSEHOLDS} WHERE ext {KEYS}"  # noqa: S608
        return {ext: (sig, row) for ext, sig, row in _select(sql, keys)}

    def code_rows(self, codes: Sequence[str]) -> dict[str, tuple[str, int]]:
        sql = f"SELECT code, ext, row_number FROM {self.HOUSEHOLDS} WHERE code {KEYS}"  # noqa: S608
        return {code: (ext, row) for code, ext, row in _select(sql, codes)}

    def add_households(self, items: list[tuple[str, str | None, str, int]]) -> None:
        _insert_rows(self.HOUSEHOLDS, ("ext", "code", "sig", "row_number"), items)
        self._grown(self.HOUSEHOLDS, len(items))

    def _grown(self, table: str, added: int) -> None:
        """PostgreSQL never analyzes a temporary table by itself: without statistics it
        reads the whole table for each batch's lookup, which grows with the square of the
        file. Analyzed whenever it has doubled, it is read through its indexes."""
        self._rows[table] += added
        if connection.vendor != "postgresql" or self._rows[table] < 2 * self._analyzed[table]:
            return
        if self._rows[table] >= 1000:
            with connection.cursor() as c:
                c.execute(f"ANALYZE {table}")
            self._analyzed[table] = self._rows[table]


@dataclass(slots=True)
class _Household:
    """The household cells of a row, parsed (shared by consecutive rows with the same)."""

    ext: str  # '' when missing or not valid
    code: str  # as in the file ('' when none)
    village: str  # the village code as in the file ('' when missing or not valid)
    data: list[Any]  # values in HOUSEHOLD_DATA order (defaults where not mapped)
    agreed: str  # what all rows of the household must agree on, besides the village
    problems: list[tuple[str, str]]  # (column, message)
    # Set by _place, once the village code is looked up (0: none).
    village_id: int = 0
    sig: str = ""  # the village and `agreed`
    placed: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.ext)


@dataclass(slots=True)
class _Row:
    number: int
    household: _Household
    person: str  # external id; '' when missing or not valid
    data: list[Any]  # values in PERSON_DATA order (defaults where not mapped)
    # (column, message): about the row's cells, before its household's problems (extra
    # cells), and about its person.
    early: list[tuple[str, str]] | None = None
    problems: list[tuple[str, str]] | None = None


INSERT, UPDATE, WRITTEN = "insert", "update", "written"


@dataclass(slots=True)
class _HouseholdPlan:
    row: _Row  # the household's first row in this batch
    action: str  # INSERT, UPDATE, or WRITTEN (by an earlier batch of this import)
    existing_id: int | None
    code: str | None  # the code to set (None: keep the existing one)


def _defaults() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in (Household, Person):
        for f in model._meta.concrete_fields:
            if f.has_default():
                value = f.get_default()
                out[f.attname] = tuple(value) if isinstance(value, list) else value
            elif f.null:
                out[f.attname] = None
            else:
                out[f.attname] = ""
    return out


def _getter(indexes: list[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    if not indexes:
        return lambda cells: ()
    if len(indexes) == 1:
        only = indexes[0]
        return lambda cells: (cells[only],)
    return operator.itemgetter(*indexes)


class _Pass:
    def __init__(
        self,
        *,
        actor: Any,
        table: Table,
        columns: dict[str, str],
        write: bool,
        progress: Progress | None,
    ) -> None:
        self.actor = actor
        self.table = table
        self.write = write
        self.progress = progress
        self.outcome = Outcome()
        self.pending: list[Problem] = []
        self.today = timezone.localdate()
        # The earliest date of birth of someone at most MAX_AGE years old today.
        self.earliest_birth = _years_before(self.today, MAX_AGE + 1) + dt.timedelta(days=1)
        self.now = timezone.now()
        self.user_id = actor.pk if getattr(actor, "is_authenticated", False) else None
        self.columns = {h: f for h, f in columns.items() if f}
        self.outcome.ignored_columns = [h for h in table.headers if not columns.get(h)]
        self.width = len(table.headers)
        self.header_of: dict[str, str] = {f: h for h, f in self.columns.items()}
        defaults = _defaults()
        index = {h: i for i, h in enumerate(table.headers)}
        mapped: list[tuple[int, str, Field]] = [
            (index[h], h, FIELDS_BY_NAME[f])
            for h, f in self.columns.items()
            if f in FIELDS_BY_NAME and h in index
        ]

        special = {
            "household_external_id": H_EXT,
            "household_code": H_CODE,
            "village": H_VILLAGE,
            "person_external_id": P_EXT,
            "age": P_AGE,
        }

        def position(f: Field) -> int:
            if f.name in special:
                return special[f.name]
            data = HOUSEHOLD_DATA if f.target == HOUSEHOLD else PERSON_DATA
            return data.index(f.attr)

        self.hh_steps: list[Step] = [
            (i, h, f.name, position(f), f.parse) for i, h, f in mapped if f.target == HOUSEHOLD
        ]
        self.person_steps: list[Step] = [
            (i, h, f.name, position(f), f.parse) for i, h, f in mapped if f.target != HOUSEHOLD
        ]
        self.hh_template = [defaults[a] for a in HOUSEHOLD_DATA] + ["", "", ""]
        self.person_template = [defaults[a] for a in PERSON_DATA] + ["", None]
        self._hh_cells = _getter([s[0] for s in self.hh_steps])
        self._p_cells = _getter([s[0] for s in self.person_steps])
        self._p_parsers = [s[4] for s in self.person_steps]
        # A person's record from [parsed values..., defaults of the unmapped positions...].
        mapped_at = {s[3]: n for n, s in enumerate(self.person_steps)}
        unmapped = [pos for pos in range(len(self.person_template)) if pos not in mapped_at]
        self._p_fill = [self.person_template[pos] for pos in unmapped]
        picks = {
            **mapped_at,
            **{pos: len(self.person_steps) + k for k, pos in enumerate(unmapped)},
        }
        self._p_assemble = operator.itemgetter(*(picks[pos] for pos in range(len(picks))))
        # The household columns that must agree across a household's rows, besides
        # village and code (the external id is what groups them).
        self.hh_agreed = [(s[2], s[3]) for s in self.hh_steps if s[3] < H_EXT]
        self.has_age = "age" in self.header_of
        self.has_birth = self.has_age or "date_of_birth" in self.header_of
        self._last_key: Any = None
        self._last_household: _Household | None = None
        self.allowed = _allowed_villages(actor)
        self._villages: dict[str, int | str] = {}
        # Persons above this id were written by this pass (see _match_persons).
        self.max_person_id = (
            Person.objects.order_by("-id").values_list("id", flat=True).first() or 0
            if write
            else 2**62
        )
        self.seen: _Seen | None = None
        # Whether person ids are being remembered in self.seen (see _check_persons).
        self.remembering = not write
        self._sql = _Sql(self)

    # --- problems ----------------------------------------------------------------

    def problem(self, row: int, column: str, message: str) -> None:
        self.pending.append(Problem(row, column, message))

    def _flush_problems(self) -> None:
        self.pending.sort(key=lambda p: p.row)
        for p in self.pending:
            self.outcome.add(p)
        self.pending.clear()

    # --- the pass ----------------------------------------------------------------------

    def run(self) -> Outcome:
        errors = mapping_errors(self.table.headers, self.columns)
        if errors:
            for message in errors:
                self.outcome.add(Problem(1, "", message))
            return self.outcome
        with _serial_queries(), _fewer_collections():
            return self._run()

    def _run(self) -> Outcome:
        self.seen = _Seen()
        try:
            for item in self._read():
                if isinstance(item, FileProblem):
                    self.outcome.add(Problem(item.row, "", item.message))
                    continue
                self.outcome.rows += len(item)
                self._place(item)
                self._report(item)
                self._batch(item)
        except BaseException:
            # The temporary tables go with the caller's rollback; on PostgreSQL a failed
            # transaction runs nothing more, and trying would hide what went wrong.
            with contextlib.suppress(DatabaseError):
                self.seen.close()
            raise
        self.seen.close()
        return self.outcome

    def _read(self) -> Iterator[list[_Row] | FileProblem]:
        """The file's rows parsed a batch at a time, then the FileProblem that stopped the
        reading, if one did. Parsing touches no database (see _place)."""
        raw: list[tuple[int, Sequence[Any]]] = []
        try:
            for row in self.table.rows:
                raw.append(row)
                if len(raw) >= BATCH_ROWS:
                    yield self._parse_all(raw)
                    raw = []
        except FileProblem as exc:
            yield self._parse_all(raw)
            yield exc
            return
        if raw:
            yield self._parse_all(raw)

    def _parse_all(self, raw: list[tuple[int, Sequence[Any]]]) -> list[_Row]:
        return [self._parse(number, cells) for number, cells in raw]

    def _place(self, rows: list[_Row]) -> None:
        """Give the batch's households their village: codes not seen before are looked
        up with one query."""
        todo = {id(r.household): r.household for r in rows if not r.household.placed}
        villages = self._villages
        codes = {h.village for h in todo.values() if h.village and h.village not in villages}
        found = {
            code: self._allowed_village(code, hit)
            for code, hit in (_resolve_villages(codes, self.today) if codes else {}).items()
        }
        if len(villages) < _VILLAGE_CACHE:
            villages.update(found)
        column = self.header_of["village"]
        for h in todo.values():
            if h.village:
                hit = found[h.village] if h.village in found else villages[h.village]
                if isinstance(hit, str):
                    h.problems.append((column, hit))
                else:
                    h.village_id = hit
            h.sig = f"{h.village_id}\x1f{h.agreed}"
            h.placed = True

    def _report(self, rows: list[_Row]) -> None:
        """The batch's problems with its cells, each row's in the order of its cells."""
        problem = self.problem
        for r in rows:
            if r.early:
                for column, message in r.early:
                    problem(r.number, column, message)
            for column, message in r.household.problems:
                problem(r.number, column, message)
            if r.problems:
                for column, message in r.problems:
                    problem(r.number, column, message)

    # --- one row (no database; problems stay with the row until _report) --------------------

    def _cells(
        self,
        cells: Sequence[Any],
        steps: list[Step],
        problems: list[tuple[str, str]],
        bad: set[str],
    ) -> list[Any]:
        """The values of the cells `steps` read; a cell that is not valid adds a problem
        and gives None."""
        values: list[Any] = []
        for index, header, name, _position, parse in steps:
            try:
                values.append(parse(cells[index]))
            except Bad as exc:
                problems.append((header, exc.message))
                bad.add(name)
                values.append(None)
        return values

    def _parse(self, number: int, cells: Sequence[Any]) -> _Row:
        early: list[tuple[str, str]] | None = None
        if len(cells) != self.width:
            cells, early = self._fit(cells)
        # A household's rows usually follow each other with the same household cells:
        # those are parsed once.
        key = self._hh_cells(cells)
        household = self._last_household
        if household is None or key != self._last_key:
            household = self._parse_household(cells)
            self._last_key, self._last_household = key, household
        # The common case, a valid row, in as few steps as possible; anything unusual
        # goes the long way round, which names each problem.
        try:
            cells_read = self._p_cells(cells)
            values = [parse(c) for parse, c in zip(self._p_parsers, cells_read, strict=True)]
        except Bad:
            return self._parse_person(number, cells, household, early)
        values.extend(self._p_fill)
        data = list(self._p_assemble(values))
        person, age = data[P_EXT], data[P_AGE]
        del data[P_EXT:]
        born = data[DOB]
        if not (
            person
            and data[REL]
            and data[SEX]
            and (data[GIVEN_LOCAL] or data[GIVEN_LATIN])
            and (born is None or self.earliest_birth <= born <= self.today)
        ):
            return self._parse_person(number, cells, household, early)
        if age is not None:
            if born is not None:
                return self._parse_person(number, cells, household, early)
            data[DOB] = _estimated_birth(age, self.today)
            data[ESTIMATED] = True
        return _Row(number, household, person, data, early)

    def _parse_person(
        self,
        number: int,
        cells: Sequence[Any],
        household: _Household,
        early: list[tuple[str, str]] | None,
    ) -> _Row:
        problems: list[tuple[str, str]] = []
        bad: set[str] = set()
        values = self._cells(cells, self.person_steps, problems, bad)
        data = self.person_template.copy()
        for (_i, _h, name, pos, _p), value in zip(self.person_steps, values, strict=True):
            if name not in bad:
                data[pos] = value
        age = data.pop(P_AGE)
        person = data.pop(P_EXT)
        if "person_external_id" in bad:
            person = ""
        if not person and "person_external_id" not in bad:
            problems.append(self._empty("person_external_id"))
            bad.add("person_external_id")
        for name, pos in (("relationship", REL), ("sex", SEX)):
            if not data[pos] and name not in bad:
                problems.append(self._empty(name))
                bad.add(name)
        if not (data[GIVEN_LOCAL] or data[GIVEN_LATIN]) and not (
            bad & {"given_name_local", "given_name_latin"}
        ):
            column = self.header_of.get("given_name_local") or self.header_of["given_name_latin"]
            problems.append(
                (column, _("Give the person's given name in local script or Latin letters."))
            )
            bad.add("given_name_local")
        if self.has_birth:
            self._check_birth(problems, data, age, bad)
        return _Row(number, household, person, data, early, problems or None)

    def _fit(self, cells: Sequence[Any]) -> tuple[list[Any], list[tuple[str, str]] | None]:
        """A row with as many cells as the file has columns (and the problem with extra
        ones)."""
        if len(cells) < self.width:
            return [*cells, *([None] * (self.width - len(cells)))], None
        problems = None
        if any(cell_text(c) for c in cells[self.width :]):
            message = _("This row has %(cells)d cells but the file has %(columns)d columns.") % {
                "cells": len(cells),
                "columns": self.width,
            }
            problems = [("", message)]
        return list(cells[: self.width]), problems

    def _empty_message(self, name: str) -> str:
        return _("%(field)s is empty; every row needs one.") % {"field": FIELDS_BY_NAME[name].label}

    def _empty(self, name: str) -> tuple[str, str]:
        return self.header_of[name], self._empty_message(name)

    def _parse_household(self, cells: Sequence[Any]) -> _Household:
        problems: list[tuple[str, str]] = []
        bad: set[str] = set()
        values = self._cells(cells, self.hh_steps, problems, bad)
        data = self.hh_template.copy()
        for (_i, _h, name, pos, _p), value in zip(self.hh_steps, values, strict=True):
            if name not in bad:
                data[pos] = value
        ext, code, village = data[H_EXT], data[H_CODE], data[H_VILLAGE]
        del data[H_EXT:]
        for name, value in (("household_external_id", ext), ("village", village)):
            if not value and name not in bad:
                problems.append(self._empty(name))
        agreed = [code, *(str(data[pos]) for _name, pos in self.hh_agreed)]
        return _Household(
            "" if "household_external_id" in bad else ext,
            code or "",
            village or "",
            data,
            "\x1f".join(agreed),
            problems,
        )

    def _check_birth(
        self, problems: list[tuple[str, str]], data: list[Any], age: int | None, bad: set[str]
    ) -> None:
        """Dates of birth in the past and within MAX_AGE; an age gives an estimated one."""
        born = data[DOB]
        column = self.header_of.get("date_of_birth", "")
        if born:
            if born > self.today:
                problems.append(
                    (
                        column,
                        _("The date of birth %(date)s is in the future.")
                        % {"date": born.isoformat()},
                    )
                )
                bad.add("date_of_birth")
            elif _age_on(born, self.today) > MAX_AGE:
                problems.append(
                    (
                        column,
                        _("The date of birth %(date)s gives an age over %(max)d years.")
                        % {"date": born.isoformat(), "max": MAX_AGE},
                    )
                )
                bad.add("date_of_birth")
        if not self.has_age or age is None:
            return
        if born is None:
            if "date_of_birth" not in bad:
                data[DOB] = _estimated_birth(age, self.today)
                data[ESTIMATED] = True
        elif abs(_age_on(born, self.today) - age) > 1:
            problems.append(
                (
                    self.header_of["age"],
                    _("The age %(age)d does not match the date of birth %(date)s.")
                    % {"age": age, "date": born.isoformat()},
                )
            )
            bad.add("age")

    def _allowed_village(self, code: str, hit: int | str) -> int | str:
        if isinstance(hit, int) and self.allowed is not None and hit not in self.allowed:
            return _("Village %(code)s is outside the areas where you may register people.") % {
                "code": code
            }
        return hit

    # --- one batch ---------------------------------------------------------------------------

    def _batch(self, rows: list[_Row]) -> None:
        assert self.seen is not None
        if rows:
            new_persons = self._check_persons(rows)
            plans = self._check_households(rows)
            persons = self._match_persons(rows, new_persons)
            self._flush_problems()
            if self.write and self.outcome.ok:
                self._sql.write(rows, plans, persons)
            else:
                # Not in the registry: remember them to find them again further down.
                self.remembering = True
                self.seen.add_persons(list(new_persons.items()))
        else:
            self._flush_problems()
        if self.progress:
            self.progress(self.outcome.rows)

    def _check_persons(self, rows: list[_Row]) -> dict[str, int]:
        """Report person external ids seen twice in the file; return those first seen in
        this batch, with their row.

        Ids of rows written by this import are found in the registry itself (see
        _match_persons); those of rows not written (a dry run, or an import that has met
        a problem) are remembered in a temporary table."""
        assert self.seen is not None
        column = self.header_of["person_external_id"]
        first: dict[str, int] = {}
        for r in rows:
            if not r.person:
                continue
            before = first.setdefault(r.person, r.number)
            if before != r.number:
                self._duplicate_person(r, before, column)
        if not self.remembering:
            return first
        earlier = self.seen.person_rows(list(first))
        if earlier:
            for r in rows:
                if r.person in earlier and first.get(r.person) == r.number:
                    self._duplicate_person(r, earlier[r.person], column)
            first = {ext: row for ext, row in first.items() if ext not in earlier}
        return first

    def _duplicate_person(self, r: _Row, before: int | None, column: str) -> None:
        if before is None:
            message = _(
                "Person external id %(id)s is also in an earlier row; each person must appear once."
            ) % {"id": r.person}
        else:
            message = _(
                "Person external id %(id)s is also in row %(row)d; each person must appear once."
            ) % {"id": r.person, "row": before}
        self.problem(r.number, column, message)

    def _check_households(self, rows: list[_Row]) -> dict[str, _HouseholdPlan]:
        """Check that each household's rows agree, and plan the households first seen here."""
        assert self.seen is not None
        groups: dict[str, list[_Row]] = {}
        for r in rows:
            if r.household.ok:
                groups.setdefault(r.household.ext, []).append(r)
        earlier = self.seen.household_rows(list(groups))
        existing = self._existing_households(list(groups))
        plans: dict[str, _HouseholdPlan] = {}
        for ext, members in groups.items():
            ref_sig, ref_row = earlier.get(ext) or (members[0].household.sig, members[0].number)
            for r in members:
                if r.household.sig != ref_sig:
                    self._disagreement(r, ref_sig, ref_row)
            first = members[0]
            known = existing.get(ext)
            if ext in earlier:
                if known is not None:  # written by an earlier batch of this import
                    plans[ext] = _HouseholdPlan(first, WRITTEN, known[0], None)
                continue
            if known is None:
                code = first.household.code or derived_code(ext)
                plans[ext] = _HouseholdPlan(first, INSERT, None, code)
                continue
            household_id, village_id = known
            if self.allowed is not None and village_id not in self.allowed:
                self.problem(
                    first.number,
                    self.header_of["household_external_id"],
                    _(
                        "Household %(id)s is registered in a village outside the areas where "
                        "you may register people."
                    )
                    % {"id": ext},
                )
            plans[ext] = _HouseholdPlan(first, UPDATE, household_id, first.household.code or None)
        new_plans = [p for p in plans.values() if p.action != WRITTEN]
        self._check_codes(new_plans)
        self.seen.add_households(
            [(p.row.household.ext, p.code, p.row.household.sig, p.row.number) for p in new_plans]
        )
        for p in new_plans:
            if p.action == INSERT:
                self.outcome.households_created += 1
            else:
                self.outcome.households_updated += 1
        return plans

    def _existing_households(self, keys: list[str]) -> dict[str, tuple[int, int]]:
        sql = self._sql.households_by_ext
        return {ext: (pk, village) for ext, pk, village in _select(sql, keys)}

    def _check_codes(self, plans: list[_HouseholdPlan]) -> None:
        """A household code names one household: in the file and in the registry."""
        assert self.seen is not None
        setting: dict[str, _HouseholdPlan] = {}
        for p in plans:
            if p.code is None:
                continue
            other = setting.get(p.code)
            if other is not None:
                self._code_taken(p, other.row.household.ext, other.row.number)
                continue
            setting[p.code] = p
        for code, (ext, row) in self.seen.code_rows(list(setting)).items():
            self._code_taken(setting.pop(code), ext, row)
        for code, ext in _select(self._sql.households_by_code, list(setting)):
            p = setting[code]
            if ext != p.row.household.ext:
                self.problem(
                    p.row.number,
                    self._code_column(p),
                    _("Household code %(code)s is already used by another household.")
                    % {"code": code},
                )

    def _code_column(self, p: _HouseholdPlan) -> str:
        if p.row.household.code:
            return self.header_of["household_code"]
        return self.header_of["household_external_id"]

    def _code_taken(self, p: _HouseholdPlan, other: str, row: int) -> None:
        self.problem(
            p.row.number,
            self._code_column(p),
            _("Household code %(code)s is also used by household %(other)s in row %(row)d.")
            % {"code": p.code, "other": other, "row": row},
        )
        p.code = None

    def _disagreement(self, r: _Row, ref_sig: str, ref_row: int) -> None:
        if self.outcome.full:
            self.outcome.problem_count += 1  # counted; not worth naming the columns
            return
        names = ["village", "household_code", *(name for name, _pos in self.hh_agreed)]
        pairs = zip(ref_sig.split("\x1f"), r.household.sig.split("\x1f"), strict=True)
        for name, (before, now) in zip(names, pairs, strict=True):
            if before == now:
                continue
            if name == "village":
                before, now = _village_code(before), _village_code(now)
            self.problem(
                r.number,
                self.header_of.get(name) or self.header_of["household_external_id"],
                _(
                    "Household %(id)s has %(before)s in row %(row)d but %(now)s here; "
                    "all rows of one household must agree."
                )
                % {"id": r.household.ext, "before": repr(before), "row": ref_row, "now": repr(now)},
            )

    def _match_persons(self, rows: list[_Row], new: dict[str, int]) -> dict[str, tuple[Any, ...]]:
        """Persons already in the registry, by external id (of those first seen here):
        external id -> (id, village id, merged into, the four names)."""
        sql, params = self._sql.persons_by_ext, (self.max_person_id, self._sql.stamp)
        found = {ext: tuple(rest) for ext, *rest in _select(sql, list(new), params)}
        if not found:
            self.outcome.persons_created += len(new)
            return found
        column = self.header_of["person_external_id"]
        for r in rows:
            known = found.get(r.person)
            if known is None or new.get(r.person) != r.number:
                continue
            _pk, village_id, merged_into = known[:3]
            if known[-1]:  # written by this import, from an earlier row
                del found[r.person]
                self._duplicate_person(r, None, column)
            elif merged_into:
                self.problem(
                    r.number,
                    column,
                    _(
                        "Person %(id)s was merged into record #%(kept)d; give that record's "
                        "external id instead."
                    )
                    % {"id": r.person, "kept": merged_into},
                )
            elif self.allowed is not None and village_id not in self.allowed:
                self.problem(
                    r.number,
                    column,
                    _(
                        "Person %(id)s is registered in a village outside the areas where you "
                        "may register people."
                    )
                    % {"id": r.person},
                )
        self.outcome.persons_updated += len(found)
        self.outcome.persons_created += len(new) - len(found)
        return found


def _allowed_villages(actor: Any) -> set[int] | None:
    """Ids of the villages the actor may register people in (None: everywhere)."""
    if access.is_system(actor):
        return None
    return set(
        access.areas_in_scope(actor, CHANGE_PERSONS)
        .filter(level=Level.VILLAGE)
        .values_list("id", flat=True)
    )


def _split_code(raw: str) -> tuple[str, list[str]]:
    """'KH-20010301' -> ('KH', ['20010301']); a spreadsheet keeps 01020101 as the number
    1020101, so a short all-digit code is also tried with its zeros back."""
    country, bare = "", raw
    if len(raw) > 3 and raw[2] == "-" and raw[:2].isalpha():
        country, bare = raw[:2].upper(), raw[3:]
    candidates = [bare]
    if bare.isdigit() and len(bare) < 8:
        candidates.append(bare.zfill(8))
    return country, candidates


def _resolve_villages(codes: set[str], today: dt.date) -> dict[str, int | str]:
    """The village each official code names (e.g. 20010301 or KH-20010301), or why none
    does; one query for all of them."""
    split = {code: _split_code(code.strip()) for code in codes}
    wanted = {c for _country, candidates in split.values() for c in candidates}
    by_code: dict[str, list[tuple[Any, ...]]] = {}
    rows = (
        Area.objects.filter(code__in=wanted)
        .exclude(level=Level.COUNTRY)
        .values_list("code", "id", "level", "country", "valid_from", "valid_to")
    )
    for code, *rest in rows:
        by_code.setdefault(code, []).append(tuple(rest))
    out: dict[str, int | str] = {}
    for code, (country, candidates) in split.items():
        areas: list[tuple[Any, ...]] = []
        for candidate in candidates:
            areas = [a for a in by_code.get(candidate, []) if not country or a[2] == country]
            if areas:
                break
        out[code] = _one_village(code.strip(), areas, today)
    return out


def _one_village(raw: str, areas: list[tuple[Any, ...]], today: dt.date) -> int | str:
    """Of the areas (id, level, country, valid from, valid to) a code names, the village."""
    if not areas:
        return _("No village has the code %(code)s.") % {"code": raw}
    villages = [a for a in areas if a[1] == Level.VILLAGE]
    if not villages:
        level = str(Level(areas[0][1]).label).lower()
        return _("%(code)s is a %(level)s, not a village.") % {"code": raw, "level": level}
    current = [
        a for a in villages if (a[3] is None or a[3] <= today) and (a[4] is None or a[4] >= today)
    ]
    choice = current or villages
    if len(choice) > 1:
        return _(
            "Village code %(code)s is used in more than one country; write it as "
            "KH-%(code)s or VN-%(code)s."
        ) % {"code": raw}
    return int(choice[0][0])


def _village_code(village_id: str) -> str:
    if not village_id.isdigit() or village_id == "0":
        return village_id
    area = Area.objects.filter(pk=int(village_id)).values_list("country", "code").first()
    return f"{area[0]}-{area[1]}" if area else village_id


@lru_cache(maxsize=8192)
def _search_text(family_local: str, given_local: str, family_latin: str, given_latin: str) -> str:
    """The person's search text as registration writes it (names folded, spelling-variant
    keys); remembered for the last names seen, as they repeat."""
    return services.search_text_for(family_local, given_local, family_latin, given_latin)


class _Sql:
    """The queries and writes of a pass: inserts (COPY on PostgreSQL, executemany
    elsewhere) and updates (executemany) of the columns the file maps."""

    def __init__(self, p: _Pass) -> None:
        self.p = p
        ops = connection.ops
        q = ops.quote_name
        self.stamp = ops.adapt_datetimefield_value(p.now)
        self._json: dict[tuple[str, ...], str] = {}
        self.hh_json_pos = [i for i, attr in enumerate(HOUSEHOLD_DATA) if attr in JSON_COLUMNS]
        h, pt = q(Household._meta.db_table), q(Person._meta.db_table)
        self.h_table, self.p_table = h, pt
        ext, not_blank = q("external_id"), f"NOT ({q('external_id')} = '')"
        # Quoted names of our own tables and columns; every value is a parameter.
        # "NOT (... = '')" lets SQLite use the partial index on external ids.
        self.households_by_ext = (
            f"SELECT {ext}, id, village_id FROM {h} WHERE {ext} {KEYS} AND {not_blank}"  # noqa: S608
        )
        self.households_by_code = f"SELECT code, {ext} FROM {h} WHERE code {KEYS}"  # noqa: S608
        # The last column says whether this pass wrote the row (params: the largest
        # person id before the pass, and the pass's time stamp).
        self.persons_by_ext = (
            f"SELECT p.{ext}, p.id, h.village_id, p.merged_into_id, p.family_name_local, "  # noqa: S608
            "p.given_name_local, p.family_name_latin, p.given_name_latin, "
            f"(p.id > %s OR p.{q('updated_at')} = %s) "
            f"FROM {pt} p JOIN {h} h ON h.id = p.household_id "
            f"WHERE p.{ext} {KEYS} AND NOT (p.{ext} = '')"
        )
        self.hh_insert_cols = [
            "created_at",
            "updated_at",
            "created_by_id",
            "external_id",
            "code",
            "village_id",
            *HOUSEHOLD_DATA,
        ]
        self.p_insert_cols = [
            "created_at",
            "updated_at",
            "created_by_id",
            "external_id",
            "household_id",
            *PERSON_DATA,
            "search_text",
        ]
        # Updates change only what the file maps.
        self.hh_update_pos = sorted({pos for _name, pos in p.hh_agreed})
        person_pos = {s[3] for s in p.person_steps if s[3] < P_EXT}
        if p.has_age:
            person_pos |= {DOB, ESTIMATED}
        self.p_update_pos = sorted(person_pos)
        sets = ", ".join(
            f"{q(c)} = %s" for c in ["village_id", *(HOUSEHOLD_DATA[i] for i in self.hh_update_pos)]
        )
        keep_code = f"{q('code')} = COALESCE(%s, {q('code')})"
        self.hh_update_sql = (
            f"UPDATE {h} SET {sets}, {keep_code}, {q('updated_at')} = %s WHERE id = %s"  # noqa: S608
        )
        sets = ", ".join(
            f"{q(c)} = %s"
            for c in ["household_id", *(PERSON_DATA[i] for i in self.p_update_pos), "search_text"]
        )
        self.p_update_sql = f"UPDATE {pt} SET {sets}, {q('updated_at')} = %s WHERE id = %s"  # noqa: S608

    def _json_text(self, value: tuple[str, ...]) -> str:
        """A list as JSON text: what an insert writes to a JSON column (COPY and SQLite
        take the text as it is, so it is written once per distinct list, not per row)."""
        hit = self._json.get(value)
        if hit is None:
            hit = json.dumps(list(value))
            if len(self._json) < 1000:
                self._json[value] = hit
        return hit

    def _json_param(self, value: tuple[str, ...]) -> Any:
        """A list as an UPDATE's parameter for a JSON column."""
        return connection.ops.adapt_json_value(list(value), None)

    def _household_data(self, data: list[Any], json_value: Callable[[Any], Any]) -> list[Any]:
        out = data.copy()
        for i in self.hh_json_pos:
            out[i] = json_value(out[i])
        return out

    def write(
        self,
        rows: list[_Row],
        plans: dict[str, _HouseholdPlan],
        persons: dict[str, tuple[Any, ...]],
    ) -> None:
        ids = self._write_households(plans)
        self._write_persons(rows, ids, persons)

    def _write_households(self, plans: dict[str, _HouseholdPlan]) -> dict[str, int]:
        stamp, user = self.stamp, self.p.user_id
        ids: dict[str, int] = {}
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        for ext, plan in plans.items():
            household = plan.row.household
            if plan.action == INSERT:
                data = self._household_data(household.data, self._json_text)
                inserts.append((stamp, stamp, user, ext, plan.code, household.village_id, *data))
                continue
            assert plan.existing_id is not None
            ids[ext] = plan.existing_id
            if plan.action == UPDATE:
                data = self._household_data(household.data, self._json_param)
                changed = [data[i] for i in self.hh_update_pos]
                updates.append((household.village_id, *changed, plan.code, stamp, plan.existing_id))
        _insert_rows(self.h_table, self.hh_insert_cols, inserts)
        if updates:
            with connection.cursor() as c:
                c.executemany(self.hh_update_sql, updates)
        if inserts:
            created = _select(self.households_by_ext, [r[3] for r in inserts])
            ids.update((ext, pk) for ext, pk, _village in created)
        return ids

    def _write_persons(
        self, rows: list[_Row], ids: dict[str, int], persons: dict[str, tuple[Any, ...]]
    ) -> None:
        stamp, user = self.stamp, self.p.user_id
        json_text = self._json_text
        update_pos = self.p_update_pos
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        cache = self._json
        for r in rows:
            data = r.data  # the batch is done with after this: no copy needed
            household_id = ids[r.household.ext]
            known = persons.get(r.person) if persons else None
            if known is None:
                docs = cache.get(data[DOCUMENTS])
                data[DOCUMENTS] = json_text(data[DOCUMENTS]) if docs is None else docs
                search = _search_text(data[2], data[3], data[4], data[5])
                inserts.append((stamp, stamp, user, r.person, household_id, *data, search))
                continue
            names = [
                data[pos] if pos in update_pos else known[3 + i]
                for i, pos in enumerate((FAMILY_LOCAL, GIVEN_LOCAL, FAMILY_LATIN, GIVEN_LATIN))
            ]
            data[DOCUMENTS] = self._json_param(data[DOCUMENTS])
            changed = [data[i] for i in update_pos]
            updates.append((household_id, *changed, _search_text(*names), stamp, known[0]))
        _insert_rows(self.p_table, self.p_insert_cols, inserts)
        if updates:
            with connection.cursor() as c:
                c.executemany(self.p_update_sql, updates)
