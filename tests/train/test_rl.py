"""Reinforcement fine-tuning (the recipe) on a tiny random Llama with SmolLM2's tokenizer: the
job's grader is the reward, evaluations before the first step and every eval_interval steps,
checkpoints kept by validation reward, grader failures counted and the failure threshold."""

from __future__ import annotations

import json

import pytest
import torch

from support.packing import jobs_pack
from support.train_specs import train_spec

pytest.importorskip("trl")

from openft.graders.context import GradeContext
from openft.train.checkpoints import SCORE_FILE
from openft.train.rl import train_rl
from openft.train.spec import JobFailure

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
    def make(
        grader=CONTAINS_THE,
        hyperparameters=None,
        rows=ROWS,
        valid=ROWS[:2],
        grading=None,
        max_length=96,
        **fields,
    ):
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
            max_length=max_length,
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


def test_a_steps_completions_train_in_passes_of_the_token_budget_with_one_passs_update(
    spec, new_reporter, tmp_path, monkeypatch
):
    """The step samples its 4 completions at once; trained in 4 passes of one (a budget of one
    token) or one pass of four, it draws the same rewards and ends with the same weights (LoRA
    dropout off: its masks are drawn per pass; float32: bfloat16 rounds each pass's shapes its
    own way; float32 still rounds the head's products a pass's own way, a few millionths of a
    weight: atol)."""
    from safetensors.torch import load_file

    from openft.lm import numerics
    from openft.train import rl
    from openft.train import run as run_module

    monkeypatch.setattr(run_module, "LORA_DROPOUT", 0.0)

    def run(budget: int, name: str):
        monkeypatch.setattr(rl, "TOKEN_BUDGET", {"cpu": budget, "cuda": budget})
        reporter = new_reporter()
        float32 = numerics.choose("float32", device="cpu")
        result = train_rl(spec(valid=None, output_dir=tmp_path / name, numerics=float32), reporter)
        weights = load_file(str(result.final_dir / "adapter_model.safetensors"))
        return [(e[1], e[2]["train_mean_reward"]) for e in reporter.of("step")], weights

    rewards_in_passes, in_passes = run(1, "passes")
    rewards_at_once, at_once = run(10**6, "once")
    assert rewards_in_passes == rewards_at_once
    assert in_passes.keys() == at_once.keys()
    for name, tensor in at_once.items():
        assert torch.allclose(in_passes[name], tensor, rtol=1e-4, atol=1e-5), name


YES_OR_NO = {
    "type": "json_schema",
    "json_schema": {
        "name": "verdict",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
            "required": ["answer"],
            "additionalProperties": False,
        },
    },
}
SAYS_YES = {
    "type": "string_check",
    "name": "says_yes",
    "input": "{{ sample.output_json.answer }}",
    "reference": "yes",
    "operation": "eq",
}


def test_a_json_schema_response_format_holds_every_sample_to_the_schema(spec, reporter):
    """The random model never writes JSON on its own: under the method's response_format every
    sample, trained on or evaluated, parses and names an answer the schema allows."""
    result = train_rl(spec(grader=SAYS_YES, response_format=YES_OR_NO), reporter)

    by_step = {event[1]: event[2] for event in reporter.of("step")}
    assert sorted(by_step) == [0, 1, 2]
    for step, metrics in by_step.items():
        errors = metrics["errors"]["graders"][0]
        for split in ("train", "valid") if step else ("valid",):
            assert errors[f"{split}_invalid_variable_error_count"] == 0.0
            assert errors[f"{split}_sample_parse_error_count"] == 0.0
            assert errors[f"{split}_truncated_observation_error_count"] == 0.0
    assert result.final_dir is not None


