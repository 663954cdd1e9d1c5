"""Frozen bfloat16 linear layers with weights packed for oneDNN (lm/packed_linear.py): a model's
logits to the bit of the same model unpacked, prefill and decode; gradients through them; a weight
changed in place; and the layers that stay as they are."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from openft.lm import packed_linear  # noqa: E402
from openft.lm.loading import load_model_and_tokenizer  # noqa: E402
from support.packing import cpu_packs  # noqa: E402

pytestmark = pytest.mark.skipif(
    not cpu_packs(), reason="packing is for CPUs that compute in bfloat16 with oneDNN"
)


def frozen(tiny_model_dir):
    model, _ = load_model_and_tokenizer(tiny_model_dir, dtype=torch.bfloat16)
    return model.eval().requires_grad_(False)


def linears(model) -> list:
    return [m for m in model.modules() if isinstance(m, torch.nn.Linear)]


def decode_logits(model, steps: int = 3) -> torch.Tensor:
    """Prefill two left-padded prompts, then decode ``steps`` tokens greedily; every step's last logits."""
    ids = torch.tensor([[0, 0, 7, 3, 12], [5, 17, 33, 2, 9]])
    mask = (ids != 0).long()
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    out, cache = [], None
    with torch.inference_mode():
        for _ in range(steps + 1):
            output = model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=positions,
                past_key_values=cache,
                use_cache=True,
            )
            cache, logits = output.past_key_values, output.logits[:, -1]
            out.append(logits)
            ids = logits.argmax(-1, keepdim=True)
            mask = torch.cat([mask, mask.new_ones((2, 1))], dim=1)
            positions = positions[:, -1:] + 1
    return torch.stack(out, dim=1)


def test_a_packed_model_gives_the_unpacked_models_logits_to_the_bit(tiny_model_dir):
    plain, packed = frozen(tiny_model_dir), frozen(tiny_model_dir)
    assert packed_linear.pack(packed) == len(linears(packed))  # every projection and the LM head
    assert all(type(m) is packed_linear.PackedLinear for m in linears(packed))
    assert torch.equal(decode_logits(packed), decode_logits(plain))
    assert packed_linear.packed_bytes(packed) == sum(m.weight.nbytes for m in linears(packed))


def test_with_gradients_on_a_packed_layer_runs_nn_linears_forward():
    layer = torch.nn.Linear(64, 96).to(torch.bfloat16).requires_grad_(False)
    reference = torch.nn.Linear(64, 96).to(torch.bfloat16).requires_grad_(False)
    reference.load_state_dict(layer.state_dict())
    assert packed_linear.pack(layer) == 1
    x = torch.randn(2, 5, 64, dtype=torch.bfloat16, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    layer(x).square().sum().backward()  # the packed op has no backward
    reference(x_ref).square().sum().backward()
    assert x.grad is not None and torch.equal(x.grad, x_ref.grad)


def test_a_weight_changed_in_place_is_packed_again():
    layer = torch.nn.Linear(64, 96, bias=False).to(torch.bfloat16).requires_grad_(False)
    packed_linear.pack(layer)
    x = torch.randn(1, 1, 64, dtype=torch.bfloat16)
    with torch.inference_mode():
        before = layer(x)
        layer.weight.mul_(2)
        after = layer(x)
    assert torch.equal(after, torch.nn.functional.linear(x, layer.weight))
    assert not torch.equal(after, before)


@pytest.mark.parametrize("case", ["trainable", "float32"])
def test_trainable_and_float32_layers_stay_plain(tiny_model_dir, case):
    model, _ = load_model_and_tokenizer(
        tiny_model_dir, dtype=torch.bfloat16 if case == "trainable" else torch.float32
    )
    if case == "float32":
        model.requires_grad_(False)
    assert packed_linear.pack(model) == 0
    assert all(type(m) is torch.nn.Linear for m in linears(model))
