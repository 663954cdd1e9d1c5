"""The eleven text metrics of `text_similarity`, each a score in [0, 1] between a text and its
reference; pure functions of the two strings, with nothing of grading in them, so the metric
worker processes (`metric_workers`) import these alone.

Every metric comes from the library OpenAI's grader image ships (imported on first use, so the
API starts without them):

- `fuzzy_match`: rapidfuzz `fuzz.WRatio` on `utils.default_process`ed strings, / 100 (the scorer
  of OpenAI's own python-grader example);
- `bleu`: nltk `sentence_bleu`, uniform 1-4-gram weights, smoothing `method1` (epsilon 0.1 for
  an n-gram order with no match, so short answers do not collapse to 0);
- `gleu`: nltk `sentence_gleu` (Google BLEU, 1-4-grams);
- `meteor`: nltk `meteor_score` (exact, Porter-stem and WordNet-synonym matches, lowercased);
- `rouge_1` .. `rouge_5`, `rouge_l`: rouge-score's F-measure (its own tokenizer, no stemming);
- `cosine`: cosine similarity of all-MiniLM-L6-v2 sentence embeddings (`embedding`), floored at 0.

bleu, gleu and meteor split words with nltk's `wordpunct_tokenize` (runs of word characters or
of punctuation; it needs no downloaded data); bleu and gleu are case-sensitive.
"""

from __future__ import annotations

import threading
from functools import cache

__all__ = ["METRICS", "similarity"]

_lock = threading.Lock()  # nltk's lazy loaders are not thread-safe on first use


def _tokens(text: str) -> list[str]:
    from nltk.tokenize import wordpunct_tokenize

    return wordpunct_tokenize(text)


def fuzzy_match(text: str, reference: str) -> float:
    from rapidfuzz import fuzz, utils

    return fuzz.WRatio(text, reference, processor=utils.default_process) / 100.0


def bleu(text: str, reference: str) -> float:
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    hypothesis, references = _tokens(text), [_tokens(reference)]
    if not hypothesis or not references[0]:
        return 0.0
    return sentence_bleu(references, hypothesis, smoothing_function=SmoothingFunction().method1)


def gleu(text: str, reference: str) -> float:
    from nltk.translate.gleu_score import sentence_gleu

    hypothesis, references = _tokens(text), [_tokens(reference)]
    if not hypothesis or not references[0]:
        return 0.0
    return sentence_gleu(references, hypothesis)


def meteor(text: str, reference: str) -> float:
    from nltk.translate.meteor_score import meteor_score

    from openft.graders.wordnet import load_wordnet

    hypothesis, references = _tokens(text), [_tokens(reference)]
    if not hypothesis or not references[0]:
        return 0.0
    with _lock:
        return meteor_score(references, hypothesis, wordnet=load_wordnet())


@cache
def _rouge_scorer(kind: str):
    from rouge_score.rouge_scorer import RougeScorer

    return RougeScorer([kind], use_stemmer=False)


def _rouge(kind: str):
    def score(text: str, reference: str) -> float:
        return _rouge_scorer(kind).score(target=reference, prediction=text)[kind].fmeasure

    return score


def cosine(text: str, reference: str) -> float:
    from openft.graders.embedding import cosine_similarity

    return max(0.0, cosine_similarity(text, reference))


METRICS = {
    "fuzzy_match": fuzzy_match,
    "bleu": bleu,
    "gleu": gleu,
    "meteor": meteor,
    "cosine": cosine,
    **{f"rouge_{n}": _rouge(f"rouge{n}") for n in range(1, 6)},
    "rouge_l": _rouge("rougeL"),
}


def similarity(metric: str, text: str, reference: str) -> float:
    """The metric's score, clamped to [0, 1] against floating-point overshoot."""
    return min(1.0, max(0.0, float(METRICS[metric](text, reference))))
