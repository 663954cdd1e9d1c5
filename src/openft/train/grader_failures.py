"""Grader failures: a job whose grader cannot grade too many samples fails, quoting a few.

A sample that cannot be graded scores 0 and is counted (reward_metrics.failed). Once at least
``MIN_SAMPLES`` samples (train and validation together) have been graded, a share of failures
above ``MAX_FAILURE_RATE`` over the whole run so far fails the job with ``grader_failed`` and a
message quoting up to ``QUOTED`` distinct failures (flag and details).
"""

from __future__ import annotations

from dataclasses import fields

from openft.graders.result import ErrorFlags, GradeResult
from openft.train.reward_metrics import failed
from openft.train.spec import JobFailure

MAX_FAILURE_RATE = 0.5
MIN_SAMPLES = 8
QUOTED = 3
MAX_DETAILS = 300


class FailureWatch:
    def __init__(self):
        self.graded = 0
        self.failures: list[str] = []  # one description per failed sample

    def add(self, results: list[GradeResult]) -> None:
        self.graded += len(results)
        self.failures.extend(describe(r.errors) for r in results if failed(r))

    def check(self) -> None:
        """Raise JobFailure when too many samples could not be graded."""
        if self.graded < MIN_SAMPLES or len(self.failures) <= MAX_FAILURE_RATE * self.graded:
            return
        quoted = list(dict.fromkeys(self.failures))[:QUOTED]
        raise JobFailure(
            f"The grader could not grade {len(self.failures)} of {self.graded} samples (more than "
            f"{MAX_FAILURE_RATE:.0%}), so training stopped. Some of the failures: " + "; ".join(quoted),
            code="grader_failed",
        )


def describe(errors: ErrorFlags) -> str:
    """``python_grader_runtime_error (ZeroDivisionError: division by zero)``: the flags set, with details."""
    parts = []
    for f in fields(errors):
        if f.type == "bool" and getattr(errors, f.name) and f.name != "truncated_observation_error":
            details = _details(errors, f.name)
            parts.append(f"{f.name} ({details})" if details else f.name)
    return ", ".join(parts)


def _details(errors: ErrorFlags, flag: str) -> str | None:
    for suffix in ("_type", "_details"):
        value = getattr(errors, flag + suffix, None)
        if value:
            text = " ".join(str(value).split())
            return text if len(text) <= MAX_DETAILS else text[: MAX_DETAILS - 3] + "..."
    return None
