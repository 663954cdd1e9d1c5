"""calculate_output formulas: parsing, precedence, evaluation and rejection of bad input."""

import ast
import math
from pathlib import Path

import pytest

import openft.schemas.formula as formula_module
from openft.schemas.formula import MAX_DEPTH, MAX_LENGTH, FormulaError, parse_formula

VALUES = {"name": 1.0, "email": 0.0, "compliant": 1.0, "explanation": 0.5, "a": 2.0, "b": 3.0}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(name + email) / 2", 0.5),
        ("0.5 * compliant + 0.5 * explanation", 0.75),
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("10 - 4 - 3", 3.0),
        ("8 / 4 / 2", 1.0),
        ("10 / 4 * 2", 5.0),
        ("2 * 3 ^ 2", 18.0),
        ("2 ^ 3 ^ 2", 512.0),
        ("-2 ^ 2", -4.0),
        ("(-2) ^ 2", 4.0),
        ("2 ^ -1", 0.5),
        ("-3 * -2", 6.0),
        ("- -3", 3.0),
        ("+5", 5.0),
        ("a ^ b - b ^ a", -1.0),
        ("1e2 + 1.5E-1 + .5 + 5.", 105.65),
        ("0 ^ 0", 1.0),
        ("min(3, 1, 2)", 1.0),
        ("max(a)", 2.0),
        ("max(a, b, 2.5) - min(a, b)", 1.0),
        ("abs(-2.5)", 2.5),
        ("floor(-1.5) + ceil(1.2)", 0.0),
        ("exp(0)", 1.0),
        ("sqrt(2.25)", 1.5),
        ("log(1)", 0.0),
        ("sqrt(a ^ 2 + (b + 1) ^ 2)", math.sqrt(20)),
        ("min + 1", 3.0),  # a grader key may be called like a function when not called
    ],
)
def test_evaluates_to_hand_computed_values(text, expected):
    assert parse_formula(text).evaluate({**VALUES, "min": 2}) == pytest.approx(expected)


def test_log_and_exp_are_natural():
    assert parse_formula("log(exp(3))").evaluate({}) == pytest.approx(3.0)
    assert parse_formula("exp(1)").evaluate({}) == pytest.approx(math.e)


def test_variables_are_the_names_referenced():
    formula = parse_formula("0.5 * name + max(email, 0) / sqrt(name)")
    assert formula.variables == frozenset({"name", "email"})
    assert parse_formula("1 + 2").variables == frozenset()


def test_integer_values_are_accepted():
    assert parse_formula("a / b").evaluate({"a": 1, "b": 4}) == 0.25


def test_long_flat_chain_does_not_recurse():
    text = "1" + " + 1" * 1000
    assert parse_formula(text).evaluate({}) == 1001.0


def test_nesting_up_to_the_limit_is_accepted():
    depth = MAX_DEPTH - 1
    assert parse_formula("(" * depth + "a" + ")" * depth).evaluate({"a": 7}) == 7.0


@pytest.mark.parametrize(
    ("text", "fragment", "position"),
    [
        ("", "empty", 0),
        ("   ", "empty", 0),
        ("(name + email", "expected ')'", 13),
        ("name + email)", "unexpected ')'", 12),
        ("((1)", "expected ')'", 4),
        ("foo(1)", "unknown function 'foo'", 0),
        ("abs(1, 2)", "abs() takes exactly 1 argument, got 2", 0),
        ("log()", "log() takes exactly 1 argument, got 0", 0),
        ("sqrt(1, 2)", "takes exactly 1 argument", 0),
        ("min()", "min() takes at least 1 argument", 0),
        ("max()", "max() takes at least 1 argument", 0),
        ("1 2", "unexpected '2'", 2),
        ("name email", "unexpected 'email'", 5),
        ("1.2.3", "malformed number", 0),
        ("1e", "malformed number", 0),
        ("2x", "malformed number", 0),
        ("a ** b", "found '*'", 3),
        ("a & b", "unexpected character '&'", 2),
        ("a == b", "unexpected character '='", 2),
        ("1 +", "found end of formula", 3),
        ("* 2", "found '*'", 0),
        ("()", "found ')'", 1),
        ("min(1,)", "found ')'", 6),
        (",", "found ','", 0),
        ("1e400", "too large", 0),
        ("__import__('os')", "unexpected character", 11),
        ("name.attr", "unexpected character '.'", 4),
    ],
)
def test_malformed_formulas_are_rejected(text, fragment, position):
    with pytest.raises(FormulaError) as info:
        parse_formula(text)
    assert fragment in info.value.message
    assert info.value.position == position
    assert f"at position {position}" in str(info.value)


def test_formula_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_formula("(")


def test_too_long_formula_is_rejected():
    with pytest.raises(FormulaError, match="longer than"):
        parse_formula("1" + "+1" * MAX_LENGTH)


@pytest.mark.parametrize("text", ["(" * 500 + "1" + ")" * 500, "-" * 500 + "1", "2^" * 500 + "2"])
def test_deep_nesting_is_rejected_without_recursion_error(text):
    with pytest.raises(FormulaError, match="nested more than"):
        parse_formula(text)


def test_non_string_is_rejected():
    with pytest.raises(FormulaError):
        parse_formula(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a / (b - 3)", "division by zero"),
        ("sqrt(a - 5)", "sqrt() of a negative number"),
        ("log(0)", "log() of a number that is not positive"),
        ("log(-a)", "not positive"),
        ("(-8) ^ (1 / 3)", "negative number raised to a fractional power"),
        ("0 ^ -1", "zero raised to a negative power"),
        ("exp(1000)", "too large"),
        ("10 ^ 400", "too large"),
        ("1e300 * 1e300", "not a finite number"),
        ("missing + 1", "unknown variable 'missing'"),
    ],
)
def test_evaluation_errors_raise(text, fragment):
    formula = parse_formula(text)
    with pytest.raises(FormulaError) as info:
        formula.evaluate({"a": 2.0, "b": 3.0})
    assert fragment in info.value.message


def test_non_numeric_variable_is_an_error():
    with pytest.raises(FormulaError, match="not a number"):
        parse_formula("a + 1").evaluate({"a": "1"})


def test_module_never_evaluates_code():
    source = Path(formula_module.__file__).read_text()
    tree = ast.parse(source)
    forbidden = {"eval", "exec", "compile", "__import__", "getattr"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in forbidden, f"line {node.lineno} calls {node.func.id}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in {"eval", "exec"}, f"line {node.lineno}"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = {alias.name for alias in node.names} | {getattr(node, "module", None)}
            assert not names & {"ast", "builtins", "importlib"}, f"line {node.lineno}"
