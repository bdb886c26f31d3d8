"""The `Upstash-Retry-Delay` expression evaluator: grammar, functions, limits and safety."""

import math

import pytest

from functions.delivery.expressions import (
    MAX_DELAY_MS,
    ExpressionError,
    RetryDelayExpression,
    compile_retry_delay,
)


@pytest.mark.parametrize(
    ("source", "retried", "expected"),
    [
        ("1000", 0, 1000),
        ("1000", 7, 1000),
        ("1000 * (1 + retried)", 0, 1000),
        ("1000 * (1 + retried)", 2, 3000),
        ("pow(2, retried) * 1000", 0, 1000),
        ("pow(2, retried) * 1000", 3, 8000),
        ("max(1000, min(60000, exp(retried) * 500))", 0, 1000),
        ("max(1000, min(60000, exp(retried) * 500))", 2, round(math.exp(2) * 500)),
        ("max(1000, min(60000, exp(retried) * 500))", 10, 60000),
        ("-5 + 10", 0, 5),
        ("2 * -retried + 3000", 5, 2990),
        ("round(1.5)", 0, 2),
    ],
)
def test_documented_examples(source, retried, expected):
    # Given a compiled expression
    expression = compile_retry_delay(source)

    # When it is evaluated
    delay = expression.delay_ms(retried)

    # Then the delay is the expected number of milliseconds
    assert delay == expected
    assert isinstance(delay, int)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("abs(2 - 3 - 4)", 5),  # left-associative: (2 - 3) - 4 = -5, not 2 - (3 - 4) = 3
        ("10 - 3 - 4", 3),
        ("2 * 3 + 4", 10),
        ("4 + 2 * 3", 10),
        ("(4 + 2) * 3", 18),
        ("8000 / 4 / 2", 1000),  # (8000 / 4) / 2, not 8000 / (4 / 2)
        ("100 - 10 / 2", 95),
        ("2 * 3 / 4 * 8", 12),
        ("-2 * 3 + 10", 4),
        ("-(2 + 3) + 10", 5),
        ("--5", 5),
        ("- - -5 + 10", 5),
        ("+5", 5),
        ("10 - -5", 15),
        ("10 * -(-3)", 30),
        ("((((1))))", 1),
    ],
)
def test_precedence_associativity_and_unary_minus(source, expected):
    # Given / When
    delay = compile_retry_delay(source).delay_ms(0)

    # Then
    assert delay == expected


@pytest.mark.parametrize(
    "source",
    [
        "1000*(1+retried)",
        "  1000 *\t( 1 + retried )  ",
        "1000\n*\n(1+retried)",
        "pow ( 2 , retried ) * 1000",
    ],
)
def test_whitespace_is_allowed_between_tokens(source):
    # Given / When / Then
    assert compile_retry_delay(source).delay_ms(1) == 2000


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1.5 * 1000", 1500),
        (".5 * 1000", 500),
        ("2. * 1000", 2000),
        ("1e3", 1000),
        ("2.5E3", 2500),
        ("1e-3 * 1000000", 1000),
        ("007", 7),
    ],
)
def test_number_literals(source, expected):
    # Given / When / Then
    assert compile_retry_delay(source).delay_ms(0) == expected


