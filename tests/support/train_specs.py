"""TrainSpecs for the recipe tests, built the way the job runner builds them."""

from __future__ import annotations

from pathlib import Path


def train_spec(
    *,
    source: str,
    training_file: Path,
    method: str = "supervised",
    fmt: str = "chat",
    hyperparameters: dict | None = None,
    learning_rate: float | None = None,
    full_finetune: bool = False,
    adapter_dir: Path | None = None,
    weights_dir: Path | None = None,
    max_length: int = 2048,
    valid_interval: int | None = None,
    **fields,
):
    """A TrainSpec built as job.py builds one: a model target, and a plan from the hyperparameters
    and the file's row count (``learning_rate`` is the base rate; the multiplier applies)."""
    from dataclasses import replace

    from openft.catalog import ModelTarget
    from openft.datasets.jsonl import read_objects
    from openft.train.hparams import plan_training
    from openft.train.spec import TrainSpec

    model = ModelTarget(
        name="tiny",
        base_id="tiny",
        base_source=source,
        context_length=max_length,
        full_finetune=full_finetune,
        adapter_dir=adapter_dir,
        weights_dir=weights_dir,
    )
    plan = plan_training(
        hyperparameters,
        n_examples=len(read_objects(training_file)),
        method=method,
        full_finetune=model.trains_fully,
        base_learning_rate=learning_rate,
    )
    if valid_interval is not None:
        plan = replace(plan, valid_interval=valid_interval)
    return TrainSpec(model=model, training_file=training_file, fmt=fmt, plan=plan, **fields)
