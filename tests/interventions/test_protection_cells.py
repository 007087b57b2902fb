"""The small-cell rule itself (selectors/cells.py): which counts a reader who sees figures
but not persons is shown, in a list of parts, in a table with its margins, and in the
loan portfolio, where amounts go with the count of loans behind them."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

from ctip.interventions.selectors import cells
from ctip.interventions.selectors import summary as summary_selectors
from ctip.interventions.selectors.loans import PortfolioFigures, portfolio_shown

D = Decimal


def test_counts_from_one_to_four_are_hidden_and_so_is_their_complement() -> None:
    assert [cells.small(n) for n in (0, 1, 4, 5, None)] == [0, None, None, 5, None]
    assert cells.shown_parts(10, {"f": 7, "m": 3}) == {"f": None, "m": None}
    assert cells.shown_parts(20, {"f": 3, "m": 2, "o": 15}) == {"f": None, "m": None, "o": 15}
    assert cells.shown_parts(12, {"f": 12, "m": 0}) == {"f": 12, "m": 0}
    assert cells.shown_parts(None, {"f": 8, "m": 0}) == {"f": None, "m": None}
    assert cells.parts_hidden(9, [4, 0, 5]) == {0, 2}
    assert cells.text(None) == "<5" and cells.text(3) == "3"


def test_the_summary_uses_the_one_definition() -> None:
    assert summary_selectors.hidden_cells is cells.hidden_cells
    assert summary_selectors.SMALL_CELL == cells.SMALL_CELL == 5


def _derivable(table: cells.Table) -> list[str]:
    """Lines whose one hidden cell could be worked out from the shown total and cells."""
    lines: list[tuple[str, int | None, list[int | None]]] = [
        ("rows", table.total, table.row_totals),
        ("columns", table.total, table.column_totals),
    ]
    lines += [(f"row {i}", table.row_totals[i], row) for i, row in enumerate(table.cells)]
    lines += [
        (f"column {j}", table.column_totals[j], [row[j] for row in table.cells])
        for j in range(len(table.column_totals))
    ]
    return [name for name, total, parts in lines if total is not None and parts.count(None) == 1]


def test_a_table_hides_small_cells_with_a_partner_in_every_row_and_column() -> None:
    grid = [[10, 3, 0], [9, 12, 6]]
    table = cells.suppress_table(grid)
    assert table.total == 40
    assert table.cells[0][1] is None  # the 3
    assert _derivable(table) == []
    # Nothing hidden is shown; what is shown is exact.
    exact = cells.exact_table(grid)
    for i, j in itertools.product(range(2), range(3)):
        assert table.cells[i][j] in (None, exact.cells[i][j])
    assert cells.exact_table(grid).row_totals == [13, 27]


def test_every_small_table_is_protected() -> None:
    for a, b, c, d in itertools.product((0, 2, 6), (0, 1, 7), (0, 4), (3, 9)):
        table = cells.suppress_table([[a, b], [c, d]])
        assert _derivable(table) == [], (a, b, c, d)
        shown = [n for row in table.cells for n in row if n is not None]
        assert not [n for n in shown if 0 < n < 5], (a, b, c, d)


def test_random_tables_of_sex_by_age_band_are_protected() -> None:
    rng = random.Random(20260101)
    for _ in range(400):
        rows, columns = rng.randint(1, 4), rng.randint(1, 7)
        grid = [
            [rng.choice((0, 0, 1, 2, 4, 5, 6, 11)) for _j in range(columns)] for _i in range(rows)
        ]
        table = cells.suppress_table(grid)
        assert _derivable(table) == [], grid
        exact = cells.exact_table(grid)
        shown = [
            (n, e)
            for n, e in zip(
                [
                    table.total,
                    *table.row_totals,
                    *table.column_totals,
                    *itertools.chain(*table.cells),
                ],
                [
                    exact.total,
                    *exact.row_totals,
                    *exact.column_totals,
                    *itertools.chain(*exact.cells),
                ],
                strict=True,
            )
            if n is not None
        ]
        assert all(n == e and not 0 < n < 5 for n, e in shown), grid


def _figures(area: int, live: int, disbursed: int, outstanding: str) -> PortfolioFigures:
    return PortfolioFigures(
        area_id=area,
        currency="KHR",
        active_loans=live,
        outstanding_principal=D(outstanding),
        at_risk_principal=D(0),
        par30=D(0),
        due_to_date=D(1000),
        paid_of_due=D(1000),
        repayment_rate=D(1),
        disbursed_loans=disbursed,
    )


def test_portfolio_amounts_go_with_the_count_of_loans_behind_them() -> None:
    total = _figures(1, 9, 9, "900")
    small, large = _figures(2, 3, 3, "300"), _figures(3, 6, 6, "600")
    (t,), ((s,), (g,)) = portfolio_shown([total], [[small], [large]], exact=False)
    assert (t.active_loans, t.outstanding_principal) == (9, D(900))
    # 3 loans: hidden with their amounts; 6 hidden too, or 900 - 600 would give 300.
    assert (s.active_loans, s.outstanding_principal, s.repayment_rate) == (None, None, None)
    assert (g.active_loans, g.outstanding_principal) == (None, None)
    (t,), ((s,), (g,)) = portfolio_shown([total], [[small], [large]], exact=True)
    assert (s.active_loans, s.outstanding_principal) == (3, D(300))


def test_a_repayment_rate_of_a_few_closed_loans_is_hidden() -> None:
    # Nothing being repaid any more (0 is shown) but three loans behind what fell due.
    closed = _figures(1, 0, 3, "0")
    (shown,), _parts = portfolio_shown([closed], [], exact=False)
    assert shown.active_loans == 0 and shown.outstanding_principal == D(0)
    assert shown.disbursed_loans is None and shown.repayment_rate is None
    assert shown.due_to_date is None and shown.paid_of_due is None
