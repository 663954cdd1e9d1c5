"""The loss on labelled tokens only equals the padded computation's (full logits, then masked)."""

import pytest

pytest.importorskip("trl")

import torch
import torch.nn.functional as F

from openft.lm.loading import load_model_and_tokenizer
from openft.train.collator import Collator
from openft.train.data import IGNORE_INDEX, tokenize_rows
from openft.train.micro_batches import row_groups, take_rows
from openft.train.token_loss import compact_fused_head, labelled_loss

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


def test_micro_batches_give_the_batch_loss_and_gradients(batch):
    model, inputs = batch
    full = labelled_loss(model, inputs)
    full.loss.backward()
    expected_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()

    lengths = inputs["attention_mask"].sum(dim=1).tolist()
    groups = row_groups(lengths, token_budget=2 * min(lengths))
    assert len(groups) > 1 and sorted(row for rows in groups for row in rows) == list(range(len(lengths)))
    for rows in groups:
        labelled_loss(model, take_rows(inputs, rows), num_items_in_batch=full.tokens).loss.backward()
    for got, want in zip((p.grad for p in model.parameters()), expected_grads):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("temperature", [1.0, 0.7])  # DPO's, and RFT's at a sampling temperature
def test_the_compact_fused_head_gives_trls_fused_outputs(batch, temperature):
    from trl.trainer.utils import add_fused_lm_head

    model, inputs = batch
    add_fused_lm_head(
        model, temperature=temperature, outputs=("log_probs", "entropy", "mean_logits", "is_top1")
    )
    arguments = dict(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
    expected = model(**arguments, labels=inputs["labels"], fused_lm_head=True)
    compact_fused_head(model, temperature)
    got = model(**arguments, labels=inputs["labels"], fused_lm_head=True)
    assert torch.equal(got.label_mask, expected.label_mask)
    for name in ("log_probs", "entropy", "mean_logits"):
        assert torch.allclose(getattr(got, name), getattr(expected, name), rtol=1e-4, atol=1e-5), name
    assert torch.equal(got.is_top1.bool(), expected.is_top1.bool())
    assert torch.allclose(got.loss, expected.loss, rtol=1e-5)


def test_the_compact_fused_heads_gradients_are_trls(batch):
    """A loss of the log-probabilities that is not their sum (DPO's is not): the same gradients
    in every weight as TRL's fused head gives."""
    from trl.trainer.utils import add_fused_lm_head

    model, inputs = batch
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "mean_logits", "is_top1"))
    arguments = dict(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])

    def gradients():
        output = model(**arguments, labels=inputs["labels"], fused_lm_head=True)
        sums = (output.log_probs * output.label_mask).sum(-1)
        torch.nn.functional.logsigmoid(0.1 * (sums[0::2] - sums[1::2])).sum().neg().backward()
        grads = [p.grad.clone() for p in model.parameters()]
        model.zero_grad()
        return grads

    expected = gradients()
    compact_fused_head(model)
    for got, want in zip(gradients(), expected):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-6)


def test_a_model_with_the_compact_head_generates_as_before(batch):
    """RFT samples from the model whose head it made compact: generate must see the model's own
    signature (it passes logits_to_keep only to a forward that takes it) and get its own logits."""
    import inspect

    from trl.trainer.utils import add_fused_lm_head

    model, inputs = batch
    add_fused_lm_head(model, temperature=0.7, outputs=("log_probs", "entropy"))
    prompt = dict(input_ids=inputs["input_ids"][:1, :12], attention_mask=inputs["attention_mask"][:1, :12])
    expected = model.generate(**prompt, max_new_tokens=6, do_sample=False)
    compact_fused_head(model, 0.7)
    assert "logits_to_keep" in inspect.signature(model.forward).parameters
    assert torch.equal(model.generate(**prompt, max_new_tokens=6, do_sample=False), expected)
