"""Rewards: every sampled completion scored with the job's grader, as TRL's reward function.

Each completion becomes the ``sample`` namespace exactly as ``/alpha/graders/run`` builds it
(``graders.sample``): ``output_text``, ``output_json`` when the text parses, ``choices``; a
completion that hit the token budget has ``finish_reason: "length"`` (flagged
``truncated_observation_error``, its reward still computed), and in a row with ``tools`` the
``<tool_call>`` blocks are parsed into ``output_tools`` as serving parses them. ``item`` is the
row without ``messages`` and ``tools``. Samples are graded several at once in a thread pool
(each python grading runs in its own sandbox process, model gradings are calls to a model);
``graders.dispatch.grade`` never raises: a sample that cannot be graded scores 0, and its error
flags are counted by reward_metrics.py.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from openft.graders.dispatch import grade
from openft.graders.result import GradeResult
from openft.graders.sample import sample_from_choice
from openft.serve.tool_calls import BLOCK, parse_calls

GRADING_THREADS = 8


@dataclass(frozen=True)
class Graded:
    """One batch of samples graded: the results, each completion's length, the seconds it took."""

    results: list[GradeResult]
    completion_tokens: list[int]
    started: float  # perf_counter() when grading began (the samples were drawn by then)
    seconds: float


class RewardFunction:
    """``reward(prompts, completions, completion_ids, item, tools) -> rewards`` (TRL's signature);
    what it graded since the last ``drain`` is kept for the step's metrics."""

    def __init__(self, grader, context, *, stop_ids: frozenset[int], threads: int = GRADING_THREADS):
        self.grader, self.context, self.stop_ids = grader, context, stop_ids
        self.__name__ = grader.name  # TRL names each reward function's figures after it
        self._pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="openft-reward")
        self._pending: list[Graded] = []

    def __call__(self, prompts, completions, completion_ids, item, tools, **_) -> list[float | None]:
        graded = self.grade(completions, completion_ids, item, tools)
        self._pending.append(graded)
        return [result.reward for result in graded.results]

    def grade(self, texts: list[str], token_ids: list, items: list[str], tools: list[str]) -> Graded:
        """Grade completions (text and token ids) of rows whose item and tool names are JSON strings."""
        started = time.perf_counter()
        samples = [
            self._sample(text, ids, json.loads(names)) for text, ids, names in zip(texts, token_ids, tools)
        ]
        rows = [json.loads(row) for row in items]
        results = list(self._pool.map(self._grade_one, samples, rows))
        lengths = [len(ids) for ids in token_ids]
        return Graded(results, lengths, started, time.perf_counter() - started)

    def drain(self) -> list[Graded]:
        """What was graded since the last call."""
        pending, self._pending = self._pending, []
        return pending

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _grade_one(self, sample: dict, item: dict) -> GradeResult:
        return grade(self.grader, sample, item, context=self.context)

    def _sample(self, text: str, token_ids, tool_names: list[str]) -> dict:
        ids = list(token_ids)
        finished = bool(ids) and int(ids[-1]) in self.stop_ids
        message = _message(text, set(tool_names))
        return sample_from_choice(
            {"index": 0, "message": message, "finish_reason": "stop" if finished else "length"}
        )


def _message(text: str, tool_names: set[str]) -> dict:
    """The assistant message of a completion: its ``<tool_call>`` blocks as tool calls when the
    row offers tools and every block calls one of them."""
    calls = parse_calls(text, tool_names) if tool_names else None
    if not calls:
        return {"role": "assistant", "content": text}
    tool_calls = [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in calls
    ]
    return {"role": "assistant", "content": BLOCK.sub("", text).strip(), "tool_calls": tool_calls}
