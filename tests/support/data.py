"""Small datasets and helpers for driving jobs through the SDK."""

from __future__ import annotations

import io
import json
import time


def chat_rows(n: int = 10, answer: str = "Paris") -> list[dict]:
    return [
        {
            "messages": [
                {"role": "system", "content": "You answer geography questions."},
                {"role": "user", "content": f"Question {i}: what is the capital of France?"},
                {"role": "assistant", "content": answer},
            ]
        }
        for i in range(n)
    ]


def preference_rows(n: int = 10) -> list[dict]:
    return [
        {
            "input": {"messages": [{"role": "user", "content": f"Greet me ({i})"}]},
            "preferred_output": [{"role": "assistant", "content": "Hello, friend!"}],
            "non_preferred_output": [{"role": "assistant", "content": "Go away."}],
        }
        for i in range(n)
    ]


def prompt_rows(n: int = 10, word: str = "hi") -> list[dict]:
    """Reinforcement rows: a prompt and the ``item.word`` WORD_CHECK looks for."""
    return [{"messages": [{"role": "user", "content": f"Say {word} ({i})."}], "word": word} for i in range(n)]


WORD_CHECK = {  # the grader of prompt_rows: 1 when the sample holds the row's word, ignoring case
    "type": "string_check",
    "name": "word",
    "input": "{{ sample.output_text }}",
    "reference": "{{ item.word }}",
    "operation": "ilike",
}


def jsonl(rows: list) -> bytes:
    return "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows).encode()


def upload(client, rows: list, *, purpose: str = "fine-tune", filename: str = "train.jsonl") -> str:
    return client.files.create(file=(filename, io.BytesIO(jsonl(rows))), purpose=purpose).id


def step_metrics(client, job_id: str) -> list[dict]:
    """The data of a job's metrics events, oldest first."""
    events = client.fine_tuning.jobs.list_events(job_id, limit=1000).data
    return [event.data for event in reversed(events) if event.type == "metrics"]


def wait_for_metrics(client, job_id: str, timeout: float = 180.0) -> list[dict]:
    """The job's metrics once its first step is reported."""
    deadline = time.monotonic() + timeout
    while not (found := step_metrics(client, job_id)):
        assert time.monotonic() < deadline, f"job {job_id} never reported a step"
        time.sleep(0.2)
    return found


def wait_for_no_training(server, timeout: float) -> None:
    """Until the server's embedded worker has no training process left."""
    worker = server.app.state.worker.worker
    deadline = time.monotonic() + timeout
    while worker.children:
        assert time.monotonic() < deadline, "the training process was not released"
        time.sleep(0.1)


def wait_for_status(client, job_id: str, statuses: set[str], timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stayed {job.status}, expected one of {statuses}")
        time.sleep(0.1)
