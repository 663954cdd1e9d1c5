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


def compact_fused_head(model) -> None:
    """Make TRL's fused LM head (``model(..., labels=, fused_lm_head=True)``, installed by the
    DPOTrainer) project only the labelled positions: TRL does so on Triton devices only, and
    scores every position, padding and prompt included, elsewhere (a CPU). Same outputs:
    per-token log-probabilities, entropy, mean logit and top-1 flags, zero where no label counts."""
    from trl.trainer.utils import FusedCausalLMOutput

    fused = model.forward

    def forward(*args, fused_lm_head=False, labels=None, **kwargs):
        if not fused_lm_head or not plain_head(model) or set(kwargs) - {*BACKBONE_INPUTS, "use_cache"}:
            return fused(*args, fused_lm_head=fused_lm_head, labels=labels, **kwargs)
        backbone = getattr(model, model.base_model_prefix)
        hidden = backbone(**{k: v for k, v in kwargs.items() if k in BACKBONE_INPUTS}, use_cache=False)
        shifted = labels[:, 1:].to(hidden.last_hidden_state.device)
        scored = shifted != IGNORE_INDEX
        logits = model.get_output_embeddings()(hidden.last_hidden_state[:, :-1][scored]).float()
        log_softmax = logits.log_softmax(-1)
        targets = shifted[scored]
        picked = log_softmax.gather(-1, targets[:, None]).squeeze(-1)
        with torch.no_grad():
            extras = (
                -(log_softmax.exp() * log_softmax).sum(-1),
                logits.mean(-1),
                logits.argmax(-1) == targets,
            )

        def spread(values):
            return torch.zeros(scored.shape, dtype=values.dtype, device=values.device).masked_scatter(
                scored, values
            )

        log_probs = spread(picked)
        entropy, mean_logits, is_top1 = (spread(values) for values in extras)
        loss = -picked.sum() / scored.sum().clamp(min=1)
        return FusedCausalLMOutput(
            loss=loss,
            log_probs=log_probs,
            entropy=entropy,
            mean_logits=mean_logits,
            is_top1=is_top1,
            label_mask=scored,
        )

    model.forward = forward
