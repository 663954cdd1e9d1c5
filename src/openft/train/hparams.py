"""Hyperparameters: resolve OpenAI's "auto" values into numbers, and plan the run, once per job.

Pure Python (no torch): the API process imports it. The rules follow the reference,
section 7: the cookbook's n_epochs heuristic, batch_size about 0.2% of the examples
capped at 256, and an "auto" learning-rate multiplier of 1.0 on the base model's
learning rate (configured per base model, else 2e-4 for LoRA and 2e-5 for a full fine-tune).
Reinforcement jobs also resolve compute_multiplier (1.0), eval_interval (about ten evaluations
per run) and eval_samples (2), and map compute_multiplier to GRPO's samples per prompt and
reasoning_effort to a completion-token budget (the tables below, documented in the README).
``plan_training`` is the one place a job's numbers are decided: the trainer, its callback
and the job's progress all read the plan.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

AUTO = "auto"
N = TypeVar("N")  # a resolved value: what its "auto" default gives

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

MAX_AUTO_BATCH_SIZE = 256
AUTO_BATCH_FRACTION = 0.002
AUTO_LEARNING_RATE_MULTIPLIER = 1.0
AUTO_DPO_BETA = 0.1

# Reinforcement (RFT): what "auto" means, and how OpenAI's knobs map onto a GRPO run.
AUTO_COMPUTE_MULTIPLIER = 1.0
SAMPLES_PER_UNIT_COMPUTE = 4  # samples per prompt = round(4 x compute_multiplier), at least 2
MIN_SAMPLES_PER_PROMPT = 2  # a group-relative advantage needs two samples of a prompt
EVALUATIONS_PER_RUN = 10  # eval_interval "auto": about ten evaluations over a run
AUTO_EVAL_SAMPLES = 2
COMPLETION_BUDGETS = {"low": 128, "default": 256, "medium": 256, "high": 1024}  # reasoning_effort -> tokens

LORA_BASE_LEARNING_RATE = 2e-4
FULL_BASE_LEARNING_RATE = 2e-5
VALIDATIONS_PER_RUN = 20  # validation mini-batches spread over a run


@dataclass(frozen=True)
class TrainPlan:
    """What a run does, decided once: the job shows ``hyperparameters``; the rest follows."""

    hyperparameters: dict  # every "auto" resolved (the OpenAI keys of the method)
    learning_rate: float  # the optimizer's: the base learning rate times the multiplier
    n_examples: int
    steps_per_epoch: int
    total_steps: int
    valid_interval: int  # steps between validation mini-batches (RFT: between evaluations)

    @property
    def batch_size(self) -> int:
        return int(self.hyperparameters["batch_size"])

    @property
    def n_epochs(self) -> int:
        return int(self.hyperparameters["n_epochs"])


def plan_training(
    requested: dict | None,
    *,
    n_examples: int,
    method: str,
    full_finetune: bool,
    base_learning_rate: float | None = None,
) -> TrainPlan:
    """The run for ``requested`` hyperparameters ("auto" allowed) on ``n_examples`` examples.

    ``base_learning_rate`` is the base model's configured rate; None picks the default for how
    the model trains (LoRA or every weight)."""
    hyperparameters = resolve_hyperparameters(requested, n_examples=n_examples, method=method)
    steps_per_epoch, total_steps = plan_steps(
        n_examples, hyperparameters["batch_size"], hyperparameters["n_epochs"]
    )
    base = base_learning_rate or default_base_learning_rate(full_finetune=full_finetune)
    return TrainPlan(
        hyperparameters=hyperparameters,
        learning_rate=learning_rate(hyperparameters, base),
        n_examples=n_examples,
        steps_per_epoch=steps_per_epoch,
        total_steps=total_steps,
        valid_interval=int(
            hyperparameters.get("eval_interval") or max(1, total_steps // VALIDATIONS_PER_RUN)
        ),
    )


def default_base_learning_rate(*, full_finetune: bool) -> float:
    """A LoRA adapter learns at 2e-4; updating every weight needs a rate ten times smaller."""
    return FULL_BASE_LEARNING_RATE if full_finetune else LORA_BASE_LEARNING_RATE


def resolve_hyperparameters(
    requested: dict | None,
    *,
    n_examples: int,
    method: str = "supervised",
) -> dict:
    """Return ``requested`` with every "auto" or missing value replaced by a number.

    The keys are the OpenAI ones (batch_size, learning_rate_multiplier, n_epochs, and beta
    for "dpo"); explicit values are kept as given. The learning rate itself is not a job
    field: ``plan_training`` derives it.
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
    if method == "reinforcement":
        resolved.update(_reinforcement(requested, n_examples, resolved))
    return resolved


def _reinforcement(requested: dict, n_examples: int, resolved: dict) -> dict:
    """compute_multiplier, eval_interval, eval_samples and reasoning_effort with "auto" resolved."""
    _, total_steps = plan_steps(n_examples, resolved["batch_size"], resolved["n_epochs"])
    return {
        "compute_multiplier": _pick(requested, "compute_multiplier", lambda: AUTO_COMPUTE_MULTIPLIER),
        "eval_interval": _pick(
            requested, "eval_interval", lambda: max(1, math.ceil(total_steps / EVALUATIONS_PER_RUN))
        ),
        "eval_samples": _pick(requested, "eval_samples", lambda: AUTO_EVAL_SAMPLES),
        "reasoning_effort": requested.get("reasoning_effort") or "default",
    }


def samples_per_prompt(compute_multiplier: float) -> int:
    """GRPO's group size: how many samples of each prompt a training step draws and compares."""
    return max(MIN_SAMPLES_PER_PROMPT, round(SAMPLES_PER_UNIT_COMPUTE * float(compute_multiplier)))


def completion_budget(reasoning_effort: str) -> int:
    """The most tokens a sampled completion may have (models here do not reason apart from answering)."""
    return COMPLETION_BUDGETS.get(reasoning_effort, COMPLETION_BUDGETS["default"])


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


def _pick(requested: dict, key: str, default: Callable[[], N]) -> N:
    value = requested.get(key, AUTO)
    return default() if value is None or value == AUTO else value
