"""The inference engine loads on the first completion that needs a model, never at start-up:
requests refused before generation (unknown model, bad field) leave the ML stack unloaded."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import sys
from fastapi.testclient import TestClient
from openft.api.app import create_app
from openft.config import Settings
app = create_app(Settings(data_dir=sys.argv[1], embedded_worker=False))
with TestClient(app) as client:
    hello = [{"role": "user", "content": "hi"}]
    missing = client.post("/v1/chat/completions", json={"model": "nope", "messages": hello})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found", missing.text
    bad = client.post("/v1/completions", json={"model": "gpt-4o-mini", "prompt": "hi", "temperature": 9})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "temperature", bad.text
print(",".join(sorted(m for m in ("torch", "transformers", "peft", "llguidance") if m in sys.modules)))
"""


def test_refused_requests_do_not_load_the_engine(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"loaded {result.stdout.strip()}"


@pytest.mark.serve
def test_auto_picks_the_transformers_engine_without_vllm(monkeypatch, tmp_path):
    import importlib.util

    from openft.config import Settings
    from openft.errors import ServerError
    from openft.serve import engine

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a)
    )
    created = engine.create_engine(Settings(data_dir=tmp_path, serve_max_adapters=3))
    assert created.name == "transformers" and created.pool.max_adapters == 3
    with pytest.raises(ServerError, match="vLLM is not installed"):
        engine.create_engine(Settings(data_dir=tmp_path, serve_engine="vllm"))
