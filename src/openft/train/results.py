"""The result file: ``step_metrics.csv`` with OpenAI's columns, stored base64-encoded because
OpenAI's ``GET /files/{id}/content`` returns result files that way."""

from __future__ import annotations

import base64
import csv
import io

COLUMNS = ("step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy")
SOURCES = {"train_accuracy": "train_mean_token_accuracy"}


def _cell(value) -> str:
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else f"{value:.5f}"


def step_metrics_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(SOURCES.get(column, column))) for column in COLUMNS])
    return out.getvalue()


def encoded(csv_text: str) -> bytes:
    return base64.b64encode(csv_text.encode())
