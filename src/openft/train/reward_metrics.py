"""Reward metrics: a step's graded samples as the ``data`` of OpenAI's RFT metrics event (§8.7).

``step_figures(grader, train=..., valid=..., timing=...)`` gives, for the train samples of a
step and (at evaluation steps) the validation samples: ``train_mean_reward`` and
``full_valid_mean_reward``; ``scores`` (per grader, and per sub-grader of a multi grader, the
mean reward and, where the grader has a ``pass_threshold``, the share of samples at or above
it); ``errors`` (per grader, the mean and count of every error flag); ``usage`` (model-grader
tokens per grader, and completion tokens of the samples); ``model_graders_token_usage`` (per
grader model); ``timing`` (seconds spent sampling, grading, training and evaluating, and each
grader's mean latency). ``failed`` says which samples could not be graded: any error flag but
``truncated_observation_error``, which keeps the computed reward.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from statistics import fmean
from typing import Any

from openft.graders.result import ErrorFlags, GradeResult, Usage
from openft.train.rewards import Graded

FLAGS = tuple(f.name for f in fields(ErrorFlags) if f.type == "bool")
KEPT_REWARD_FLAGS = {"truncated_observation_error"}
SPLITS = {"train": "train", "valid": "valid"}
USAGE_SPLITS = {"train": "train", "valid": "eval"}  # model_graders_token_usage names validation "eval"


def failed(result: GradeResult) -> bool:
    """The sample could not be graded (it scored 0 for that reason)."""
    return any(getattr(result.errors, flag) for flag in FLAGS if flag not in KEPT_REWARD_FLAGS)


def results_of(graded: Iterable[Graded]) -> list[GradeResult]:
    return [result for batch in graded for result in batch.results]


def step_figures(grader, *, train: list[Graded], valid: list[Graded] | None, timing: dict) -> dict:
    """The metrics of one step (the event's ``data`` without ``step`` and ``total_steps``)."""
    splits = {"train": results_of(train), **({"valid": results_of(valid)} if valid is not None else {})}
    lengths = {"train": _lengths(train), **({"valid": _lengths(valid)} if valid is not None else {})}
    data: dict = {}
    if splits["train"]:
        data["train_mean_reward"] = _mean(r.reward for r in splits["train"])
        data["train_error_rate"] = _mean(failed(r) for r in splits["train"])
        data["completion_tokens_mean"] = _mean(lengths["train"])
    if "valid" in splits:
        data["full_valid_mean_reward"] = _mean(r.reward for r in splits["valid"])
        data["full_valid_error_rate"] = _mean(failed(r) for r in splits["valid"])
        data["full_valid_mean_parse_error"] = _mean(r.errors.sample_parse_error for r in splits["valid"])
        data["valid_completion_tokens_mean"] = _mean(lengths["valid"])
    data["mean_unresponsive_rewards"] = _mean(r.errors.unresponsive_reward_error for r in splits["train"])
    data["scores"] = _scores(grader, splits)
    data["errors"] = {"graders": [_entry(grader) | _errors(splits)]}
    data["usage"] = _usage(grader, splits, lengths)
    data["model_graders_token_usage"] = _usage_per_model(splits)
    data["timing"] = {"step": timing, "graders": [_entry(grader) | _latency(splits)]}
    return data


def _entry(grader) -> dict:
    return {"name": grader.name, "type": grader.type}


def _scores(grader, splits: dict[str, list[GradeResult]]) -> dict:
    top = _entry(grader)
    subs = {key: {"name": key, "type": sub.type} for key, sub in getattr(grader, "graders", {}).items()}
    for split, results in splits.items():
        top |= _rewards(split, [r.reward for r in results], grader)
        for key, entry in subs.items():
            entry.update(_rewards(split, [r.sub_rewards.get(key, 0.0) for r in results], grader.graders[key]))
    scores: dict[str, Any] = {"graders": [top, *subs.values()]}
    for split, results in splits.items():
        scores[f"{SPLITS[split]}_reward_mean"] = _mean(r.reward for r in results)
    return scores


def _rewards(split: str, rewards: list[float], grader) -> dict:
    figures = {f"{split}_reward_mean": _mean(rewards)}
    threshold = getattr(grader, "pass_threshold", None)
    if threshold is not None:
        figures[f"{split}_pass_rate"] = _mean(reward >= threshold for reward in rewards)
    return figures


def _errors(splits: dict[str, list[GradeResult]]) -> dict:
    figures = {}
    for split, results in splits.items():
        for flag in FLAGS:
            count = sum(bool(getattr(r.errors, flag)) for r in results)
            figures[f"{split}_{flag}_mean"] = count / len(results) if results else 0.0
            figures[f"{split}_{flag}_count"] = float(count)
    return figures


def _latency(splits: dict[str, list[GradeResult]]) -> dict:
    return {
        f"{split}_execution_latency_mean": _mean(r.execution_time for r in rs) for split, rs in splits.items()
    }


def _usage(grader, splits: dict[str, list[GradeResult]], lengths: dict[str, list[int]]) -> dict:
    graders = []
    for model in sorted({model for results in splits.values() for r in results for model in r.usage}):
        entry = _entry(grader) | {"model": model}
        for split, results in splits.items():
            used = [r.usage.get(model, Usage()) for r in results]
            for kind in ("prompt", "completion"):
                tokens = [getattr(u, f"{kind}_tokens") for u in used]
                entry[f"{split}_{kind}_tokens_mean"] = _mean(tokens)
                entry[f"{split}_{kind}_tokens_count"] = float(sum(tokens))
        graders.append(entry)
    samples = {}
    for split, counts in lengths.items():
        samples[f"{split}_completion_tokens_mean"] = _mean(counts)
        samples[f"{split}_completion_tokens_count"] = float(sum(counts))
    return {"graders": graders, "samples": samples}


def _usage_per_model(splits: dict[str, list[GradeResult]]) -> dict:
    per_model: dict[str, dict] = {}
    for split, results in splits.items():
        for result in results:
            for model, usage in result.usage.items():
                entry = per_model.setdefault(model, {})
                for kind in ("prompt", "completion", "cached"):
                    key = f"{USAGE_SPLITS[split]}_{kind}_tokens"
                    entry[key] = entry.get(key, 0) + getattr(usage, f"{kind}_tokens")
    return per_model


def _lengths(graded: list[Graded]) -> list[int]:
    return [n for batch in graded for n in batch.completion_tokens]


def _mean(values: Iterable) -> float:
    values = [float(v) for v in values]
    return fmean(values) if values else 0.0
