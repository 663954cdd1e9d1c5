"""The LM head and its cross-entropy a chunk of tokens at a time, gradients included.

Projecting every labelled token onto the whole vocabulary at once holds (tokens x vocabulary)
logits in float32 (134 MB for 684 tokens of SmolLM2's 49k vocabulary), then the log-softmax of
the same size, then its gradient, zero-filled and of the same size again. On a CPU each such block
is memory that the kernel hands over page by page on first touch: in a SmolLM2-135M bfloat16 step
the zero fill of that gradient alone took 0.2-0.3 s, as long as the whole head's two matrix
products. ``head_cross_entropy`` (the fused linear cross-entropy of Liger's kernels, in plain
PyTorch) goes through the tokens in chunks of ``CHUNK_ELEMENTS`` logits: each chunk's logits, its
summed cross-entropy, how many of its targets rank first, and there and then its gradients
(softmax minus the target's one-hot, times the head weight for the hidden states, and into the
head's own gradient when the head trains). The backward pass only scales what the forward pass
kept, so the head's matrix product runs twice a step, as it does unchunked, and no buffer is
larger than a chunk.

The numbers are the unchunked computation's: the same bfloat16 (or float32) products, the
log-sum-exp in float32, the gradient cast to the computing dtype before its product; sums taken
chunk by chunk may round differently in the last bit.
"""

from __future__ import annotations

import torch

CHUNK_ELEMENTS = 1 << 23  # logits a chunk: 32 MB in float32 (measured best of 2-16 M on a CPU)


def head_cross_entropy(
    hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(summed cross-entropy of ``targets`` under ``hidden @ weight.T``, how many targets have the
    highest logit) for ``hidden`` (tokens x hidden size), a bias-free head's ``weight`` and one
    target a token; differentiable in ``hidden`` and ``weight``. Computes in autocast's dtype when
    autocast is on (as the head's ``nn.Linear`` would), else in ``hidden``'s."""
    device = hidden.device.type
    dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else hidden.dtype
    return _HeadCrossEntropy.apply(hidden, weight, targets, dtype)


class _HeadCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, targets, dtype):
        with torch.autocast(hidden.device.type, enabled=False):
            h, w = hidden.to(dtype), weight.to(dtype)
            grad_hidden = torch.empty_like(hidden) if ctx.needs_input_grad[0] else None
            grad_weight = torch.zeros_like(weight, dtype=torch.float32) if ctx.needs_input_grad[1] else None
            total = torch.zeros((), dtype=torch.float32, device=hidden.device)
            correct = torch.zeros((), dtype=torch.long, device=hidden.device)
            rows = max(1, CHUNK_ELEMENTS // w.shape[0])
            for start in range(0, h.shape[0], rows):
                chunk, wanted = h[start : start + rows], targets[start : start + rows]
                logits = (chunk @ w.T).float()
                log_total = logits.logsumexp(-1)
                total += (log_total - logits.gather(-1, wanted[:, None]).squeeze(-1)).sum()
                correct += (logits.argmax(-1) == wanted).sum()
                if grad_hidden is None and grad_weight is None:
                    continue
                grad = logits.sub_(log_total[:, None]).exp_()  # the softmax, in place of the logits
                grad[torch.arange(len(wanted), device=grad.device), wanted] -= 1
                grad = grad.to(dtype)
                if grad_hidden is not None:
                    grad_hidden[start : start + rows] = grad @ w
                if grad_weight is not None:
                    grad_weight += grad.T @ chunk
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
