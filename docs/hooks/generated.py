"""MkDocs hook: replaces `<!-- generated: NAME -->` in a page with what NAME renders from the code.

The repository root goes first on `sys.path` when the hook runs (MkDocs restores `sys.path` after loading a hook),
so the pages describe this checkout's code, not an installed copy.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

MARKER = re.compile(r"<!-- generated: ([\w-]+) -->")


def renderers() -> dict[str, Callable[[], str]]:
    if sys.path[:1] != [str(ROOT)]:
        sys.path.insert(0, str(ROOT))
    from docs.hooks import api_reference, bench_tables, cli_reference, config_tables

    return {
        "api-reference": lambda: api_reference.render(api_reference.document()),
        "cli-commands": cli_reference.commands_table,
        "cli-exit-codes": cli_reference.exit_codes_table,
        "environment": config_tables.environment_table,
        "cdk-context": config_tables.context_table,
        "bench-full": lambda: bench_tables.render(full=True),
        "bench-quick": lambda: bench_tables.render(full=False),
        "soak": bench_tables.render_soak,
    }


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if MARKER.search(markdown) is None:
        return markdown
    known = renderers()

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in known:
            raise ValueError(f"{page.file.src_uri}: unknown generated block {name!r} (known: {sorted(known)})")
        return known[name]()

    return MARKER.sub(replace, markdown)
