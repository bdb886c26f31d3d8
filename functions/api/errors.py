"""Errors as answers, mapped once for every route: a `PostboxError` answers its own status, a request the resolver
cannot validate 400, a path no route takes 404, anything else a bare 500."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from functions.api.responses import error_response
from functions.shared.errors import PostboxError
from functions.shared.observability import logger


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(PostboxError)
    def handle_postbox_error(exc: PostboxError) -> Response[str]:
        if exc.status_code >= 500:
            logger.error("request failed", error=exc.message)
        return error_response(exc.status_code, exc.message)

    @app.exception_handler(RequestValidationError)
    def handle_validation_error(exc: RequestValidationError) -> Response[str]:
        details = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors())
        return error_response(400, f"invalid request: {details}")

    @app.not_found
    def handle_not_found(exc: RouteNotFoundError) -> Response[str]:
        return error_response(404, f"no route for {app.current_event.http_method} {app.current_event.path}")

    @app.exception_handler(Exception)
    def handle_unexpected(exc: Exception) -> Response[str]:
        logger.exception("unexpected error")
        return error_response(500, "internal error")
