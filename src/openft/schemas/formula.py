"""The `calculate_output` formula of a multi grader: a safe parser and evaluator.

Grammar (usual math precedence; `^` is power and right-associative, so `-2^2 == -4`
and `2^-1 == 0.5`)::

    expr  := term (("+" | "-") term)*
    term  := unary (("*" | "/") unary)*
    unary := ("-" | "+") unary | power
    power := atom ("^" unary)?
    atom  := NUMBER | NAME | NAME "(" expr ("," expr)* ")" | "(" expr ")"

A hand-written tokenizer and recursive-descent parser build a small AST of `Node`s; nothing
here evaluates Python code. Length and nesting are bounded so that hostile input cannot
exhaust the stack. Positions in errors are 0-based character offsets into the formula.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Formula",
    "FormulaError",
    "Node",
    "parse_formula",
]

MAX_LENGTH = 4096
MAX_DEPTH = 64


class FormulaError(ValueError):
    """A malformed formula or a failed evaluation; `position` is a 0-based offset in the text."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
        self.message = message
        self.position = position


def _sqrt(x: float) -> float:
    if x < 0:
        raise ValueError("sqrt() of a negative number")
    return math.sqrt(x)


def _log(x: float) -> float:
    if x <= 0:
        raise ValueError("log() of a number that is not positive")
    return math.log(x)


# name -> (number of arguments, or None for "one or more"; implementation)
FUNCTIONS: dict[str, tuple[int | None, Callable[..., float]]] = {
    "min": (None, lambda *xs: min(xs)),
    "max": (None, lambda *xs: max(xs)),
    "abs": (1, abs),
    "floor": (1, math.floor),
    "ceil": (1, math.ceil),
    "exp": (1, math.exp),
    "sqrt": (1, _sqrt),
    "log": (1, _log),
}


class Node:
    """An AST node: something that evaluates to a float given the variables' values."""

    def evaluate(self, values: Mapping[str, float]) -> float:
        raise NotImplementedError


@dataclass(frozen=True)
class Num(Node):
    value: float

    def evaluate(self, values: Mapping[str, float]) -> float:
        return self.value


@dataclass(frozen=True)
class Var(Node):
    name: str
    pos: int

    def evaluate(self, values: Mapping[str, float]) -> float:
        if self.name not in values:
            raise FormulaError(f"unknown variable {self.name!r}", self.pos)
        value = values[self.name]
        if not isinstance(value, (int, float)):
            raise FormulaError(f"variable {self.name!r} is not a number", self.pos)
        return float(value)


@dataclass(frozen=True)
class Neg(Node):
    operand: Node
    pos: int

    def evaluate(self, values: Mapping[str, float]) -> float:
        return -self.operand.evaluate(values)


@dataclass(frozen=True)
class Chain(Node):
    """Left-associative operators of one precedence level: `a - b + c`, `a * b / c`."""

    first: Node
    rest: tuple[tuple[str, int, Node], ...]

    def evaluate(self, values: Mapping[str, float]) -> float:
        result = self.first.evaluate(values)
        for op, pos, node in self.rest:
            result = _binary(op, result, node.evaluate(values), pos)
        return result


@dataclass(frozen=True)
class Pow(Node):
    base: Node
    exponent: Node
    pos: int

    def evaluate(self, values: Mapping[str, float]) -> float:
        return _power(self.base.evaluate(values), self.exponent.evaluate(values), self.pos)


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]
    pos: int

    def evaluate(self, values: Mapping[str, float]) -> float:
        args = [arg.evaluate(values) for arg in self.args]
        try:
            return float(FUNCTIONS[self.name][1](*args))
        except ValueError as exc:
            message = str(exc) if self.name in ("sqrt", "log") else f"{self.name}() is undefined here"
            raise FormulaError(message, self.pos) from None
        except OverflowError:
            raise FormulaError(f"{self.name}() result is too large", self.pos) from None


def _binary(op: str, a: float, b: float, pos: int) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise FormulaError("division by zero", pos)
    return a / b


def _power(a: float, b: float, pos: int) -> float:
    try:
        result = a**b
    except ZeroDivisionError:
        raise FormulaError("zero raised to a negative power", pos) from None
    except OverflowError:
        raise FormulaError("power result is too large", pos) from None
    if isinstance(result, complex):
        raise FormulaError("negative number raised to a fractional power", pos)
    return result


