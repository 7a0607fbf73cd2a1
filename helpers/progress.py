"""Progress bars that survive in saved notebooks: text tqdm on stdout, or plain lines.

Set ``WALKTHROUGH_PROGRESS=plain`` to get a few ``desc: 10/100`` lines instead of a bar (handy
in CI logs). Both kinds work as an iterator wrapper and as a context manager with ``update(n)``.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

import tqdm

#: Environment variable that picks the progress style; "plain" prints lines instead of a bar.
STYLE_VARIABLE = "WALKTHROUGH_PROGRESS"
#: How many intermediate lines a plain progress prints at most (plus one final line).
PLAIN_STEPS = 10


class PlainProgress:
    """A tqdm stand-in that prints at most ~10 `desc: n/total` lines and a final one."""

    def __init__(
        self, iterable: Iterable[Any] | None, total: int | None, desc: str, unit: str
    ) -> None:
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.iterable = iterable
        self.total = total
        self.desc = desc
        self.unit = unit
        self.n = 0
        self.postfix = ""
        self._step = 0
        self._closed = False
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[Any]:
        """Yield the wrapped items, counting each one."""
        try:
            for item in self.iterable or ():
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def update(self, n: int | float = 1) -> None:
        """Count `n` more units and print a line when another tenth is done."""
        with self._lock:
            self.n += n
            if not self.total or self.n >= self.total:
                return
            step = int(self.n * PLAIN_STEPS // self.total)
            if step > self._step:
                self._step = step
                print(self._line(), flush=True)

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        """Show `text` after the count (as tqdm does)."""
        del refresh
        self.postfix = text

    def close(self) -> None:
        """Print the final line (once)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                print(self._line(), flush=True)

    def _line(self) -> str:
        done = _amount(self.n, self.unit)
        total = "?" if self.total is None else _amount(self.total, self.unit)
        suffix = "" if self.unit == "it" else f" {'MB' if self.unit == 'B' else self.unit}"
        note = f" ({self.postfix})" if self.postfix else ""
        return f"{self.desc or 'progress'}: {done}/{total}{suffix}{note}"


def _amount(value: int | float, unit: str) -> str:
    return f"{value / 1e6:.1f}" if unit == "B" else f"{value:g}"


def progress(
    iterable: Iterable[Any] | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
) -> Any:
    """Return a progress bar (iterator and context manager with `.update(n)`); unit "B" = bytes."""
    if os.environ.get(STYLE_VARIABLE, "").strip().lower() == "plain":
        return PlainProgress(iterable, total, desc, unit)
    return tqdm.tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=unit == "B",
        file=sys.stdout,
        ascii=True,
        ncols=90,
        mininterval=0.5,
    )
