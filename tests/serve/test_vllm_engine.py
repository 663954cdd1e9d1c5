"""VLLMEngine's side of the vLLM contract, run against a stand-in for vLLM's async API.

vLLM needs a GPU and is not installed here, so these tests put a small module in its place
that behaves as ``vllm.AsyncLLMEngine`` does (``generate`` is an async generator of cumulative
``RequestOutput``s, ``abort`` ends a request) and records what openft asks of it. They check
openft's half: prompts tokenized with the model's template, one request per choice with its own
seed, budgets from the context, LoRA requests stable per adapter, structured outputs passed on,
events in the engine protocol's order, and a cancelled stream aborting its requests.
"""

from __future__ import annotations

import asyncio
import queue
import sys
import time
import types
from dataclasses import dataclass, field

import pytest

from openft.catalog import ModelTarget
from openft.config import Settings
from openft.serve.generation import (
    Accepted,
    ChatPrompt,
    Completed,
    Delta,
    Failed,
    Finished,
    GenerationJob,
    Grammar,
    Sampling,
    TextPrompt,
)

pytestmark = pytest.mark.serve


@dataclass
class Output:  # vllm.outputs.CompletionOutput, the fields openft reads
    text: str
    token_ids: list[int]
    logprobs: list | None
    finish_reason: str | None


@dataclass
class RequestOutput:
    outputs: list[Output]
    finished: bool


@dataclass
class FakeVLLM:
    """What openft asked of the stand-in: engines made, requests, aborts."""

    engines: list = field(default_factory=list)
    requests: list = field(default_factory=list)  # (request_id, prompt, params, lora_request)
    aborted: list = field(default_factory=list)
    delay: float = 0.0


def install(monkeypatch, fake: FakeVLLM) -> None:
    class SamplingParams:
        def __init__(self, **options):
            self.options = options

    class StructuredOutputsParams:
        def __init__(self, **options):
            self.options = options

    class LoRARequest:
        def __init__(self, name, lora_id, path):
            self.name, self.lora_id, self.path = name, lora_id, path

    class AsyncEngineArgs:
        def __init__(self, **options):
            self.options = options

    class Engine:
        def __init__(self, args):
            self.args = args

        async def generate(self, prompt, params, request_id, *, lora_request=None):
            fake.requests.append((request_id, prompt, params, lora_request))
            budget, seed = params.options["max_tokens"], params.options["seed"]
            tokens = [(seed + step) % 50 + 1 for step in range(budget)]
            for count in range(1, budget + 1):
                await asyncio.sleep(fake.delay)
                shown = tokens[:count]
                done = count == budget
                yield RequestOutput(
                    [Output("".join(f"<{t}>" for t in shown), shown, None, "length" if done else None)], done
                )

        async def abort(self, request_id):
            fake.aborted.append(request_id)

    class AsyncLLMEngine:
        @staticmethod
        def from_engine_args(args):
            engine = Engine(args)
            fake.engines.append(engine)
            return engine

    vllm = types.ModuleType("vllm")
    vllm.SamplingParams, vllm.AsyncEngineArgs, vllm.AsyncLLMEngine = (
        SamplingParams,
        AsyncEngineArgs,
        AsyncLLMEngine,
    )
    lora = types.ModuleType("vllm.lora")
    lora_request = types.ModuleType("vllm.lora.request")
    lora_request.LoRARequest = LoRARequest
    sampling = types.ModuleType("vllm.sampling_params")
    sampling.StructuredOutputsParams = StructuredOutputsParams
    for name, module in {
        "vllm": vllm,
        "vllm.lora": lora,
        "vllm.lora.request": lora_request,
        "vllm.sampling_params": sampling,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, "openft.serve.vllm_engine", raising=False)


@pytest.fixture
def fake(monkeypatch):
    recorded = FakeVLLM()
    install(monkeypatch, recorded)
    return recorded


@pytest.fixture
def engine(fake, tmp_path):
    from openft.serve.vllm_engine import VLLMEngine

    return VLLMEngine(Settings(data_dir=tmp_path, serve_max_adapters=4))


@pytest.fixture
def base(tiny_model_dir) -> ModelTarget:
    return ModelTarget(name="tiny", base_id="tiny", base_source=str(tiny_model_dir), context_length=64)