@pytest.mark.parametrize(
    ("source", "retried", "expected"),
    [
        ("pow(2, 10)", 0, 1024),
        ("pow(retried, 2)", 12, 144),
        ("pow(4, 0.5)", 0, 2),
        ("pow(2, -1) * 1000", 0, 500),
        ("exp(0) * 1000", 0, 1000),
        ("exp(retried)", 3, round(math.exp(3))),
        ("sqrt(16) * 100", 0, 400),
        ("sqrt(retried)", 2, 1),
        ("abs(-1500)", 0, 1500),
        ("abs(1500)", 0, 1500),
        ("floor(2.7) * 1000", 0, 2000),
        ("floor(-2.5) + 10", 0, 7),
        ("ceil(2.1) * 1000", 0, 3000),
        ("ceil(-2.5) + 10", 0, 8),
        ("round(1.4)", 0, 1),
        ("round(2.5)", 0, 3),  # halves away from zero, like Go and JS, not Python's banker's rounding
        ("round(-2.5) + 10", 0, 7),
        ("min(5)", 0, 5),
        ("min(3, 1, 2)", 0, 1),
        ("min(retried, 100)", 40, 40),
        ("max(5)", 0, 5),
        ("max(3, 1, 2)", 0, 3),
        ("max(1, 2, 3, 4, 5, 6, 7, 8)", 0, 8),
    ],
)
def test_every_function(source, retried, expected):
    # Given / When / Then
    assert compile_retry_delay(source).delay_ms(retried) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("-1000", 0),
        ("0 - retried", 0),
        ("0.4", 0),
        ("0.5", 1),
        ("1234.5", 1235),
        ("1234.49", 1234),
        ("86400000", MAX_DELAY_MS),
        ("86400001", MAX_DELAY_MS),
        ("1e300", MAX_DELAY_MS),
        ("pow(10, 300)", MAX_DELAY_MS),
        ("exp(700)", MAX_DELAY_MS),
    ],
)
def test_result_is_rounded_and_clamped_to_a_day(source, expected):
    # Given / When / Then
    assert compile_retry_delay(source).delay_ms(0) == expected


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("retried +", "end of input"),
        ("foo(1)", "unknown function 'foo'"),
        ("foo", "unknown variable 'foo'"),
        ("RETRIED", "unknown variable"),
        ("pow(1)", "pow() takes 2 argument(s), got 1"),
        ("pow(1, 2, 3)", "pow() takes 2 argument(s), got 3"),
        ("exp()", "exp() takes 1 argument(s), got 0"),
        ("sqrt(1, 2)", "sqrt() takes 1 argument(s)"),
        ("abs(1, 2)", "abs() takes 1 argument(s)"),
        ("floor()", "floor() takes 1 argument(s)"),
        ("ceil(1, 2)", "ceil() takes 1 argument(s)"),
        ("round(1, 2)", "round() takes 1 argument(s)"),
        ("min()", "min() takes at least 1 argument(s), got 0"),
        ("max()", "max() takes at least 1 argument(s), got 0"),
        ("pow", "must be called with arguments"),
        ("retried(1)", "unknown function 'retried'"),
        ("__import__('os')", "unexpected character"),
        ("__import__(1)", "unknown function '__import__'"),
        ("retried.__class__", "unexpected character '.'"),
        ("1; 2", "unexpected character ';'"),
        ("1 2", "unexpected '2'"),
        ("2retried", "unexpected 'retried'"),
        ("(1 + 2", "expected ')'"),
        ("1 + 2)", "unexpected ')'"),
        ("()", "found ')'"),
        ("min(1,)", "found ')'"),
        ("min(,1)", "found ','"),
        ("1 ** 2", "found '*'"),
        ("2 ^ 3", "unexpected character '^'"),
        ("1 % 2", "unexpected character '%'"),
        ("retried == 1", "unexpected character '='"),
        ("lambda: 1", "unexpected character ':'"),
        ("[1]", "unexpected character '['"),
        ("1e999", "out of range"),
        ("\u0661\u0662", "unexpected character"),  # non-ASCII digits are not numbers
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_invalid_expressions_are_rejected_when_compiled(source, fragment):
    # Given an invalid expression
    # When it is compiled / Then it is rejected with a message saying what is wrong
    with pytest.raises(ExpressionError) as caught:
        compile_retry_delay(source)
    assert fragment in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("source", "position"),
    [
        ("retried +", 9),
        ("1 + foo(1)", 4),
        ("retried.__class__", 7),
        ("1; 2", 1),
        ("1 + (2 * 3", 10),
        ("max(1, pow(2))", 7),
    ],
)
def test_syntax_errors_report_their_position(source, position):
    # Given / When
    with pytest.raises(ExpressionError) as caught:
        compile_retry_delay(source)

    # Then
    assert caught.value.position == position
    assert f"at position {position}" in str(caught.value)


def test_input_longer_than_256_characters_is_rejected():
    # Given a valid but 300-character expression
    source = ("1" + " + 1" * 74).ljust(300)
    assert len(source) == 300

    # When / Then
    with pytest.raises(ExpressionError, match="300 characters long, the maximum is 256"):
        compile_retry_delay(source)


def test_input_of_exactly_256_characters_is_accepted():
    # Given
    source = ("1" + " + 1" * 63).ljust(256)

    # When / Then
    assert compile_retry_delay(source).delay_ms(0) == 64


@pytest.mark.parametrize(
    ("depth", "ok"),
    [(32, True), (33, False), (100, False)],
)
def test_parenthesis_nesting_is_limited_to_32(depth, ok):
    # Given
    source = "(" * depth + "1" + ")" * depth

    # When / Then
    if ok:
        assert compile_retry_delay(source).delay_ms(0) == 1
    else:
        with pytest.raises(ExpressionError, match="nesting deeper than 32"):
            compile_retry_delay(source)


