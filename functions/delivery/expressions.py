"""Safe evaluator for QStash's `Upstash-Retry-Delay` header.

The header holds a math expression in milliseconds over the variable `retried` (0 on the first retry), e.g.
`pow(2, retried) * 1000`. User text is never handed to `eval`/`compile`: a tokenizer and a recursive-descent
parser turn it into a small tree of frozen dataclasses, which is evaluated with float arithmetic and `math`.

Grammar (whitespace allowed between tokens)::

    expr    := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := ("-" | "+")* primary
    primary := NUMBER | "retried" | NAME "(" expr ("," expr)* ")" | "(" expr ")"

Intermediate results are floats. An overflow inside `pow`/`exp` becomes +-infinity (so that `min(60000, exp(retried))`
still caps the delay); only a final result that is not finite, a NaN anywhere, a division by zero or a math domain
error (`sqrt(-1)`) makes `delay_ms` raise.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TypeAlias

MAX_SOURCE_LENGTH: Final = 256
MAX_NESTING: Final = 32
MAX_DELAY_MS: Final = 86_400_000
VARIABLE: Final = "retried"


class ExpressionError(ValueError):
    """An invalid or non-evaluable retry-delay expression. `position` is the 0-based offset in the source, if known."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message if position is None else f"{message} at position {position}")
        self.position = position


# --- AST -------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class BinaryOp:
    op: str  # one of + - * /
    left: Node
    right: Node
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    position: int = field(default=0, compare=False)


Node: TypeAlias = Number | Variable | Negate | BinaryOp | Call


# --- Functions -------------------------------------------------------------------------------------------------------


def _round_half_away(x: float) -> float:
    """Go/JS-style rounding for halves (`round(2.5) == 3`), unlike Python's banker's rounding."""
    if not math.isfinite(x):
        return x
    return math.copysign(math.floor(abs(x) + 0.5), x)


def _floor(x: float) -> float:
    return float(math.floor(x)) if math.isfinite(x) else x


def _ceil(x: float) -> float:
    return float(math.ceil(x)) if math.isfinite(x) else x


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _pow(base: float, exponent: float) -> float:
    try:
        return math.pow(base, exponent)  # floats only: never Python's arbitrary-precision int `**`
    except OverflowError:
        negative = base < 0 and exponent.is_integer() and math.fmod(exponent, 2) != 0
        return -math.inf if negative else math.inf
    except ValueError:
        if base == 0:
            raise ArithmeticError("division by zero") from None  # pow(0, -1)
        raise ArithmeticError("math domain error") from None  # pow(-8, 1/3)


def _min(*args: float) -> float:
    return min(args)  # builtin min(5) would try to iterate its single argument


def _max(*args: float) -> float:
    return max(args)


def _sqrt(x: float) -> float:
    if x < 0:
        raise ArithmeticError("square root of a negative number")
    return math.sqrt(x)


@dataclass(frozen=True)
class _Function:
    impl: Callable[..., float]
    min_args: int
    max_args: int | None  # None = variadic


FUNCTIONS: Final[dict[str, _Function]] = {
    "pow": _Function(_pow, 2, 2),
    "exp": _Function(_exp, 1, 1),
    "sqrt": _Function(_sqrt, 1, 1),
    "abs": _Function(abs, 1, 1),
    "floor": _Function(_floor, 1, 1),
    "ceil": _Function(_ceil, 1, 1),
    "round": _Function(_round_half_away, 1, 1),
    "min": _Function(_min, 1, None),
    "max": _Function(_max, 1, None),
}


# --- Tokenizer -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "name", "op", "end"
    text: str
    position: int


_TOKEN_RE: Final = re.compile(
    r"""
    (?P<ws>[\ \t\r\n]+)
    | (?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>[-+*/(),])
    """,
    re.VERBOSE,
)


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN_RE.match(source, position)
        if match is None:
            raise ExpressionError(f"unexpected character {source[position]!r}", position)
        kind = match.lastgroup
        assert kind is not None
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


