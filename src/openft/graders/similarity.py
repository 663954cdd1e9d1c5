"""`text_similarity`: one of eleven metrics (`text_metrics`) between the rendered input and
reference, each in [0, 1].

Graded, every metric but `cosine` runs in a worker process (`metric_workers`) that is killed at
the grading's deadline (`unresponsive_reward_error`); a rendered input or reference over the
size limit is an `other_error` before any metric runs.
"""

from __future__ import annotations

from openft.graders.context import Deadline, GradeContext
from openft.graders.sample import Namespaces
from openft.graders.text_metrics import similarity
from openft.schemas.graders import TextSimilarityGrader

__all__ = ["grade_text_similarity"]


def grade_text_similarity(
    grader: TextSimilarityGrader, names: Namespaces, context: GradeContext, deadline: Deadline
) -> float:
    text = names.render(grader.input, context.max_text_bytes)
    reference = names.render(grader.reference, context.max_text_bytes)
    if grader.evaluation_metric == "cosine":
        return similarity("cosine", text, reference)
    return context.workers.score(
        grader.evaluation_metric, text, reference, deadline=deadline.at, cancel=deadline.cancel
    )
