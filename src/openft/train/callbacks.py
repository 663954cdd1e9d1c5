"""Callbacks: a transformers TrainerCallback that reports a run through a Reporter.

Per step, in the Trainer's order: ``on_step_end`` scores validation (a mini-batch every
``plan.valid_interval`` steps, the full set at each epoch end), then ``on_log`` (every step, since
logging_steps=1) reports the step's metrics (named per method, see metrics.py), closes an
epoch (report + checkpoint) when the step is an epoch's last but the run's, asks the Trainer for
a resumable state when one is due, and asks the reporter whether to stop: "cancel" stops after
this step, "pause" saves a checkpoint and the state first, "suspend" (SIGTERM) the state only.

States (states.py) are due at each checkpoint, at a pause or suspend, and every
``every_steps`` steps or ``every_seconds`` seconds (``save_states``); at the last step only for
a pause or suspend, since the final model is saved next. The Trainer writes each into its
scratch folder, and ``on_save`` publishes it once the reporter confirms the run still owns its job.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from transformers import TrainerCallback

from openft.train import states
from openft.train.evaluation import Validator
from openft.train.hparams import TrainPlan
from openft.train.metrics import named
from openft.train.reporter import CANCEL, PAUSE, SUSPEND, Reporter

SaveCheckpoint = Callable[[object, int], Path]


@dataclass(frozen=True)
class StatePolicy:
    root: Path  # where states are published (states/)
    every_steps: int = 0
    every_seconds: float = 0.0


class ReporterCallback(TrainerCallback):
    def __init__(
        self,
        reporter: Reporter,
        *,
        plan: TrainPlan,
        save_checkpoint: SaveCheckpoint | None,  # None: the subclass saves its own (RFT)
        validator: Validator | None = None,
        method: str = "supervised",
    ):
        self.reporter = reporter
        self.method = method
        self.plan = plan
        self.steps_per_epoch = plan.steps_per_epoch
        self.save_checkpoint = save_checkpoint
        self.validator = validator
        self.last_step = 0
        self.stopped: str | None = None
        self.state_policy: StatePolicy | None = None
        self._valid_metrics: dict = {}
        self._checkpointed_step = 0
        self._state_reason: str | None = None
        self._state_saved_at = time.monotonic()

    def save_states(self, root: Path, *, every_steps: int = 0, every_seconds: float = 0.0) -> None:
        """Publish the run's resumable states under ``root`` (run.train_to_end, for every method)."""
        self.state_policy = StatePolicy(Path(root), every_steps, every_seconds)

    def on_train_begin(self, args, state, control, **kwargs):
        self._state_saved_at = time.monotonic()
        self.reporter.on_start(
            total_steps=self.plan.total_steps,
            steps_per_epoch=self.plan.steps_per_epoch,
            n_epochs=self.plan.n_epochs,
        )

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self._valid_metrics = {}
        if self.validator is not None:
            step = state.global_step
            self._valid_metrics = self.validator.scores(
                model, mini_batch=step % self.plan.valid_interval == 0, full=self._is_epoch_end(step)
            )

    def on_log(self, args, state, control, logs=None, model=None, **kwargs):
        if not logs or "loss" not in logs:
            return  # an evaluation or the end-of-training summary (train_loss), not a step
        step = state.global_step
        metrics = self._step_metrics(logs)
        self.last_step = step
        self.reporter.on_step(step, metrics)
        if self._is_epoch_end(step):
            self.reporter.on_epoch_end(step, step // self.steps_per_epoch, metrics)
        if self._checkpoint_due(step):
            self._checkpoint(model, step, metrics)
            self._want_state(control, step, "checkpoint")
        elif self._interval_due(step):
            self._want_state(control, step, "interval")
        self._maybe_stop(control, model, step, metrics)

    def _step_metrics(self, logs: dict) -> dict:
        """The step's figures: the Trainer's log under the method's names, and validation's."""
        return {**named(logs, self.method, "train_"), **self._valid_metrics}

    def _checkpoint_due(self, step: int) -> bool:
        """SFT and DPO checkpoint at each epoch end but the last (the reinforcement callback at
        evaluations); the last epoch's model is the final model."""
        return self._is_epoch_end(step) and step < self.plan.total_steps

    def _interval_due(self, step: int) -> bool:
        policy = self.state_policy
        if policy is None:
            return False
        by_steps = policy.every_steps > 0 and step % policy.every_steps == 0
        elapsed = time.monotonic() - self._state_saved_at
        return by_steps or 0 < policy.every_seconds <= elapsed

    def _want_state(self, control, step: int, reason: str) -> None:
        """Ask the Trainer to save its full state after this step (optimizer, scheduler, RNG); at
        the last step only to stop there (a pause), since the final model follows."""
        if step < self.plan.total_steps or reason in (PAUSE, SUSPEND):
            control.should_save = True
            self._state_reason = reason

    def _maybe_stop(self, control, model, step: int, metrics: dict) -> None:
        request = self.reporter.should_stop()
        if not request:
            return
        if request == PAUSE and self._checkpointed_step != step:
            self._checkpoint(model, step, metrics)
        if request in (PAUSE, SUSPEND):
            self._want_state(control, step, request)
        self.stopped = request
        control.should_training_stop = True

    def on_save(self, args, state, control, **kwargs):
        """The Trainer wrote ``checkpoint-N`` into its scratch folder: publish it as a state."""
        written = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        reason, self._state_reason = self._state_reason or "interval", None
        if self.state_policy is None or not written.is_dir():
            return
        if self.reporter.should_stop() == CANCEL:  # raises when the run no longer owns its job
            return
        states.publish(written, self.state_policy.root, step=state.global_step, reason=reason)
        self._state_saved_at = time.monotonic()

    def _checkpoint(self, model, step: int, metrics: dict) -> None:
        if self.save_checkpoint is None:
            raise TypeError("a ReporterCallback without save_checkpoint must override _checkpoint")
        path = self.save_checkpoint(model, step)
        self._checkpointed_step = step
        self.reporter.on_checkpoint(step, path, metrics)

    def _is_epoch_end(self, step: int) -> bool:
        return step % self.steps_per_epoch == 0
