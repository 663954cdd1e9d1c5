"""The loss on labelled tokens only equals the padded computation's (full logits, then masked)."""

import pytest

pytest.importorskip("trl")

import torch
import torch.nn.functional as F

from openft.lm.loading import load_model_and_tokenizer
from openft.train.collator import Collator
from openft.train.data import IGNORE_INDEX, tokenize_rows
from openft.train.token_loss import labelled_loss

pytestmark = pytest.mark.train

ROWS = [
    {
        "messages": [
            {"role": "system", "content": "You answer briefly."},
            {"role": "user", "content": "Name a river."},
            {"role": "assistant", "content": "The Nile, in Africa.", "weight": 0},
            {"role": "user", "content": "Another, longer, please " + "and more " * i},
            {"role": "assistant", "content": "The Danube " + "flows on " * (3 * i)},
        ]
    }
    for i in range(4)
]


@pytest.fixture
def batch(tiny_model_dir):
    model, tokenizer = load_model_and_tokenizer(tiny_model_dir)
    examples = tokenize_rows(ROWS, tokenizer, fmt="chat", max_length=256).examples
    assert len({len(example["input_ids"]) for example in examples}) == 4  # so the batch has padding
    return model, Collator(pad_token_id=tokenizer.pad_token_id)(examples)


def padded_loss(model, batch) -> tuple[torch.Tensor, torch.Tensor]:
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    labels = batch["labels"][:, 1:]
    loss = F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=IGNORE_INDEX)
    correct = ((logits.argmax(-1) == labels) & (labels != IGNORE_INDEX)).sum()
    return loss, correct


def test_the_labelled_loss_equals_the_padded_loss_and_its_gradients(batch):
    model, inputs = batch
    expected, correct = padded_loss(model, inputs)
    expected.backward()
    expected_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()

    result = labelled_loss(model, inputs)
    result.loss.backward()
    assert torch.allclose(result.loss, expected, rtol=1e-5, atol=1e-6)
    assert result.tokens == (inputs["labels"][:, 1:] != IGNORE_INDEX).sum() and result.correct == correct
    for got, want in zip((p.grad for p in model.parameters()), expected_grads):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-6)


def test_a_given_token_count_divides_the_sum(batch):
    model, inputs = batch
    own = labelled_loss(model, inputs)
    shared = labelled_loss(model, inputs, num_items_in_batch=2 * own.tokens)
    assert torch.allclose(shared.loss * 2, own.loss)


def test_the_loss_of_a_lora_model_is_its_padded_loss(batch):
    from peft import LoraConfig, get_peft_model

    model, inputs = batch
    config = LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, config)
    assert torch.allclose(
        labelled_loss(peft_model, inputs).loss, padded_loss(peft_model, inputs)[0], rtol=1e-5
    )
