"""`multi`: several named sub-graders combined by the `calculate_output` formula.

Each sub-grader runs (one after another) and its reward is bound to its key in `graders`; the
formula (`formula`: + - * / ^, min max abs floor ceil exp sqrt log, parentheses, numbers; never
`eval`) gives the reward. A sub-grader that fails counts as 0 and its error flags are raised on
the multi grader too; a formula that cannot be parsed or evaluated (division by zero, log of 0)
is a `formula_parse_error` with reward 0. `sub_rewards` and `metadata.scores` map each key to its
sub-grader's reward; token usage adds up per model.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce

from openft.graders.result import ErrorFlags, GradeResult, Usage
from openft.schemas.formula import FormulaError, parse_formula
from openft.schemas.graders import MultiGrader

__all__ = ["grade_multi"]


def grade_multi(grader: MultiGrader, grade_one: Callable[[object], GradeResult]) -> GradeResult:
    results = {key: grade_one(sub) for key, sub in grader.graders.items()}
    rewards = {key: result.reward for key, result in results.items()}
    errors = reduce(ErrorFlags.merge, (r.errors for r in results.values()), ErrorFlags())
    try:
        reward = parse_formula(grader.calculate_output).evaluate(rewards)
    except FormulaError:
        reward, errors = 0.0, errors.merge(ErrorFlags.of("formula_parse_error"))
    sampled = next((r.sampled_model_name for r in results.values() if r.sampled_model_name), None)
    return GradeResult(
        grader.name,
        grader.type,
        reward=reward,
        errors=errors,
        scores=dict(rewards),
        sub_rewards=dict(rewards),
        usage=_usage(results.values()),
        sampled_model_name=sampled,
    )


def _usage(results) -> dict[str, Usage]:
    total: dict[str, Usage] = {}
    for result in results:
        for model, usage in result.usage.items():
            total[model] = total.get(model, Usage()) + usage
    return total
