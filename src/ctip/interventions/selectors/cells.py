"""Small-cell suppression: what a reader who may see figures but not persons is shown.

ctip's rule: a reader holding VIEW_AGGREGATES but not VIEW_PERSONS in an area (a
donor) never sees a count of persons, or of their loans, from 1 to SMALL_CELL - 1 there:
it is hidden (None here, "<5" on pages, null in the API). When a total is shown and
exactly one of its parts is hidden, the next smallest non-zero part is hidden too, so
the hidden one cannot be worked out by subtraction; when the total is hidden, so are
all its parts. Amounts of money follow the count of the loans (or activities) behind
them. Readers who see the area's persons get exact figures.

Every part of the interventions that shows such figures uses these functions: the
per-area summary, the home page, the loan portfolio and the reach of awareness events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ctip.accounts import access
from ctip.accounts.roles import VIEW_PERSONS
from ctip.geography.models import Area

# Counts from 1 to SMALL_CELL - 1 are not shown to readers who may not see persons.
SMALL_CELL = 5
HIDDEN = f"<{SMALL_CELL}"

K = TypeVar("K")


def small(n: int | None) -> int | None:
    """The count as shown: None when hidden already or from 1 to SMALL_CELL - 1."""
    return None if n is None or 0 < n < SMALL_CELL else n


def hidden_cells(total: int | None, cells: Mapping[Any, int | None]) -> set[Any]:
    """Keys of `cells` (parts of `total`) to hide: every count from 1 to 4, and when
    only one is hidden while the total shows, the next smallest non-zero one too, so
    the hidden one cannot be worked out by subtraction. All of them when the total
    is hidden (they would add up to it)."""
    if total is None:
        return set(cells)
    hidden = {k for k, n in cells.items() if n is None or 0 < n < SMALL_CELL}
    if len(hidden) == 1:
        others = sorted(
            ((n, str(k), k) for k, n in cells.items() if k not in hidden and n), key=lambda x: x[:2]
        )
        if others:
            hidden.add(others[0][2])
    return hidden


def parts_hidden(total: int | None, parts: Sequence[int | None]) -> set[int]:
    """Indexes of `parts` to hide beside their (raw) total: `hidden_cells` of the
    shown total."""
    return hidden_cells(small(total), dict(enumerate(parts)))


def shown_parts(total: int | None, parts: Mapping[K, int | None]) -> dict[K, int | None]:
    """`parts` as shown beside `total` (already as shown): hidden ones are None."""
    hide = hidden_cells(total, parts)
    return {k: None if k in hide else n for k, n in parts.items()}


def text(n: int | None) -> str:
    """A count as a page shows it: the number, or "<5" when hidden."""
    return HIDDEN if n is None else str(n)


# --------------------------------------------------------------------------------------
# A table of counts with its row and column totals (sex by age band, say).


@dataclass
class Table:
    cells: list[list[int | None]]
    row_totals: list[int | None]
    column_totals: list[int | None]
    total: int | None


def exact_table(cells: Sequence[Sequence[int]]) -> Table:
    rows = [list(r) for r in cells]
    width = len(rows[0]) if rows else 0
    grid: list[list[int | None]] = [[n for n in r] for r in rows]
    return Table(
        cells=grid,
        row_totals=[sum(r) for r in rows],
        column_totals=[sum(r[j] for r in rows) for j in range(width)],
        total=sum(sum(r) for r in rows),
    )


def suppress_table(cells: Sequence[Sequence[int]]) -> Table:
    """The table as a reader without the right to see persons is shown it: the rule
    of `hidden_cells` applied to every row against its total, every column against
    its total, and the row and column totals against the grand total, again and again
    until nothing more is hidden (each pass only hides, so it ends).

    A cell hidden for another line's sake can be left alone in a line whose other
    cells are all 0: then a 0 is hidden beside it (hidden cells are not told apart),
    or, in a line of one cell, the line's total."""
    exact = exact_table(cells)
    table = Table(
        cells=[[small(n) for n in row] for row in exact.cells],
        row_totals=[small(n) for n in exact.row_totals],
        column_totals=[small(n) for n in exact.column_totals],
        total=small(exact.total),
    )
    width = len(table.column_totals)

    def protect(total: int | None, parts: list[int | None]) -> tuple[bool, int | None]:
        """Hide what the line needs hidden, in place; whether anything changed, and the
        line's total as shown now."""
        changed = False
        for i in hidden_cells(total, dict(enumerate(parts))):
            if parts[i] is not None:
                parts[i] = None
                changed = True
        if total is not None and parts.count(None) == 1:
            zeros = [i for i, n in enumerate(parts) if n is not None]
            if zeros:  # only 0s are left shown (hidden_cells took any other)
                parts[zeros[0]] = None
            else:
                total = None
            changed = True
        return changed, total

    changed = True
    while changed:
        changed, table.total = protect(table.total, table.row_totals)
        more, table.total = protect(table.total, table.column_totals)
        changed |= more
        for i, row in enumerate(table.cells):
            more, table.row_totals[i] = protect(table.row_totals[i], row)
            changed |= more
        for j in range(width):
            column = [row[j] for row in table.cells]
            more, table.column_totals[j] = protect(table.column_totals[j], column)
            changed |= more
            for i, row in enumerate(table.cells):
                row[j] = column[i]
    return table


# --------------------------------------------------------------------------------------
# Who sees exact figures where.


class ExactScope:
    """Where an actor sees exact figures: the areas where they may see persons. One
    query, then any number of areas (or area paths) checked without another."""

    def __init__(self, actor: Any) -> None:
        self.paths: list[str] = access.scope_paths(actor, VIEW_PERSONS)

    def covers_path(self, path: str) -> bool:
        return any(path.startswith(p) for p in self.paths)

    def covers(self, area: Area) -> bool:
        return self.covers_path(area.path)

    def covers_all(self, paths: Iterable[str]) -> bool:
        return all(self.covers_path(p) for p in paths)


def exact_in(actor: Any, area: Area) -> bool:
    """Whether the actor sees exact figures for `area` (they may see its persons)."""
    return access.can_act_in(actor, VIEW_PERSONS, area)


__all__ = [
    "HIDDEN",
    "SMALL_CELL",
    "ExactScope",
    "Table",
    "exact_in",
    "exact_table",
    "hidden_cells",
    "parts_hidden",
    "shown_parts",
    "small",
    "suppress_table",
    "text",
]
