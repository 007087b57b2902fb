"""Bulk import of households and persons from CSV and XLSX files.

One row per person, carrying its household's columns; rows with the same household
external id form one household. A dry run (`import_job_check`) reports every problem
by row and column and writes nothing; the import (`import_job_run`) checks again and
writes everything in one transaction, or nothing. Re-importing a file updates the
households and persons whose external id is already in the registry.
"""

from .engine import BATCH_ROWS, MAX_PROBLEMS, Outcome, Problem, derived_code
from .fields import FIELDS, FIELDS_BY_NAME, guess_mapping, mapping_errors
from .jobs import (
    CHECK,
    IMPORT,
    columns_of,
    headers_of,
    import_job_check,
    import_job_create,
    import_job_get,
    import_job_map,
    import_job_run,
    import_job_start,
    import_jobs_visible_to,
    is_busy,
    problem_text,
    progress_of,
    sheet_of,
)
from .reader import FileProblem, file_format, open_table

__all__ = [
    "BATCH_ROWS",
    "CHECK",
    "FIELDS",
    "FIELDS_BY_NAME",
    "IMPORT",
    "MAX_PROBLEMS",
    "FileProblem",
    "Outcome",
    "Problem",
    "columns_of",
    "derived_code",
    "file_format",
    "guess_mapping",
    "headers_of",
    "import_job_check",
    "import_job_create",
    "import_job_get",
    "import_job_map",
    "import_job_run",
    "import_job_start",
    "import_jobs_visible_to",
    "is_busy",
    "mapping_errors",
    "open_table",
    "problem_text",
    "progress_of",
    "sheet_of",
]
