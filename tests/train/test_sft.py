"""Supervised fine-tuning end to end on a tiny random Llama with SmolLM2's tokenizer."""

from pathlib import Path

import pytest

from support.train_specs import train_spec

pytest.importorskip("trl")

from openft.train.checkpoints import list_checkpoints
from openft.train.sft import train_sft
from openft.train.spec import TrainSpec

pytestmark = pytest.mark.train

ANSWERED = [
    {"messages": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": "OK."}]}
    for i in range(10)
]


@pytest.fixture
def spec(tiny_model_dir, data_dir, tmp_path, write_jsonl):
    """spec(rows=ANSWERED, **overrides) -> a TrainSpec for the tiny model writing under tmp_path/job."""

    def make(rows=ANSWERED, **overrides) -> TrainSpec:
        fields = dict(
            source=str(tiny_model_dir),
            data_dir=data_dir,
            output_dir=tmp_path / "job",
            training_file=write_jsonl(rows),
            hyperparameters={"n_epochs": 1, "batch_size": 5},
            learning_rate=1e-2,
            seed=7,
        )
        return train_spec(**{**fields, **overrides})

    return make


def steps(reporter) -> list[int]:
    return [event[1] for event in reporter.of("step")]


def checkpoint_dir(spec, step) -> Path:
    return Path(spec().output_dir) / "checkpoints" / f"step-{step}"


def test_run_reports_every_step_checkpoints_each_epoch_and_saves_a_loadable_adapter(spec, reporter):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = train_sft(spec(hyperparameters={"n_epochs": 4, "batch_size": 5}), reporter)

    assert reporter.of("start") == [("start", {"total_steps": 8, "steps_per_epoch": 2, "n_epochs": 4})]
    assert steps(reporter) == list(range(1, 9))
    for _, _, metrics in reporter.of("step"):
        assert set(metrics) == {"train_loss", "train_mean_token_accuracy"}
    assert [(e[1], e[2]) for e in reporter.of("epoch")] == [(2, 1), (4, 2), (6, 3), (8, 4)]
    checkpoints = reporter.of("checkpoint")
    assert [e[1] for e in checkpoints] == [2, 4, 6]  # the last epoch's model is the final model
    assert all(e[2] == checkpoint_dir(spec, e[1]) for e in checkpoints)
    root = checkpoints[0][2].parent
    assert [p.name for p in list_checkpoints(root)] == ["step-2", "step-4", "step-6"]

    assert (result.steps, result.stopped, result.final_dir) == (8, None, root.parent / "final")
    tokenizer = AutoTokenizer.from_pretrained(result.final_dir)
    assert tokenizer.pad_token != "<|im_end|>"
    per_epoch = sum(len(tokenizer.apply_chat_template(row["messages"])["input_ids"]) for row in ANSWERED)
    assert result.trained_tokens == 4 * per_epoch
    for adapter in (result.final_dir, checkpoint_dir(spec, 6)):
        base = AutoModelForCausalLM.from_pretrained(spec().model.source)
        tuned = PeftModel.from_pretrained(base, adapter)
        assert tuned.peft_config["default"].r == 8
        assert AutoTokenizer.from_pretrained(adapter).pad_token == "<|endoftext|>"


def test_validation_file_adds_valid_metrics_and_full_valid_metrics_at_epoch_ends(spec, reporter, write_jsonl):
    valid = write_jsonl(ANSWERED[:3], "valid.jsonl")
    train_sft(spec(validation_file=valid, hyperparameters={"n_epochs": 2, "batch_size": 5}), reporter)

    for _, step, metrics in reporter.of("step"):
        assert {"valid_loss", "valid_mean_token_accuracy"} <= set(metrics)
        full = {"full_valid_loss", "full_valid_mean_token_accuracy"} <= set(metrics)
        assert full == (step % 2 == 0)
    for _, _, _, metrics in reporter.of("epoch"):
        assert metrics["full_valid_loss"] > 0 and 0 <= metrics["full_valid_mean_token_accuracy"] <= 1


def test_cancel_stops_after_the_current_step_without_a_final_model(spec, reporter):
    reporter.stop_after = {2: "cancel"}
    result = train_sft(spec(hyperparameters={"n_epochs": 2, "batch_size": 2}), reporter)

    assert steps(reporter) == [1, 2]
    assert (result.stopped, result.final_dir, result.steps) == ("cancel", None, 2)
    assert reporter.of("checkpoint") == []
    assert not (Path(spec().output_dir) / "final").exists()


def test_pause_saves_a_checkpoint_then_stops(spec, reporter):
    reporter.stop_after = {3: "pause"}
    result = train_sft(spec(hyperparameters={"n_epochs": 2, "batch_size": 2}), reporter)

    assert steps(reporter) == [1, 2, 3]
    assert [e[1] for e in reporter.of("checkpoint")] == [3]
    assert (reporter.of("checkpoint")[0][2] / "adapter_model.safetensors").is_file()
    assert (result.stopped, result.final_dir) == ("pause", None)


def test_the_same_seed_gives_identical_losses(spec, tmp_path, new_reporter):
    runs = []
    for name in ("a", "b"):
        reporter = new_reporter()
        train_sft(
            spec(output_dir=tmp_path / name, hyperparameters={"n_epochs": 1, "batch_size": 2}), reporter
        )
        runs.append([metrics["train_loss"] for _, _, metrics in reporter.of("step")])
    assert len(runs[0]) == 5 and runs[0] == runs[1]


def test_micro_batches_train_as_whole_batches(spec, tmp_path, new_reporter, monkeypatch):
    from openft.train.micro_batches import TOKEN_BUDGET

    runs = []
    for name, budget in (("whole", 4096), ("rows", 1)):  # a budget of 1: one row a forward
        monkeypatch.setitem(TOKEN_BUDGET, "cpu", budget)
        reporter = new_reporter()
        train_sft(spec(output_dir=tmp_path / name), reporter)
        runs.append([metrics["train_loss"] for _, _, metrics in reporter.of("step")])
    # LoRA's dropout draws its masks in another order, so the steps differ a little, not exactly
    assert len(runs[0]) == 2 and runs[0] == pytest.approx(runs[1], rel=1e-3)


def test_tool_call_examples_train(spec, reporter, tool_call_row):
    result = train_sft(spec(rows=[tool_call_row] * 10), reporter)
    assert result.final_dir is not None and steps(reporter) == [1, 2]


def test_completion_format_trains_and_long_examples_warn(spec, reporter):
    rows = [{"prompt": f"{i} + {i} =", "completion": f" {2 * i}"} for i in range(9)]
    rows.append({"prompt": "word " * 100, "completion": " long"})
    result = train_sft(spec(rows=rows, fmt="completion", max_length=32), reporter)

    assert result.final_dir is not None and steps(reporter) == [1, 2]
    assert reporter.of("warning") == [
        ("warning", "1 training example(s) are longer than 32 tokens and were truncated to fit")
    ]


def test_a_tuned_model_ends_its_answers(spec, reporter):
    """The pad-token trap: padding must never mask <|im_end|>, or the model never learns to stop."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = train_sft(
        spec(full_finetune=True, learning_rate=3e-2, hyperparameters={"n_epochs": 8, "batch_size": 5}),
        reporter,
    )
    tokenizer = AutoTokenizer.from_pretrained(result.final_dir)
    model = AutoModelForCausalLM.from_pretrained(result.final_dir)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Question 42?"}], add_generation_prompt=True, return_tensors="pt"
    )
    output = model.generate(**prompt, max_new_tokens=8, do_sample=False)
    answer = output[0, prompt["input_ids"].shape[1] :].tolist()
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in answer


@pytest.mark.e2e
def test_the_builtin_model_tunes_and_still_ends_its_answers(data_dir, tmp_path, write_jsonl, reporter):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    rows = [
        {
            "messages": [
                {"role": "user", "content": f"What is {i} plus {i}?"},
                {"role": "assistant", "content": f"{i + i}."},
            ]
        }
        for i in range(10)
    ]
    spec = train_spec(
        source="builtin",
        data_dir=data_dir,
        output_dir=tmp_path / "job",
        training_file=write_jsonl(rows),
        hyperparameters={"n_epochs": 1, "batch_size": 5},
    )
    result = train_sft(spec, reporter)

    assert steps(reporter) == [1, 2] and result.final_dir is not None
    tokenizer = AutoTokenizer.from_pretrained(result.final_dir)
    base = AutoModelForCausalLM.from_pretrained(str(data_dir / "models" / "SmolLM2-135M-Instruct"))
    model = PeftModel.from_pretrained(base, result.final_dir)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
    )
    output = model.generate(**prompt, max_new_tokens=24, do_sample=False)
    answer = output[0, prompt["input_ids"].shape[1] :].tolist()
    assert "Paris" in tokenizer.decode(answer)
    assert answer[-1] == tokenizer.convert_tokens_to_ids("<|im_end|>")