def test_each_choice_is_one_request_with_its_own_seed_and_events_come_in_order(engine, fake, base, tokenizer):
    prompts = [ChatPrompt([{"role": "user", "content": "Hi"}]), TextPrompt(text="Once upon")]
    job = GenerationJob(
        target=base, prompts=prompts, sampling=Sampling(max_tokens=3, seed=5, stop=("x",)), n=2
    )
    seen = list(engine.submit(job))

    accepted = seen[0]
    assert isinstance(accepted, Accepted) and accepted.prompt_texts[1] == "Once upon"
    chat_ids = tokenizer.apply_chat_template(
        prompts[0].messages, add_generation_prompt=True, tokenize=True, return_dict=True
    )["input_ids"]
    by_prompt = {tuple(r[1]["prompt_token_ids"]) for r in fake.requests}
    assert tuple(chat_ids) in by_prompt and len(by_prompt) == 2 and accepted.prompt_tokens[0] == len(chat_ids)
    seeds = [r[2].options["seed"] for r in fake.requests]
    assert (
        len(fake.requests) == 4 and len(set(seeds)) == 4
    )  # n=2 for each of 2 prompts, each choice seeded apart
    assert all(
        r[2].options["stop"] == ["x"] and r[2].options["max_tokens"] == 3 and r[2].options["n"] == 1
        for r in fake.requests
    )

    finished = [e for e in seen if isinstance(e, Finished)]
    assert sorted(e.index for e in finished) == [0, 1, 2, 3] and all(
        e.reason == "length" and e.completion_tokens == 3 for e in finished
    )
    texts = choice_texts(seen)  # the deltas of a choice add up to vLLM's cumulative text
    assert all(text.count("<") == 3 for text in texts.values()) and len(set(texts.values())) == 4
    assert seen[-1] == Completed(prompt_tokens=sum(accepted.prompt_tokens), completion_tokens=12)

    assert choice_texts(list(engine.submit(job))) == texts  # the same seed: the same answers
    assert len(fake.engines) == 1  # one engine per model path, made once


def choice_texts(seen: list) -> dict[int, str]:
    texts: dict[int, str] = {}
    for event in seen:
        if isinstance(event, Delta):
            texts[event.index] = texts.get(event.index, "") + event.text
    return texts


def test_adapters_are_lora_requests_stable_per_directory(engine, fake, base, tiny_artifacts):
    a = ModelTarget(**{**base.__dict__, "name": "a", "adapter_dir": tiny_artifacts["a"]})
    b = ModelTarget(**{**base.__dict__, "name": "b", "adapter_dir": tiny_artifacts["b"]})
    for target in (a, b, a, base):
        list(
            engine.submit(
                GenerationJob(target=target, prompts=[TextPrompt(text="Hi")], sampling=Sampling(max_tokens=1))
            )
        )
    loras = [r[3] for r in fake.requests]
    assert [lora.path for lora in loras[:3]] == [
        str(tiny_artifacts["a"]),
        str(tiny_artifacts["b"]),
        str(tiny_artifacts["a"]),
    ]
    assert loras[0].lora_id == loras[2].lora_id != loras[1].lora_id and loras[3] is None
    args = fake.engines[0].args.options
    assert args["enable_lora"] and args["max_loras"] == 4 and args["max_model_len"] == 64


def test_json_schema_goes_to_vllms_structured_outputs(engine, fake, base):
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    job = GenerationJob(
        target=base,
        prompts=[TextPrompt(text="{")],
        sampling=Sampling(max_tokens=2),
        grammar=Grammar(kind="json_schema", source=schema, param="response_format"),
    )
    list(engine.submit(job))
    assert fake.requests[0][2].options["structured_outputs"].options == {"json": schema}


def test_a_prompt_too_long_for_the_context_fails_before_any_request(engine, fake, base):
    job = GenerationJob(
        target=base, prompts=[TextPrompt(text="word " * 40)], sampling=Sampling(max_tokens=60)
    )
    (failed,) = list(engine.submit(job))
    assert isinstance(failed, Failed) and failed.error.param == "prompt" and fake.requests == []


def test_a_cancelled_stream_aborts_its_requests(engine, fake, base):
    fake.delay = 0.05
    stream = engine.submit(
        GenerationJob(target=base, prompts=[TextPrompt(text="Hi")], sampling=Sampling(max_tokens=50), n=2)
    )
    first = [stream.get(timeout=30) for _ in range(2)]  # Accepted, then the first delta
    assert isinstance(first[0], Accepted) and isinstance(first[1], Delta)
    stream.cancel()
    deadline = time.monotonic() + 10
    while len(fake.aborted) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sorted(fake.aborted) == sorted(r[0] for r in fake.requests)
    time.sleep(0.2)
    with pytest.raises(queue.Empty):  # no Completed after a cancel: nobody listens
        while True:
            assert not isinstance(stream.get(timeout=0.1), Completed | Finished)
