"""The create-job examples of the seed page, sent verbatim (with real file ids), are accepted and
echoed as in the page's responses.

Deviations from the page, each forced by the official SDK's strict validation or by the page itself:
- `error` is null, not {} / {"code": null, ...} (strict mode requires null or a full object);
- top-level `hyperparameters` is an object for DPO/RL jobs too (strict mode requires an object);
- `status` is "validating_files" right after create (the page shows "queued" or "validating_files");
- `model` is the dated snapshot (the page shows both "gpt-4o-mini" and "gpt-4o-mini-2024-07-18");
- the W&B example body lacks a comma after "ft-run-display-name" (invalid JSON); the test adds it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx2
import pytest

from support.data import chat_rows, preference_rows, upload

SEED = Path(__file__).resolve().parents[1] / "contract" / "create-fine-tuning-job.txt"
PLACEHOLDER_FILES = ("file-BK7bzQj3FfZFXr7DbL6xJwfo", "file-abc123", "file-abc", "file-123")
COMPARED = (
    "object",
    "method",
    "metadata",
    "result_files",
    "fine_tuned_model",
    "finished_at",
    "trained_tokens",
    "estimated_finish",
    "user_provided_suffix",
    "usage_metrics",
    "shared_with_openai",
    "validation_file",
)


def _lenient(text: str):
    text = re.sub(r",(\s*[}\]])", r"\1", text).replace(": None", ": null")
    return json.loads(text)


def seed_examples() -> list[tuple[str, dict]]:
    page = SEED.read_text()
    examples = []
    for block in page.split("Create fine-tuning job\n\ncurl")[1:]:
        request_text = block.split("-d '", 1)[1].split("'\n", 1)[0]
        request_text = request_text.replace('"ft-run-display-name"\n', '"ft-run-display-name",\n')
        response_text = (
            block.split("'\n", 1)[1].split("\nCreate fine-tuning job")[0].split("Returns Examples")[0]
        )
        examples.append((request_text, _lenient(response_text)))
    return examples


def rl_rows(n: int = 10) -> list[dict]:
    return [
        {"messages": [{"role": "user", "content": f"Is {i} even?"}], "label": "yes" if i % 2 == 0 else "no"}
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def files(server):
    from support.clients import sync_client

    with sync_client(server.url) as client:
        return {
            "supervised": upload(client, chat_rows(10)),
            "dpo": upload(client, preference_rows(10)),
            "reinforcement": upload(client, rl_rows(10)),
        }


def test_the_page_has_six_examples():
    assert len(seed_examples()) == 6


@pytest.mark.parametrize("index", range(6))
def test_seed_example_is_accepted_and_echoed(client, files, index):
    request_text, expected = seed_examples()[index]
    method = json.loads(request_text).get("method", {}).get("type", "supervised")
    for placeholder in PLACEHOLDER_FILES:
        request_text = request_text.replace(f'"{placeholder}"', json.dumps(files[method]))
    raw = client.post(
        "/fine_tuning/jobs",
        content=request_text.encode(),
        cast_to=httpx2.Response,
        options={"headers": {"content-type": "application/json"}},
    )
    job = raw.json()
    sent = json.loads(request_text)
    assert job["training_file"] == sent["training_file"] and job["id"].startswith("ftjob-")
    assert job["model"].startswith(sent["model"])
    assert job["status"] == "validating_files" and job["error"] is None
    expected["validation_file"] = sent.get("validation_file")
    for key in COMPARED:
        if key in expected:
            assert job[key] == expected[key], key
    for got, want in zip(job["integrations"], expected.get("integrations", []), strict=True):
        assert got["wandb"]["run_id"] == job["id"]
        assert {k: v for k, v in got["wandb"].items() if k in want["wandb"] and k != "run_id"} == {
            k: v for k, v in want["wandb"].items() if k != "run_id"
        }
    assert set(job["hyperparameters"]) == {"batch_size", "learning_rate_multiplier", "n_epochs"}
    job_obj = client.fine_tuning.jobs.retrieve(job["id"])  # and the SDK parses it strictly
    assert job_obj.id == job["id"]
