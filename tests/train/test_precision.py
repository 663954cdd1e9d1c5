"""Precision: a bfloat16 run really computes in bfloat16 (its losses are near the float32 run's,
not equal to them), the same seed gives it the same losses, its frozen base is held in
bfloat16 with the rotary frequencies left in float32, and LoRA's mask dropout is nn.Dropout."""

import pytest

from support.train_specs import train_spec

pytest.importorskip("trl")

import torch

from openft.lm import numerics
from openft.lm.loading import load_model_and_tokenizer
from openft.train import precision
from openft.train.sft import train_sft

pytestmark = pytest.mark.train

ROWS = [
    {
        "messages": [
            {"role": "user", "content": f"Question {i}: " + "why is that " * i},
            {"role": "assistant", "content": "Because " + "it is so " * (i + 2)},
        ]
    }
    for i in range(10)
]


def losses(tiny_model_dir, data_dir, output_dir, write_jsonl, reporter, dtype: str) -> list[float]:
    spec = train_spec(
        source=str(tiny_model_dir),
        data_dir=data_dir,
        output_dir=output_dir,
        training_file=write_jsonl(ROWS),
        hyperparameters={"n_epochs": 1, "batch_size": 2},
        learning_rate=1e-2,
        seed=7,
        numerics=numerics.choose(dtype, device="cpu"),
    )
    train_sft(spec, reporter)
    return [metrics["train_loss"] for _, _, metrics in reporter.of("step")]


def test_a_bfloat16_run_computes_in_bfloat16_with_float32_like_losses_the_same_each_time(
    tiny_model_dir, data_dir, tmp_path, write_jsonl, new_reporter
):
    run = {
        name: losses(tiny_model_dir, data_dir, tmp_path / name, write_jsonl, new_reporter(), dtype)
        for name, dtype in (("f32", "float32"), ("bf16", "bfloat16"), ("bf16-again", "bfloat16"))
    }
    assert len(run["f32"]) == 5
    assert run["bf16"] == run["bf16-again"]  # the same seed, the same losses
    assert run["bf16"] != run["f32"]  # bfloat16 rounds: a run that only says bfloat16 would be equal
    assert run["bf16"] == pytest.approx(run["f32"], rel=0.03)


def test_a_frozen_base_is_bfloat16_and_the_rotary_frequencies_stay_float32(tiny_model_dir):
    model, _ = load_model_and_tokenizer(
        tiny_model_dir,
        dtype=precision.loading_dtype(numerics.choose("bfloat16", device="cpu"), trains_fully=False),
    )
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert {b.dtype for b in model.buffers()} == {torch.float32}


def test_mask_dropout_is_nn_dropout_seeded_like_it():
    dropout = precision.MaskDropout(0.05)
    x = torch.randn(512, 1024, requires_grad=True)
    torch.manual_seed(3)
    y = dropout(x)
    kept = y != 0
    assert abs(1 - kept.float().mean().item() - 0.05) < 0.002
    assert torch.allclose(y[kept], x[kept] / 0.95)
    y.sum().backward()
    assert x.grad is not None and torch.allclose(x.grad, kept.float() / 0.95)
    torch.manual_seed(3)
    assert torch.equal(dropout(x), y)  # the same seed, the same mask
    assert not torch.equal(dropout(x), y)  # and the next draw another
    dropout.eval()
    assert dropout(x) is x


def test_fast_lora_gives_the_lora_models_outputs(tiny_model_dir):
    from peft import LoraConfig, get_peft_model

    model, _ = load_model_and_tokenizer(tiny_model_dir)
    config = LoraConfig(r=4, lora_dropout=0.05, target_modules="all-linear", init_lora_weights=False)
    model = get_peft_model(model, config).eval()
    ids = torch.arange(3, 40).reshape(1, -1)
    bf16 = numerics.choose("bfloat16", device="cpu")
    with precision.autocast(bf16):
        expected = model(input_ids=ids).logits
        precision.fast_lora(model, bf16)
        got = model(input_ids=ids).logits
    layers = [module for module in model.modules() if hasattr(module, "lora_dropout")]
    assert layers and all(isinstance(m.lora_dropout["default"], precision.MaskDropout) for m in layers)
    assert not any(m.cast_input_dtype_enabled for m in layers)
    assert torch.equal(got, expected)  # the same bfloat16 matmuls, without the casts in between
