"""Domain errors. Handlers map them to HTTP answers in one place."""


class PostboxError(Exception):
    """Base of every error Postbox raises on purpose."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequestError(PostboxError):
    status_code = 400


class UnauthorizedError(PostboxError):
    status_code = 401


class NotFoundError(PostboxError):
    status_code = 404


class PayloadTooLargeError(PostboxError):
    status_code = 413


class UnsupportedMediaTypeError(PostboxError):
    status_code = 415


class ServiceUnavailableError(PostboxError):
    status_code = 503
