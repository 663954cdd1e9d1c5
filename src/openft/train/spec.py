"""Spec: what a training run (SFT, DPO or RFT) is asked to do, what it gives back, and where it writes.

Pure Python: ``job.py`` builds a spec from the job row (its model target from the catalog, its
plan from hparams.py, its file format from the validation stage's result), and the output layout
(epoch checkpoints under ``checkpoints/step-N/``, the final model under ``final/``, resumable
Trainer states under ``states/step-N/``, written first into ``scratch/``: states.py) is the
same for every method.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openft.catalog import ModelTarget
from openft.lm.numerics import Numerics
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
    resume_from: Path | None = None  # a Trainer state (states/step-N) to continue from
    # Resumable states besides those at checkpoints, pauses and shutdowns: every so many steps
    # and every so many seconds (0: not by that measure).
    state_every_steps: int = 0
    state_every_seconds: float = 0.0
    grader: dict | None = None  # reinforcement: the job's grader, as stored on the job
    grading: Any = None  # reinforcement: the GradeContext (sandbox, model client) graders run with
    response_format: dict | None = None  # reinforcement: the samples' structured output (json_schema)
    use_vllm: bool = False  # reinforcement: sample with vLLM colocated on the GPU (OPENFT_SERVE_ENGINE)
    numerics: Numerics | None = None  # device and dtype (job.py decides; None: numerics.choose())
    packed_weights: bool = True  # a frozen bfloat16 base on a CPU gets packed weights (OPENFT_PACKED_WEIGHTS)
    fused_kernels: bool = True  # Liger's kernels on a CUDA GPU where installed (OPENFT_FUSED_KERNELS)


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
    return checkpoints_dir(spec.output_dir)


def checkpoints_dir(output_dir: Path) -> Path:
    """Where the checkpoints of a run writing to ``output_dir`` are (``checkpoints/step-N``)."""
    return Path(output_dir) / "checkpoints"


def final_dir(spec: TrainSpec) -> Path:
    return Path(spec.output_dir) / "final"


def states_root(output_dir: Path) -> Path:
    """Where the complete resumable states of a run writing to ``output_dir`` are."""
    return Path(output_dir) / "states"


def scratch_dir(output_dir: Path) -> Path:
    """The Trainer's own output folder: states being written, cleared at every start."""
    return Path(output_dir) / "scratch"