_SPACE = re.compile(r"\s*")
_TOKEN = re.compile(
    r"(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/^(),])"
)
_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.]")


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "name", "op" or "end"
    text: str
    pos: int


def _skip_space(text: str, pos: int) -> int:
    """The position of the first non-space character at or after `pos`."""
    space = _SPACE.match(text, pos)  # `\s*` matches everywhere, if only the empty string
    return space.end() if space else pos


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens, ending with an "end" token."""
    tokens: list[Token] = []
    pos = _skip_space(text, 0)
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FormulaError(f"unexpected character {text[pos]!r}", pos)
        kind = match.lastgroup or ""
        if kind == "num" and _NUMBER_TAIL.match(text, match.end()):
            raise FormulaError(f"malformed number {text[pos : match.end() + 1]!r}", pos)
        tokens.append(Token(kind, match.group(), pos))
        pos = _skip_space(text, match.end())
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.names: set[str] = set()

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def accept(self, *ops: str) -> Token | None:
        if self.current.kind == "op" and self.current.text in ops:
            return self.take()
        return None

    def expect(self, op: str) -> Token:
        token = self.accept(op)
        if token is None:
            raise FormulaError(f"expected {op!r} but found {_describe(self.current)}", self.current.pos)
        return token

    def parse(self) -> Node:
        node = self.expr()
        if self.current.kind != "end":
            raise FormulaError(f"unexpected {_describe(self.current)}", self.current.pos)
        return node

    def expr(self) -> Node:
        return self.chain(self.term, ("+", "-"))

    def term(self) -> Node:
        return self.chain(self.unary, ("*", "/"))

    def chain(self, operand: Callable[[], Node], ops: tuple[str, ...]) -> Node:
        first, rest = operand(), []
        while (token := self.accept(*ops)) is not None:
            rest.append((token.text, token.pos, operand()))
        return Chain(first, tuple(rest)) if rest else first

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(f"formula is nested more than {MAX_DEPTH} levels deep", self.current.pos)
        try:
            if (token := self.accept("-", "+")) is not None:
                operand = self.unary()
                return Neg(operand, token.pos) if token.text == "-" else operand
            return self.power()
        finally:
            self.depth -= 1

    def power(self) -> Node:
        base = self.atom()
        if (token := self.accept("^")) is not None:
            return Pow(base, self.unary(), token.pos)
        return base

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "num":
            return Num(_number(token))
        if token.kind == "name":
            if self.accept("("):
                return self.call(token)
            self.names.add(token.text)
            return Var(token.text, token.pos)
        if token.kind == "op" and token.text == "(":
            node = self.expr()
            self.expect(")")
            return node
        raise FormulaError(f"expected a number, a variable or '(' but found {_describe(token)}", token.pos)

    def call(self, name: Token) -> Node:
        if name.text not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise FormulaError(f"unknown function {name.text!r} (known: {known})", name.pos)
        args: list[Node] = []
        if not self.accept(")"):
            args.append(self.expr())
            while self.accept(","):
                args.append(self.expr())
            self.expect(")")
        arity = FUNCTIONS[name.text][0]
        if arity is None and not args:
            raise FormulaError(f"{name.text}() takes at least 1 argument, got 0", name.pos)
        if arity is not None and len(args) != arity:
            raise FormulaError(f"{name.text}() takes exactly {arity} argument, got {len(args)}", name.pos)
        return Call(name.text, tuple(args), name.pos)


def _describe(token: Token) -> str:
    return "end of formula" if token.kind == "end" else repr(token.text)


def _number(token: Token) -> float:
    value = float(token.text)
    if not math.isfinite(value):
        raise FormulaError(f"number {token.text!r} is too large", token.pos)
    return value


@dataclass(frozen=True)
class Formula:
    """A parsed formula: its source text, AST and the variables it references."""

    text: str
    root: Node
    variables: frozenset[str]

    def evaluate(self, values: dict[str, float]) -> float:
        """The formula's value; raises FormulaError for a missing variable or a math error."""
        result = self.root.evaluate(values)
        if not math.isfinite(result):
            raise FormulaError("result is not a finite number", 0)
        return result


def parse_formula(text: str) -> Formula:
    """Parse `text`, raising FormulaError(message, position) when it is malformed."""
    if not isinstance(text, str):
        raise FormulaError("formula must be a string", 0)
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if not text.strip():
        raise FormulaError("formula is empty", 0)
    parser = _Parser(text)
    root = parser.parse()
    return Formula(text, root, frozenset(parser.names))
