"""`postbox`: the command line of the API, and `postbox dev` (local mode).

Every command but `dev` is an HTTP client of the API (cli/client.py): it imports no handler, no boto3,
and works the same against local mode and a deployed stack.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.markup import escape

from cli import render
from cli.client import DEFAULT_TOKEN, DEFAULT_URL, PAGE_SIZE, ApiError, BadAnswer, Client, Unreachable
from cli.parsing import (
    DLQ_FILTERS,
    LOG_FILTERS,
    chunks,
    parse_duration,
    parse_filters,
    parse_header,
    parse_instant,
    publish_headers,
)


class ExitCode(IntEnum):
    """What `postbox` exits with; scripts may rely on these (README, CLI)."""

    OK = 0
    REFUSED = 1  # the API refused the request (a 4xx not below), or a confirmation was declined
    USAGE = 2  # bad command line (click's own code): nothing was sent
    NOT_FOUND = 3  # 404, or some of the ids named were not found
    AUTH = 4  # 401 / 403: the token is wrong, or may not do this
    SERVER = 5  # 5xx, 429, or an answer that is not the API's JSON: trying again later may work
    UNREACHABLE = 6  # no answer: not running there, connection refused, timeout
    INTERRUPTED = 130  # Ctrl-C during a bulk retry or delete (128 + SIGINT): what was done is reported


EPILOG = """[bold]Exit codes[/bold]

0  success
1  the API refused the request (a 4xx not below), or a confirmation was declined
2  usage error: nothing was sent
3  not found (404), or some of the ids named were not found
4  the token is missing, wrong, or not allowed to do this (401, 403)
5  server error (5xx), rate limited (429), or an answer that is not Postbox's: try again later
6  the server could not be reached (connection refused, timeout)
130  interrupted (Ctrl-C) during a bulk retry or delete

The base URL and token come from --url / --token, else POSTBOX_URL / POSTBOX_TOKEN, else QSTASH_URL / \
QSTASH_TOKEN (what `postbox dev` prints), else local mode's (http://127.0.0.1:8080 and its default token). \
Errors go to stderr; --json prints JSON on stdout."""

app = typer.Typer(
    name="postbox",
    help="Postbox, the QStash-compatible message delivery service: publish, inspect, retry and clean up.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
messages_app = typer.Typer(help="Look up or cancel a message.", no_args_is_help=True)
dlq_app = typer.Typer(help="The dead-letter queue: list, show, retry, delete.", no_args_is_help=True)
keys_app = typer.Typer(help="The signing keys (`postbox keys`), and their rotation (`postbox keys rotate`).")
app.add_typer(messages_app, name="messages")
app.add_typer(dlq_app, name="dlq")
app.add_typer(keys_app, name="keys")

JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON on stdout instead of a table.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
CountOption = Annotated[
    int | None, typer.Option("--count", "-n", min=1, max=PAGE_SIZE, help="Entries per page (the API's default: 100).")
]
CursorOption = Annotated[str | None, typer.Option("--cursor", help="Continue from the cursor a previous page gave.")]
AllOption = Annotated[bool, typer.Option("--all", help="Follow the cursor through every page.")]
OldestFirstOption = Annotated[bool, typer.Option("--oldest-first", help="Oldest first (default: newest first).")]
DLQ_FILTER_HELP = (
    "KEY=VALUE, repeatable (a key given again adds a value: any of them matches). Keys: messageId, url, topicName "
    "(topic), queueName (queue), scheduleId (schedule), label, responseStatus (status), callerIp, flowControlKey, "
    "fromDate (from), toDate (to). Times: unix seconds or ms, ISO 8601 (UTC unless it says), or a duration ago "
    "(30m, 2h, 1d)."
)
LOG_FILTER_HELP = (
    "KEY=VALUE, repeatable (a key given again adds a value). Keys: messageId, state (CREATED, ACTIVE, RETRY, "
    "DELIVERED, FAILED, CANCELED, IN_PROGRESS, ...), url, host, path, topicName, queueName, scheduleId, label, "
    "callerIp, flowControlKey, fromDate (from), toDate (to); times as for `dlq list`."
)
DlqFilterOption = Annotated[list[str] | None, typer.Option("--filter", "-f", metavar="KEY=VALUE", help=DLQ_FILTER_HELP)]


@dataclass(frozen=True)
class Target:
    url: str
    token: str
    timeout: float

    def client(self) -> Client:
        return Client(self.url, self.token, self.timeout)


def _client(ctx: typer.Context) -> Client:
    target = ctx.find_object(Target)
    assert target is not None, "the app callback sets it"
    return target.client()


def _show_version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"postbox {version('postbox')}")
        except PackageNotFoundError:
            typer.echo("postbox (not installed)")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Option("--url", envvar=["POSTBOX_URL", "QSTASH_URL"], help="The API's base URL.", show_default=True)
    ] = DEFAULT_URL,
    token: Annotated[
        str,
        typer.Option(
            "--token",
            envvar=["POSTBOX_TOKEN", "QSTASH_TOKEN"],
            help="The API token. Default: local mode's.",
            show_default=False,
        ),
    ] = DEFAULT_TOKEN,
    request_timeout: Annotated[
        float, typer.Option("--request-timeout", min=0.1, help="Seconds to wait for each answer.")
    ] = 30.0,
    _version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    ctx.obj = Target(url=url, token=token, timeout=request_timeout)


