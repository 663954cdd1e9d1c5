"""DPO pairs scored in one row (prompt once) give TRL's per-token log-probs and their gradients."""

import pytest

pytest.importorskip("trl")

import torch

from openft.lm.loading import load_model_and_tokenizer
from openft.train.preference import tokenize_preferences
from openft.train.shared_prompt import pack_pairs
from openft.train.token_loss import compact_fused_head

pytestmark = pytest.mark.train


def pairs(prompt_words: int, answer_words: int, rejected_words: int = 0) -> list[dict]:
    return [
        {
            "input": {
                "messages": [
                    {"role": "system", "content": "You answer briefly."},
                    {
                        "role": "user",
                        "content": "Tell me about rivers " + "and lakes " * (prompt_words + 7 * i),
                    },
                ]
            },
            "preferred_output": [
                {"role": "assistant", "content": "The Nile " + "flows " * (answer_words + 3 * i)}
            ],
            "non_preferred_output": [
                {
                    "role": "assistant",
                    "content": "No. " + "Rain " * (rejected_words or answer_words * (i % 2)),
                }
            ],
        }
        for i in range(4)
    ]


def dpo_batch(tiny_model_dir, rows):
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    model, tokenizer = load_model_and_tokenizer(tiny_model_dir)
    examples = tokenize_preferences(rows, tokenizer, max_length=512).examples
    batch = DataCollatorForPreference(pad_token_id=tokenizer.pad_token_id)(examples)
    labels = batch["input_ids"].masked_fill(batch["completion_mask"] == 0, -100)
    return model, batch, labels


def scored(model, batch, labels):
    model.zero_grad()
    out = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        labels=labels,
        fused_lm_head=True,
    )
    out.log_probs.sum().backward()  # what the DPO loss differentiates
    return out, [p.grad.clone() for p in model.parameters() if p.grad is not None]


def test_packed_pairs_give_trls_log_probs_and_gradients(tiny_model_dir):
    from trl.trainer.utils import add_fused_lm_head

    model, batch, labels = dpo_batch(tiny_model_dir, pairs(prompt_words=60, answer_words=4))
    assert pack_pairs(batch["input_ids"], batch["attention_mask"], labels, model.config) is not None
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "mean_logits", "is_top1"))
    expected, expected_grads = scored(model, batch, labels)
    compact_fused_head(model)
    got, grads = scored(model, batch, labels)

    assert torch.equal(got.label_mask, expected.label_mask)
    for name in ("log_probs", "entropy", "mean_logits"):
        assert torch.allclose(getattr(got, name), getattr(expected, name), rtol=1e-4, atol=1e-5), name
    assert torch.equal(got.is_top1.bool(), expected.is_top1.bool())
    assert len(grads) == len(expected_grads)
    for mine, theirs in zip(grads, expected_grads):
        assert torch.allclose(mine, theirs, rtol=1e-3, atol=1e-5)


def test_the_packed_rows_hold_each_prompt_once(tiny_model_dir):
    model, batch, labels = dpo_batch(tiny_model_dir, pairs(prompt_words=60, answer_words=4))
    packed = pack_pairs(batch["input_ids"], batch["attention_mask"], labels, model.config)
    lengths = batch["attention_mask"].sum(1)
    prompt = (labels != -100).int().argmax(1)[:4]
    assert packed.input_ids.shape[0] == 4
    assert packed.input_ids.shape[1] == int((lengths[:4] + lengths[4:] - prompt).max())
    # a rejected token sees the prompt and the rejected answer, never the chosen one
    row, p, c = 1, int(prompt[1]), int(lengths[1] - prompt[1])
    first_rejected = p + c
    sees = packed.attention_mask[row, 0, first_rejected]
    assert sees[:p].all() and not sees[p:first_rejected].any() and sees[first_rejected]
    assert packed.position_ids[row, first_rejected] == p


def test_short_prompts_with_long_answers_keep_trls_rows(tiny_model_dir):
    model, batch, labels = dpo_batch(
        tiny_model_dir, pairs(prompt_words=0, answer_words=80, rejected_words=90)
    )
    assert pack_pairs(batch["input_ids"], batch["attention_mask"], labels, model.config) is None


def test_rows_that_are_not_pairs_of_one_prompt_are_left_alone(tiny_model_dir):
    model, batch, labels = dpo_batch(tiny_model_dir, pairs(prompt_words=60, answer_words=4))
    swapped = batch["input_ids"].clone()
    swapped[4:] = batch["input_ids"][4:].roll(1, dims=0)  # rejected rows under other pairs' prompts
    mask = batch["attention_mask"][[0, 1, 2, 3, 7, 4, 5, 6]]
    assert pack_pairs(swapped, mask, labels, model.config) is None


def test_a_lora_model_computes_each_pair_once_with_trls_log_probs(tiny_model_dir):
    from peft import LoraConfig, get_peft_model
    from trl.trainer.utils import add_fused_lm_head

    model, batch, labels = dpo_batch(tiny_model_dir, pairs(prompt_words=60, answer_words=4))
    config = LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, config)
    causal_lm = peft_model.get_base_model()
    add_fused_lm_head(causal_lm, outputs=("log_probs", "entropy", "mean_logits", "is_top1"))
    expected, expected_grads = scored(peft_model, batch, labels)

    rows_seen = []
    backbone = getattr(causal_lm, causal_lm.base_model_prefix)
    backbone.register_forward_pre_hook(
        lambda _, args, kwargs: rows_seen.append(len(kwargs["input_ids"])), with_kwargs=True
    )
    compact_fused_head(causal_lm)
    got, grads = scored(peft_model, batch, labels)  # PEFT passes inputs_embeds=None and the like

    assert rows_seen == [4]  # 4 pairs in 4 rows, not TRL's 8
    assert torch.allclose(got.log_probs, expected.log_probs, rtol=1e-4, atol=1e-5)
    for mine, theirs in zip(grads, expected_grads, strict=True):
        assert torch.allclose(mine, theirs, rtol=1e-3, atol=1e-5)
