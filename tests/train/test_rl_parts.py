"""The pure parts of reinforcement fine-tuning: hyperparameter mappings, the §8.7 metrics shape,
the step message, the result file, grader failures and checkpoints kept by validation reward."""

from __future__ import annotations

import json

import pytest

from openft.graders.result import ErrorFlags, GradeResult, Usage
from openft.schemas.graders import parse_grader
from openft.train.grader_failures import FailureWatch
from openft.train.hparams import completion_budget, plan_training, samples_per_prompt
from openft.train.metrics import step_message
from openft.train.results import step_metrics_csv
from openft.train.spec import JobFailure


def test_auto_reinforcement_hyperparameters_are_resolved_once_into_numbers():
    plan = plan_training(
        {"n_epochs": 2, "batch_size": 5}, n_examples=50, method="reinforcement", full_finetune=False
    )
    shown = plan.hyperparameters
    assert shown == {
        "batch_size": 5,
        "learning_rate_multiplier": 1.0,
        "n_epochs": 2,
        "compute_multiplier": 1.0,
        "eval_interval": 2,  # about ten evaluations over 20 steps
        "eval_samples": 2,
        "reasoning_effort": "default",
    }
    assert plan.total_steps == 20 and plan.valid_interval == 2


def test_compute_multiplier_and_reasoning_effort_mappings():
    assert [samples_per_prompt(m) for m in (0.00002, 0.5, 1, 2.4, 10)] == [2, 2, 4, 10, 40]
    assert [completion_budget(e) for e in ("low", "default", "medium", "high")] == [128, 256, 256, 1024]


def test_step_message_follows_openai_rft_events():
    metrics = {"train_mean_reward": 0.42, "full_valid_mean_reward": 0.675, "train_loss": 0.1}
    assert step_message(10, 20, metrics, "reinforcement") == (
        "Step 10/20, train mean reward=0.42, full validation mean reward=0.68"
    )
    assert step_message(1, 2, {"train_loss": 0.5}) == "Step 1/2: training loss=0.50"


def test_result_file_has_one_row_per_step_with_rewards_and_error_rates():
    rows = [
        {"step": 0, "full_valid_mean_reward": 0.25, "full_valid_error_rate": 0.0},
        {"step": 1, "train_mean_reward": 0.5, "train_error_rate": 0.125, "completion_tokens_mean": 12.0},
    ]
    assert step_metrics_csv(rows, "reinforcement").splitlines() == [
        "step,train_mean_reward,full_valid_mean_reward,train_error_rate,full_valid_error_rate,completion_tokens_mean",
        "0,,0.25000,,0.00000,",
        "1,0.50000,,0.12500,,12.00000",
    ]


def _graded(rewards, errors=None, usage=None):
    from openft.train.rewards import Graded

    results = [
        GradeResult(
            "m", "multi", reward=r, errors=errors or ErrorFlags(), sub_rewards={"a": r}, usage=usage or {}
        )
        for r in rewards
    ]
    return [Graded(results, [3] * len(results), 0.0, 0.1)]


def test_step_figures_are_shaped_like_the_rft_metrics_event():
    from openft.train.reward_metrics import step_figures

    grader = parse_grader(
        {
            "type": "multi",
            "name": "m",
            "graders": {
                "a": {
                    "type": "python",
                    "name": "a",
                    "source": "def grade(s, i):\n  return 1",
                    "pass_threshold": 0.5,
                }
            },
            "calculate_output": "a",
        }
    )
    used = {"gpt-4o-mini": Usage(prompt_tokens=10, completion_tokens=2)}
    flagged = ErrorFlags.of("python_grader_runtime_error", "boom")
    data = step_figures(
        grader,
        train=_graded([1.0, 0.0]) + _graded([0.0], flagged, used),
        valid=_graded([1.0]),
        timing={"sampling": 1.0},
    )
    assert data["train_mean_reward"] == pytest.approx(1 / 3) and data["full_valid_mean_reward"] == 1.0
    assert data["train_error_rate"] == pytest.approx(1 / 3) and data["completion_tokens_mean"] == 3
    top, sub = data["scores"]["graders"]
    assert (top["name"], sub["name"], sub["type"]) == ("m", "a", "python")
    assert sub["train_pass_rate"] == pytest.approx(1 / 3) and sub["valid_pass_rate"] == 1.0
    errors = data["errors"]["graders"][0]
    assert errors["train_python_grader_runtime_error_count"] == 1.0
    assert errors["valid_python_grader_runtime_error_mean"] == 0.0
    assert data["usage"]["graders"][0]["train_prompt_tokens_count"] == 10.0
    assert data["model_graders_token_usage"] == {
        "gpt-4o-mini": {"train_prompt_tokens": 10, "train_completion_tokens": 2, "train_cached_tokens": 0}
    }
    assert data["timing"]["step"] == {"sampling": 1.0}
    json.dumps(data)  # an event's data


