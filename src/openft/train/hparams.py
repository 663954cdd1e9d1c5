"""Hyperparameters: resolve OpenAI's "auto" values into numbers, and plan the steps.

Pure Python (no torch): the API process imports it. The rules follow the reference,
section 7: the cookbook's n_epochs heuristic, batch_size about 0.2% of the examples
capped at 256, and an "auto" learning-rate multiplier of 1.0 on the base model's
learning rate.
"""

import math

AUTO = "auto"

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

MAX_AUTO_BATCH_SIZE = 256
AUTO_BATCH_FRACTION = 0.002
AUTO_LEARNING_RATE_MULTIPLIER = 1.0
AUTO_DPO_BETA = 0.1


def resolve_hyperparameters(
    requested: dict | None,
    *,
    n_examples: int,
    base_learning_rate: float | None = None,
    method: str = "supervised",
) -> dict:
    """Return ``requested`` with every "auto" or missing value replaced by a number.

    The keys are the OpenAI ones (batch_size, learning_rate_multiplier, n_epochs, and beta
    for "dpo"); explicit values are kept as given. The learning rate itself is not a job
    field: get it with ``learning_rate(resolved, base_learning_rate)``.
    ``base_learning_rate`` is accepted for callers that pass it and has no effect here.
    """
    requested = dict(requested or {})
    resolved = {
        "batch_size": _pick(requested, "batch_size", lambda: auto_batch_size(n_examples)),
        "learning_rate_multiplier": _pick(
            requested, "learning_rate_multiplier", lambda: AUTO_LEARNING_RATE_MULTIPLIER
        ),
        "n_epochs": _pick(requested, "n_epochs", lambda: auto_n_epochs(n_examples)),
    }
    if method == "dpo":
        resolved["beta"] = _pick(requested, "beta", lambda: AUTO_DPO_BETA)
    return resolved


def learning_rate(hyperparameters: dict, base_learning_rate: float) -> float:
    """The optimizer's learning rate: the base model's rate times the job's multiplier."""
    return base_learning_rate * float(hyperparameters["learning_rate_multiplier"])


def auto_n_epochs(n_examples: int) -> int:
    """The OpenAI cookbook's default: aim at 3 epochs, but at least ~100 and at most ~25k examples seen."""
    n = max(1, n_examples)
    if n * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n)
    if n * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n)
    return TARGET_EPOCHS


def auto_batch_size(n_examples: int) -> int:
    """About 0.2% of the training examples, at least 1 and at most 256."""
    return max(1, min(MAX_AUTO_BATCH_SIZE, int(n_examples * AUTO_BATCH_FRACTION)))


def plan_steps(n_examples: int, batch_size: int, n_epochs: int) -> tuple[int, int]:
    """(steps_per_epoch, total_steps): one step per batch, the last batch of an epoch may be short."""
    steps_per_epoch = math.ceil(n_examples / batch_size)
    return steps_per_epoch, steps_per_epoch * n_epochs


def _pick(requested: dict, key: str, default):
    value = requested.get(key, AUTO)
    return default() if value is None or value == AUTO else value
