"""Token loss: the language-model head and cross-entropy computed only where a label counts.

A causal LM's forward projects every position onto the whole vocabulary (49k logits a token for
SmolLM2), then the loss throws away every position whose next-token label is -100: the prompt,
the user turns, ``weight: 0`` answers and the padding. ``labelled_loss`` runs the model's
backbone, keeps the hidden states of the labelled positions only, and projects and scores just
those. The figures are the padded computation's: the mean cross-entropy per labelled token
(the assistant's end-of-turn token included, as data.py labels it) and how many of those tokens
the model ranks first.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from openft.train.data import IGNORE_INDEX

BACKBONE_INPUTS = ("input_ids", "attention_mask", "position_ids")
# Config fields of models whose head does more than a projection (scaled or soft-capped logits)
HEAD_EXTRAS = ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier")


def plain_head(model) -> bool:
    """Whether the model's logits are its hidden states times the head alone (most causal LMs)."""
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    return all(getattr(config, name, None) is None for name in HEAD_EXTRAS)


@dataclass
class TokenLoss:
    loss: torch.Tensor  # the summed cross-entropy over labelled tokens divided by ``tokens``
    tokens: torch.Tensor  # labelled tokens of the batch
    correct: torch.Tensor  # of those, the ones the model ranks first (no gradient)


def labelled_loss(model, inputs: dict, num_items_in_batch=None) -> TokenLoss:
    """The loss of ``inputs`` (input_ids, attention_mask, labels) through ``model``: a causal LM,
    or a PEFT model around one. ``num_items_in_batch`` divides the sum when given (the Trainer's
    count across accumulated batches), else the batch's own labelled tokens do."""
    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    backbone = getattr(causal_lm, causal_lm.base_model_prefix)
    arguments = {name: inputs[name] for name in BACKBONE_INPUTS if name in inputs}
    hidden = backbone(**arguments, use_cache=False).last_hidden_state[:, :-1]
    labels = inputs["labels"][:, 1:].to(hidden.device)
    scored = labels != IGNORE_INDEX
    logits = causal_lm.get_output_embeddings()(hidden[scored]).float()
    targets = labels[scored]
    total = F.cross_entropy(logits, targets, reduction="sum")
    tokens = scored.sum()
    divisor = num_items_in_batch if num_items_in_batch is not None else tokens.clamp(min=1)
    with torch.no_grad():
        correct = (logits.argmax(-1) == targets).sum()
    return TokenLoss(loss=total / divisor, tokens=tokens, correct=correct)
