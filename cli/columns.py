"""List tables that fit the terminal: ids are shown whole, and the least important columns are left out first.

A column is either shown at a width its cells fit in (or, for a column that may shrink, ellipsized to no less than
its `shrink_to`), or not at all: rich alone would squeeze every column, ids included, to fit a narrow terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

EDGE = 1  # the table's left border
GUTTER = 3  # each column's padding (a space either side) and its right border


@dataclass(frozen=True)
class Column:
    """A list table's column. `priority` 0 is always shown (ids); of the others, higher numbers are left out
    first. `shrink_to` None keeps every cell whole and on one line; a number lets the column narrow down to that
    width, its cells ellipsized."""

    header: str
    priority: int
    shrink_to: int | None = None
    justify: Literal["left", "right"] = "left"


def fit(columns: Sequence[Column], natural: Sequence[int], width: int) -> dict[int, int]:
    """The columns shown in `width` cells, as {index: width}, given each column's natural (widest cell) width.

    Columns are taken by priority while their narrowest fits; the first that does not fit ends the choice, so a
    narrower terminal shows a prefix, in priority order, of what a wider one shows. Width left over widens the
    shrunk columns back towards their natural width, by priority."""
    order = sorted(range(len(columns)), key=lambda index: columns[index].priority)
    least = [
        size if column.shrink_to is None else min(size, column.shrink_to)
        for column, size in zip(columns, natural, strict=True)
    ]
    shown: dict[int, int] = {}
    used = EDGE
    for index in order:
        if columns[index].priority > 0 and used + least[index] + GUTTER > width:
            break
        shown[index] = least[index]
        used += least[index] + GUTTER
    for index in order:
        if index in shown:
            extra = max(0, min(natural[index] - shown[index], width - used))
            shown[index] += extra
            used += extra
    return shown


def _cell_width(text: str) -> int:
    return max((cell_len(line) for line in text.splitlines()), default=0)


class FittedTable:
    """A table of plain-text cells (no markup) that shows the columns fitting the width it is printed in."""

    def __init__(self, title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
        self.title = title
        self.columns = list(columns)
        self.rows = [list(row) for row in rows]

    def natural_widths(self) -> list[int]:
        return [
            max([_cell_width(column.header), *(_cell_width(row[index]) for row in self.rows)])
            for index, column in enumerate(self.columns)
        ]

    def table(self, width: int) -> Table:
        widths = fit(self.columns, self.natural_widths(), width)
        table = Table(title=self.title, title_justify="left")
        for index, column in enumerate(self.columns):
            if index not in widths:
                continue
            whole = column.shrink_to is None
            table.add_column(
                column.header,
                justify=column.justify,
                width=widths[index],
                min_width=widths[index] if whole else None,
                no_wrap=True,
                overflow="ellipsis",
            )
        for row in self.rows:
            table.add_row(*(Text(row[index]) for index in sorted(widths)))
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Within the width given; wider only when the ids alone do not fit (printed with crop=False, the terminal
        wraps those lines, and the ids stay whole)."""
        table = self.table(options.max_width)
        width = EDGE + sum(column.width or 0 for column in table.columns) + GUTTER * len(table.columns)
        yield from console.render(table, options.update(width=width) if width > options.max_width else options)
