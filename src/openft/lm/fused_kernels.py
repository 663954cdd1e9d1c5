"""Fused kernels: Liger's Triton kernels for RMSNorm, the rotary embedding and SwiGLU, in a model
trained on a CUDA GPU.

In PyTorch each RMSNorm of a decoder layer is about seven kernels (the cast to float32, the square,
the mean, the reciprocal square root, two products, the cast back), its SwiGLU two, its rotary
embedding about ten, each reading and writing the whole activation, and as many again backwards.
On a GPU those are memory-bound, and at the sizes openft fine-tunes (135M-1.7B, a batch of some
thousand tokens) the launches alone are a share of the step. Liger (``pip install 'openft[gpu]'``)
runs each as one Triton kernel. The LM head and the loss stay openft's (token_loss.py: labelled
positions only, a chunk at a time): Liger's fused linear cross-entropy replaces the model's
forward, which the compact heads of DPO and RFT patch, so it is never applied.

``apply`` patches a loaded model before any adapter wraps it (LoRA's layers stay where Liger's
SwiGLU calls its projections), on CUDA only (Triton), where liger-kernel is installed and has
kernels for the model type, and where the model's weights are in the dtype it computes in (a
LoRA job's frozen base; not a full fine-tune's float32 master weights under bfloat16 autocast,
whose activations mix both dtypes: untried with Liger). A CPU run is left as it is, without a
word: its kernels are oneDNN's. ``OPENFT_FUSED_KERNELS=false`` keeps PyTorch's everywhere. A
process trains one job, so Liger's patches of a model family's module classes (the RMSNorm
class, the rotary function) reach only that job's models.
"""

from __future__ import annotations

import inspect

from openft.lm.numerics import Numerics

# What is fused: Liger's keyword for each kernel, and its name in the job's event.
KERNELS = {"rms_norm": "RMSNorm", "rope": "rotary embedding", "swiglu": "SwiGLU"}
UNFUSED = ("cross_entropy", "fused_linear_cross_entropy")  # the head and loss stay openft's
INSTALL = "pip install 'openft[gpu]'"


def apply(model, numerics: Numerics, *, enabled: bool = True) -> str | None:
    """Liger's kernels in ``model`` (a transformers causal LM, no adapter yet) where they apply:
    the job event's text on a GPU (what was fused, or why nothing was), None elsewhere."""
    if not numerics.on_gpu:
        return None
    if not enabled:
        return "Training without fused kernels: fused_kernels is false (OPENFT_FUSED_KERNELS)"
    if model.dtype != numerics.torch_dtype:
        return (
            f"Training without fused kernels: {str(model.dtype).removeprefix('torch.')} weights computing "
            f"in {numerics.dtype} under autocast (a full fine-tune), a mix Liger's kernels are not run with"
        )
    try:
        from liger_kernel.transformers.monkey_patch import MODEL_TYPE_TO_APPLY_LIGER_FN
    except ImportError as exc:
        return f"Training without fused kernels: liger-kernel could not be imported ({exc}; {INSTALL})"
    model_type = getattr(model.config, "model_type", None)
    patch = MODEL_TYPE_TO_APPLY_LIGER_FN.get(model_type)
    accepted = inspect.signature(patch).parameters if patch is not None else {}
    fused = [kernel for kernel in KERNELS if kernel in accepted]
    if patch is None or not fused:
        return f"Training without fused kernels: Liger has none for the model type {model_type!r}"
    unfused = {kernel: False for kernel in UNFUSED if kernel in accepted}
    patch(model=model, **dict.fromkeys(fused, True), **unfused)
    return f"Training with Liger's fused kernels: {', '.join(KERNELS[kernel] for kernel in fused)}"
