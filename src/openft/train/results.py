"""The result file: ``step_metrics.csv``, one row per step, stored base64-encoded because
OpenAI's ``GET /files/{id}/content`` returns result files that way.

Supervised jobs get OpenAI's columns; DPO jobs get the DPO figures (metrics.py) for training
steps and validation mini-batches. Reinforcement jobs get one row per step and one for step 0
(the evaluation before training): the mean train reward of the step's samples, the mean
validation reward at evaluation steps, the share of samples whose grading failed (train and
validation) and the mean completion length in tokens. Cells are empty where a step has no
such figure.
"""

from __future__ import annotations

import base64
import csv
import io

COLUMNS = {
    "supervised": ("step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy"),
    "dpo": (
        "step",
        "train_loss",
        "train_rewards_chosen",
        "train_rewards_rejected",
        "train_reward_margin",
        "train_reward_accuracy",
        "valid_loss",
        "valid_rewards_chosen",
        "valid_rewards_rejected",
        "valid_reward_margin",
        "valid_reward_accuracy",
    ),
    "reinforcement": (
        "step",
        "train_mean_reward",
        "full_valid_mean_reward",
        "train_error_rate",
        "full_valid_error_rate",
        "completion_tokens_mean",
    ),
}
SOURCES = {"train_accuracy": "train_mean_token_accuracy"}


def _cell(value: object) -> str:
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else f"{value:.5f}"


def step_metrics_csv(rows: list[dict], method: str = "supervised") -> str:
    columns = COLUMNS[method]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(SOURCES.get(column, column))) for column in columns])
    return out.getvalue()


def encoded(csv_text: str) -> bytes:
    return base64.b64encode(csv_text.encode())
