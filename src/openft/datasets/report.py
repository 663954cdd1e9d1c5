"""The results of validating a dataset: row errors, the job-level error and the report."""

from __future__ import annotations

from dataclasses import dataclass

# What a row check yields before the line number is known: (field path or None, message).
Problem = tuple[str | None, str]


@dataclass(frozen=True)
class RowError:
    """One problem in one line of the file."""

    line: int  # 1-based line number in the file
    field: str | None  # e.g. "messages[2].role"; None for a whole-line error
    message: str  # e.g. "Discriminator 'role' is missing in value"


@dataclass(frozen=True)
class JobFileError:
    """Why a job cannot use the file; rendered into job.error = {code, message, param}."""

    code: str  # "invalid_training_file" | "invalid_validation_file" | "invalid_n_examples"
    message: str
    param: str | None  # "training_file" | "validation_file"; None when no file is at fault


@dataclass
class DatasetReport:
    """Everything validation learned about one file for one job."""

    format: str | None  # "chat" | "completion" | "preference" | "reinforcement" | None
    n_examples: int
    errors: list[RowError]  # every row error of the file, in line order
    error: JobFileError | None  # the job-level error; None when the job can use the file