# --- Parser ----------------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def _advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _at(self, op: str) -> bool:
        return self.current.kind == "op" and self.current.text == op

    def _expect(self, op: str) -> _Token:
        if not self._at(op):
            raise ExpressionError(f"expected {op!r} but found {_describe(self.current)}", self.current.position)
        return self._advance()

    def parse(self) -> Node:
        node = self._expr()
        if self.current.kind != "end":
            raise ExpressionError(f"unexpected {_describe(self.current)}", self.current.position)
        return node

    def _expr(self) -> Node:
        node = self._term()
        while self._at("+") or self._at("-"):
            token = self._advance()
            node = BinaryOp(token.text, node, self._term(), token.position)
        return node

    def _term(self) -> Node:
        node = self._unary()
        while self._at("*") or self._at("/"):
            token = self._advance()
            node = BinaryOp(token.text, node, self._unary(), token.position)
        return node

    def _unary(self) -> Node:
        negative = False
        while self._at("-") or self._at("+"):  # a loop, not recursion: `-----1` costs no stack
            negative ^= self._advance().text == "-"
        node = self._primary()
        return Negate(node) if negative else node

    def _nest(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExpressionError(f"nesting deeper than {MAX_NESTING} levels", token.position)

    def _primary(self) -> Node:
        token = self.current
        if token.kind == "num":
            self._advance()
            value = float(token.text)
            if not math.isfinite(value):
                raise ExpressionError(f"number {token.text!r} is out of range", token.position)
            return Number(value)
        if token.kind == "name":
            self._advance()
            if self._at("("):
                return self._call(token)
            if token.text == VARIABLE:
                return Variable(token.text)
            if token.text in FUNCTIONS:
                raise ExpressionError(f"function {token.text!r} must be called with arguments", token.position)
            raise ExpressionError(f"unknown variable {token.text!r} (only {VARIABLE!r} is allowed)", token.position)
        if self._at("("):
            self._nest(token)
            self._advance()
            node = self._expr()
            self._expect(")")
            self.depth -= 1
            return node
        raise ExpressionError(
            f"expected a number, {VARIABLE!r}, a function or '(' but found {_describe(token)}", token.position
        )

    def _call(self, name: _Token) -> Node:
        function = FUNCTIONS.get(name.text)
        if function is None:
            known = ", ".join(FUNCTIONS)
            raise ExpressionError(f"unknown function {name.text!r} (known: {known})", name.position)
        self._nest(name)
        self._expect("(")
        args: list[Node] = []
        if not self._at(")"):
            args.append(self._expr())
            while self._at(","):
                self._advance()
                args.append(self._expr())
        self._expect(")")
        self.depth -= 1
        count = len(args)
        if count < function.min_args or (function.max_args is not None and count > function.max_args):
            if function.max_args is None:
                wanted = f"at least {function.min_args} argument(s)"
            else:
                wanted = f"{function.min_args} argument(s)"
            raise ExpressionError(f"{name.text}() takes {wanted}, got {count}", name.position)
        return Call(name.text, tuple(args), name.position)


def _describe(token: _Token) -> str:
    return "end of input" if token.kind == "end" else repr(token.text)


# --- Evaluation ------------------------------------------------------------------------------------------------------


def _divide(left: float, right: float) -> float:
    if right == 0:
        raise ArithmeticError("division by zero")
    return left / right


_BINARY_OPERATORS: Final[dict[str, Callable[[float, float], float]]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": _divide,
}


def _evaluate(node: Node, retried: float) -> float:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Variable):
        return retried
    if isinstance(node, Negate):
        return -_evaluate(node.operand, retried)
    if isinstance(node, BinaryOp):
        impl, what = _BINARY_OPERATORS[node.op], f"operator {node.op!r}"
        args = [_evaluate(node.left, retried), _evaluate(node.right, retried)]
    else:
        impl, what = FUNCTIONS[node.name].impl, f"{node.name}()"
        args = [_evaluate(arg, retried) for arg in node.args]
    try:
        value = impl(*args)
    except ArithmeticError as exc:  # division by zero, domain errors raised by the helpers above
        raise ExpressionError(f"{what}: {exc}", node.position) from None
    if math.isnan(value):  # e.g. inf - inf after an overflow; NaN would poison min/max
        raise ExpressionError(f"{what}: result is not a number", node.position)
    return float(value)


@dataclass(frozen=True)
class RetryDelayExpression:
    """A parsed `Upstash-Retry-Delay` expression; constructing one validates `source` (raises `ExpressionError`)."""

    source: str
    _tree: Node = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tree", _parse(self.source))

    def delay_ms(self, retried: int) -> int:
        """Delay in ms before the retry whose `retried` count is given, rounded and clamped to [0, 1 day]."""
        try:
            variable = float(retried)
        except OverflowError:
            variable = math.inf if retried > 0 else -math.inf
        value = _evaluate(self._tree, variable)
        if not math.isfinite(value):
            raise ExpressionError(f"expression {self.source!r} overflows (result {value}) for retried={retried}")
        return int(min(MAX_DELAY_MS, max(0.0, _round_half_away(value))))


def _parse(source: str) -> Node:
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(f"expression is {len(source)} characters long, the maximum is {MAX_SOURCE_LENGTH}")
    if not source.strip():
        raise ExpressionError("expression is empty")
    return _Parser(source).parse()


def compile_retry_delay(source: str) -> RetryDelayExpression:
    """Parse an `Upstash-Retry-Delay` value up front; raises `ExpressionError` for anything invalid."""
    return RetryDelayExpression(source)
