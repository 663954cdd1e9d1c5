"""What the recovery tests check of a job that was killed, shut down or paused and then finished:
each step, checkpoint and model once, every listed checkpoint with its weights, and the final
weights byte for byte those of the same job run without interruption."""

from __future__ import annotations

import base64
import time
from pathlib import Path

from support.data import WORD_CHECK, step_metrics

SFT = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3, "batch_size": 2}}}
DPO = {"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 2, "batch_size": 2}}}
RFT_HYPERPARAMETERS = {
    "n_epochs": 1,
    "batch_size": 2,
    "compute_multiplier": 0.5,  # two samples per prompt
    "reasoning_effort": "low",
    "eval_interval": 2,
    "eval_samples": 1,
}
RFT = {
    "type": "reinforcement",
    "reinforcement": {
        "grader": WORD_CHECK,
        "hyperparameters": RFT_HYPERPARAMETERS,
    },
}
STEPS = {"supervised": 18, "dpo": 12, "reinforcement": 6}  # 12 examples, 2 a batch
FIRST_STEP = {"supervised": 1, "dpo": 1, "reinforcement": 0}  # RFT reports its step-0 evaluation
SEED = 11


def messages(client, job_id: str) -> list[str]:
    """The job's event messages, oldest first."""
    return [e.message for e in reversed(client.fine_tuning.jobs.list_events(job_id, limit=1000).data)]


def wait_for_state(data_dir: Path, job_id: str, timeout: float = 240) -> int:
    """The step of the job's first published training state, once there is one."""
    root = Path(data_dir) / "jobs" / job_id / "states"
    deadline = time.monotonic() + timeout
    while True:
        steps = [int(p.name.split("-")[1]) for p in root.glob("step-*") if (p / "openft_state.json").exists()]
        if steps:
            return max(steps)
        assert time.monotonic() < deadline, f"job {job_id} saved no training state"
        time.sleep(0.05)


def final_weights(data_dir: Path, job_id: str) -> bytes:
    final = Path(data_dir) / "jobs" / job_id / "final"
    names = ("adapter_model.safetensors", "model.safetensors")
    return next((final / name).read_bytes() for name in names if (final / name).exists())


def assert_finished_once(client, data_dir: Path, job_id: str, method: str, steps: int | None = None) -> None:
    """Succeeded with one metrics event per step (of ``steps``, else the method's STEPS), one row
    and one event per checkpoint (each with its weights), one model-created event and a result
    file of one row per step."""
    job = client.fine_tuning.jobs.retrieve(job_id)
    assert job.status == "succeeded", job.error
    reported = [m["step"] for m in step_metrics(client, job_id)]
    assert reported == list(range(FIRST_STEP[method], (steps or STEPS[method]) + 1))
    events = messages(client, job_id)
    checkpoints = client.fine_tuning.jobs.checkpoints.list(job_id, limit=100).data
    created = [m for m in events if m.startswith("Checkpoint created at step ")]
    assert len({c.step_number for c in checkpoints}) == len(checkpoints) == len(created)
    models = {m.id for m in client.models.list()}
    for checkpoint in checkpoints:
        assert checkpoint.fine_tuned_model_checkpoint in models
        folder = Path(data_dir) / "jobs" / job_id / "checkpoints" / f"step-{checkpoint.step_number}"
        assert (folder / "adapter_model.safetensors").is_file()
    assert events.count(f"New fine-tuned model created: {job.fine_tuned_model}") == 1
    assert sum(m.startswith("New fine-tuned model created") for m in events) == 1
    csv_text = base64.b64decode(client.files.content(job.result_files[0]).read()).decode()
    assert len(csv_text.splitlines()) == 1 + len(reported)  # the header, then one row per step


def assert_same_model(data_dir: Path, job_id: str, reference_dir: Path, reference_id: str) -> None:
    assert final_weights(data_dir, job_id) == final_weights(reference_dir, reference_id)
