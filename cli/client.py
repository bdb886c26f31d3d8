"""The API over HTTP, for the CLI: one method per route it uses, answers as the API's JSON.

Errors are exceptions the commands map to exit codes: `ApiError` for an answer of 4xx/5xx (with the API's
`{"error"}` message), `Unreachable` when no answer came (connection refused, timeout, not HTTP), `BadAnswer` when
an answer was not the JSON the route gives.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import requests

DEFAULT_URL = "http://127.0.0.1:8080"  # local mode's front door (`postbox dev`)
# Local mode's token when POSTBOX_TOKEN is not set: the QStash dev server's (local_mode/backend.py).
DEFAULT_TOKEN = "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0="
PAGE_SIZE = 100  # the most GET /v2/dlq and GET /v2/logs give in one page
Filters = Mapping[str, str | Sequence[str]]  # a query parameter's value, or its values (sent repeated)


class ApiError(Exception):
    """The API answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Unreachable(Exception):  # noqa: N818 - the server, not the request, is what failed
    """No HTTP answer: the server is not running there, the connection failed or timed out."""


class BadAnswer(Exception):  # noqa: N818
    """An answer that is not the JSON the route gives (not Postbox, or a proxy's page)."""


class Client:
    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment: the URL given is the server called
        self.session.headers["Authorization"] = f"Bearer {token}"

    # --- messages ---------------------------------------------------------------------------------------

    def publish(self, destination: str, body: bytes, headers: Mapping[str, str], queue: str | None = None) -> Any:
        """POST /v2/publish/{destination} (or /v2/enqueue/{queue}/{destination}): `{"messageId", "url"}`, or a
        list of them for a URL group. The destination goes into the path as it is, as the SDKs send it."""
        path = f"/v2/enqueue/{quote(queue, safe='')}/{destination}" if queue else f"/v2/publish/{destination}"
        return self._call("POST", path, data=body, headers=dict(headers))

    def message(self, message_id: str) -> Any:
        """GET /v2/messages/{id}: QStash's `Message` (404 once finished for a minute)."""
        return self._call("GET", f"/v2/messages/{_segment(message_id)}")

    def message_details(self, message_id: str) -> Any:
        """GET /v1/messages/{id}: the status view's `data` (status, attempts, last error), kept as long as the log."""
        return self._call("GET", f"/v1/messages/{_segment(message_id)}")["data"]

    def cancel(self, message_id: str) -> Any:
        """DELETE /v2/messages/{id}: `{"cancelled": 1}`, or 0 when the message had finished."""
        return self._call("DELETE", f"/v2/messages/{_segment(message_id)}")

    # --- DLQ --------------------------------------------------------------------------------------------

    def dlq_page(
        self,
        filters: Filters,
        count: int | None = None,
        cursor: str | None = None,
        oldest_first: bool = False,
    ) -> Any:
        """GET /v2/dlq: `{"messages": [...], "cursor"?}`."""
        return self._call("GET", "/v2/dlq", params=_page_params(filters, count, cursor, oldest_first))

    def dlq_pages(self, filters: Filters, oldest_first: bool = False) -> Iterator[Any]:
        """Every page of GET /v2/dlq, following the cursor."""
        cursor = None
        while True:
            page = self.dlq_page(filters, PAGE_SIZE, cursor, oldest_first)
            yield page
            cursor = page.get("cursor")
            if not cursor:
                return

    def dlq_entry(self, dlq_id: str) -> Any:
        """GET /v2/dlq/{dlqId}: QStash's `DLQMessage`."""
        return self._call("GET", f"/v2/dlq/{_segment(dlq_id)}")

    def dlq_retry_one(self, dlq_id: str) -> str:
        """POST /v2/dlq/retry/{dlqId}: the new message's id (404 when the entry is gone)."""
        return str(self._call("POST", f"/v2/dlq/retry/{_segment(dlq_id)}")["messageId"])

    def dlq_retry(self, dlq_ids: Sequence[str]) -> list[str]:
        """POST /v2/dlq/retry with `dlqIds`: the new messages' ids (entries that are gone are skipped)."""
        answer = self._call("POST", "/v2/dlq/retry", json={"dlqIds": list(dlq_ids)})
        return [str(response["messageId"]) for response in answer["responses"]]

    def dlq_delete_one(self, dlq_id: str) -> None:
        """DELETE /v2/dlq/{dlqId} (404 when the entry is gone)."""
        self._call("DELETE", f"/v2/dlq/{_segment(dlq_id)}")

    def dlq_delete(self, dlq_ids: Sequence[str]) -> int:
        """DELETE /v2/dlq with `dlqIds`: how many were deleted (entries that are gone are skipped)."""
        return int(self._call("DELETE", "/v2/dlq", json={"dlqIds": list(dlq_ids)})["deleted"])

    # --- event log and signing keys ---------------------------------------------------------------------

    def logs_page(
        self,
        filters: Filters,
        count: int | None = None,
        cursor: str | None = None,
        oldest_first: bool = False,
    ) -> Any:
        """GET /v2/logs: `{"logs": [...], "cursor"?}`, newest first."""
        return self._call("GET", "/v2/logs", params=_page_params(filters, count, cursor, oldest_first))

    def keys(self) -> Any:
        """GET /v2/keys: `{"current", "next"}`."""
        return self._call("GET", "/v2/keys")

    def rotate_keys(self) -> Any:
        """POST /v2/keys/rotate: the new `{"current", "next"}`."""
        return self._call("POST", "/v2/keys/rotate")

    # --- transport --------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = self.base_url + path
        try:
            response = self.session.request(method, url, timeout=self.timeout, allow_redirects=False, **kwargs)
        except requests.Timeout as exc:
            raise Unreachable(f"no answer from {self.base_url} within {self.timeout:g} s") from exc
        except requests.RequestException as exc:
            raise Unreachable(f"cannot reach {self.base_url}: {_reason(exc)}") from exc
        if response.status_code >= 400:
            raise ApiError(response.status_code, error_message(response))
        if response.status_code >= 300:
            raise BadAnswer(
                f"{method} {path} answered {response.status_code} (a redirect): is {self.base_url} Postbox?"
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise BadAnswer(
                f"{method} {path} answered something that is not JSON: is {self.base_url} Postbox?"
            ) from exc


def error_message(response: requests.Response) -> str:
    """The API's `{"error": "..."}` (or /v1's `{"error": {"message"}}`); else the start of the body or the reason."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    text = response.text.strip()
    return text[:200] if text else f"{response.status_code} {response.reason}"


def _page_params(
    filters: Filters, count: int | None, cursor: str | None, oldest_first: bool
) -> dict[str, str | Sequence[str]]:
    params = dict(filters)
    if count is not None:
        params["count"] = str(count)
    if cursor:
        params["cursor"] = cursor
    if oldest_first:
        params["order"] = "earliestFirst"
    return params


def _segment(value: str) -> str:
    """An id as one path segment (a dedup key may hold `/` or `?`)."""
    return quote(value, safe="")


def _reason(exc: requests.RequestException) -> str:
    """The innermost cause (`[Errno 111] Connection refused`), not urllib3's wrappers around it."""
    cause: BaseException = exc
    while cause.__cause__ is not None or (cause.args and isinstance(cause.args[0], BaseException)):
        cause = cause.__cause__ or cause.args[0]
    return str(cause) or type(cause).__name__
