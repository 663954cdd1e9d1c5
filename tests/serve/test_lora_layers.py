"""The served LoRA layers' lean forward (serve/lora_layers.py) against PEFT's own: the same logits
for a batch on one adapter, on the base model and on a mix of both, prefill and decode, in float32
and bfloat16; PEFT's forward again for an adapter the lean one does not cover (a bias on B); the
base's packed weights (lm/packed_linear.py) under them, to the bit of its plain weights."""

from __future__ import annotations

import warnings
from contextlib import nullcontext

import pytest

from openft.catalog import ModelTarget

pytestmark = pytest.mark.serve

PROMPTS = [[5, 17, 33, 2, 9, 41], [7, 3, 12]]  # two lengths: the second row is left-padded


@pytest.fixture(scope="module")
def biased_adapter(tmp_path_factory, tiny_model_dir):
    import torch
    from peft import LoraConfig, get_peft_model

    from openft.lm.loading import load_model_and_tokenizer

    model, _ = load_model_and_tokenizer(tiny_model_dir)
    torch.manual_seed(4)
    config = LoraConfig(
        r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False, lora_bias=True
    )
    path = tmp_path_factory.mktemp("biased") / "adapter"
    with warnings.catch_warnings():  # PEFT takes B's 1-D bias for an ungathered ZeRO-3 shard
        warnings.simplefilter("ignore", UserWarning)
        get_peft_model(model, config).save_pretrained(path)
    return path


def served(tmp_path, tiny_model_dir, dtype: str, max_adapters: int = 4, packed_weights: bool = True):
    from openft.serve.pool import ModelPool

    pool = ModelPool(tmp_path, max_adapters=max_adapters, compute_dtype=dtype, packed_weights=packed_weights)
    return pool.base(
        ModelTarget(name="tiny", base_id="tiny", base_source=str(tiny_model_dir), context_length=256)
    )


def reference(tiny_model_dir, adapters: dict, dtype):
    """A plain PeftModel with PEFT's own layers and the same adapters."""
    from peft import PeftModel

    from openft.lm.loading import load_model_and_tokenizer

    base, _ = load_model_and_tokenizer(tiny_model_dir, dtype=dtype)
    model = None
    for name, directory in adapters.items():
        if model is None:
            model = PeftModel.from_pretrained(base, str(directory), adapter_name=name)
        else:
            model.load_adapter(str(directory), adapter_name=name)
    return model.eval()


def decode(forward, adapters: list[str | None], steps: int = 3):
    """Prefill the two prompts, then decode ``steps`` fixed tokens; the last logits of each step."""
    import torch

    width = max(map(len, PROMPTS))
    ids = torch.tensor([[0] * (width - len(p)) + p for p in PROMPTS])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in PROMPTS])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    logits, cache = forward(ids, mask, positions, None, adapters)
    out = [logits]
    for step in range(steps):
        mask = torch.cat([mask, mask.new_ones((2, 1))], dim=1)
        positions = positions[:, -1:] + 1
        logits, cache = forward(torch.full((2, 1), 11 + step), mask, positions, cache, adapters)
        out.append(logits)
    return torch.stack(out, dim=1)


def peft_forward(model):
    import torch

    def forward(ids, mask, positions, cache, adapters):
        names = set(adapters)
        extra = {"adapter_names": [name or "__base__" for name in adapters]} if len(names) > 1 else {}
        if len(names) == 1 and None not in names:
            model.set_adapter(names.pop())
        context = model.disable_adapter() if names == {None} else nullcontext()
        with torch.inference_mode(), context:
            output = model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=positions,
                past_key_values=cache,
                use_cache=True,
                **extra,
            )
        return output.logits[:, -1].float(), output.past_key_values

    return forward


TOLERANCE = {"float32": 1e-5, "bfloat16": 3e-2}  # bf16: mixed rows differ by PEFT rounding the delta first


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("adapters", [["a", "a"], [None, None], ["a", None], ["b", "a"]])
def test_lean_layers_give_pefts_logits(tmp_path, tiny_model_dir, tiny_artifacts, adapters, dtype):
    import torch

    model = served(tmp_path, tiny_model_dir, dtype)
    names = {key: model.adapters.acquire(tiny_artifacts[key]) for key in ("a", "b")}
    ours = decode(model.forward, [names[a] if a else None for a in adapters])
    adapter_dirs = {key: tiny_artifacts[key] for key in names}
    plain = peft_forward(reference(tiny_model_dir, adapter_dirs, getattr(torch, dtype)))
    theirs = decode(plain, adapters)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=TOLERANCE[dtype])
    base = decode(plain, [None, None])
    for row, adapter in enumerate(adapters):  # the adapters do change the logits
        assert adapter is None or (ours[row] - base[row]).abs().max() > 10 * TOLERANCE[dtype]


def test_an_adapter_the_lean_layers_do_not_cover_runs_pefts_forward(
    tmp_path, tiny_model_dir, tiny_artifacts, biased_adapter
):
    import torch

    model = served(tmp_path, tiny_model_dir, "float32", max_adapters=2)
    a = model.adapters.acquire(tiny_artifacts["a"])
    biased = model.adapters.acquire(biased_adapter)
    adapters = {"a": tiny_artifacts["a"], "biased": biased_adapter, "b": tiny_artifacts["b"]}
    plain = peft_forward(reference(tiny_model_dir, adapters, torch.float32))
    for ours, theirs in (
        ([biased, a], ["biased", "a"]),
        ([biased, None], ["biased", None]),
        ([biased, biased], ["biased", "biased"]),
    ):
        torch.testing.assert_close(decode(model.forward, ours), decode(plain, theirs), rtol=1e-5, atol=1e-5)
    model.adapters.release(biased_adapter)
    b = model.adapters.acquire(tiny_artifacts["b"])  # evicts the biased adapter: the layers are lean again
    assert model.adapters.loaded() == [str(tiny_artifacts["a"]), str(tiny_artifacts["b"])]
    torch.testing.assert_close(decode(model.forward, [a, b]), decode(plain, ["a", "b"]), rtol=1e-5, atol=1e-5)


def test_packed_base_weights_serve_the_plain_weights_logits(tmp_path, tiny_model_dir, tiny_artifacts):
    import torch

    from openft.lm.packed_linear import PackedLinear
    from support.packing import jobs_pack

    if not jobs_pack():
        pytest.skip("weights are packed on CPUs that compute in bfloat16")
    logits, kinds = [], []
    for packed in (True, False):
        model = served(tmp_path / str(packed), tiny_model_dir, "bfloat16", packed_weights=packed)
        a = model.adapters.acquire(tiny_artifacts["a"])
        logits.append(decode(model.forward, [a, None]))
        kinds.append({type(m) for m in model.adapters.module.modules()})
    assert PackedLinear in kinds[0] and PackedLinear not in kinds[1]
    assert torch.equal(logits[0], logits[1])
