"""`openft jobs follow JOB_ID`: watch a fine-tuning job on any OpenAI-compatible server.

Reads ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` as the ``openai`` CLI does (or ``--base-url`` /
``--api-key``). Every event is printed once, oldest first; a metrics event moves a progress bar
(step, loss or reward, estimated finish). The command exits when the job ends: 0 and the model's
name on stdout when it succeeded, 1 with the error when it failed or was cancelled. A paused job
is followed until it is resumed and ends. Only the ``openai`` SDK is needed.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, TextIO

ENDED = ("succeeded", "failed", "cancelled")
BAR_WIDTH = 24
# the figure a step's bar shows, first present wins: SFT and DPO loss, RFT reward
SHOWN = (
    ("train_loss", "loss"),
    ("train_mean_reward", "reward"),
    ("full_valid_mean_reward", "valid reward"),
)


def follow(client: Any, job_id: str, *, out: TextIO = sys.stderr, poll_seconds: float = 2.0) -> int:
    seen: set[str] = set()
    while True:
        job = client.fine_tuning.jobs.retrieve(job_id)
        for event in _new_events(client, job_id, seen):
            print(_line(event, job), file=out, flush=True)
        if job.status in ENDED:
            return _ended(job, out)
        time.sleep(poll_seconds)


def _new_events(client: Any, job_id: str, seen: set[str]) -> list:
    """Events not printed yet, oldest first (the API lists newest first)."""
    fresh = []
    for event in client.fine_tuning.jobs.list_events(job_id, limit=100):  # pages back as needed
        if event.id in seen:
            break
        fresh.append(event)
    seen.update(event.id for event in fresh)
    return list(reversed(fresh))


def _line(event: Any, job: Any) -> str:
    data = getattr(event, "data", None) or {}
    if event.type != "metrics" or "step" not in data:
        return f"{event.level:>5}  {event.message}"
    return progress_bar(data, estimated_finish=job.estimated_finish)


def progress_bar(data: dict, *, estimated_finish: int | None, now: float | None = None) -> str:
    """``[#########-----------]  12/40  loss 1.234  ~3m10s left``."""
    step, total = int(data["step"]), int(data.get("total_steps") or 0)
    filled = round(BAR_WIDTH * step / total) if total else 0
    parts = [f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}]", f"{step:>4}/{total}"]
    for key, label in SHOWN:
        if isinstance(data.get(key), (int, float)):
            parts.append(f"{label} {data[key]:.3f}")
            break
    if estimated_finish and step < total:
        left = max(0, int(estimated_finish - (time.time() if now is None else now)))
        parts.append(f"~{left // 60}m{left % 60:02d}s left")
    return "  ".join(parts)


def _ended(job: Any, out: TextIO) -> int:
    if job.status == "succeeded":
        print(f"succeeded: {job.fine_tuned_model}", file=out)
        print(job.fine_tuned_model)
        return 0
    error = getattr(job, "error", None)
    reason = f" ({error.code}: {error.message})" if error is not None and error.code else ""
    print(f"{job.status}{reason}", file=out)
    return 1


def main(args) -> int:
    from openai import OpenAI

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll otherwise
    # None: OPENAI_BASE_URL, as the openai CLI reads it; a server with open access takes any key
    api_key = args.api_key or os.environ.get("OPENAI_API_KEY") or "openft"
    client = OpenAI(base_url=args.base_url, api_key=api_key)
    try:
        return follow(client, args.job_id, poll_seconds=args.poll_seconds)
    except KeyboardInterrupt:
        return 130
    finally:
        client.close()
