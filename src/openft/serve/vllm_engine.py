"""VLLMEngine: the same jobs on vLLM (GPU, paged attention, continuous batching, multi-LoRA).

Used when vLLM is installed (an optional extra) and a GPU is present, or when
``OPENFT_SERVE_ENGINE=vllm``. One ``AsyncLLM`` per loaded model path (a base model, or fully
fine-tuned weights) runs on its own event loop in a background thread; LoRA adapters are
``LoRARequest``s on their base (vLLM keeps up to ``serve_max_adapters`` on the GPU at once).
Prompts, budgets, seeds and events are openft's own (``prompts``, ``admission``), so both
engines answer the same request alike; each choice is one vLLM request with its own seed.
Structured outputs go to vLLM's own backends (JSON schema, or the Lark tool-call grammar).

vLLM is not installed in CI (no GPU there): this module is imported only when it is chosen.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import uuid

import vllm
from vllm.lora.request import LoRARequest

from openft import heap
from openft.catalog import ModelTarget
from openft.config import Settings
from openft.errors import APIError, ServerError
from openft.serve.admission import choice_seed, token_budget
from openft.serve.generation import (
    Accepted,
    Completed,
    Delta,
    Failed,
    Finished,
    FinishReason,
    GenerationJob,
    TokenLogprob,
)
from openft.serve.prompts import prompt_ids, prompt_text
from openft.serve.stream import Stream

log = logging.getLogger("openft.serve")


class VLLMEngine:
    name = "vllm"

    def __init__(self, settings: Settings):
        self.settings = settings
        self._models: dict[str, tuple] = {}  # path -> (AsyncLLM, tokenizer, context length)
        self._lora_ids: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="openft-vllm", daemon=True).start()

    def submit(self, job: GenerationJob, stream: Stream | None = None) -> Stream:
        stream = stream or Stream()
        asyncio.run_coroutine_threadsafe(self._run(job, stream), self._loop)
        return stream

    async def _run(self, job: GenerationJob, stream: Stream) -> None:
        try:
            engine, tokenizer, context = await self._model(job.target)
            vocab = len(tokenizer)
            prompts = [prompt_ids(tokenizer, prompt, vocab) for prompt in job.prompts]
            budgets = [
                token_budget(job, len(ids), context, self.settings.serve_default_max_tokens)
                for ids in prompts
            ]
            texts = [prompt_text(tokenizer, prompt, ids) for prompt, ids in zip(job.prompts, prompts)]
            stream.emit(Accepted([len(ids) for ids in prompts], texts))
            lora = self._lora(job.target)
            counts = await asyncio.gather(
                *(
                    self._choice(
                        engine, job, index, prompts[index // job.n], budgets[index // job.n], lora, stream
                    )
                    for index in range(job.n_choices)
                )
            )
            if not stream.cancelled:
                stream.emit(Completed(sum(map(len, prompts)), sum(counts)))
        except APIError as error:
            stream.emit(Failed(error))
        except Exception as exc:
            log.exception("vLLM generation failed for %s", job.target.name)
            stream.emit(
                Failed(ServerError(f"The server had an error while generating: {type(exc).__name__}: {exc}"))
            )

    async def _choice(
        self, engine, job: GenerationJob, index: int, ids: list[int], budget: int, lora, stream: Stream
    ) -> int:
        request_id = uuid.uuid4().hex
        shown, seen_tokens = "", 0
        async for output in engine.generate(
            {"prompt_token_ids": ids}, self._params(job, index, budget), request_id, lora_request=lora
        ):
            if stream.cancelled:
                await engine.abort(request_id)
                return seen_tokens
            completion = output.outputs[0]
            scores = _logprobs(completion, seen_tokens, job.sampling.logprobs)
            if completion.text[len(shown) :] or scores:
                stream.emit(Delta(index, completion.text[len(shown) :], scores))
            shown, seen_tokens = completion.text, len(completion.token_ids)
            if output.finished:
                reason: FinishReason = "length" if completion.finish_reason == "length" else "stop"
                stream.emit(Finished(index, reason, seen_tokens))
        return seen_tokens

    def _params(self, job: GenerationJob, index: int, budget: int):
        s = job.sampling
        options = dict(
            n=1,
            max_tokens=budget,
            temperature=s.temperature,
            top_p=s.top_p,
            seed=choice_seed(s.seed, index) % 2**31,
            stop=list(s.stop) or None,
            presence_penalty=s.presence_penalty,
            frequency_penalty=s.frequency_penalty,
            logit_bias=s.logit_bias or None,
            logprobs=s.logprobs,
        )
        if job.grammar is not None:
            options.update(_structured(job.grammar))
        return vllm.SamplingParams(**options)

    def _lora(self, target: ModelTarget):
        if target.adapter_dir is None:
            return None
        path = str(target.adapter_dir)
        lora_id = self._lora_ids.setdefault(path, next(self._ids))
        return LoRARequest(f"adapter-{lora_id}", lora_id, path)

    async def _model(self, target: ModelTarget):
        path = str(target.weights_dir) if target.weights_dir else self._base_path(target)
        if path not in self._models:
            self._models[path] = await asyncio.to_thread(self._load, path, target)
            heap.settle()  # vLLM and the model, loaded for good: out of the collector's full passes
        return self._models[path]

    def _base_path(self, target: ModelTarget) -> str:
        from openft.lm.loading import resolve_model_path

        return resolve_model_path(target.base_source, self.settings.data_dir)

    def _load(self, path: str, target: ModelTarget):
        from transformers import AutoConfig, AutoTokenizer

        from openft.lm.loading import sequence_limit

        limit = sequence_limit(AutoConfig.from_pretrained(path), target.context_length)
        shares = max(1, len(self.settings.base_models))
        args = vllm.AsyncEngineArgs(
            model=path,
            enable_lora=True,
            max_loras=self.settings.serve_max_adapters,
            max_lora_rank=64,
            max_model_len=limit,
            gpu_memory_utilization=0.85 / shares,
        )
        engine = vllm.AsyncLLMEngine.from_engine_args(args)
        return engine, AutoTokenizer.from_pretrained(path), limit


def _structured(grammar) -> dict:
    """vLLM's structured-output parameter, under its current name or the one before 0.12."""
    key = "json" if grammar.kind == "json_schema" else "grammar"
    try:
        from vllm.sampling_params import StructuredOutputsParams

        return {"structured_outputs": StructuredOutputsParams(**{key: grammar.source})}
    except ImportError:
        from vllm.sampling_params import GuidedDecodingParams

        return {"guided_decoding": GuidedDecodingParams(**{key: grammar.source})}


def _logprobs(completion, seen: int, top: int | None) -> list[TokenLogprob]:
    if top is None or not completion.logprobs:
        return []
    out = []
    for token_id, candidates in zip(completion.token_ids[seen:], completion.logprobs[seen:]):
        chosen = candidates[token_id]
        ranked = sorted(candidates.items(), key=lambda item: -item[1].logprob)[:top]
        out.append(
            TokenLogprob(
                chosen.decoded_token or "",
                chosen.logprob,
                [(c.decoded_token or "", c.logprob) for _, c in ranked],
            )
        )
    return out
