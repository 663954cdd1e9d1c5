"""Small datasets and helpers for driving jobs through the SDK."""

from __future__ import annotations

import io
import json
import time


def chat_rows(n: int = 10, answer: str = "Paris") -> list[dict]:
    return [
        {"messages": [
            {"role": "system", "content": "You answer geography questions."},
            {"role": "user", "content": f"Question {i}: what is the capital of France?"},
            {"role": "assistant", "content": answer},
        ]}
        for i in range(n)
    ]


def preference_rows(n: int = 10) -> list[dict]:
    return [
        {"input": {"messages": [{"role": "user", "content": f"Greet me ({i})"}]},
         "preferred_output": [{"role": "assistant", "content": "Hello, friend!"}],
         "non_preferred_output": [{"role": "assistant", "content": "Go away."}]}
        for i in range(n)
    ]


def jsonl(rows: list) -> bytes:
    return "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows).encode()


def upload(client, rows: list, *, purpose: str = "fine-tune", filename: str = "train.jsonl") -> str:
    return client.files.create(file=(filename, io.BytesIO(jsonl(rows))), purpose=purpose).id


def wait_for_status(client, job_id: str, statuses: set[str], timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stayed {job.status}, expected one of {statuses}")
        time.sleep(0.1)
