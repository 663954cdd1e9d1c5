"""Liger's fused kernels (lm/fused_kernels.py): applied to a model trained on a CUDA GPU only, with
the kernels the model type has (never Liger's loss, which would replace openft's head), and the
job's event saying what was fused or why nothing was. Liger's own kernels need a GPU: here a
stand-in for its per-model-type patch functions records what openft asks of them."""

from __future__ import annotations

import inspect
import sys
import types

import pytest

torch = pytest.importorskip("torch")

from openft.lm import fused_kernels  # noqa: E402
from openft.lm.loading import load_model_and_tokenizer  # noqa: E402
from openft.lm.numerics import Numerics  # noqa: E402

CPU = Numerics("cpu", "bfloat16", "a CPU", "this CPU (AMX) runs bfloat16 fast")
GPU = Numerics("cuda", "bfloat16", "NVIDIA H100", "this GPU runs bfloat16 fast")
LIGER = "liger_kernel.transformers.monkey_patch"


@pytest.fixture
def model(tiny_model_dir):
    loaded, _ = load_model_and_tokenizer(tiny_model_dir, dtype=torch.bfloat16)  # a LoRA job's base
    return loaded


def liger_with(monkeypatch, **patches) -> list[dict]:
    """A stand-in for liger-kernel with ``patches`` (model type: patch function); the calls made."""
    calls: list[dict] = []

    def recording(function):
        def patch(**arguments):
            calls.append(arguments)

        patch.__signature__ = inspect.signature(function)  # type: ignore[attr-defined]
        return patch

    module = types.ModuleType(LIGER)
    module.MODEL_TYPE_TO_APPLY_LIGER_FN = {name: recording(fn) for name, fn in patches.items()}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, LIGER, module)
    return calls


def llama_patch(
    rope=True, cross_entropy=False, fused_linear_cross_entropy=True, rms_norm=True, swiglu=True, model=None
):
    """Liger's apply_liger_kernel_to_llama's signature."""


def gemma_patch(
    rope=True, cross_entropy=False, fused_linear_cross_entropy=True, rms_norm=True, geglu=True, model=None
):
    """A family whose MLP is not SwiGLU (Liger's gemma: GeGLU)."""


def test_a_cpu_run_keeps_its_model_as_it_is_and_says_nothing(model, monkeypatch):
    calls = liger_with(monkeypatch, llama=llama_patch)
    assert fused_kernels.apply(model, CPU) is None
    assert calls == []


def test_on_a_gpu_the_model_types_kernels_are_fused_and_never_liger_s_loss(model, monkeypatch):
    calls = liger_with(monkeypatch, llama=llama_patch)
    note = fused_kernels.apply(model, GPU)
    assert calls == [
        {
            "model": model,
            "rms_norm": True,
            "rope": True,
            "swiglu": True,
            "cross_entropy": False,
            "fused_linear_cross_entropy": False,
        }
    ]
    assert note == "Training with Liger's fused kernels: RMSNorm, rotary embedding, SwiGLU"


def test_the_event_names_only_the_kernels_the_model_type_has(model, monkeypatch):
    model.config.model_type = "gemma"
    calls = liger_with(monkeypatch, gemma=gemma_patch)
    assert fused_kernels.apply(model, GPU) == "Training with Liger's fused kernels: RMSNorm, rotary embedding"
    assert "swiglu" not in calls[0] and calls[0]["fused_linear_cross_entropy"] is False


def test_a_gpu_run_says_why_nothing_was_fused(model, monkeypatch):
    liger_with(monkeypatch, qwen2=llama_patch)
    assert fused_kernels.apply(model, GPU) == (
        "Training without fused kernels: Liger has none for the model type 'llama'"
    )
    assert fused_kernels.apply(model, GPU, enabled=False) == (
        "Training without fused kernels: fused_kernels is false (OPENFT_FUSED_KERNELS)"
    )
    assert fused_kernels.apply(model.float(), GPU) == (  # a full fine-tune's master weights
        "Training without fused kernels: float32 weights computing in bfloat16 under autocast "
        "(a full fine-tune), a mix Liger's kernels are not run with"
    )
    model.to(torch.bfloat16)
    monkeypatch.setitem(sys.modules, LIGER, None)  # not installed: importing it fails
    note = fused_kernels.apply(model, GPU)
    assert note is not None and note.startswith(
        "Training without fused kernels: liger-kernel could not be imported"
    )
    assert note.endswith("pip install 'openft[gpu]')")
