"""Rollouts: reinforcement rows as prompts, and the policy sampled on the validation prompts.

A row's ``messages`` (and ``tools``) are rendered through the chat template with the assistant
header, by the same code SFT and serving use (``lm.conversation``; ``developer`` messages are
system messages, as serving treats them); the row's other keys are its ``item``. The
``Evaluator`` samples each validation prompt ``eval_samples`` times with the sampling of training
(temperature 1, the completion budget), from a random state of its own seeded by the job's seed
and the step, so an evaluation neither depends on nor disturbs the training's sampling, and
grades the samples with the training's reward function.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from openft.datasets.jsonl import read_objects
from openft.lm import conversation
from openft.train.rewards import Graded, RewardFunction
from openft.train.spec import JobFailure

RESERVED_KEYS = ("messages", "tools")
MIN_COMPLETION_TOKENS = 16


def prompt_rows(path: Path, tokenizer) -> list[dict]:
    """Each row as {"prompt": text, "item": JSON of the other keys, "tools": JSON of the tool names}."""
    return [_prompt_row(row, tokenizer) for row in read_objects(path)]


def _prompt_row(row: dict, tokenizer) -> dict:
    messages = [{**m, "role": "system"} if m.get("role") == "developer" else m for m in row["messages"]]
    messages, tools = conversation.normalize(messages, row.get("tools"), tokenizer.chat_template or "")
    item = {key: value for key, value in row.items() if key not in RESERVED_KEYS}
    names = [tool.get("function", tool).get("name") for tool in row.get("tools") or []]
    return {
        "prompt": conversation.render(tokenizer, messages, tools, generation_prompt=True),
        "item": json.dumps(item),
        "tools": json.dumps(names),
    }


def longest_prompt(rows: list[dict], tokenizer) -> int:
    """The tokens of the longest rendered prompt."""
    return max(len(tokenizer(row["prompt"], add_special_tokens=False)["input_ids"]) for row in rows)


def fitting_budget(longest: int, *, budget: int, max_length: int) -> int:
    """The completion budget, shortened so that the ``longest`` prompt (in tokens) and its
    completion fit the model's sequence limit; a job whose prompts leave no room fails."""
    room = max_length - longest
    if room < MIN_COMPLETION_TOKENS:
        raise JobFailure(
            f"A prompt is {longest} tokens long: with the model's limit of {max_length} tokens it leaves "
            f"fewer than {MIN_COMPLETION_TOKENS} tokens for the answer.",
            code="invalid_training_file",
        )
    return min(budget, room)


class Evaluator:
    def __init__(
        self, rows: list[dict], rewards: RewardFunction, tokenizer, *, samples: int, budget: int, seed: int
    ):
        self.rows, self.rewards, self.tokenizer = rows, rewards, tokenizer
        self.samples, self.budget, self.seed = samples, budget, seed

    def __call__(self, model, step: int) -> list[Graded]:
        """Every validation prompt sampled ``samples`` times by ``model`` and graded (one batch)."""
        texts, token_ids, items, tools = [], [], [], []
        was_training = model.training
        model.eval()
        try:
            with torch.random.fork_rng(devices=_devices()), torch.no_grad():
                torch.manual_seed(self.seed * 1_000_003 + step)
                for row in self.rows:
                    for ids in self._sample(model, row["prompt"]):
                        texts.append(self.tokenizer.decode(ids, skip_special_tokens=True))
                        token_ids.append(ids)
                        items.append(row["item"])
                        tools.append(row["tools"])
        finally:
            model.train(was_training)
        return [self.rewards.grade(texts, token_ids, items, tools)]

    def _sample(self, model, prompt: str) -> list[list[int]]:
        device = next(model.parameters()).device
        inputs = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(device)
        stops = sorted(self.rewards.stop_ids)
        output = model.generate(
            **inputs,
            do_sample=True,
            temperature=1.0,
            top_p=1.0,
            top_k=0,
            max_new_tokens=self.budget,
            num_return_sequences=self.samples,
            eos_token_id=stops,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        completions = output[:, inputs["input_ids"].shape[1] :].tolist()
        return [_until_stop(ids, self.rewards.stop_ids) for ids in completions]


def _until_stop(ids: list[int], stop_ids: frozenset[int]) -> list[int]:
    """The completion up to and including its first end-of-turn token (padding after it dropped)."""
    for index, token in enumerate(ids):
        if token in stop_ids:
            return ids[: index + 1]
    return ids


def _devices() -> list[int]:
    return [torch.cuda.current_device()] if torch.cuda.is_available() else []
