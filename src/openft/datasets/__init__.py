"""Validation of fine-tuning JSONL files (chat, completion, preference, reinforcement), pure Python.

    report = validate_dataset(path, method="supervised", file_id="file-abc")
    if report.error:  # a JobFileError: store {code, message, param} on the job
        ...

report.errors lists every row error of the file (line, field, message), not just the first.
"""

from openft.datasets.report import DatasetReport, JobFileError, RowError
from openft.datasets.scan import validate_dataset

__all__ = ["DatasetReport", "JobFileError", "RowError", "validate_dataset"]
