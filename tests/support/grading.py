"""Grade a wire grader (a dict, validated as the API validates it) against a sample and an item."""

from __future__ import annotations

from openft.graders.context import GradeContext
from openft.graders.dispatch import grade
from openft.graders.sample import sample_from_text
from openft.schemas.graders import parse_grader


def run(
    grader: dict, output: str | dict = "", item: dict | None = None, *, context: GradeContext | None = None
):
    """Grade `output` (model text, or a whole sample dict) with the grader given as JSON."""
    sample = sample_from_text(output) if isinstance(output, str) else output
    return grade(parse_grader(grader), sample, item or {}, context=context or GradeContext())
