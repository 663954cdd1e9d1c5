"""DPO end to end on a tiny random Llama with SmolLM2's tokenizer: preference pairs rendered like
SFT, metrics, checkpoints, cancel, pause and resume, and DPO on top of an SFT adapter."""

from pathlib import Path

import pytest

from support.train_specs import train_spec

pytest.importorskip("trl")

from openft.train import states
from openft.train.data import IGNORE_INDEX, tokenize_chat
from openft.train.dpo import train_dpo
from openft.train.preference import tokenize_preference, tokenize_preferences
from openft.train.sft import train_sft
from openft.train.spec import TrainSpec, states_root

pytestmark = pytest.mark.train

PAIRS = [
    {
        "input": {
            "messages": [
                {"role": "system", "content": "Be kind."},
                {"role": "user", "content": f"Greet me ({i})"},
            ]
        },
        "preferred_output": [{"role": "assistant", "content": "Hello, friend!"}],
        "non_preferred_output": [{"role": "assistant", "content": "Go away."}],
    }
    for i in range(10)
]
PREFERRED_CHATS = [{"messages": [*p["input"]["messages"], *p["preferred_output"]]} for p in PAIRS]
DPO_NAMES = {
    "train_loss",
    "train_rewards_chosen",
    "train_rewards_rejected",
    "train_reward_margin",
    "train_reward_accuracy",
}


@pytest.fixture
def spec(tiny_model_dir, data_dir, tmp_path, write_jsonl):
    """spec(rows=PAIRS, **overrides) -> a DPO TrainSpec for the tiny model writing under tmp_path/job."""

    def make(rows=PAIRS, **overrides) -> TrainSpec:
        fields = dict(
            source=str(tiny_model_dir),
            data_dir=data_dir,
            output_dir=tmp_path / "job",
            training_file=write_jsonl(rows),
            method="dpo",
            fmt="preference",
            hyperparameters={"n_epochs": 1, "batch_size": 5},
            learning_rate=1e-2,
            seed=7,
        )
        if overrides.get("fmt") == "chat":
            fields["method"] = "supervised"
        return train_spec(**{**fields, **overrides})

    return make


def step_metrics(reporter) -> list[dict]:
    return [event[2] for event in reporter.of("step")]


def test_pairs_are_rendered_exactly_as_sft_renders_the_preferred_conversation(tokenizer, tool_call_row):
    row = {**PAIRS[0], "input": {**PAIRS[0]["input"], "tools": tool_call_row["tools"]}}
    pair = tokenize_preference(row, tokenizer)
    chat = tokenize_chat(
        {"messages": row["input"]["messages"] + row["preferred_output"], "tools": row["input"]["tools"]},
        tokenizer,
    )
    answered = len(pair["prompt_ids"]) + len(pair["chosen_ids"])
    assert pair["prompt_ids"] + pair["chosen_ids"] == chat["input_ids"][:answered]
    assert tokenizer.decode(chat["input_ids"][answered:]).strip() == ""  # the template's trailing newline
    assert pair["chosen_ids"] == [token for token in chat["labels"] if token != IGNORE_INDEX]
    assert tokenizer.decode(pair["prompt_ids"]).endswith("<|im_start|>assistant\n")
    assert "get_current_weather" in tokenizer.decode(
        pair["prompt_ids"]
    )  # tools folded into the system prompt
    assert (tokenizer.decode(pair["chosen_ids"]), tokenizer.decode(pair["rejected_ids"])) == (
        "Hello, friend!<|im_end|>",
        "Go away.<|im_end|>",
    )
    cut = tokenize_preferences([row, PAIRS[1]], tokenizer, max_length=len(pair["prompt_ids"]) + 3)
    assert cut.n_truncated == 1 and [len(cut.examples[0][k]) for k in ("chosen_ids", "rejected_ids")] == [
        3,
        3,
    ]
    assert cut.examples[1] == tokenize_preference(PAIRS[1], tokenizer)
    assert cut.n_tokens == sum(
        2 * len(e["prompt_ids"]) + len(e["chosen_ids"]) + len(e["rejected_ids"]) for e in cut.examples
    )


