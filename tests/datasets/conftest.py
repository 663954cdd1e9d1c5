"""Fixtures for the dataset-validation tests: writing JSONL files and validating them."""

from __future__ import annotations

import json

import pytest

from openft.datasets import DatasetReport, validate_dataset


@pytest.fixture
def jsonl(tmp_path):
    """make(rows) -> path of a JSONL file; dict rows are JSON-encoded, str rows written verbatim."""

    def make(rows, name="data.jsonl"):
        path = tmp_path / name
        lines = (row if isinstance(row, str) else json.dumps(row) for row in rows)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path

    return make


@pytest.fixture
def validate(jsonl):
    """validate(rows, method=..., role=...) -> DatasetReport for a file named file-test."""

    def run(rows, *, method="supervised", role="training") -> DatasetReport:
        return validate_dataset(jsonl(rows), method=method, file_id="file-test", role=role)

    return run
