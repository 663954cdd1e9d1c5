"""Engine: the interface every inference engine offers, and which one answers, created once, on
the first completion request.

``auto`` picks vLLM (multi-LoRA, continuous batching on a GPU) when it is installed and a GPU is
present, else the transformers + PEFT engine. Nothing here imports the ML stack until an
engine is created, so the API starts without it.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Protocol

from openft.config import Settings
from openft.errors import ServerError
from openft.serve.generation import GenerationJob
from openft.serve.stream import Stream


class Engine(Protocol):
    name: str

    def submit(self, job: GenerationJob, stream: Stream | None = None) -> Stream: ...


def vllm_usable() -> bool:
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


def create_engine(settings: Settings) -> Engine:
    choice = settings.serve_engine
    if choice == "auto":
        choice = "vllm" if vllm_usable() else "transformers"
    if choice == "vllm":
        if importlib.util.find_spec("vllm") is None:
            raise ServerError(
                "OPENFT_SERVE_ENGINE is 'vllm' but vLLM is not installed (pip install 'openft[vllm]')."
            )
        from openft.serve.vllm_engine import VLLMEngine

        return VLLMEngine(settings)
    from openft.serve.transformers_engine import TransformersEngine

    return TransformersEngine(
        settings.data_dir,
        max_adapters=settings.serve_max_adapters,
        max_batch_size=settings.serve_max_batch_size,
        default_max_tokens=settings.serve_default_max_tokens,
        threads=settings.serve_cpu_threads,
        compute_dtype=settings.compute_dtype,
        packed_weights=settings.packed_weights,
    )


class LazyEngine:
    """The process's engine, created by the first caller of ``get``."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def get(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = create_engine(self.settings)
            return self._engine
