"""Reinforcement fine-tuning (the recipe) on a tiny random Llama with SmolLM2's tokenizer: the
job's grader is the reward, evaluations before the first step and every eval_interval steps,
checkpoints kept by validation reward, grader failures counted and the failure threshold."""

from __future__ import annotations

import json

import pytest

from support.train_specs import train_spec

pytest.importorskip("trl")

from openft.graders.context import GradeContext
from openft.train.checkpoints import SCORE_FILE
from openft.train.rl import train_rl

pytestmark = pytest.mark.train

ROWS = [{"messages": [{"role": "user", "content": f"Say a word ({i})."}], "answer": "the"} for i in range(4)]
CONTAINS_THE = {
    "type": "string_check",
    "name": "has_the",
    "input": "{{ sample.output_text }}",
    "reference": "{{ item.answer }}",
    "operation": "ilike",
}
TINY = {
    "n_epochs": 1,
    "batch_size": 2,
    "compute_multiplier": 0.5,
    "eval_samples": 2,
    "reasoning_effort": "low",
}


@pytest.fixture
def spec(tiny_model_dir, data_dir, tmp_path, write_jsonl):
    def make(grader=CONTAINS_THE, hyperparameters=None, rows=ROWS, valid=ROWS[:2], grading=None, **fields):
        fields = {"output_dir": tmp_path / "job", "seed": 3, **fields}
        return train_spec(
            source=str(tiny_model_dir),
            data_dir=data_dir,
            training_file=write_jsonl(rows),
            validation_file=write_jsonl(valid, "valid.jsonl") if valid else None,
            method="reinforcement",
            fmt="reinforcement",
            hyperparameters={**TINY, **(hyperparameters or {})},
            learning_rate=1e-2,
            max_length=96,
            grader=grader,
            grading=grading or GradeContext(),
            **fields,
        )

    return make


def steps(reporter) -> list[int]:
    return [event[1] for event in reporter.of("step")]


def test_string_check_rewards_each_step_and_evaluations(spec, reporter):
    result = train_rl(spec(hyperparameters={"n_epochs": 2, "eval_interval": 2}), reporter)

    assert steps(reporter) == [0, 1, 2, 3, 4]
    by_step = {event[1]: event[2] for event in reporter.of("step")}
    assert set(by_step[0]) >= {"full_valid_mean_reward", "scores", "errors", "timing"}
    assert "train_mean_reward" not in by_step[0]
    for step in (1, 2, 3, 4):
        assert 0.0 <= by_step[step]["train_mean_reward"] <= 1.0
    assert [s for s, m in by_step.items() if "full_valid_mean_reward" in m] == [0, 2, 4]
    grader = by_step[2]["scores"]["graders"][0]
    assert grader["name"] == "has_the" and set(grader) >= {"train_reward_mean", "valid_reward_mean"}
    errors = by_step[1]["errors"]["graders"][0]
    assert errors["train_other_error_count"] == 0.0
    assert errors["train_truncated_observation_error_count"] >= 0.0
    assert set(by_step[1]["timing"]["step"]) == {"sampling", "grading", "training", "eval", "full_iteration"}
    assert [e[1] for e in reporter.of("checkpoint")] == [2]
    assert result.final_dir is not None and result.steps == 4 and result.trained_tokens > 0
    assert json.loads((result.final_dir.parent / "checkpoints" / "step-2" / SCORE_FILE).read_text())


def test_the_same_seed_gives_the_same_rewards(spec, new_reporter, tmp_path):
    def rewards(seed: int, name: str) -> list:
        reporter = new_reporter()
        train_rl(spec(valid=None, seed=seed, output_dir=tmp_path / name), reporter)
        return [
            (e[1], e[2]["train_mean_reward"], e[2]["completion_tokens_mean"]) for e in reporter.of("step")
        ]

    first = rewards(3, "a")
    assert [step for step, _, _ in first] == [1, 2]  # no validation file: no step-0 evaluation
    assert rewards(3, "b") == first
