"""What a benchmark reports: its summary line and a small table, and the statistics behind them."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """One benchmark's outcome: our time, the upstream way's time (lower is better) and a table."""

    name: str
    ours: float
    upstream: float | None
    table: tuple[tuple[str, ...], ...]
    note: str = ""
    unit: str = "s"

    @property
    def ratio(self) -> float | None:
        """How many times better ours is (upstream time / our time); None without upstream."""
        if self.upstream is None:
            return None
        return self.upstream / self.ours if self.ours > 0 else float("inf")

    def summary(self) -> str:
        """The one summary line: `<name>: ours <value> vs upstream <value> = <ratio>x`."""
        line = f"{self.name}: ours {quantity(self.ours, self.unit)}"
        if self.upstream is not None:
            line += f" vs upstream {quantity(self.upstream, self.unit)} = {self.ratio:.1f}x"
        return f"{line} ({self.note})" if self.note else line

    def render(self) -> str:
        """The table followed by the summary line."""
        return f"{format_table(self.table)}\n{self.summary()}"


def quantity(value: float, unit: str) -> str:
    """A value with its unit: three decimals below 1, two below 10, else one."""
    decimals = 3 if value < 1 else 2 if value < 10 else 1
    return f"{value:.{decimals}f} {unit}"


def median(values: Sequence[float]) -> float:
    """The median of the repeats (robust to one slow run on a busy machine)."""
    return float(statistics.median(values))


def format_table(rows: Sequence[Sequence[str]]) -> str:
    """Format rows (the first is the header) as aligned columns, numbers right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: Sequence[str]) -> str:
        cells = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(rows[0]), rule, *(line(row) for row in rows[1:])])
