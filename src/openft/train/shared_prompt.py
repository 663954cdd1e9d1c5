"""Shared prompt: a DPO pair's two answers scored in one row, so the prompt is computed once.

TRL's DPO batch holds each pair twice: prompt + chosen in row i, prompt + rejected in row B + i
(flush left, right-padded), so the backbone computes every prompt twice. ``pack_pairs`` lays
each pair out as one row: prompt, chosen answer, rejected answer. The rejected answer's position
ids restart where the prompt ends, and under the row's mask its tokens see the prompt and each
other, never the chosen answer. Every token then sees what it sees in TRL's layout, so every
hidden state is the one TRL's layout computes, within float rounding. ``predictors`` maps each
position of TRL's shifted layout (the hidden state that predicts the next token) to its place
in the packed rows; the first rejected token is predicted by the prompt's last, as in its own row.

The mask is dense over the row, so attention grows with the square of the packed row: pairs are
packed only where an estimate of the backbone's work (linear layers per token, attention per
query-key pair) says it is less. Long prompts with short answers, as multi-turn preference data
has, gain most; short prompts with long answers are left as TRL lays them out.
"""

from dataclasses import dataclass

import torch

from openft.train.data import IGNORE_INDEX

PROMPT, CHOSEN, REJECTED, PADDING = range(4)


@dataclass
class PackedPairs:
    input_ids: torch.Tensor  # (pairs, T)
    position_ids: torch.Tensor  # (pairs, T)
    attention_mask: torch.Tensor  # (pairs, 1, T, T) bool: True where a query sees a key
    predictors: torch.Tensor  # (2 * pairs, L - 1): each shifted position's index into the pairs * T states


def pack_pairs(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor, config
) -> PackedPairs | None:
    """The pairs of a TRL DPO batch packed one to a row, or None where the batch is not pairs
    sharing a prompt (labels are -100 before each answer) or packing would not save work by
    ``backbone_work`` on the language model's ``config``."""
    rows, width = input_ids.shape
    if rows == 0 or rows % 2 or attention_mask.dim() != 2:
        return None
    pairs, device = rows // 2, input_ids.device
    column = torch.arange(width, device=device)
    lengths = attention_mask.sum(1)
    if not torch.equal(attention_mask.bool(), column < lengths[:, None]):
        return None  # not flush left
    labelled = labels != IGNORE_INDEX
    starts = torch.where(labelled.any(1), labelled.int().argmax(1), lengths)
    prompt = starts[:pairs]
    in_prompt = column < prompt[:, None]
    if not torch.equal(prompt, starts[pairs:]) or not torch.equal(
        input_ids[:pairs][in_prompt], input_ids[pairs:][in_prompt]
    ):
        return None
    chosen, rejected = lengths[:pairs] - prompt, lengths[pairs:] - prompt
    packed_width = int((prompt + chosen + rejected).max())
    if backbone_work(pairs, packed_width, config) >= backbone_work(rows, width, config):
        return None

    position = torch.arange(packed_width, device=device)[None, :]
    pair = torch.arange(pairs, device=device)[:, None]
    in_rejected = position >= (prompt + chosen)[:, None]
    valid = position < (prompt + chosen + rejected)[:, None]
    source_row = torch.where(in_rejected, pair + pairs, pair)
    source_column = torch.where(valid, torch.where(in_rejected, position - chosen[:, None], position), 0)
    segment = torch.where(
        ~valid,
        PADDING,
        torch.where(in_rejected, REJECTED, torch.where(position < prompt[:, None], PROMPT, CHOSEN)),
    )
    query, key = segment[:, :, None], segment[:, None, :]
    causal = position[0][None, :] <= position[0][:, None]
    sees = causal & ((key == PROMPT) | (key == query)) & (key != PADDING)
    sees |= torch.eye(packed_width, dtype=torch.bool, device=device)  # a pad attends to itself alone

    shifted = column[None, :-1].expand(rows, -1)
    row = torch.arange(rows, device=device)[:, None]
    own_pair = row % pairs
    after_prompt = (row >= pairs) & (shifted >= prompt.repeat(2)[:, None])
    packed_column = torch.where(after_prompt, shifted + chosen.repeat(2)[:, None], shifted)
    return PackedPairs(
        input_ids=input_ids[source_row, source_column] * valid,
        position_ids=source_column,
        attention_mask=sees[:, None],
        predictors=own_pair * packed_width + packed_column.clamp(max=packed_width - 1),
    )


def backbone_work(rows: int, width: int, config) -> float:
    """The backbone's multiply-adds for ``rows`` rows of ``width`` tokens under a dense mask, per
    layer: each token through the attention and MLP projections, each query against each key.
    ``config``: the language model's (token_loss.text_config)."""
    hidden, heads = config.hidden_size, config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    intermediate = getattr(config, "intermediate_size", None) or 4 * hidden
    per_token = 2 * hidden * head_dim * (heads + kv_heads) + 3 * hidden * intermediate
    per_query_key = 2 * heads * head_dim
    return rows * width * (per_token + width * per_query_key)
