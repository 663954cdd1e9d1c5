"""The head's cross-entropy chunk by chunk equals the unchunked computation, gradients included."""

import pytest
import torch
import torch.nn.functional as F

from openft.train import chunked_head
from openft.train.chunked_head import head_cross_entropy, head_log_probs

pytestmark = pytest.mark.train

TOKENS, HIDDEN, VOCAB = 37, 16, 101


def inputs(dtype=torch.float32, head_trains=True):
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(TOKENS, HIDDEN, generator=generator).to(dtype).requires_grad_()
    weight = torch.randn(VOCAB, HIDDEN, generator=generator).to(dtype).requires_grad_(head_trains)
    targets = torch.randint(0, VOCAB, (TOKENS,), generator=generator)
    targets[::3] = F.linear(hidden, weight).argmax(-1)[::3]  # some targets ranked first
    return hidden, weight, targets


def unchunked(hidden, weight, targets):
    logits = F.linear(hidden, weight).float()
    return F.cross_entropy(logits, targets, reduction="sum"), (logits.argmax(-1) == targets).sum()


def gradients(loss_of, hidden, weight, targets, scale=0.25):
    total, correct = loss_of(hidden, weight, targets)
    (total * scale).backward()
    grads = [hidden.grad, weight.grad]
    hidden.grad = weight.grad = None
    return total.detach(), correct, grads


@pytest.mark.parametrize("rows", [1, 5, TOKENS, 64])  # a chunk of one token, uneven chunks, one, fewer
def test_every_chunking_gives_the_unchunked_loss_count_and_gradients(monkeypatch, rows):
    monkeypatch.setattr(chunked_head, "CHUNK_ELEMENTS", rows * VOCAB)
    hidden, weight, targets = inputs()
    want = gradients(unchunked, hidden, weight, targets)
    got = gradients(head_cross_entropy, hidden, weight, targets)
    torch.testing.assert_close(got[0], want[0], rtol=1e-6, atol=1e-5)
    assert got[1] == want[1] > 0
    for got_grad, want_grad in zip(got[2], want[2]):
        torch.testing.assert_close(got_grad, want_grad, rtol=1e-5, atol=1e-6)


def test_under_autocast_it_computes_as_the_heads_linear_does(monkeypatch):
    """float32 weights and hidden states, products in bfloat16 (a full fine-tune's mixed
    precision): the same figures, each gradient in its tensor's dtype."""
    monkeypatch.setattr(chunked_head, "CHUNK_ELEMENTS", 8 * VOCAB)
    hidden, weight, targets = inputs()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        want = gradients(unchunked, hidden, weight, targets)
        got = gradients(head_cross_entropy, hidden, weight, targets)
    torch.testing.assert_close(got[0], want[0], rtol=1e-5, atol=1e-4)
    assert got[1] == want[1]
    for got_grad, want_grad in zip(got[2], want[2]):
        assert got_grad.dtype == torch.float32
        torch.testing.assert_close(got_grad, want_grad, rtol=2e-2, atol=2e-3)


def test_a_frozen_head_gets_no_gradient_and_no_grad_mode_keeps_no_graph():
    hidden, weight, targets = inputs(torch.bfloat16, head_trains=False)
    total, _ = head_cross_entropy(hidden, weight, targets)
    total.backward()
    assert weight.grad is None and hidden.grad is not None and hidden.grad.dtype == torch.bfloat16
    with torch.no_grad():
        total, _ = head_cross_entropy(hidden, weight, targets)
    torch.testing.assert_close(total, unchunked(hidden.detach(), weight, targets)[0], rtol=1e-5, atol=1e-4)
    assert not total.requires_grad


def test_no_labelled_token_gives_zero():
    hidden, weight, targets = inputs()
    total, correct = head_cross_entropy(hidden[:0], weight, targets[:0])
    total.backward()
    assert total.item() == 0 and correct.item() == 0 and hidden.grad is not None


def unchunked_scores(hidden, weight, targets, temperature):
    logits = F.linear(hidden, weight).float() / temperature
    log_softmax = logits.log_softmax(-1)
    entropy = -(log_softmax.exp() * log_softmax).sum(-1)
    picked = log_softmax.gather(-1, targets[:, None]).squeeze(-1)
    return picked, entropy.detach(), logits.mean(-1).detach(), logits.argmax(-1) == targets


@pytest.mark.parametrize("rows, temperature", [(1, 1.0), (5, 1.0), (64, 1.0), (5, 0.7)])
def test_log_probs_chunk_by_chunk_are_the_unchunked_ones_and_so_are_their_gradients(
    monkeypatch, rows, temperature
):
    """A loss that is not a plain sum of the log-probabilities (weights a token, squared), as
    DPO's is not: the backward pass computes the logits again, chunk by chunk; the figures are of
    the logits over a sampling temperature (RFT's)."""
    monkeypatch.setattr(chunked_head, "CHUNK_ELEMENTS", rows * VOCAB)
    hidden, weight, targets = inputs()
    token_weights = torch.linspace(-1, 2, TOKENS)
    results = []
    for scores_of in (unchunked_scores, lambda *a: tuple(vars(head_log_probs(*a)).values())):
        picked, *extras = scores_of(hidden, weight, targets, temperature)
        ((picked * token_weights).sum() ** 2).backward()
        results.append(([picked.detach(), *extras], [hidden.grad, weight.grad]))
        hidden.grad = weight.grad = None
    (want_values, want_grads), (got_values, got_grads) = results
    for got, want in zip(got_values[:3], want_values[:3]):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert torch.equal(got_values[3], want_values[3]) and want_values[3].any()
    for got, want in zip(got_grads, want_grads):
        # float32 sums in another order: within a millionth or so of the largest gradient
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5 * want.abs().max().item())
