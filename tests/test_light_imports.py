"""The API process never imports the ML stack: a fresh interpreter builds the app and serves a request."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "torch",
    "transformers",
    "peft",
    "trl",
    "accelerate",
    "datasets",
    "nltk",
    "rouge_score",
    "sentence_transformers",
)

SCRIPT = """
import sys
from fastapi.testclient import TestClient
from openft.api.app import create_app
from openft.config import Settings
app = create_app(Settings(data_dir=sys.argv[1]))
with TestClient(app) as client:
    assert client.get("/v1/models").status_code == 200
    assert client.get("/v1/fine_tuning/jobs").status_code == 200
loaded = sorted(m for m in {HEAVY} if m in sys.modules)
print(",".join(loaded))
"""


def test_api_process_does_not_import_the_ml_stack(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.replace("{HEAVY}", repr(HEAVY)), str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"the API imported {result.stdout.strip()}"
