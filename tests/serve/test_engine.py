"""The transformers engine itself: one copy of the base model with an LRU of adapters, batches
that merge mid-generation, cancellation, and failures that stay with their own job."""

from __future__ import annotations

import shutil
import threading
import time

import pytest

from openft.catalog import ModelTarget
from openft.serve.generation import (
    Accepted,
    ChatPrompt,
    Completed,
    Delta,
    Failed,
    Finished,
    GenerationJob,
    Sampling,
)

pytestmark = pytest.mark.serve


@pytest.fixture
def targets(tiny_model_dir, tiny_artifacts) -> dict[str, ModelTarget]:
    base = ModelTarget(name="tiny", base_id="tiny", base_source=str(tiny_model_dir), context_length=256)
    return {
        "base": base,
        "a": ModelTarget(**{**base.__dict__, "name": "a", "adapter_dir": tiny_artifacts["a"]}),
        "b": ModelTarget(**{**base.__dict__, "name": "b", "adapter_dir": tiny_artifacts["b"]}),
        "full": ModelTarget(**{**base.__dict__, "name": "full", "weights_dir": tiny_artifacts["full"]}),
    }


def new_engine(tmp_path, **options):
    from openft.serve.transformers_engine import TransformersEngine

    # float32: the tests compare a request's exact tokens alone and batched (tiny_models.py)
    return TransformersEngine(tmp_path, **{"compute_dtype": "float32", **options})


def job(target: ModelTarget, max_tokens: int = 8, **sampling) -> GenerationJob:
    prompt = ChatPrompt([{"role": "user", "content": "Say hello."}])
    return GenerationJob(
        target=target, prompts=[prompt], sampling=Sampling(max_tokens=max_tokens, temperature=0, **sampling)
    )


def text(stream) -> str:
    events = list(stream)
    assert not isinstance(events[-1], Failed), events[-1]
    return "".join(e.text for e in events if isinstance(e, Delta))


def test_adapters_share_one_base_model_and_the_least_recently_used_is_evicted(tmp_path, targets):
    engine = new_engine(tmp_path, max_adapters=1)
    first = {name: text(engine.submit(job(targets[name]))) for name in ("base", "a", "b")}
    model = engine.pool.bases["tiny"]
    assert model.adapters.loaded() == [str(targets["b"].adapter_dir)]  # "a" was evicted
    assert text(engine.submit(job(targets["a"]))) == first["a"]  # and comes back the same
    assert model.adapters.loaded() == [str(targets["a"].adapter_dir)]
    assert text(engine.submit(job(targets["base"]))) == first["base"]
    assert list(engine.pool.bases) == ["tiny"]
    base_weights = model.adapters.module.get_base_model().model.embed_tokens.weight
    assert (
        sum(p.numel() for p in model.adapters.module.parameters() if p.data_ptr() == base_weights.data_ptr())
        == base_weights.numel()
    )


def test_an_adapter_in_use_is_not_evicted(tmp_path, targets):
    engine = new_engine(tmp_path, max_adapters=1)
    expected = {name: text(new_engine(tmp_path).submit(job(targets[name], 40))) for name in ("a", "b")}
    streams = {name: engine.submit(job(targets[name], 40)) for name in ("a", "b")}
    assert {name: text(stream) for name, stream in streams.items()} == expected


def test_a_request_arriving_mid_generation_joins_the_running_batch(tmp_path, targets):
    engine = new_engine(tmp_path)
    alone = {
        "a": text(engine.submit(job(targets["a"], 150))),
        "b": text(engine.submit(job(targets["b"], 60))),
    }
    long = engine.submit(job(targets["a"], 150))
    events = iter(long)
    while not isinstance(next(events), Delta):
        pass
    late = engine.submit(job(targets["b"], 60))
    sizes = []
    while engine.batches or not sizes:
        sizes.append([len(b) for b in engine.batches])
        time.sleep(0.002)
    assert [2] in sizes  # one batch of two sequences on two adapters
    rest = "".join(e.text for e in events if isinstance(e, Delta))
    assert alone["a"].endswith(rest) and text(late) == alone["b"]


def test_n_choices_of_one_prompt_share_one_prefill(tmp_path, targets, monkeypatch):
    engine = new_engine(tmp_path)
    model = engine.pool.base(targets["base"])
    widths = []
    forward = model.forward
    monkeypatch.setattr(
        model, "forward", lambda ids, *rest: widths.append(tuple(ids.shape)) or forward(ids, *rest)
    )
    stream = engine.submit(
        GenerationJob(
            target=targets["base"],
            prompts=job(targets["base"]).prompts,
            n=3,
            sampling=Sampling(max_tokens=2, seed=1),
        )
    )
    events = list(stream)
    assert widths[0][0] == 1 and widths[1] == (3, 1)
    assert sorted(e.index for e in events if isinstance(e, Finished)) == [0, 1, 2]


def test_cancelling_a_stream_stops_its_generation(tmp_path, targets):
    engine = new_engine(tmp_path)
    stream = engine.submit(job(targets["base"], 200))
    assert isinstance(stream.get(timeout=30), Accepted)
    stream.cancel()
    deadline = time.monotonic() + 10
    while engine._thread is not None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    deltas = []
    while not stream._sync.empty():
        deltas.append(stream.get())
    assert not any(isinstance(e, Completed) for e in deltas) and len(deltas) < 200


def test_a_broken_adapter_fails_its_own_job_only(tmp_path, targets, tiny_artifacts):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_artifacts["a"], broken)
    (broken / "adapter_model.safetensors").write_bytes(b"not weights")
    expected = {name: text(new_engine(tmp_path).submit(job(targets[name]))) for name in ("base", "b")}
    engine = new_engine(tmp_path)
    for _ in range(2):  # before and after the base model carries adapters
        bad = engine.submit(job(ModelTarget(**{**targets["base"].__dict__, "adapter_dir": broken})))
        good = {name: engine.submit(job(targets[name])) for name in ("base", "b")}
        [failure] = list(bad)
        assert isinstance(failure, Failed) and "could not be loaded" in failure.error.message
        assert {name: text(stream) for name, stream in good.items()} == expected


def test_full_weights_load_on_their_own(tmp_path, targets):
    engine = new_engine(tmp_path)
    assert text(engine.submit(job(targets["full"]))) != text(engine.submit(job(targets["base"])))
    assert list(engine.pool.bases) == ["tiny"]


def test_the_engine_thread_exits_when_idle_and_restarts(tmp_path, targets):
    engine = new_engine(tmp_path)
    text(engine.submit(job(targets["base"], 2)))
    deadline = time.monotonic() + 5
    while engine._thread is not None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not [t for t in threading.enumerate() if t.name == "openft-engine"]
    assert text(engine.submit(job(targets["base"], 2)))
