"""Scan: validating one JSONL file for one fine-tuning job, in a single streaming pass."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from openft.datasets import job_error
from openft.datasets.examples import CHECKS
from openft.datasets.formats import accepts, check_arguments, detect_format, mixed_row, unexpected_row
from openft.datasets.jsonl import read_rows
from openft.datasets.report import DatasetReport, JobFileError, Problem, RowError


@dataclass
class Scan:
    """What one pass over the file has learned so far."""

    method: str
    format: str | None = None  # the format of the first row in a known format
    n_examples: int = 0
    errors: list[RowError] = field(default_factory=list)
    unrecognized: bool = False  # some JSON object row was in no known format

    def add(self, line: int, row: dict[str, Any] | str) -> None:
        self.n_examples += 1
        for path, message in self.problems(row):
            self.errors.append(RowError(line=line, field=path, message=message))

    def problems(self, row: dict[str, Any] | str) -> Iterator[Problem]:
        if isinstance(row, str):
            yield None, row
            return
        row_format = detect_format(row, method=self.method)
        if row_format is None:
            self.unrecognized = True
            yield None, unexpected_row(self.method)
            return
        self.format = self.format or row_format
        if row_format != self.format:
            yield None, mixed_row(row_format, self.format)
            return
        yield from CHECKS[row_format](row)


def validate_dataset(
    path: str | os.PathLike[str], *, method: str, file_id: str, role: str = "training"
) -> DatasetReport:
    """Check a fine-tuning file for a job with `method` ("supervised" | "dpo" | "reinforcement").

    `role` is "training" or "validation". Every row error of the file is collected; `error`
    is the job-level failure to store on the job, or None when the job can use the file.
    """
    check_arguments(method=method, role=role)
    scan = Scan(method=method)
    for line, row in read_rows(path):
        scan.add(line, row)
    error = decide(scan, file_id=file_id, role=role)
    return DatasetReport(scan.format, scan.n_examples, scan.errors, error)


def decide(scan: Scan, *, file_id: str, role: str) -> JobFileError | None:
    """The one job error to report, most fundamental first."""
    method = scan.method
    if scan.format is None and scan.unrecognized:
        return job_error.unexpected_format(method=method, role=role)
    if scan.format is not None and not accepts(method, scan.format):
        return job_error.method_mismatch(file_format=scan.format, method=method, file_id=file_id, role=role)
    if scan.errors:
        return job_error.row_errors(scan.errors, role=role)
    return job_error.n_examples(scan.n_examples, method=method, role=role)
