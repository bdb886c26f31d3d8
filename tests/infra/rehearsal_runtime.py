"""A stand-in for the Lambda Python runtime, run by the deploy rehearsal (test_rehearsal.py) in a clean interpreter:
`python -I -S rehearsal_runtime.py <handler> <code dir> <layer dir> <runtime dir>`.

As Lambda does, it puts only the function's code, the layer (`/opt/python`) and the runtime's SDK on `sys.path` (no
site-packages: `-S`; no PYTHON* variables or script folder: `-I`), imports the module of the template's `Handler`
once (init), then invokes the handler for each event it reads: one JSON line per event on stdin, one JSON line per
answer (`{"result": ...}` or `{"error": ...}`) on its own pipe. The code's stdout (Powertools' metrics) goes to
stderr, with its logs.
"""

import importlib
import json
import os
import sys
import time
import traceback
import uuid


class LambdaContext:
    """What the Lambda runtime passes a handler as its context."""

    def __init__(self, deadline_s: float) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.invoked_function_arn = os.environ["REHEARSAL_FUNCTION_ARN"]
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = "/aws/lambda/" + self.function_name
        self.log_stream_name = "rehearsal"
        self._deadline_s = deadline_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline_s - time.monotonic()) * 1000))


def main() -> None:
    handler_name, code_dir, layer_dir, runtime_dir = sys.argv[1:5]
    answers = os.fdopen(os.dup(1), "w")  # the answers' pipe; the code's own prints go to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.path[:0] = [code_dir, layer_dir, runtime_dir]
    module_name, _, function_name = handler_name.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception:  # an init error, as Lambda reports it: the handler string does not resolve, a module is missing
        answers.write(json.dumps({"init_error": traceback.format_exc()}) + "\n")
        answers.flush()
        return
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    timeout_s = float(os.environ["REHEARSAL_TIMEOUT_SECONDS"])
    for line in sys.stdin:
        event = json.loads(line)
        try:
            result = handler(event, LambdaContext(time.monotonic() + timeout_s))
            answer = {"result": result}
        except Exception:
            answer = {"error": traceback.format_exc()}
        answers.write(json.dumps(answer, default=str) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
