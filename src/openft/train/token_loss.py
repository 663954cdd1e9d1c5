"""Token loss: the language-model head and cross-entropy computed only where a label counts.

A causal LM's forward projects every position onto the whole vocabulary (49k logits a token for
SmolLM2), then the loss throws away every position whose next-token label is -100: the prompt,
the user turns, ``weight: 0`` answers and the padding. ``labelled_loss`` runs the model's
backbone, keeps the hidden states of the labelled positions only, and projects and scores just
those, a chunk at a time (chunked_head.py). The figures are the padded computation's: the mean
cross-entropy per labelled token (the assistant's end-of-turn token included, as data.py labels
it) and how many of those tokens the model ranks first.
"""

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from openft.train.chunked_head import LabelScores, head_cross_entropy, head_log_probs
from openft.train.data import IGNORE_INDEX
from openft.train.shared_prompt import pack_pairs

BACKBONE_INPUTS = ("input_ids", "attention_mask", "position_ids")
# Arguments that change nothing the compact head returns (its output is always a dataclass)
QUIET_ARGUMENTS = ("use_cache", "return_dict")
# Config fields of models whose head does more than a projection (scaled or soft-capped logits)
HEAD_EXTRAS = ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier")


def plain_head(model) -> bool:
    """Whether the model's logits are its hidden states times the head alone (most causal LMs)."""
    config = text_config(model.config)
    return all(getattr(config, name, None) is None for name in HEAD_EXTRAS)


def text_config(config):
    """A model config's language-model part (a multimodal config holds it inside)."""
    return config.get_text_config() if hasattr(config, "get_text_config") else config


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
    total, correct = _head_loss(causal_lm.get_output_embeddings(), hidden[scored], labels[scored])
    tokens = scored.sum()
    divisor = num_items_in_batch if num_items_in_batch is not None else tokens.clamp(min=1)
    return TokenLoss(loss=total / divisor, tokens=tokens, correct=correct)


def _head_loss(head, hidden: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(summed cross-entropy, targets ranked first) of the labelled positions: chunk by chunk
    (chunked_head.py) through a bias-free linear head, else through the head's own forward
    (an adapter on the head, a bias)."""
    if _is_plain_linear(head):
        return head_cross_entropy(hidden, head.weight, targets)
    logits = head(hidden).float()
    with torch.no_grad():
        correct = (logits.argmax(-1) == targets).sum()
    return F.cross_entropy(logits, targets, reduction="sum"), correct


def _label_scores(head, hidden: torch.Tensor, targets: torch.Tensor, temperature: float) -> LabelScores:
    """Each target's log-probability and TRL's figures beside it, of the logits over ``temperature``:
    chunk by chunk (chunked_head.py) through a bias-free linear head, else from its own forward."""
    if _is_plain_linear(head):
        return head_log_probs(hidden, head.weight, targets, temperature)
    logits = head(hidden).float() / temperature
    log_softmax = logits.log_softmax(-1)
    with torch.no_grad():
        entropy, mean_logits = -(log_softmax.exp() * log_softmax).sum(-1), logits.mean(-1)
    return LabelScores(
        log_probs=log_softmax.gather(-1, targets[:, None]).squeeze(-1),
        entropy=entropy,
        mean_logits=mean_logits,
        is_top1=logits.argmax(-1) == targets,
    )


def _is_plain_linear(head) -> bool:
    """A head that is its weight alone (not an adapter's layer, no bias)."""
    return isinstance(head, torch.nn.Linear) and head.bias is None


def compact_fused_heads(*models, temperature: float = 1.0) -> None:
    """``compact_fused_head`` on each of a trainer's models (its policy, its reference; None where
    it has none), the causal LM inside a PEFT model."""
    for model in models:
        if model is not None:
            causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
            compact_fused_head(causal_lm, temperature)


def compact_fused_head(model, temperature: float = 1.0) -> None:
    """Make TRL's fused LM head (``model(..., labels=, fused_lm_head=True)``, installed by the
    DPOTrainer, and by the GRPOTrainer at its sampling ``temperature``) project only the labelled
    positions: TRL does so on Triton devices only (where its kernel stays in charge), and scores
    every position, padding and prompt included, elsewhere (a CPU). Same outputs: per-token
    log-probabilities, entropy, mean logit and top-1 flags, zero where no label counts. The
    entropy carries no gradient (TRL's does: set up no entropy bonus with this head)."""
    from trl.kernels.chunked_logprob import _use_triton
    from trl.trainer.utils import FusedCausalLMOutput

    fused = model.forward

    @functools.wraps(fused)  # the model's own signature: generate reads it (logits_to_keep, for one)
    def forward(*args, fused_lm_head=False, labels=None, **kwargs):
        # PEFT's forward passes every argument it knows, most as None (inputs_embeds, output_*)
        given = {name for name, value in kwargs.items() if value is not None}
        if (
            args
            or not fused_lm_head
            or not plain_head(model)
            or given - {*BACKBONE_INPUTS, *QUIET_ARGUMENTS}
            or _use_triton(labels.device)  # TRL's own kernel scores only the labelled positions there
        ):
            return fused(*args, fused_lm_head=fused_lm_head, labels=labels, **kwargs)
        shifted = labels[:, 1:]
        scored = shifted != IGNORE_INDEX
        states = answer_states(model, kwargs, labels, scored)
        scores = _label_scores(model.get_output_embeddings(), states, shifted[scored], temperature)
        picked = scores.log_probs
        extras = (scores.entropy, scores.mean_logits, scores.is_top1)

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


def answer_states(model, inputs: dict, labels: torch.Tensor, scored: torch.Tensor) -> torch.Tensor:
    """The backbone's hidden states that predict the labelled tokens of a DPO batch, in order: from
    each pair packed in one row where that saves work (shared_prompt.py), else from TRL's rows.
    Packing needs a mask of any shape, which sdpa takes as booleans (eager attention would need
    an additive one, flash attention none): other attention keeps TRL's rows."""
    backbone = getattr(model, model.base_model_prefix)
    arguments = {name: inputs[name] for name in BACKBONE_INPUTS if inputs.get(name) is not None}
    packed = None
    if model.config._attn_implementation == "sdpa" and set(arguments) == {"input_ids", "attention_mask"}:
        packed = pack_pairs(
            arguments["input_ids"], arguments["attention_mask"], labels, text_config(model.config)
        )
    if packed is None:
        return backbone(**arguments, use_cache=False).last_hidden_state[:, :-1][scored]
    states = backbone(
        input_ids=packed.input_ids,
        position_ids=packed.position_ids,
        attention_mask=packed.attention_mask,
        use_cache=False,
    ).last_hidden_state
    return states.flatten(0, 1)[packed.predictors[scored]]
