"""Spec: what a training run (SFT, DPO or RFT) is asked to do, what it gives back, and where it writes.

Pure Python: ``job.py`` builds a spec from the job row (its model target from the catalog, its
plan from hparams.py, its file format from the validation stage's result), and the output layout
(epoch checkpoints under ``checkpoints/step-N/``, the final model under ``final/``, a paused
Trainer state under ``checkpoint-N/``) is the same for every method.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openft.catalog import ModelTarget
from openft.train.hparams import TrainPlan


@dataclass(frozen=True)
class TrainSpec:
    model: ModelTarget  # what to start from: a base model, or an ft: model's adapter or full weights
    data_dir: Path  # where the built-in model is cached (models/)
    output_dir: Path  # gets checkpoints/step-N/ and final/
    training_file: Path
    fmt: str  # the training file's format as validated: "chat" | "completion" | "preference"
    plan: TrainPlan  # hyperparameters, learning rate and steps, decided once for the job
    validation_file: Path | None = None
    seed: int = 0
    resume_from: Path | None = None  # a Trainer state saved when the job was paused
    grader: dict | None = None  # reinforcement: the job's grader, as stored on the job
    grading: Any = None  # reinforcement: the GradeContext (sandbox, model client) graders run with
    response_format: dict | None = None  # reinforcement: the samples' structured output (json_schema)
    use_vllm: bool = False  # reinforcement: sample with vLLM colocated on the GPU (OPENFT_SERVE_ENGINE)


class JobFailure(Exception):
    """A failure whose message is meant for the user, with an OpenAI-style error code."""

    def __init__(self, message: str, code: str = "training_failed"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TrainResult:
    final_dir: Path | None  # None when the run was cancelled or paused
    trained_tokens: int  # tokens of all training examples × n_epochs
    steps: int  # steps run
    stopped: str | None = None  # "cancel" or "pause" when the reporter stopped the run


def checkpoint_root(spec: TrainSpec) -> Path:
    return Path(spec.output_dir) / "checkpoints"


def final_dir(spec: TrainSpec) -> Path:
    return Path(spec.output_dir) / "final"


def paused_state(output_dir: Path) -> Path | None:
    """The newest Trainer state a pause left in ``output_dir`` (``checkpoint-N``), if any."""
    states = [p for p in Path(output_dir).glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(states, key=lambda p: int(p.name.split("-")[-1]), default=None)
