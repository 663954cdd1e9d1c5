"""The reinforcement callback: evaluations, reward metrics and best-reward checkpoints.

It is the ReporterCallback (every step reported, cancel and pause honoured between steps) with
three differences. The validation prompts are sampled and graded before the first step
(reported as step 0) and after every ``eval_interval`` steps and the last one. A step's metrics
are the grader's figures of the step's samples (reward_metrics.py), with the step's time split.
A checkpoint is saved at each evaluation but the last (the final model is the run's result),
and the three with the highest validation reward are kept. Each step also checks that the
grader still grades enough samples (grader_failures.py).
"""

from __future__ import annotations

import time
from pathlib import Path

from openft.train import checkpoints
from openft.train.callbacks import ReporterCallback
from openft.train.grader_failures import FailureWatch
from openft.train.metrics import named
from openft.train.reporter import long_step
from openft.train.reward_metrics import results_of, step_figures
from openft.train.rewards import Graded, RewardFunction
from openft.train.rollouts import Evaluator


class ReinforcementCallback(ReporterCallback):
    def __init__(self, reporter, *, plan, grader, rewards: RewardFunction, evaluator, save_dir, tokenizer):
        super().__init__(reporter, plan=plan, save_checkpoint=None, method="reinforcement")
        self.grader, self.rewards = grader, rewards
        self.evaluator: Evaluator | None = evaluator
        self.save_dir, self.tokenizer = save_dir, tokenizer
        self.watch = FailureWatch()
        self._valid: list[Graded] | None = None
        self._eval_seconds = 0.0
        self._step_started = time.perf_counter()

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        super().on_train_begin(args, state, control, **kwargs)
        if state.global_step == 0 and self.evaluator is not None:
            self._evaluate(model, 0)
            metrics = step_figures(self.grader, train=[], valid=self._valid, timing=self._timing(0.0, 0.0))
            self.reporter.on_step(0, metrics)
            self.watch.check()
        self._step_started = time.perf_counter()

    def on_step_begin(self, args, state, control, **kwargs):
        self._step_started = time.perf_counter()

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self._valid, self._eval_seconds = None, 0.0
        step = state.global_step
        if self.evaluator is not None and (
            step % self.plan.valid_interval == 0 or step >= self.plan.total_steps
        ):
            self._evaluate(model, step)

    def _evaluate(self, model, step: int) -> None:
        if self.evaluator is None:
            return
        started = time.perf_counter()
        self._valid = self.evaluator(model, step)
        self._eval_seconds = time.perf_counter() - started
        self.watch.add(results_of(self._valid))

    def _step_metrics(self, logs: dict) -> dict:
        train = self.rewards.drain()
        self.watch.add(results_of(train))
        grading = sum(batch.seconds for batch in train)
        sampling = max(0.0, train[0].started - self._step_started) if train else 0.0
        timing = self._timing(sampling, grading)
        figures = step_figures(self.grader, train=train, valid=self._valid, timing=timing)
        return {**named(logs, self.method, "train_"), **figures}

    def _timing(self, sampling: float, grading: float) -> dict:
        full = time.perf_counter() - self._step_started
        training = max(0.0, full - self._eval_seconds - sampling - grading)
        return {
            "sampling": sampling,
            "grading": grading,
            "training": training,
            "eval": self._eval_seconds,
            "full_iteration": full,
        }

    def on_log(self, args, state, control, logs=None, model=None, **kwargs):
        super().on_log(args, state, control, logs=logs, model=model, **kwargs)
        if logs and "loss" in logs:
            self.watch.check()

    def _checkpoint_due(self, step: int) -> bool:
        return self._valid is not None and 0 < step < self.plan.total_steps

    def _checkpoint(self, model, step: int, metrics: dict) -> None:
        """A checkpoint scored by its validation reward (a pause without one only saves the state)."""
        self._checkpointed_step = step
        score = metrics.get("full_valid_mean_reward")
        if score is None:
            return
        with long_step(self.reporter, f"Saving the checkpoint of step {step}"):
            path = checkpoints.save_scored_checkpoint(model, self.tokenizer, Path(self.save_dir), step, score)
        if path is not None:  # the checkpoint object's metrics are numbers only
            flat = {key: value for key, value in metrics.items() if isinstance(value, (int, float))}
            self.reporter.on_checkpoint(step, path, flat)