def test_a_grader_failing_on_most_samples_fails_the_job_quoting_failures():
    watch = FailureWatch()
    ok = GradeResult("g", "python", reward=1.0)
    truncated = GradeResult("g", "python", reward=1.0, errors=ErrorFlags.of("truncated_observation_error"))
    broken = GradeResult(
        "g", "python", errors=ErrorFlags.of("python_grader_runtime_error", "ZeroDivisionError")
    )
    watch.add([ok, truncated, broken, broken])
    watch.check()  # too few samples yet to judge
    watch.add([ok, truncated, ok, ok])
    watch.check()  # two failures of eight: a truncated sample keeps its reward
    watch.add([broken] * 8)
    with pytest.raises(JobFailure) as failure:
        watch.check()
    assert failure.value.code == "grader_failed"
    assert str(failure.value).startswith("The grader could not grade 10 of 16 samples")
    assert "python_grader_runtime_error (ZeroDivisionError)" in str(failure.value)


class _Saves:
    def save_pretrained(self, directory):
        (directory / "weights").write_text("w")


def test_checkpoints_keep_the_three_best_by_validation_reward(tmp_path):
    from openft.train.checkpoints import list_checkpoints, save_scored_checkpoint

    scores = [(2, 0.5), (4, 0.9), (6, 0.1), (8, 0.7), (10, 0.7)]
    for step, score in scores:
        assert save_scored_checkpoint(_Saves(), _Saves(), tmp_path, step, score).name == f"step-{step}"
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-4", "step-8", "step-10"]
    assert save_scored_checkpoint(_Saves(), _Saves(), tmp_path, 12, 0.2) is None  # not among the best


def _grade(grader_input: str, reference: str, texts, token_ids, tools):
    from openft.graders.context import GradeContext
    from openft.train.rewards import RewardFunction

    grader = {
        "type": "string_check",
        "name": "g",
        "input": grader_input,
        "reference": reference,
        "operation": "eq",
    }
    rewards = RewardFunction(parse_grader(grader), GradeContext(), stop_ids=frozenset({2}))
    try:
        return rewards.grade(texts, token_ids, ['{"n": 1}'] * len(texts), tools)
    finally:
        rewards.close()


CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'


def test_rewards_read_tool_calls_of_rows_with_tools_and_flag_truncated_samples():
    graded = _grade(
        "{{ sample.output_tools[0].function.name }}",
        "get_weather",
        [CALL, "It is sunny.", CALL],
        [[5, 2], [5, 2], [5, 5]],  # the last one hit the budget: no end-of-turn token
        ['["get_weather"]', '["get_weather"]', "[]"],  # the last row offers no tools
    )
    first, second, third = graded.results
    assert first.reward == 1.0 and not first.errors.any
    assert second.reward == 0.0 and second.errors.invalid_variable_error  # no tool call to read
    assert third.errors.truncated_observation_error and third.errors.invalid_variable_error
    assert graded.completion_tokens == [2, 2, 2]


def test_rewards_read_json_outputs():
    graded = _grade(
        "{{ sample.output_json.city }}", "Paris", ['{"city": "Paris"}', "Paris"], [[2], [2]], ["[]"] * 2
    )
    assert graded.results[0].reward == 1.0
    assert graded.results[1].errors.sample_parse_error


class _Judge:
    """A model client answering every grading with a score of 0.75 and its token usage."""

    def complete(self, model, messages, *, json_schema, sampling):
        from openft.graders.model_client import Completion

        return Completion(text='{"steps": [], "result": 0.75}', usage=Usage(20, 5), model=model)


def test_score_model_rewards_count_their_tokens():
    from openft.graders.context import GradeContext
    from openft.train.reward_metrics import step_figures
    from openft.train.rewards import RewardFunction

    grader = parse_grader(
        {
            "type": "score_model",
            "name": "judge",
            "model": "gpt-4o-mini",
            "input": [{"role": "user", "content": "{{ sample.output_text }}"}],
        }
    )
    rewards = RewardFunction(grader, GradeContext(models=_Judge()), stop_ids=frozenset({2}))
    try:
        graded = rewards.grade(["a", "b"], [[2], [2]], ["{}", "{}"], ["[]", "[]"])
    finally:
        rewards.close()
    assert [r.reward for r in graded.results] == [0.75, 0.75]
    data = step_figures(grader, train=[graded], valid=None, timing={})
    assert data["usage"]["graders"][0]["train_prompt_tokens_count"] == 40.0
    assert data["model_graders_token_usage"]["gpt-4o-mini"]["train_completion_tokens"] == 10
