"""Fine-tuned model names: ``ft:{base snapshot}:{org}:{suffix}:{id}`` and ``...:{id}:ckpt-step-N``."""

from __future__ import annotations

from openft import ids


class ModelNamer:
    def __init__(self, *, shown_model: str, organization: str, suffix: str | None):
        # Continuing from an ft: model names the result after that model's base snapshot.
        self.base = shown_model.split(":")[1] if shown_model.startswith("ft:") else shown_model
        self.organization = organization
        self.suffix = suffix or ""

    def _name(self) -> str:
        return f"ft:{self.base}:{self.organization}:{self.suffix}:{ids.model_token()}"

    def final(self) -> str:
        return self._name()

    def checkpoint(self, step: int) -> str:
        return f"{self._name()}:ckpt-step-{step}"
