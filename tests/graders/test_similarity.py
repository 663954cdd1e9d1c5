"""text_similarity: every metric against values computed by hand from its definition, and the
bounds of a grading (a deadline, a cancel event, the size of rendered texts).

Tokens (bleu, gleu, meteor): nltk's wordpunct_tokenize; "the cat sat on a mat" against the
reference "the cat sat on the mat" has 5/6 matching unigrams, 3/5 bigrams, 2/4 trigrams and
1/3 4-grams.
"""

import math
import threading
import time

import pytest

from openft.graders.context import GradeContext
from openft.graders.metric_workers import MetricWorkers
from openft.graders.result import GraderFailure
from openft.graders.text_metrics import similarity
from support.grading import run

HYP, REF = "the cat sat on a mat", "the cat sat on the mat"


def grade(metric: str, text: str, reference: str):
    grader = {
        "type": "text_similarity",
        "name": "t",
        "input": "{{sample.output_text}}",
        "reference": "{{item.reference}}",
        "evaluation_metric": metric,
    }
    return run(grader, text, {"reference": reference})


def meteor_by_hand(matches: int, hyp_len: int, ref_len: int, chunks: int) -> float:
    precision, recall = matches / hyp_len, matches / ref_len
    fmean = precision * recall / (0.9 * precision + 0.1 * recall)
    return fmean * (1 - 0.5 * (chunks / matches) ** 3)


@pytest.mark.parametrize(
    ("metric", "text", "reference", "expected"),
    [
        ("fuzzy_match", "abcd", "abce", 1 - 2 / 8),  # indel distance 2 over 8 characters
        ("fuzzy_match", "Hello, World!", "hello world", 22 / 23),  # processed: "hello  world"
        ("fuzzy_match", "Paris", "Paris", 1.0),
        ("fuzzy_match", "abc", "xyz", 0.0),
        ("bleu", HYP, REF, (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25),
        ("bleu", REF, REF, 1.0),
        ("bleu", "the cat sat on", REF, math.exp(1 - 6 / 4)),  # precisions 1, brevity penalty
        ("bleu", "a b c d", "a x c y", (2 / 4 * 0.1 / 3 * 0.1 / 2 * 0.1 / 1) ** 0.25),  # method1: 0 -> 0.1
        ("gleu", HYP, REF, (5 + 3 + 2 + 1) / (6 + 5 + 4 + 3)),
        ("gleu", "the cat", REF, (2 + 1) / (6 + 5 + 4 + 3)),  # min(precision 3/3, recall 3/18)
        ("meteor", "the dog barked", "the hound barked", meteor_by_hand(3, 3, 3, 1)),  # WordNet synonym
        ("meteor", "the cats sat", "the cat sat", meteor_by_hand(3, 3, 3, 1)),  # Porter stem
        ("meteor", "the cat sat", HYP, meteor_by_hand(3, 3, 6, 1)),  # (no repeated word to align)
        ("meteor", "mat the", "the mat", meteor_by_hand(2, 2, 2, 2)),
        ("rouge_1", HYP, REF, 5 / 6),
        ("rouge_2", HYP, REF, 3 / 5),
        ("rouge_3", HYP, REF, 2 / 4),
        ("rouge_4", HYP, REF, 1 / 3),
        ("rouge_5", HYP, REF, 0.0),
        ("rouge_5", "a b c d e f", "a b c d e g", 1 / 2),
        ("rouge_l", "the cat on the mat", REF, 2 * 1 * (5 / 6) / (1 + 5 / 6)),  # LCS 5: P 5/5, R 5/6
        ("rouge_1", "The CAT!", "the cat", 1.0),  # rouge-score lowercases and drops punctuation
    ],
)
def test_metric_values(metric, text, reference, expected):
    result = grade(metric, text, reference)
    assert result.reward == pytest.approx(expected, abs=1e-9)
    assert not result.errors.any and result.token_usage is None


@pytest.mark.parametrize("metric", ["bleu", "gleu", "meteor", "rouge_1", "rouge_l", "fuzzy_match"])
def test_empty_input_scores_zero(metric):
    assert similarity(metric, "", "the reference") == 0.0


def test_scores_stay_in_unit_interval():
    for metric in ("bleu", "gleu", "meteor", "rouge_2", "fuzzy_match"):
        assert 0.0 <= similarity(metric, "word " * 50, "word") <= 1.0


@pytest.mark.embedding
def test_cosine_uses_real_sentence_embeddings():
    from openft.graders.embedding import embedding_model

    same = grade("cosine", "The cat sat on the mat.", "The cat sat on the mat.")
    assert same.reward == pytest.approx(1.0, abs=1e-5) and not same.errors.any
    paraphrase = similarity("cosine", "A cat was sitting on a mat.", "The cat sat on the mat.")
    unrelated = similarity("cosine", "Quantum chromodynamics describes quarks.", "The cat sat on the mat.")
    assert paraphrase > 0.8 and 0.3 > unrelated >= 0.0
    first, second = embedding_model().encode(["A cat was sitting on a mat.", "The cat sat on the mat."])
    by_hand = float(first @ second / math.sqrt(float(first @ first) * float(second @ second)))
    assert paraphrase == pytest.approx(by_hand, abs=1e-5)


LONG = " ".join(f"w{i % 997}" for i in range(12000))  # rouge_l is quadratic in the words


def test_a_metric_past_the_deadline_is_stopped_and_flagged():
    context = GradeContext(timeout_seconds=0.5)
    grader = {
        "type": "text_similarity",
        "name": "t",
        "input": "{{sample.output_text}}",
        "reference": "{{item.reference}}",
        "evaluation_metric": "rouge_l",
    }
    result = run(grader, LONG, {"reference": LONG[::-1]}, context=context)
    assert (result.reward, result.errors.unresponsive_reward_error) == (0.0, True)
    assert grade("rouge_l", HYP, REF).reward == pytest.approx(5 / 6)  # the next grading gets a fresh worker


def test_a_cancelled_grading_kills_its_worker():
    workers = MetricWorkers(size=1)
    cancel = threading.Event()
    outcome = {}

    def score():
        try:
            workers.score("rouge_l", LONG, LONG[::-1], deadline=time.monotonic() + 600, cancel=cancel)
        except GraderFailure as failure:
            outcome["flag"] = failure.flag

    thread = threading.Thread(target=score)
    thread.start()
    cancel.set()  # the client went away
    thread.join(timeout=60)
    assert outcome == {"flag": "unresponsive_reward_error"}
    assert workers.score("bleu", "a b c d", "a b c d", deadline=time.monotonic() + 600) == 1.0


def test_a_rendered_text_over_the_size_limit_is_an_error():
    context = GradeContext(max_text_bytes=1000)
    grader = {
        "type": "text_similarity",
        "name": "t",
        "input": "{{sample.output_text}}{{sample.output_text}}",
        "reference": "y",
        "evaluation_metric": "fuzzy_match",
    }
    result = run(grader, "y" * 600, context=context)
    assert (result.reward, result.errors.other_error) == (0.0, True)
    assert run(grader, "y" * 400, context=context).reward > 0
