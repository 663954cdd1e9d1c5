"""Job start-up: the time from `POST /fine_tuning/jobs` to the job's first training step, and where it
goes, for the built-in model on this machine, with and without the worker's standby trainer.

    .venv/bin/python bench/job_startup.py [--jobs 3 --data-dir DIR]

Runs `openft serve` (the real command, SQLite, embedded worker) twice: with
`OPENFT_STANDBY_TRAINERS=0`, the baseline, where each job starts `python -m openft.train` from
nothing, and with the default standby trainer, a training process the worker starts ahead, which
has imported the ML stack and waits for its job. Each run creates ``--jobs`` small SFT jobs one
after another (a 16-row chat file; with the standby, each once the worker's log says its standby is
ready, i.e. on a warm worker: a standby is started once the worker trains nothing), polls the
job's events every 50 ms and records when each event is first seen, from the create call.
Prints, per run, the median seconds to each milestone (queued, started, model loading,
tokenizing, first step) and the ratio of the create-to-first-step medians.
The first job of a server pays for the built-in model's conversion (once per data dir) and the OS
file cache; it is reported apart and left out of the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openai import OpenAI

ROOT = Path(__file__).resolve().parents[1]
MILESTONES = {  # label: (the start, and a part, of the first event message that marks it)
    "queued": ("Files validated", ""),
    "started": ("Fine-tuning job started", ""),
    "libraries loaded": ("Loading the training libraries", ": done"),
    "model loaded": ("Loading the model", ": done"),
    "tokenized": ("Tokenizing the training file", ": done"),
    "first step": ("Step 1/", ""),
}


def chat_file(path: Path, n: int = 16) -> Path:
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"Name a colour, number {i}."},
                {"role": "assistant", "content": f"Colour number {i} is blue, like the sky at noon."},
            ]
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path, standby: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "OPENFT_STANDBY_TRAINERS": str(standby), "OPENFT_WORKER_POLL_SECONDS": "0.2"}
    command = [sys.executable, "-m", "openft", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    log = open(data_dir / f"server-standby{standby}.log", "ab")  # noqa: SIM115  # closed with the process
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/v1"
    client = OpenAI(base_url=url, api_key="bench", max_retries=0, timeout=5)
    deadline = time.monotonic() + 120
    while True:
        try:
            client.models.list()
            return server, url
        except Exception:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {log.name}") from None
            time.sleep(0.2)


def timeline(client: OpenAI, file_id: str) -> dict[str, float]:
    """Seconds from the create call to the first sight of each milestone's event."""
    started = time.monotonic()
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini-2024-07-18",
        training_file=file_id,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 1, "batch_size": 4}}},
    )
    seen: dict[str, float] = {"create call": time.monotonic() - started}
    while "first step" not in seen:
        if time.monotonic() - started > 300:
            raise RuntimeError(f"job {job.id} made no step in 300 s")
        messages = [event.message for event in client.fine_tuning.jobs.list_events(job.id, limit=100)]
        now = time.monotonic() - started
        for label, (prefix, part) in MILESTONES.items():
            if label not in seen and any(m.startswith(prefix) and part in m for m in messages):
                seen[label] = now
        time.sleep(0.05)
    while client.fine_tuning.jobs.retrieve(job.id).status not in ("succeeded", "failed", "cancelled"):
        time.sleep(0.2)  # a job of four steps: let it end, so the next job finds the worker free
    return seen


def wait_for_ready_standbys(log: Path, count: int, timeout: float = 120) -> None:
    """Until the server's log says ``count`` standby trainers became ready."""
    deadline = time.monotonic() + timeout
    while log.read_text(errors="replace").count(" is ready (") < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no standby trainer became ready; see {log}")
        time.sleep(0.2)


def run(data_dir: Path, standby: int, n_jobs: int, training_file: Path) -> list[dict[str, float]]:
    server, url = start_server(data_dir, standby)
    try:
        client = OpenAI(base_url=url, api_key="bench", max_retries=2)
        file_id = client.files.create(file=training_file.open("rb"), purpose="fine-tune").id
        results = []
        for done in range(n_jobs + 1):
            if standby:  # a warm worker: its standby trainer has imported the stack
                wait_for_ready_standbys(data_dir / f"server-standby{standby}.log", done + 1)
            results.append(timeline(client, file_id))
            time.sleep(2)  # the worker reaps the trainer
        return results
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def report(name: str, results: list[dict[str, float]]) -> float:
    first, rest = results[0], results[1:]
    print(f"{name}: first job {first['first step']:.2f} s to its first step (not in the medians)")
    for label in ["create call", *MILESTONES]:
        values = [result[label] for result in rest if label in result]
        if values:
            runs = ", ".join(f"{value:.2f}" for value in values)
            print(f"  {label:<18} {statistics.median(values):7.2f} s   (runs: {runs})")
    return statistics.median(result["first step"] for result in rest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3, help="timed jobs per run (after one warm-up job)")
    parser.add_argument(
        "--data-dir", type=Path, help="a data dir to reuse (the built-in model converted once)"
    )
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="openft-startup-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    training_file = chat_file(data_dir / "startup.jsonl")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
    baseline = report(
        "cold trainer per job (OPENFT_STANDBY_TRAINERS=0)", run(data_dir, 0, args.jobs, training_file)
    )
    ours = report("standby trainer (default)", run(data_dir, 1, args.jobs, training_file))
    print(f"create to first step: {baseline:.2f} s -> {ours:.2f} s, {baseline / ours:.2f}x faster")


if __name__ == "__main__":
    main()
