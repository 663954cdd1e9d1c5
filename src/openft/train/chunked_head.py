"""The LM head and its cross-entropy a chunk of tokens at a time, gradients included.

Projecting every labelled token onto the whole vocabulary at once holds (tokens x vocabulary)
logits in float32 (134 MB for 684 tokens of SmolLM2's 49k vocabulary), then the log-softmax of
the same size, then its gradient, zero-filled and of the same size again. On a CPU such a block is
fresh memory whenever a batch has more labelled tokens than any before it, which the kernel hands
over page by page on first touch: in a SmolLM2-135M bfloat16 step (openft's allocator settings,
trainers.py) the zero fill of that gradient alone took 0.2-0.3 s, as long as the head's two
matrix products. ``head_cross_entropy`` (the fused linear cross-entropy of Liger's kernels, in plain
PyTorch) goes through the tokens in chunks of ``CHUNK_ELEMENTS`` logits: each chunk's logits, its
summed cross-entropy, how many of its targets rank first, and there and then its gradients
(softmax minus the target's one-hot, times the head weight for the hidden states, and into the
head's own gradient when the head trains). The backward pass only scales what the forward pass
kept, so the head's matrix product runs twice a step, as it does unchunked, and no buffer is
larger than a chunk. Measured on a 2-core CPU (bench/): SFT's peak memory 0.81x and its tokens/s
1.05x; DPO's peak memory 0.68x, its speed unchanged; RFT's training phase 1.28x faster at 0.75x
the peak memory (there the compact head also skips the prompts TRL's head scored).

``head_log_probs`` gives each target's log-probability instead (with the entropy, mean logit and
top-1 flag TRL's fused head reports, of logits divided by a sampling temperature: the compact head
of DPO and RFT, token_loss.py). A loss of those is not known to be their sum, so it keeps each
token's log-sum-exp and its backward pass computes the chunks' logits again: three products of the
head instead of two, still no full-size buffer. TRL has the same function (``trl.kernels.
chunked_logprob.ChunkedLogProbFunction``, chunked over the vocabulary), but on a device without
Triton its torch fallback took 1.8x as long for log-probabilities and 2.6x for the cross-entropy
(1200 tokens of SmolLM2's head in bfloat16 on the 2-core CPU: 890-955 ms against 467-532, and
846-874 against 299-358).

The numbers are the unchunked computation's: the same bfloat16 (or float32) products, the
log-softmax in float32, the gradient cast to the computing dtype before its product; sums taken
chunk by chunk may round differently in the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

CHUNK_ELEMENTS = 1 << 23  # logits a chunk: 32 MB in float32 (measured best of 2-16 M on a CPU)


@dataclass
class LabelScores:
    log_probs: torch.Tensor  # of each target, differentiable
    entropy: torch.Tensor  # of each token's next-token distribution (no gradient)
    mean_logits: torch.Tensor  # each token's mean logit (no gradient)
    is_top1: torch.Tensor  # whether the target has the highest logit


def head_cross_entropy(
    hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(summed cross-entropy of ``targets`` under ``hidden @ weight.T``, how many targets have the
    highest logit) for ``hidden`` (tokens x hidden size), a bias-free head's ``weight`` and one
    target a token; differentiable in ``hidden`` and ``weight``. Computes in autocast's dtype when
    autocast is on (as the head's ``nn.Linear`` would), else in ``hidden``'s."""
    return _HeadCrossEntropy.apply(hidden, weight, targets, _computing_dtype(hidden))


def head_log_probs(
    hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, temperature: float = 1.0
) -> LabelScores:
    """Each target's log-probability under ``hidden @ weight.T / temperature`` (arguments as for
    ``head_cross_entropy``), with the figures TRL's fused head reports beside it, of the same
    tempered logits. A loss of these is not a sum known ahead (DPO's, RFT's), so the backward pass
    computes each chunk's logits again."""
    log_probs, entropy, mean_logits, is_top1 = _HeadLogProbs.apply(
        hidden, weight, targets, _computing_dtype(hidden), 1.0 / temperature
    )
    return LabelScores(log_probs=log_probs, entropy=entropy, mean_logits=mean_logits, is_top1=is_top1)


def _computing_dtype(hidden: torch.Tensor) -> torch.dtype:
    device = hidden.device.type
    return torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else hidden.dtype


