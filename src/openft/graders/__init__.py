"""Graders for reinforcement fine-tuning and the /fine_tuning/alpha/graders endpoints.

`formula` parses and evaluates a multi grader's `calculate_output` (no eval, no Python AST);
`template` finds, checks and renders the `{{ item.* }}` / `{{ sample.* }}` placeholders of
grader strings. The wire models themselves live in `openft.schemas.graders`. Pure Python:
nothing here imports the ML stack.
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
    "Formula",
    "FormulaError",
    "InvalidVariableError",
    "Placeholder",
    "TemplateError",
    "check_template",
    "find_placeholders",
    "parse_formula",
    "render",
]
