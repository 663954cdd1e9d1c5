"""A full disk, for real: `openft serve` on a data dir of its own small tmpfs (the SQLite database
in it, as by default), filled while a job trains. An upload is refused with a 507 `storage_full`
and leaves nothing behind, /health says the disk is full, the job is never lost nor left
`running` for good: once space is freed it continues from its latest saved state and finishes
once, with the weights of a run that never saw the disk fill. Needs root (mount); skipped without."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

import httpx
import openai
import pytest

from support.clients import sync_client
from support.data import chat_rows, upload, wait_for_status
from support.processes import OpenftProcess, openft_env
from support.recovery import SEED, assert_finished_once, assert_same_model, messages, wait_for_state

pytestmark = pytest.mark.train
DISK = "48m"
ROWS, STEPS = 200, 100  # one epoch of batches of 2: long enough to still be training when the disk fills
METHOD = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 1, "batch_size": 2}}}


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(mount)], check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("mounting a tmpfs needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> None:
    """Write zeros to ``path`` until the file system has no byte left."""
    with open(path, "wb") as ballast, contextlib.suppress(OSError):
        while True:
            ballast.write(b"\0" * (1 << 20))
            ballast.flush()
            os.fsync(ballast.fileno())


def test_a_full_disk_refuses_uploads_and_the_job_continues_once_space_is_freed(
    small_disk, tmp_path, tiny_base_models
):
    data_dir = small_disk / "data"
    env = openft_env(
        data_dir, tiny_base_models, state_interval_steps=2, heartbeat_seconds=0.5, stale_after_seconds=3
    )
    server = OpenftProcess("serve", env, tmp_path / "serve.log").ready()
    try:
        with sync_client(server.url) as client:
            file_id = upload(client, chat_rows(ROWS))
            job_id = client.fine_tuning.jobs.create(
                model="tiny", training_file=file_id, seed=SEED, method=METHOD
            ).id
            wait_for_state(data_dir, job_id)
            fill(small_disk / "ballast")

            with pytest.raises(openai.APIStatusError) as refused:
                upload(client, chat_rows(2000))
            assert refused.value.status_code == 507
            assert refused.value.code == "storage_full"
            assert list((data_dir / "incoming").iterdir()) == []
            health = httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=10)
            assert health.status_code == 503 and "disk is full" in health.json()["storage"]
            time.sleep(5)  # the trainer meets the full disk at its next write

            os.remove(small_disk / "ballast")
            done = wait_for_status(client, job_id, {"succeeded", "failed"}, timeout=400)
            assert done.status == "succeeded", done.error
            assert_finished_once(client, data_dir, job_id, "supervised", steps=STEPS)
            assert any(m.startswith("Resuming training from step ") for m in messages(client, job_id))
            reference = client.fine_tuning.jobs.create(
                model="tiny", training_file=file_id, seed=SEED, method=METHOD
            ).id
            wait_for_status(client, reference, {"succeeded", "failed"}, timeout=400)
            assert_same_model(data_dir, job_id, data_dir, reference)
    finally:
        server.stop()
