"""Tracing is opt-in: with it off, the X-Ray SDK stays off the cold path and the decorators change nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from functions.shared.observability import UntracedTracer

PROBE = "import sys, functions.api.handler, functions.worker.handler; print('aws_xray_sdk' in sys.modules)"


@pytest.mark.parametrize(("disabled", "imported"), [("true", "False"), ("false", "True")])
def test_the_xray_sdk_is_imported_only_when_tracing_is_on(disabled, imported):
    # Given a fresh interpreter with tracing switched by the variable the stack sets
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": disabled}

    # When it imports both handlers
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)

    # Then the X-Ray SDK is loaded only with tracing on
    assert out.stdout.strip().splitlines()[-1] == imported


def test_the_stand_in_decorators_return_the_function_itself():
    tracer = UntracedTracer()

    def handler(event: dict[str, str], context: object) -> str:
        return event["x"]

    assert tracer.capture_method(handler) is handler
    assert tracer.capture_method(capture_response=False)(handler) is handler
    assert tracer.capture_lambda_handler(capture_response=False)(handler) is handler
    assert handler({"x": "y"}, None) == "y"
