"""Reporter: what a training run tells its caller, and how the caller asks it to stop.

The training subprocess implements this protocol to turn progress into job events, metrics,
checkpoint rows and the result file; the trainer only calls it. Metrics dicts use the names of
metrics.py: OpenAI's for SFT (train_loss, train_mean_token_accuracy, valid_loss, ...), the DPO
figures for DPO (train_reward_margin, ...); the valid_* ones only when evaluated.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

CANCEL = "cancel"
PAUSE = "pause"
SUSPEND = "suspend"  # save the training state and stop; the job goes back to the queue


class Reporter(Protocol):
    def on_start(self, *, total_steps: int, steps_per_epoch: int, n_epochs: int) -> None:
        """Training is about to run its first step."""

    def on_step(self, step: int, metrics: dict) -> None:
        """Step ``step`` (1-based) finished; at an epoch's last step metrics has full_valid_*."""

    def on_epoch_end(self, step: int, epoch: int, metrics: dict) -> None:
        """Epoch ``epoch`` (1-based) ended at ``step``; same metrics as that step's on_step."""

    def on_checkpoint(self, step: int, path: Path, metrics: dict) -> None:
        """A checkpoint loadable with PEFT/transformers was written to ``path``."""

    def on_warning(self, message: str) -> None:
        """Something the user should know about that does not stop training."""

    def on_note(self, message: str) -> None:
        """What the run is doing that the user should see (a long step starting or ending)."""

    def should_stop(self) -> str | None:
        """Asked between steps and before a training state is kept: "cancel" to stop now, "pause"
        to checkpoint, save the state and stop, "suspend" to save the state and stop, None to go
        on. Raises when this run may no longer write for its job (it was started again)."""


@contextmanager
def long_step(reporter: Reporter, doing: str) -> Iterator[None]:
    """Tell the user a step that can take a while started (``doing``) and, once it has, how long it
    took: loading a model, tokenizing a file, saving a model."""
    reporter.on_note(doing)
    started = time.monotonic()
    yield
    reporter.on_note(f"{doing}: done in {time.monotonic() - started:.1f} s")
