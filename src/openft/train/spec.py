"""Spec: what a training run (SFT or DPO) is asked to do, what it gives back, and where it writes.

Pure Python: ``job.py`` builds a spec from the job row, and the output layout (epoch checkpoints
under ``checkpoints/step-N/``, the final model under ``final/``, a paused Trainer state under
``checkpoint-N/``) is the same for every method.
"""

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class LoraSettings:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"


@dataclass
class TrainSpec:
    model_source: str  # "builtin", a hub id or a local path (a parent's full weights when continuing one)
    data_dir: Path  # where the built-in model is cached (models/)
    output_dir: Path  # gets checkpoints/step-N/ and final/
    training_file: Path
    validation_file: Path | None = None
    fmt: str = "chat"  # "chat" | "completion" for SFT, "preference" for DPO
    hyperparameters: dict = field(default_factory=dict)  # resolved; any "auto" left is resolved here
    learning_rate: float | None = None  # absolute; default base_learning_rate × multiplier
    base_learning_rate: float | None = None  # default 2e-4 for LoRA, 2e-5 for a full fine-tune
    seed: int = 0
    full_finetune: bool = False
    max_length: int | None = None  # default min(model context, 2048)
    lora: LoraSettings = field(default_factory=LoraSettings)
    adapter_dir: Path | None = None  # a parent ft: model's LoRA adapter, trained further
    valid_interval: int | None = None  # steps between validation mini-batches; default ~20 per run
    resume_from: Path | None = None  # a Trainer state saved when the job was paused


@dataclass
class TrainResult:
    final_dir: Path | None  # None when the run was cancelled or paused
    trained_tokens: int  # tokens of all training examples × n_epochs
    steps: int  # steps run
    metrics: dict  # the last step's metrics
    hyperparameters: dict  # as resolved for the run
    stopped: str | None = None  # "cancel" or "pause" when the reporter stopped the run


def checkpoint_root(spec: TrainSpec) -> Path:
    return Path(spec.output_dir) / "checkpoints"


def final_dir(spec: TrainSpec) -> Path:
    return Path(spec.output_dir) / "final"


def paused_state(output_dir: Path) -> Path | None:
    """The newest Trainer state a pause left in ``output_dir`` (``checkpoint-N``), if any."""
    states = [p for p in Path(output_dir).glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(states, key=lambda p: int(p.name.split("-")[-1]), default=None)