# --- errors and exit codes ---------------------------------------------------------------------------

P = ParamSpec("P")
T = TypeVar("T")


def fail(message: str, code: ExitCode) -> NoReturn:
    render.console(stderr=True).print(f"[red]Error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(int(code))


def exit_code(status: int) -> ExitCode:
    if status in (401, 403):
        return ExitCode.AUTH
    if status == 404:
        return ExitCode.NOT_FOUND
    if status == 429 or status >= 500:
        return ExitCode.SERVER
    return ExitCode.REFUSED


def api_command(command: Callable[P, None]) -> Callable[P, None]:
    """Turn the client's errors into a message on stderr and the exit code for them."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except ApiError as exc:
            fail(f"{exc.message} (HTTP {exc.status})", exit_code(exc.status))
        except Unreachable as exc:
            fail(str(exc), ExitCode.UNREACHABLE)
        except BadAnswer as exc:
            fail(str(exc), ExitCode.SERVER)

    return run


def _usage(value: Callable[[], T], option: str) -> T:
    """A value parsed from the command line; a usage error (exit 2) naming the option when it is wrong."""
    try:
        return value()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=f"'{option}'") from None


def _confirm(question: str) -> None:
    """Ask on stderr; anything but yes (EOF too) ends the command with exit 1 and nothing done."""
    try:
        agreed = typer.confirm(question, default=False, err=True)
    except typer.Abort:  # end of input: no answer is no
        typer.echo(err=True)
        agreed = False
    if not agreed:
        fail("aborted, nothing was changed (--yes skips the question)", ExitCode.REFUSED)


def _now_ms() -> int:
    return int(time.time() * 1000)


# --- postbox dev ---------------------------------------------------------------------------------------


class LogFormat(StrEnum):
    PRETTY = "pretty"
    JSON = "json"


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="The API's port on 127.0.0.1 (0: any free port).")] = 8080,
    moto_port: Annotated[
        int | None,
        typer.Option(help="Serve the moto backend on this port of 127.0.0.1, for the AWS CLI (0: any free port)."),
    ] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Run no worker loop in this process.")] = False,
    worker_concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            envvar="POSTBOX_WORKER_CONCURRENCY",
            help="Batches the worker delivers at once, as the SQS event source runs several (default: local mode's).",
            show_default=False,
        ),
    ] = None,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            help="pretty: one line per publish, delivery outcome, cancel, schedule fired, warning and error; "
            "json: the handlers' JSON log lines. Default: POSTBOX_LOG_FORMAT, else pretty.",
        ),
    ] = None,
) -> None:
    """Run Postbox locally (what `make dev` runs): moto backend, API on 127.0.0.1, worker loop. Ctrl-C stops it.

    Its token is POSTBOX_TOKEN, else the QStash dev server's; it prints the base URL, tokens and signing keys."""
    try:
        from local_mode.__main__ import main as local_main
    except ImportError as exc:  # an install without the `local` extra
        fail(f"local mode is not installed ({exc}): pip install 'postbox[local]'", ExitCode.USAGE)
    argv = ["dev", "--port", str(port), *(["--moto-port", str(moto_port)] if moto_port is not None else [])]
    argv += ["--no-worker"] if no_worker else []
    argv += ["--worker-concurrency", str(worker_concurrency)] if worker_concurrency is not None else []
    argv += ["--log-format", log_format.value] if log_format else []
    raise typer.Exit(local_main(argv))


# --- postbox publish -----------------------------------------------------------------------------------


@app.command()
@api_command
def publish(
    ctx: typer.Context,
    destination: Annotated[
        str, typer.Argument(metavar="DESTINATION", help="A full http(s) URL (its query kept), or a URL group's name.")
    ],
    body: Annotated[str | None, typer.Option("--body", "-d", help="The body, as text.")] = None,
    file: Annotated[
        typer.FileBinaryRead | None, typer.Option("--file", help="Read the body from a file (- for stdin).")
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header",
            "-H",
            help="NAME:VALUE, repeatable. Forwarded to the destination (sent as Upstash-Forward-NAME), except "
            "Upstash-* and Content-Type, which are the API's own.",
        ),
    ] = None,
    content_type: Annotated[str | None, typer.Option("--content-type", help="Stored and forwarded.")] = None,
    method: Annotated[str | None, typer.Option("--method", "-X", help="GET, POST (default), PUT, ...")] = None,
    delay: Annotated[str | None, typer.Option("--delay", help="Wait first: 90 (seconds), 10s, 1h30m, 2d.")] = None,
    not_before: Annotated[
        str | None, typer.Option("--not-before", help="Deliver at: unix seconds or ISO 8601 (wins over --delay).")
    ] = None,
    retries: Annotated[int | None, typer.Option("--retries", min=0, help="Retries after the first attempt.")] = None,
    retry_delay: Annotated[
        str | None, typer.Option("--retry-delay", help="Backoff in ms, an expression of `retried`.")
    ] = None,
    timeout: Annotated[str | None, typer.Option("--timeout", help="Per-attempt timeout: 30s, 2m.")] = None,
    callback: Annotated[str | None, typer.Option("--callback", help="URL called after every attempt.")] = None,
    failure_callback: Annotated[
        str | None, typer.Option("--failure-callback", help="URL called once the retries are spent.")
    ] = None,
    dedup_id: Annotated[str | None, typer.Option("--dedup-id", help="Deduplication id.")] = None,
    content_dedup: Annotated[
        bool, typer.Option("--content-dedup", help="Deduplicate by the content (URL, body, headers).")
    ] = False,
    label: Annotated[str | None, typer.Option("--label", help="A label to filter the logs and the DLQ by.")] = None,
    queue: Annotated[str | None, typer.Option("--queue", help="Enqueue into this FIFO queue.")] = None,
    flow_control_key: Annotated[str | None, typer.Option("--flow-control-key", help="Flow-control key.")] = None,
    flow_control: Annotated[
        str | None, typer.Option("--flow-control", help="With --flow-control-key: parallelism=3, rate=4, period=2s.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Publish a message: the body (--body, --file, or none) is delivered to DESTINATION, retried on failure."""
    if body is not None and file is not None:
        raise typer.BadParameter("give one of them, not both", param_hint="'--body' / '--file'")
    data = body.encode() if body is not None else (file.read() if file is not None else b"")
    pairs = [_usage(functools.partial(parse_header, text), "--header") for text in header or []]
    options: list[tuple[str, str | None]] = [
        ("Content-Type", content_type),
        ("Upstash-Method", method.upper() if method else None),
        ("Upstash-Delay", _usage(functools.partial(parse_duration, delay), "--delay") if delay else None),
        (
            "Upstash-Not-Before",
            str(_usage(functools.partial(parse_instant, not_before), "--not-before") // 1000) if not_before else None,
        ),
        ("Upstash-Retries", str(retries) if retries is not None else None),
        ("Upstash-Retry-Delay", retry_delay),
        ("Upstash-Timeout", _usage(functools.partial(parse_duration, timeout), "--timeout") if timeout else None),
        ("Upstash-Callback", callback),
        ("Upstash-Failure-Callback", failure_callback),
        ("Upstash-Deduplication-Id", dedup_id),
        ("Upstash-Content-Based-Deduplication", "true" if content_dedup else None),
        ("Upstash-Label", label),
        ("Upstash-Flow-Control-Key", flow_control_key),
        ("Upstash-Flow-Control-Value", flow_control),
    ]
    headers = publish_headers([*pairs, *((name, value) for name, value in options if value is not None)])
    answer = _client(ctx).publish(destination, data, headers, queue=queue)
    if json_output:
        render.print_json(answer)
        return
    published = answer if isinstance(answer, list) else [answer]
    out = render.console()
    if isinstance(answer, dict) and len(published) == 1:
        note = " (a duplicate: this is the first message's id)" if answer.get("deduplicated") else ""
        out.print(f"Published message {answer.get('messageId')} to {escape(str(answer.get('url')))}{note}")
    else:
        out.print(render.published_table(published))


# --- postbox messages ----------------------------------------------------------------------------------


@messages_app.command("get")
@api_command
def get_message(
    ctx: typer.Context,
    message_id: Annotated[
        str, typer.Argument(metavar="ID", help="The message id, or the dedup key it was published with.")
    ],
    json_output: JsonOption = False,
) -> None:
    """A message's status (GET /v1/messages) and request (GET /v2/messages, while it is pending or just finished).

    --json prints {"message": <GET /v2/messages/ID, or null once finished>, "details": <GET /v1/messages/ID's data>}.
    """
    client = _client(ctx)
    details = client.message_details(message_id)
    try:
        message = client.message(message_id)
    except ApiError as exc:
        if exc.status != 404:
            raise
        message = None  # finished for longer than the grace period: only the status view has it
    if json_output:
        render.print_json({"message": message, "details": details})
    else:
        render.console().print(render.message_table(details, message))


@messages_app.command("cancel")
@api_command
def cancel_message(
    ctx: typer.Context,
    message_id: Annotated[str, typer.Argument(metavar="ID", help="The message id.")],
    json_output: JsonOption = False,
) -> None:
    """Cancel a message: it will not be delivered (again). A message that has finished is left as it is (exit 0)."""
    answer = _client(ctx).cancel(message_id)
    if json_output:
        render.print_json(answer)
    elif answer.get("cancelled"):
        render.console().print(f"Cancelled message {escape(message_id)}.")
    else:
        render.console().print(f"Message {escape(message_id)} had finished already: nothing to cancel.")


# --- postbox dlq ---------------------------------------------------------------------------------------


@dlq_app.command("list")
@api_command
def list_dlq(
    ctx: typer.Context,
    filters: DlqFilterOption = None,
    count: CountOption = None,
    cursor: CursorOption = None,
    every_page: AllOption = False,
    oldest_first: OldestFirstOption = False,
    json_output: JsonOption = False,
) -> None:
    """List the DLQ, newest first. --json prints the API's {"messages", "cursor"?} (with --all: every message)."""
    where = _usage(lambda: parse_filters(filters or [], DLQ_FILTERS, _now_ms()), "--filter")
    client = _client(ctx)
    if every_page:
        answer: dict[str, Any] = {"messages": [m for p in client.dlq_pages(where, oldest_first) for m in p["messages"]]}
    else:
        answer = client.dlq_page(where, count, cursor, oldest_first)
    if json_output:
        render.print_json(answer)
        return
    render.console().print(render.dlq_table(answer["messages"]), crop=False)
    _more(answer)


@dlq_app.command("show")
@api_command
def show_dlq(
    ctx: typer.Context,
    dlq_id: Annotated[str, typer.Argument(metavar="ID", help="The DLQ entry's id (dlqId).")],
    json_output: JsonOption = False,
) -> None:
    """One DLQ entry: the message and the last failed attempt's response."""
    entry = _client(ctx).dlq_entry(dlq_id)
    if json_output:
        render.print_json(entry)
    else:
        render.console().print(render.dlq_entry_table(entry))


ChunkOption = Annotated[int, typer.Option("--chunk-size", min=1, max=PAGE_SIZE, help="Entries per request to the API.")]
IdsArgument = Annotated[
    list[str] | None, typer.Argument(metavar="IDS", help="DLQ entry ids (dlqId).", show_default=False)
]
EveryEntryOption = Annotated[bool, typer.Option("--all", help="Every entry of the DLQ.")]


@dlq_app.command("retry")
@api_command
def retry_dlq(
    ctx: typer.Context,
    dlq_ids: IdsArgument = None,
    filters: DlqFilterOption = None,
    every_entry: EveryEntryOption = False,
    chunk_size: ChunkOption = PAGE_SIZE,
    json_output: JsonOption = False,
) -> None:
    """Publish DLQ entries again, as new messages, and remove them from the DLQ: the IDS named, or the entries
    matching --filter, or --all. --json prints {"responses": [{"messageId"}, ...]}, one per entry retried."""
    client = _client(ctx)
    ids, named = _selection(client, dlq_ids, filters, every_entry)
    new_ids: list[str] = []

    def retry(chunk: Sequence[str]) -> int:
        replayed = [client.dlq_retry_one(chunk[0])] if named and len(ids) == 1 else client.dlq_retry(chunk)
        new_ids.extend(replayed)
        return len(replayed)

    def report() -> None:
        if json_output:
            render.print_json({"responses": [{"messageId": message_id} for message_id in new_ids]})
        elif named and len(ids) == 1 and new_ids:
            render.console().print(f"Retried DLQ entry {escape(ids[0])} as message {new_ids[0]}.")
        else:
            render.console().print(f"Retried {len(new_ids)} of {len(ids)} DLQ entries as new messages.")

    _bulk("Retrying", ids, named, chunk_size, retry, report, json_output)


@dlq_app.command("delete")
@api_command
def delete_dlq(
    ctx: typer.Context,
    dlq_ids: IdsArgument = None,
    filters: DlqFilterOption = None,
    every_entry: EveryEntryOption = False,
    yes: YesOption = False,
    chunk_size: ChunkOption = PAGE_SIZE,
    json_output: JsonOption = False,
) -> None:
    """Delete DLQ entries: the IDS named, or the entries matching --filter, or --all (these ask first, unless
    --yes). --json prints {"deleted": n}."""
    client = _client(ctx)
    ids, named = _selection(client, dlq_ids, filters, every_entry)
    if ids and not named and not yes:
        _confirm(f"Delete {len(ids)} DLQ {'entry' if len(ids) == 1 else 'entries'} at {client.base_url}?")
    deleted = 0

    def delete(chunk: Sequence[str]) -> int:
        nonlocal deleted
        if named and len(ids) == 1:
            client.dlq_delete_one(chunk[0])
            done = 1
        else:
            done = client.dlq_delete(chunk)
        deleted += done
        return done

    def report() -> None:
        if json_output:
            render.print_json({"deleted": deleted})
        else:
            render.console().print(f"Deleted {deleted} of {len(ids)} DLQ entries.")

    _bulk("Deleting", ids, named, chunk_size, delete, report, json_output)


def _selection(
    client: Client, dlq_ids: list[str] | None, filters: list[str] | None, every_entry: bool
) -> tuple[list[str], bool]:
    """The entries a bulk command works on, and whether they were named (else found by a listing)."""
    if dlq_ids and (filters or every_entry):
        raise typer.BadParameter("give DLQ ids, or --filter / --all, not both", param_hint="'IDS'")
    if dlq_ids:
        return list(dict.fromkeys(dlq_ids)), True
    if not filters and not every_entry:
        raise typer.BadParameter(
            "name the entries: DLQ ids, --filter KEY=VALUE (repeatable) or --all", param_hint="'IDS'"
        )
    where = _usage(lambda: parse_filters(filters or [], DLQ_FILTERS, _now_ms()), "--filter")
    return [entry["dlqId"] for page in client.dlq_pages(where) for entry in page["messages"]], False


def _bulk(
    verb: str,
    ids: list[str],
    named: bool,
    chunk_size: int,
    act: Callable[[Sequence[str]], int],
    report: Callable[[], None],
    json_output: bool,
) -> None:
    """Work through `ids` in chunks with a progress bar, then report. Whatever happens (an error, Ctrl-C), what was
    done is reported first; ids named that were not found end with exit code 3."""
    if not ids:
        if json_output:
            report()
        else:
            render.console().print("No DLQ entries match.")
        return
    done = 0
    with render.progress(enabled=not json_output) as bar:
        task = bar.add_task(f"{verb} DLQ entries", total=len(ids))
        try:
            for chunk in chunks(ids, chunk_size):
                done += act(chunk)
                bar.advance(task, len(chunk))
        except (ApiError, Unreachable, BadAnswer):
            bar.stop()
            if done:
                report()
            raise
        except KeyboardInterrupt:
            bar.stop()
            report()
            fail(f"interrupted: {done} of {len(ids)} done", ExitCode.INTERRUPTED)
    report()
    if named and done < len(ids):
        missing = len(ids) - done
        fail(f"{missing} of {len(ids)} DLQ entries were not found (retried or deleted already?)", ExitCode.NOT_FOUND)


def _more(answer: dict[str, Any]) -> None:
    if answer.get("cursor"):
        render.console(stderr=True).print(f"More: --cursor {answer['cursor']} (or --all)", soft_wrap=True)


# --- postbox logs --------------------------------------------------------------------------------------


@app.command()
@api_command
def logs(
    ctx: typer.Context,
    filters: Annotated[
        list[str] | None, typer.Option("--filter", "-f", metavar="KEY=VALUE", help=LOG_FILTER_HELP)
    ] = None,
    count: CountOption = None,
    cursor: CursorOption = None,
    every_page: AllOption = False,
    oldest_first: OldestFirstOption = False,
    json_output: JsonOption = False,
) -> None:
    """The event log, one entry per state change, newest first. --json prints the API's {"logs", "cursor"?}."""
    where = _usage(lambda: parse_filters(filters or [], LOG_FILTERS, _now_ms()), "--filter")
    client = _client(ctx)
    if every_page:
        events: list[Any] = []
        page_cursor = cursor
        while True:
            page = client.logs_page(where, PAGE_SIZE, page_cursor, oldest_first)
            events += page["logs"]
            page_cursor = page.get("cursor")
            if not page_cursor:
                break
        answer: dict[str, Any] = {"logs": events}
    else:
        answer = client.logs_page(where, count, cursor, oldest_first)
    if json_output:
        render.print_json(answer)
        return
    render.console().print(render.logs_table(answer["logs"]), crop=False)
    _more(answer)


# --- postbox keys --------------------------------------------------------------------------------------


@keys_app.callback(invoke_without_command=True)
@api_command
def keys(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Show the signing keys receivers verify `Upstash-Signature` with (not open to a read-only token)."""
    if ctx.invoked_subcommand is not None:
        return
    answer = _client(ctx).keys()
    if json_output:
        render.print_json(answer)
    else:
        render.console().print(render.keys_table(answer))


@keys_app.command("rotate")
@api_command
def rotate_keys(ctx: typer.Context, yes: YesOption = False, json_output: JsonOption = False) -> None:
    """Rotate the signing keys: `next` becomes `current` and a new `next` is made. Receivers that know only the
    old `current` stop verifying: give them both new keys. Asks first, unless --yes."""
    client = _client(ctx)
    if not yes:
        _confirm(f"Rotate the signing keys of {client.base_url}? Receivers must be given both new keys.")
    answer = client.rotate_keys()
    if json_output:
        render.print_json(answer)
    else:
        render.console().print(render.keys_table(answer))


if __name__ == "__main__":
    app()