def test_run_reports_dpo_metrics_validates_checkpoints_and_saves_an_adapter(spec, reporter, write_jsonl):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    valid = write_jsonl(PAIRS[:3], "valid.jsonl")
    result = train_dpo(
        spec(validation_file=valid, valid_interval=2, hyperparameters={"n_epochs": 2, "batch_size": 5}),
        reporter,
    )

    metrics = step_metrics(reporter)
    assert [event[1] for event in reporter.of("step")] == [1, 2, 3, 4]
    assert all(set(m) >= DPO_NAMES for m in metrics) and "train_mean_token_accuracy" not in metrics[0]
    assert (
        metrics[0]["train_reward_margin"] == 0 and metrics[0]["train_reward_accuracy"] == 0
    )  # policy == reference
    assert metrics[-1]["train_reward_margin"] > 0 and metrics[-1]["train_reward_accuracy"] == 1
    assert [("valid_reward_margin" in m, "full_valid_reward_accuracy" in m) for m in metrics] == [
        (False, False),
        (True, True),
        (False, False),
        (True, True),
    ]
    assert metrics[-1]["full_valid_reward_margin"] > metrics[1]["full_valid_reward_margin"] > 0
    assert [e[1] for e in reporter.of("checkpoint")] == [2]  # the last epoch's model is the final model
    assert spec().plan.hyperparameters == {
        "batch_size": 5,
        "learning_rate_multiplier": 1.0,
        "n_epochs": 1,
        "beta": 0.1,
    }
    assert result.final_dir == Path(spec().output_dir) / "final" and result.steps == 4
    assert sorted(p.name for p in result.final_dir.iterdir() if p.is_dir()) == []  # the adapter alone
    PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(spec().model.source), result.final_dir)


def test_dpo_on_an_sft_adapter_trains_it_further_against_the_sft_model(
    spec, reporter, new_reporter, tmp_path, write_jsonl
):
    from safetensors.torch import load_file

    sft = train_sft(spec(rows=PREFERRED_CHATS, fmt="chat", output_dir=tmp_path / "sft"), new_reporter())
    result = train_dpo(
        spec(adapter_dir=sft.final_dir, hyperparameters={"n_epochs": 1, "batch_size": 5, "beta": 0.5}),
        reporter,
    )

    metrics = step_metrics(reporter)
    assert (
        metrics[0]["train_rewards_chosen"] == 0 and metrics[0]["train_reward_margin"] == 0
    )  # reference: the SFT model
    assert metrics[1]["train_reward_margin"] > 0
    before, after = (
        load_file(path / "adapter_model.safetensors") for path in (sft.final_dir, result.final_dir)
    )
    assert before.keys() == after.keys() and any((before[k] != after[k]).any() for k in before)
    assert not (result.final_dir / "ref").exists()


def test_micro_batches_of_pairs_train_as_whole_batches(spec, tmp_path, new_reporter, monkeypatch):
    from openft.train.micro_batches import TOKEN_BUDGET

    runs = []
    for name, budget in (("whole", 4096), ("pairs", 1)):  # a budget of 1: one pair a forward
        monkeypatch.setitem(TOKEN_BUDGET, "cpu", budget)
        reporter = new_reporter()
        train_dpo(spec(output_dir=tmp_path / name), reporter)
        runs.append([metrics["train_loss"] for _, _, metrics in reporter.of("step")])
    # LoRA's dropout draws its masks in another order, so the steps differ a little, not exactly
    assert len(runs[0]) == 2 and runs[0] == pytest.approx(runs[1], rel=1e-3)


def test_cancel_stops_after_the_current_step(spec, reporter):
    reporter.stop_after = {1: "cancel"}
    result = train_dpo(spec(hyperparameters={"n_epochs": 2, "batch_size": 5}), reporter)
    assert [e[1] for e in reporter.of("step")] == [1]
    assert (result.stopped, result.final_dir, reporter.of("checkpoint")) == ("cancel", None, [])


def test_pause_saves_the_trainer_state_and_resume_continues_from_the_next_step(spec, reporter, new_reporter):
    reporter.stop_after = {1: "pause"}
    paused = train_dpo(spec(hyperparameters={"n_epochs": 2, "batch_size": 5}), reporter)
    assert paused.stopped == "pause" and [e[1] for e in reporter.of("checkpoint")] == [1]
    state = states.latest(states_root(spec().output_dir))
    assert state is not None and (state.step, state.reason, state.path.name) == (1, "pause", "step-1")

    resumed = new_reporter()
    result = train_dpo(
        spec(hyperparameters={"n_epochs": 2, "batch_size": 5}, resume_from=state.path), resumed
    )
    assert [e[1] for e in resumed.of("step")] == [2, 3, 4] and result.final_dir is not None
    assert step_metrics(resumed)[0]["train_reward_margin"] > 0  # the paused adapter, not a fresh one


def test_a_full_fine_tune_continues_full_weights_against_a_frozen_copy(
    spec, reporter, new_reporter, tmp_path
):
    sft = train_sft(
        spec(rows=PREFERRED_CHATS, fmt="chat", full_finetune=True, output_dir=tmp_path / "sft"),
        new_reporter(),
    )
    result = train_dpo(spec(weights_dir=sft.final_dir, full_finetune=True), reporter)

    metrics = step_metrics(reporter)
    assert metrics[0]["train_reward_margin"] == 0 and metrics[1]["train_reward_margin"] > 0
    assert (result.final_dir / "model.safetensors").is_file() and not (
        result.final_dir / "adapter_config.json"
    ).exists()
