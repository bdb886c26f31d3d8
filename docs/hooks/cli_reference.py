"""The `postbox` command line's commands and exit codes, rendered from the Typer app (`cli.main`)."""

from __future__ import annotations

import re
from typing import Any

import typer

from cli.main import EPILOG, app

_EXIT_CODE = re.compile(r"^(\d+)\s{2,}(.+)$")


def commands_table() -> str:
    """Every command and subcommand, with the first paragraph of its help."""
    root = typer.main.get_command(app)
    lines = ["| command | what it does |", "|---|---|"]
    for path, command in _walk(root, "postbox"):
        first = (command.help or command.short_help or "").strip().split("\n\n")[0]
        escaped = " ".join(first.split()).replace("|", "\\|")
        lines.append(f"| `{path}` | {escaped} |")
    return "\n".join(lines)


def exit_codes_table() -> str:
    """The exit codes, as `postbox --help` lists them."""
    codes = [match.groups() for line in EPILOG.splitlines() if (match := _EXIT_CODE.match(line.strip()))]
    if not codes:
        raise ValueError("cli.main.EPILOG lists no exit codes")
    return "\n".join(["| code | meaning |", "|---|---|", *(f"| {code} | {text} |" for code, text in codes)])


def _walk(command: Any, path: str) -> list[tuple[str, Any]]:
    """The leaf commands under `command` (Typer's own click: groups are told by `list_commands`)."""
    if not hasattr(command, "list_commands"):
        return [(path, command)]
    context = typer.Context(command)
    found: list[tuple[str, Any]] = [(path, command)] if getattr(command, "invoke_without_command", False) else []
    for name in command.list_commands(context):
        sub = command.get_command(context, name)
        if sub is not None and not sub.hidden:
            found += _walk(sub, f"{path} {name}")
    return found