def _chunks(h: torch.Tensor, w: torch.Tensor, targets: torch.Tensor, scale: float = 1.0):
    """(rows, their targets, their float32 logits times ``scale``) a chunk at a time."""
    rows = max(1, CHUNK_ELEMENTS // w.shape[0])
    for start in range(0, h.shape[0], rows):
        chunk = slice(start, start + rows)
        logits = (h[chunk] @ w.T).float()
        yield chunk, targets[chunk], logits if scale == 1.0 else logits.mul_(scale)


def _logit_gradient(softmax: torch.Tensor, targets: torch.Tensor, scale: torch.Tensor | None, dtype):
    """d(log-probability of each target) / d(logits) = one-hot - softmax, times ``scale`` a row;
    (the cross-entropy's is its negative, ``scale`` None), in place of ``softmax``."""
    rows = torch.arange(len(targets), device=softmax.device)
    if scale is None:
        softmax[rows, targets] -= 1
    else:
        softmax.mul_(-scale[:, None])
        softmax[rows, targets] += scale
    return softmax.to(dtype)


def _gradient_buffers(ctx, hidden: torch.Tensor, weight: torch.Tensor):
    """(the hidden states' gradient, the head weight's in float32), None where none is needed."""
    return (
        torch.empty_like(hidden) if ctx.needs_input_grad[0] else None,
        torch.zeros_like(weight, dtype=torch.float32) if ctx.needs_input_grad[1] else None,
    )


def _add_gradients(grad, chunk: slice, h, w, grad_hidden, grad_weight) -> None:
    """A chunk's logit gradient ``grad`` carried to its rows of the hidden states and to the head."""
    if grad_hidden is not None:
        grad_hidden[chunk] = grad @ w
    if grad_weight is not None:
        grad_weight += grad.T @ h[chunk]


class _HeadCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, targets, dtype):
        with torch.autocast(hidden.device.type, enabled=False):
            h, w = hidden.to(dtype), weight.to(dtype)
            grad_hidden, grad_weight = _gradient_buffers(ctx, hidden, weight)
            total = torch.zeros((), dtype=torch.float32, device=hidden.device)
            correct = torch.zeros((), dtype=torch.long, device=hidden.device)
            for chunk, wanted, logits in _chunks(h, w, targets):
                log_softmax = logits.log_softmax(-1)
                del logits
                total -= log_softmax.gather(-1, wanted[:, None]).sum()
                correct += (log_softmax.argmax(-1) == wanted).sum()
                if grad_hidden is None and grad_weight is None:
                    continue
                grad = _logit_gradient(log_softmax.exp_(), wanted, None, dtype)
                _add_gradients(grad, chunk, h, w, grad_hidden, grad_weight)
        ctx.save_for_backward(grad_hidden, grad_weight)
        ctx.weight_dtype = weight.dtype
        ctx.mark_non_differentiable(correct)
        return total, correct

    @staticmethod
    def backward(ctx, grad_total, _grad_correct):
        grad_hidden, grad_weight = ctx.saved_tensors
        if grad_hidden is not None:
            grad_hidden = grad_hidden * grad_total
        if grad_weight is not None:
            grad_weight = (grad_weight * grad_total).to(ctx.weight_dtype)
        return grad_hidden, grad_weight, None, None


class _HeadLogProbs(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, targets, dtype, scale):
        n, device = hidden.shape[0], hidden.device
        log_probs, entropy, mean_logits = (torch.empty(n, device=device) for _ in range(3))
        is_top1 = torch.empty(n, dtype=torch.bool, device=device)
        log_totals = torch.empty(n, device=device)
        with torch.autocast(device.type, enabled=False):
            for chunk, wanted, logits in _chunks(hidden.to(dtype), weight.to(dtype), targets, scale):
                log_softmax = logits.log_softmax(-1)
                log_totals[chunk] = logits[:, 0] - log_softmax[:, 0]
                mean_logits[chunk] = logits.mean(-1)
                del logits
                log_probs[chunk] = log_softmax.gather(-1, wanted[:, None]).squeeze(-1)
                is_top1[chunk] = log_softmax.argmax(-1) == wanted
                entropy[chunk] = -(log_softmax.exp() * log_softmax).sum(-1)
        ctx.save_for_backward(hidden, weight, targets, log_totals)
        ctx.dtype, ctx.scale = dtype, scale
        ctx.mark_non_differentiable(entropy, mean_logits, is_top1)
        return log_probs, entropy, mean_logits, is_top1

    @staticmethod
    def backward(ctx, grad_log_probs, *_unused):
        hidden, weight, targets, log_totals = ctx.saved_tensors
        dtype = ctx.dtype
        grad_hidden, grad_weight = _gradient_buffers(ctx, hidden, weight)
        with torch.autocast(hidden.device.type, enabled=False):
            h, w = hidden.to(dtype), weight.to(dtype)
            for chunk, wanted, logits in _chunks(h, w, targets, ctx.scale):
                softmax = logits.sub_(log_totals[chunk, None]).exp_()
                grad = _logit_gradient(softmax, wanted, grad_log_probs[chunk] * ctx.scale, dtype)
                _add_gradients(grad, chunk, h, w, grad_hidden, grad_weight)
        return grad_hidden, None if grad_weight is None else grad_weight.to(weight.dtype), None, None, None
