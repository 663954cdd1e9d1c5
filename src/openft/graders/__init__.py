"""Graders for reinforcement fine-tuning and the /fine_tuning/alpha/graders endpoints.

`grade(grader, sample, item, context=...)` (in `dispatch`) grades one sample with any grader
type and returns a `GradeResult` (reward, OpenAI's 14 error flags, token usage); the API and
the trainer share it. The grader wire models and the two syntaxes they carry (the safe
`calculate_output` formula, the `{{ item.* }}` / `{{ sample.* }}` placeholders) live in
`openft.schemas` (graders.py, formula.py, template.py) and are re-exported here. Nothing here
imports the ML stack at import time (nltk, rouge-score and the embedding model load on first use);
model graders reach a model through a `ModelClient` (an external endpoint, or the server's engine,
which serve implements in `openft.serve.grader_client`). `grade`, `GradeContext`, `GradeResult`
and the sample builders are imported lazily from here.
"""

from openft.schemas.formula import Formula, FormulaError, parse_formula
from openft.schemas.template import (
    InvalidVariableError,
    Placeholder,
    TemplateError,
    check_template,
    find_placeholders,
    render,
)

__all__ = [
    "ErrorFlags",
    "Formula",
    "FormulaError",
    "GradeContext",
    "GradeResult",
    "InvalidVariableError",
    "Placeholder",
    "TemplateError",
    "check_template",
    "find_placeholders",
    "grade",
    "parse_formula",
    "render",
    "sample_from_choice",
    "sample_from_text",
]

_LAZY = {
    "grade": "openft.graders.dispatch",
    "GradeContext": "openft.graders.context",
    "GradeResult": "openft.graders.result",
    "ErrorFlags": "openft.graders.result",
    "sample_from_text": "openft.graders.sample",
    "sample_from_choice": "openft.graders.sample",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'openft.graders' has no attribute {name!r}")
