"""Graders for reinforcement fine-tuning and the /fine_tuning/alpha/graders endpoints.

`grade(grader, sample, item, context=...)` (in `dispatch`) grades one sample with any grader
type and returns a `GradeResult` (reward, OpenAI's 14 error flags, token usage); the API and
the trainer share it. `formula` and `template` are the safe `calculate_output` parser and the
`{{ item.* }}` / `{{ sample.* }}` placeholders; the wire models live in `openft.schemas.graders`.
Nothing here imports the ML stack at import time (nltk, rouge-score, the embedding model and
the serve engine load on first use). `grade`, `GradeContext`, `GradeResult` and the sample
builders are imported lazily from here, because `openft.schemas.graders` itself imports
`formula` and `template` from this package.
"""

from openft.graders.formula import Formula, FormulaError, parse_formula
from openft.graders.template import (
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