@pytest.mark.parametrize(
    ("depth", "ok"),
    [(32, True), (33, False), (50, False)],
)
def test_function_call_nesting_is_limited_to_32(depth, ok):
    # Given
    source = "abs(" * depth + "1" + ")" * depth

    # When / Then
    if ok:
        assert compile_retry_delay(source).delay_ms(0) == 1
    else:
        with pytest.raises(ExpressionError, match="nesting deeper than 32"):
            compile_retry_delay(source)


def test_long_chains_of_operators_do_not_overflow_the_stack():
    # Given a 255-character chain of unary minuses and a long left-associative sum
    minuses = compile_retry_delay("-" * 254 + "5")
    sums = compile_retry_delay("+".join(["1"] * 128))

    # When / Then
    assert minuses.delay_ms(0) == 5
    assert sums.delay_ms(0) == 128


@pytest.mark.parametrize(
    "source",
    [
        "pow(10, 1000000)",
        "pow(retried, 1e300)",
        "exp(1e9)",
        "exp(exp(exp(exp(10))))",
        "pow(pow(pow(10, 100), 100), 100)",
        "1e300 * 1e300",
        "-pow(10, 1000000)",
        "pow(-10, 1000001)",
        "exp(1e9) / 0.5",
    ],
)
def test_huge_values_are_rejected_without_hanging(source):
    # Given an expression whose result overflows a float
    expression = compile_retry_delay(source)

    # When it is evaluated / Then it fails cleanly (and quickly: no big-integer arithmetic)
    with pytest.raises(ExpressionError, match="overflows"):
        expression.delay_ms(7)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("min(60000, pow(10, 1000000))", 60000),
        ("min(60000, exp(1e9))", 60000),
        ("max(1000, min(60000, exp(retried) * 500))", 60000),
        ("1000 + 1 / exp(1e9)", 1000),
        ("pow(2, -1e9) + 1000", 1000),
        ("exp(-1e9) + 1000", 1000),
        ("floor(exp(1e9)) * 0 + 1", None),  # inf * 0 is NaN
    ],
)
def test_overflow_in_intermediate_results_can_be_capped(source, expected):
    # Given an expression that caps an overflowing intermediate result (retried is huge)
    expression = compile_retry_delay(source)

    # When / Then
    if expected is None:
        with pytest.raises(ExpressionError, match="not a number"):
            expression.delay_ms(100_000)
    else:
        assert expression.delay_ms(100_000) == expected


def test_huge_retried_value_is_handled_as_a_float():
    # Given an int far beyond the float range
    expression = compile_retry_delay("min(1000, retried)")

    # When / Then
    assert expression.delay_ms(10**400) == 1000
    with pytest.raises(ExpressionError, match="overflows"):
        compile_retry_delay("retried").delay_ms(10**400)


@pytest.mark.parametrize(
    ("source", "fragment", "position"),
    [
        ("1000 / retried", "division by zero", 5),
        ("1 / (retried - retried)", "division by zero", 2),
        ("pow(0, -1)", "division by zero", 0),
        ("sqrt(retried - 1)", "negative", 0),
        ("pow(-8, 1 / 3)", "domain", 0),
        ("exp(1e9) - exp(1e9)", "not a number", 9),
    ],
)
def test_evaluation_errors(source, fragment, position):
    # Given an expression that cannot be evaluated for retried = 0
    expression = compile_retry_delay(source)

    # When / Then
    with pytest.raises(ExpressionError) as caught:
        expression.delay_ms(0)
    assert fragment in str(caught.value)
    assert caught.value.position == position


def test_expression_is_a_value_object():
    # Given two expressions compiled from the same text
    first = compile_retry_delay("1000 * retried")
    second = RetryDelayExpression("1000 * retried")

    # When / Then they compare equal, hash alike, show their source and cannot be mutated
    assert first == second
    assert hash(first) == hash(second)
    assert first.source == "1000 * retried"
    assert repr(first) == "RetryDelayExpression(source='1000 * retried')"
    with pytest.raises(AttributeError):
        first.source = "1"  # type: ignore[misc]


def test_constructing_directly_also_validates():
    # Given / When / Then
    with pytest.raises(ExpressionError):
        RetryDelayExpression("1 +")