def test_an_invalid_response_format_schema_fails_the_job_naming_the_field(spec, reporter):
    bad = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": {"type": "object", "minProperties": "two"}},
    }
    with pytest.raises(JobFailure) as failure:
        train_rl(spec(grader=SAYS_YES, response_format=bad), reporter)
    assert failure.value.code == "invalid_response_format"
    assert "method.reinforcement.response_format.json_schema.schema" in str(failure.value)


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
CALLS_WEATHER = {
    "type": "string_check",
    "name": "calls_weather",
    "input": "{{ sample.output_tools }}",  # the calls as JSON: "[]" when the sample called nothing
    "reference": "get_weather",
    "operation": "like",
}


def test_rows_with_tools_render_them_into_the_prompt_and_an_output_tools_grader_is_counted(
    spec, reporter, tokenizer
):
    """Prompts carry the row's tools as the chat template renders them (as SFT and serving do);
    the random model calls no tool, so ``output_tools`` is empty and every sample scores 0."""
    from openft.train.rollouts import prompt_rows

    rows = [{**row, "tools": [WEATHER_TOOL]} for row in ROWS]
    job = spec(grader=CALLS_WEATHER, rows=rows, valid=rows[:2], max_length=200)  # the tool takes ~165
    prompts = prompt_rows(job.training_file, tokenizer)
    assert all("get_weather" in row["prompt"] and '"city"' in row["prompt"] for row in prompts)
    assert {json.loads(row["tools"])[0] for row in prompts} == {"get_weather"}

    result = train_rl(job, reporter)

    last = reporter.of("step")[-1][2]
    assert last["train_mean_reward"] == 0.0
    assert last["errors"]["graders"][0]["train_invalid_variable_error_count"] == 0
    assert result.final_dir is not None


def test_full_fine_tuning_trains_every_weight(spec, reporter):
    from safetensors.torch import load_file

    result = train_rl(spec(full_finetune=True, valid=None), reporter)

    assert result.final_dir is not None and not (result.final_dir / "adapter_config.json").exists()
    assert any(
        name.endswith("embed_tokens.weight") for name in load_file(result.final_dir / "model.safetensors")
    )


def test_a_supervised_adapter_trains_further_with_rewards(
    spec, reporter, new_reporter, write_jsonl, tmp_path
):
    """SFT then RFT: the ft: model's adapter is the policy the reinforcement job starts from."""
    from safetensors.torch import load_file

    from openft.train.sft import train_sft

    chat = {"messages": [{"role": "user", "content": "Say a word."}, {"role": "assistant", "content": "the"}]}
    supervised = spec(valid=None)
    sft_spec = train_spec(
        source=supervised.model.base_source,
        data_dir=supervised.data_dir,
        training_file=write_jsonl([chat] * 4, "sft.jsonl"),
        hyperparameters={"n_epochs": 1, "batch_size": 2},
        output_dir=tmp_path / "sft",
    )
    parent_dir = train_sft(sft_spec, new_reporter()).final_dir
    assert parent_dir is not None
    parent = load_file(parent_dir / "adapter_model.safetensors")

    result = train_rl(spec(valid=None, adapter_dir=parent_dir), reporter)

    assert result.final_dir is not None
    child = load_file(result.final_dir / "adapter_model.safetensors")
    assert child.keys() == parent.keys()
    assert any(not (child[key] == parent[key]).all() for key in parent)


@pytest.mark.skipif(not jobs_pack(), reason="weights are packed on CPUs that compute in bfloat16")
def test_sampling_with_packed_weights_gives_the_same_steps(spec, new_reporter, tmp_path):
    """The frozen base samples with weights packed for oneDNN (lm/packed_linear.py) on a CPU in
    bfloat16, to the bit of its plain weights: the same completions, rewards and losses."""

    def run(packed: bool):
        reporter = new_reporter()
        train_rl(spec(valid=None, output_dir=tmp_path / str(packed), packed_weights=packed), reporter)
        figures = [{k: v for k, v in e[2].items() if k != "timing"} for e in reporter.of("step")]
        return figures, [e[1] for e in reporter.of("note") if "packed" in e[1]]

    (packed, notes), (plain, plain_notes) = run(True), run(False)
    assert packed == plain and len(packed) == 2
    assert len(notes) == 1 and not plain_notes
