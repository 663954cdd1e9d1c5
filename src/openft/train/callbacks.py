"""Callbacks: a transformers TrainerCallback that reports a run through a Reporter.

Per step, in the Trainer's order: ``on_step_end`` scores validation (a mini-batch every
``plan.valid_interval`` steps, the full set at each epoch end), then ``on_log`` (every step, since
logging_steps=1) reports the step's metrics (named per method, see metrics.py), closes an
epoch (report + checkpoint) when the step is an epoch's last, and asks the reporter whether to
stop: "cancel" stops after this step, "pause" saves a checkpoint first.
"""

from collections.abc import Callable
from pathlib import Path

from transformers import TrainerCallback

from openft.train.evaluation import Validator
from openft.train.hparams import TrainPlan
from openft.train.metrics import named
from openft.train.reporter import PAUSE, Reporter

SaveCheckpoint = Callable[[object, int], Path]


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
        self._valid_metrics: dict = {}
        self._checkpointed_step = 0

    def on_train_begin(self, args, state, control, **kwargs):
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
        self._maybe_stop(control, model, step, metrics)

    def _step_metrics(self, logs: dict) -> dict:
        """The step's figures: the Trainer's log under the method's names, and validation's."""
        return {**named(logs, self.method, "train_"), **self._valid_metrics}

    def _checkpoint_due(self, step: int) -> bool:
        """SFT and DPO checkpoint at each epoch end (the reinforcement callback at evaluations)."""
        return self._is_epoch_end(step)

    def _maybe_stop(self, control, model, step: int, metrics: dict) -> None:
        request = self.reporter.should_stop()
        if not request:
            return
        if request == PAUSE:
            if self._checkpointed_step != step:
                self._checkpoint(model, step, metrics)
            control.should_save = (
                True  # the Trainer saves its full state (optimizer, scheduler, RNG) to resume from
            )
        self.stopped = request
        control.should_training_stop = True

    def _checkpoint(self, model, step: int, metrics: dict) -> None:
        if self.save_checkpoint is None:
            raise TypeError("a ReporterCallback without save_checkpoint must override _checkpoint")
        path = self.save_checkpoint(model, step)
        self._checkpointed_step = step
        self.reporter.on_checkpoint(step, path, metrics)

    def _is_epoch_end(self, step: int) -> bool:
        return step % self.steps_per_epoch == 0
