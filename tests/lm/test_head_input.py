"""The LM head of a frozen model (a PEFT adapter's base) computes the last position's logits in
one matrix product, as a trainable one does, not with a copy of its weight per row."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def weight_copies(model, **inputs) -> tuple[int, torch.Tensor]:
    """How many ops copied or multiplied a tensor the size of the head's weight per row, and the logits."""
    from torch.profiler import profile

    vocab, hidden = model.get_output_embeddings().weight.shape
    with torch.inference_mode(), profile(record_shapes=True) as prof:
        logits = model(**inputs, logits_to_keep=1).logits
    copies = sum(
        1
        for event in prof.events()
        if event.name in ("aten::copy_", "aten::bmm")
        and any(list(shape[-2:]) == [hidden, vocab] for shape in event.input_shapes if len(shape) == 3)
    )
    return copies, logits


@pytest.mark.parametrize("frozen", [False, True])
def test_the_last_positions_logits_take_one_matrix_product(tiny_model_dir, frozen):
    from openft.lm.loading import load_model_and_tokenizer

    model, _ = load_model_and_tokenizer(tiny_model_dir)
    model.requires_grad_(not frozen)  # as PEFT leaves the base model under an adapter
    ids = torch.randint(5, 500, (3, 7))
    copies, logits = weight_copies(model.eval(), input_ids=ids)
    assert copies == 0
    with torch.inference_mode():
        every_position = model(input_ids=ids).logits
    torch.testing.assert_close(logits[:, -1], every_position[:, -1])


def test_a_plain_linear_head_copies_its_weight_for_that_input():
    # what the hook is for: PyTorch's matmul with a frozen weight and a sliced 3-D input (should_fold)
    head = torch.nn.Linear(64, 4096, bias=False).requires_grad_(False)
    hidden = torch.randn(3, 7, 64)[:, -1:, :]
    from torch.profiler import profile

    with torch.inference_mode(), profile(record_shapes=True) as prof:
        head(hidden)
    assert any(event.name == "aten::bmm" for event in prof.events())
