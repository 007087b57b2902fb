"""Reading a registry file one row at a time: CSV with the csv module (UTF-8, with or
without a byte-order mark) and XLSX with openpyxl in read-only mode, so memory does
not grow with the file."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _

from .fields import cell_text

FORMATS = ("csv", "xlsx")


class FileProblem(Exception):
    """The file as a whole cannot be read from `row` on (wrong encoding, not a workbook...)."""

    def __init__(self, message: str, row: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.row = row


Row = tuple[int, Sequence[Any]]


@dataclass
class Table:
    headers: list[str]  # as in the file; a column without a name is called after its letter
    rows: Iterator[Row]  # (row number as the file or spreadsheet shows it, cells)
    total_hint: int | None  # about how many data rows (for a progress bar), if known


def file_format(name: str) -> str:
    """'csv' or 'xlsx' from a file name; '' for anything else."""
    suffix = Path(name).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else ""


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _headers(cells: Sequence[Any]) -> list[str]:
    headers = [cell_text(c) for c in cells]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise FileProblem(_("The first row is empty: it must hold the column names."), row=1)
    named = [
        h or _("(column %(letter)s)") % {"letter": column_letter(i)} for i, h in enumerate(headers)
    ]
    seen: set[str] = set()
    for name in named:
        if name in seen:
            raise FileProblem(
                _("Two columns are called %(name)s: rename one of them.") % {"name": repr(name)},
                row=1,
            )
        seen.add(name)
    return named


def _not_utf8(row: int, exc: UnicodeDecodeError, position: int) -> FileProblem:
    return FileProblem(
        _(
            "The file is not UTF-8 text (byte 0x%(byte)s at position %(pos)d of this row "
            "cannot be read). Save it from the spreadsheet as “CSV UTF-8” and try again."
        )
        % {"byte": exc.object[exc.start : exc.start + 1].hex().upper(), "pos": position + 1},
        row=row,
    )


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def _csv_table(f: IO[bytes], path: Path) -> Table:
    start = f.read(4)
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem(
            _(
                "The file is UTF-16 text. Save it from the spreadsheet as “CSV UTF-8” "
                "and try again."
            ),
            row=1,
        )
    f.seek(0)

    def lines() -> Iterator[str]:
        # Decoded a block of whole lines at a time (fast); a byte that is not UTF-8 is
        # reported with the line it is on.
        done = 0  # lines before the block
        rest = b""
        first = True
        while True:
            chunk = f.read(1 << 20)
            if chunk:
                chunk = rest + chunk
                cut = chunk.rfind(b"\n") + 1
                if not cut:
                    rest = chunk
                    continue
                block, rest = chunk[:cut], chunk[cut:]
            elif rest:
                block, rest = rest, b""
            else:
                return
            try:
                text = block.decode("utf-8")
            except UnicodeDecodeError as exc:
                good = block.rfind(b"\n", 0, exc.start) + 1
                if good:
                    yield from io.StringIO(block[:good].decode("utf-8"), newline="")
                row = done + block.count(b"\n", 0, exc.start) + 1
                raise _not_utf8(row, exc, exc.start - good) from None
            if first:
                text = text.removeprefix("\ufeff")
                first = False
            done += block.count(b"\n")
            yield from io.StringIO(text, newline="")

    source = lines()
    try:
        first = next(source)
    except StopIteration:
        raise FileProblem(_("The file is empty."), row=1) from None
    # Spreadsheets in some locales write ; or tab between cells.
    delimiter = max((",", ";", "\t"), key=first.count)

    def chained() -> Iterator[str]:
        yield first
        yield from source

    reader = csv.reader(chained(), delimiter=delimiter)
    try:
        headers = _headers(next(reader))
    except csv.Error as exc:
        raise FileProblem(_("Row 1 cannot be read as CSV: %(error)s") % {"error": exc}, 1) from None

    def rows() -> Iterator[Row]:
        number = 1
        try:
            for cells in reader:
                number += 1
                # Blank rows (a spreadsheet's trailing ones) are skipped.
                if cells and (cells[0].strip() or "".join(cells).strip()):
                    yield number, cells
        except csv.Error as exc:
            raise FileProblem(
                _("This row cannot be read as CSV: %(error)s") % {"error": exc}, number + 1
            ) from None

    return Table(headers, rows(), max(_count_lines(path) - 1, 0))


def _xlsx_table(path: Path, sheet: str, stack: list[Any]) -> Table:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError):
        raise FileProblem(
            _("The file is not an Excel workbook (.xlsx); save it as .xlsx or as CSV UTF-8.")
        ) from None
    stack.append(book)
    if sheet:
        if sheet not in book.sheetnames:
            raise FileProblem(
                _("The workbook has no sheet %(sheet)s; its sheets are: %(sheets)s.")
                % {"sheet": repr(sheet), "sheets": ", ".join(book.sheetnames)}
            )
        ws = book[sheet]
    else:
        ws = book.worksheets[0]
    source = ws.iter_rows(min_row=1, values_only=True)
    try:
        headers = _headers(next(source))
    except StopIteration:
        raise FileProblem(_("The sheet is empty."), row=1) from None

    def rows() -> Iterator[Row]:
        for number, cells in enumerate(source, start=2):
            if any(c is not None and c != "" for c in cells):
                yield number, cells

    total = ws.max_row - 1 if isinstance(ws.max_row, int) and ws.max_row > 1 else None
    return Table(headers, rows(), total)


def sheet_names(path: Path) -> list[str]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True)
    except Exception:
        return []
    try:
        return list(book.sheetnames)
    finally:
        book.close()


@contextmanager
def open_table(path: Path | str, fmt: str, sheet: str = "") -> Iterator[Table]:
    """The file's column names and an iterator over its non-empty rows.

    Raises FileProblem (with the row) for a file that cannot be read as a whole;
    iterating may raise it too, for a row that cannot be decoded.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise FileProblem(_("Only .csv and .xlsx files can be imported."))
    if fmt == "csv":
        with path.open("rb") as f:
            yield _csv_table(f, path)
        return
    opened: list[Any] = []
    try:
        yield _xlsx_table(path, sheet, opened)
    finally:
        for book in opened:
            book.close()
