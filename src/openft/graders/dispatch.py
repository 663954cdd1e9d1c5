"""`grade(grader, sample, item, context=...) -> GradeResult`: any grader type, never raising.

The one entry point the API (`/fine_tuning/alpha/graders/run`) and the trainer share. A failure
of any kind becomes reward 0 with OpenAI's error flags; an unexpected exception is an
`other_error` (and logged). A sample whose output stopped at the token limit is flagged
`truncated_observation_error` (its reward is still computed). Every grading has a deadline
(`GradeContext.timeout_seconds`, and the request's cancel event): text_similarity's worker is
killed when it passes, python graders have the sandbox's own wall clock, and a multi grader's
sub-graders not started by then are `unresponsive_reward_error`s. A reward is always a finite
number: anything else is reward 0 with `other_error`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from openft.graders.context import Deadline, GradeContext
from openft.graders.model_graders import grade_model
from openft.graders.multi import grade_multi
from openft.graders.python_grader import grade_python
from openft.graders.result import ErrorFlags, GradeResult, GraderFailure
from openft.graders.sample import Namespaces
from openft.graders.similarity import grade_text_similarity
from openft.graders.string_check import grade_string_check
from openft.schemas.graders import (
    LabelModelGrader,
    MultiGrader,
    PythonGrader,
    ScoreModelGrader,
    StringCheckGrader,
    TextSimilarityGrader,
)

__all__ = ["grade"]

log = logging.getLogger("openft.graders")
NO_MODELS_NO_SANDBOX = GradeContext()  # model and python graders report their server error


def grade(
    grader,
    sample: Mapping[str, Any],
    item: Mapping[str, Any] | None = None,
    *,
    context: GradeContext = NO_MODELS_NO_SANDBOX,
) -> GradeResult:
    """Grade one sample (see `sample.sample_from_text` / `sample_from_choice`) against its item."""
    names = Namespaces(sample, item or {})
    start = time.perf_counter()
    result = _grade(grader, names, context, context.deadline())
    if names.truncated:
        result = replace(result, errors=result.errors.merge(ErrorFlags.of("truncated_observation_error")))
    return result.timed(time.perf_counter() - start)


def _grade(grader, names: Namespaces, context: GradeContext, deadline: Deadline) -> GradeResult:
    try:
        if deadline.passed:
            raise GraderFailure("unresponsive_reward_error")
        outcome = _run(grader, names, context, deadline)
    except GraderFailure as failure:
        return GradeResult(grader.name, grader.type, errors=failure.errors)
    except Exception:  # a bug or a library failure: reported as other_error, never raised
        log.exception("grader %r (%s) failed", grader.name, grader.type)
        return GradeResult(grader.name, grader.type, errors=ErrorFlags.of("other_error"))
    result = (
        outcome if isinstance(outcome, GradeResult) else GradeResult(grader.name, grader.type, float(outcome))
    )
    if not math.isfinite(result.reward):  # every grader checks its own; this is the last line
        log.error("grader %r (%s) gave a non-finite reward %r", grader.name, grader.type, result.reward)
        return GradeResult(grader.name, grader.type, errors=result.errors.merge(ErrorFlags.of("other_error")))
    return result


def _run(grader, names: Namespaces, context: GradeContext, deadline: Deadline) -> float | GradeResult:
    if isinstance(grader, StringCheckGrader):
        return grade_string_check(grader, names, context.max_text_bytes)
    if isinstance(grader, TextSimilarityGrader):
        return grade_text_similarity(grader, names, context, deadline)
    if isinstance(grader, PythonGrader):
        if context.sandbox is None:
            raise GraderFailure("python_grader_server_error", "sandbox_unavailable")
        return grade_python(grader, names, context.sandbox, deadline.cancel)
    if isinstance(grader, (ScoreModelGrader, LabelModelGrader)):
        return grade_model(grader, names, context.models)
    if isinstance(grader, MultiGrader):
        return grade_multi(grader, lambda sub: _timed(sub, names, context, deadline))
    raise TypeError(f"not a grader: {type(grader).__name__}")


def _timed(grader, names: Namespaces, context: GradeContext, deadline: Deadline) -> GradeResult:
    start = time.perf_counter()
    return _grade(grader, names, context, deadline).timed(time.perf_counter() - start)
