"""API function: API Gateway HTTP API (payload v2) -> the gate -> Powertools resolver -> services."""

# ruff: noqa: E402 - the imports follow gc.disable()
import gc

_collecting = gc.isenabled()
gc.disable()  # no garbage collections while the function's modules load: a fifth of its cold start (see the end)

import uuid
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.api.app import app
from functions.api.auth import TokenSet
from functions.api.gate import admit, stamp
from functions.api.root import api_root
from functions.shared.observability import logger, metrics, tracer


def _api_tokens() -> TokenSet | None:
    """The valid tokens; None when the secret cannot be read or is no JSON object (every request is refused)."""
    try:
        return api_root().tokens()
    except Exception:
        logger.exception("the API tokens cannot be read")
        return None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event.setdefault("requestContext", {}).setdefault("requestId", str(uuid.uuid4()))
    tokens = _api_tokens()
    admission = admit(event, tokens, api_root().rate_limiter if tokens is not None else None)
    if admission.answer is not None:
        return stamp(admission.answer, event, admission)
    if admission.access is not None:
        app.context["access"] = admission.access  # what the routes answer a read-only token (masked headers)
    return stamp(app.resolve(event, context), event, admission)


if _collecting:  # the modules are loaded
    gc.enable()
