"""TransformersEngine: chat and completions on transformers + PEFT, one thread owning the models.

``submit`` queues a job and returns its ``Stream``. A single engine thread does everything that
touches a model (loading, adapter swaps, tokenizing, forward passes), so concurrent requests
never share a model mid-step. Each round it admits the queued jobs, prefills them as a new
batch, merges that batch into a running one on the same model when it can (continuous
batching, adapters mixed per row), and advances every batch by one token. The thread exits
when there is no work and starts again with the next job.

The thread runs torch with one thread per core but one: on a busy machine, OpenMP teams that
take every core wait on each other at every small matrix product (a batch of 8 decoded 8x
slower with 2 threads than with 1 on a loaded 2-core machine).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import torch

from openft.errors import APIError, ServerError
from openft.serve.admission import admit
from openft.serve.batch import Batch
from openft.serve.generation import Failed, GenerationJob
from openft.serve.pool import LoadedModel, ModelPool
from openft.serve.sequence import Sequence
from openft.serve.stream import Stream

log = logging.getLogger("openft.serve")


class TransformersEngine:
    name = "transformers"

    def __init__(
        self,
        data_dir: Path,
        *,
        max_adapters: int = 8,
        max_batch_size: int = 16,
        default_max_tokens: int = 4096,
        device: str | None = None,
        threads: int = 0,
        compute_dtype: str = "auto",
        packed_weights: bool = True,
    ):
        self.pool = ModelPool(
            data_dir,
            max_adapters=max_adapters,
            device=device,
            compute_dtype=compute_dtype,
            packed_weights=packed_weights,
        )
        self.max_batch_size = max_batch_size
        self.default_max_tokens = default_max_tokens
        self.threads = threads or engine_threads()
        self.batches: list[Batch] = []
        self._pending: list[tuple[GenerationJob, Stream]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, job: GenerationJob, stream: Stream | None = None) -> Stream:
        stream = stream or Stream()
        with self._lock:
            self._pending.append((job, stream))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="openft-engine", daemon=True)
                self._thread.start()
        return stream

    def _run(self) -> None:
        torch.set_num_threads(self.threads)  # this thread's (and later threads') OpenMP team
        while True:
            with self._lock:
                pending, self._pending = self._pending, []
                if not pending and not self.batches:
                    self._thread = None
                    return
            try:
                self._round(pending)
            except Exception:  # a bug in the loop itself: fail what runs, keep the engine serving
                log.exception("the engine loop failed")
                for batch in self.batches:
                    batch.fail(ServerError("The server had an error while generating."))
                self.batches = []

    def _round(self, pending: list[tuple[GenerationJob, Stream]]) -> None:
        """Admit the queued jobs, then advance every batch by one token."""
        if pending:
            self._admit(pending)
        for batch in self.batches:
            self._guarded(batch, batch.step)
        self.batches = [batch for batch in self.batches if not batch.done]

    def _admit(self, pending: list[tuple[GenerationJob, Stream]]) -> None:
        by_model: dict[int, list[Sequence]] = defaultdict(list)
        models: dict[int, LoadedModel] = {}
        for job, stream in pending:
            for sequence, model in self._sequences(job, stream):
                if sequence.max_tokens == 0:
                    sequence.finish("length")
                    continue
                by_model[id(model)].append(sequence)
                models[id(model)] = model
        for key, sequences in by_model.items():
            for start in range(0, len(sequences), self.max_batch_size):
                batch = Batch(models[key], sequences[start : start + self.max_batch_size])
                self._guarded(batch, batch.prefill)
                if not batch.done:
                    self._place(batch)

    def _sequences(self, job: GenerationJob, stream: Stream) -> list[tuple[Sequence, LoadedModel]]:
        if stream.cancelled:
            return []
        try:
            model, sequences = admit(job, stream, self.pool, default_max_tokens=self.default_max_tokens)
        except APIError as error:
            stream.emit(Failed(error))
            return []
        except Exception as exc:  # a model that cannot be loaded, a broken tokenizer: the job fails alone
            log.exception("could not start generating with %s", job.target.name)
            stream.emit(
                Failed(
                    ServerError(
                        f"The model {job.target.name} could not be loaded: {type(exc).__name__}: {exc}"
                    )
                )
            )
            return []
        return [(sequence, model) for sequence in sequences]

    def _place(self, batch: Batch) -> None:
        """Merge a freshly prefilled batch into a running one on the same model, or run it beside them."""
        for running in self.batches:
            if len(running) + len(batch) <= self.max_batch_size and running.can_merge(batch):
                running.merge(batch)
                return
        self.batches.append(batch)

    def _guarded(self, batch: Batch, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as exc:
            log.exception("generation failed")
            batch.fail(ServerError(f"The server had an error while generating: {type(exc).__name__}: {exc}"))


def engine_threads() -> int:
    return max(1, (os.cpu_count() or 2) - 1)
