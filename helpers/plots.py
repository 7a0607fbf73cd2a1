"""Figures the notebooks show: image grids and count charts (matplotlib, no pyplot state)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure
from PIL import Image


class Picture(Figure):
    """A matplotlib figure that shows itself as a PNG in a notebook (no pyplot needed)."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return buffer.getvalue()


def image_grid(
    images: Sequence[tuple[str, bytes]],
    columns: int = 5,
    cell: float = 2.2,
    title: str | None = None,
) -> Picture:
    """Draw images in a grid, each with its caption."""
    if not images:
        raise ValueError("no images to show")
    columns = min(columns, len(images))
    rows = -(-len(images) // columns)
    figure = Picture(figsize=(columns * cell, rows * cell + (0.4 if title else 0)))
    axes = figure.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (caption, data) in zip(axes.flat, images, strict=False):
        with Image.open(io.BytesIO(data)) as picture:
            ax.imshow(picture.convert("RGB"))
        ax.set_title(caption, fontsize=9)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def split_counts_chart(dataset: pd.DataFrame, label: str = "class_name") -> Picture:
    """Bar chart of objects per class, one bar per split, with the counts written on the bars."""
    counts = dataset.groupby([label, "split"]).size().unstack("split", fill_value=0)
    counts = counts.reindex(columns=[c for c in ("train", "validation") if c in counts.columns])
    figure = Picture(figsize=(max(4.0, 1.4 * len(counts) + 2), 3.2))
    ax = figure.subplots()
    width = 0.8 / max(1, len(counts.columns))
    for i, split in enumerate(counts.columns):
        positions = [x + i * width for x in range(len(counts))]
        bars = ax.bar(positions, counts[split], width=width, label=split)
        ax.bar_label(bars, fontsize=8)
    ax.set_xticks([x + width * (len(counts.columns) - 1) / 2 for x in range(len(counts))])
    ax.set_xticklabels(counts.index)
    ax.set_ylabel("images")
    ax.set_ylim(top=max(1, int(counts.to_numpy().max())) * 1.3)
    ax.set_title("Images per class and split")
    ax.legend(ncols=2, loc="upper center")
    figure.tight_layout()
    return figure


def pipeline_graph(tasks: dict[str, list[str]], labels: dict[str, str] | None = None) -> Picture:
    """Draw a pipeline's DAG: each task a box, arrows from the tasks it depends on."""
    levels: dict[str, int] = {}

    def level(task: str) -> int:
        if task not in levels:
            levels[task] = 1 + max((level(d) for d in tasks[task]), default=-1)
        return levels[task]

    for task in tasks:
        level(task)
    depth = max(levels.values()) + 1
    rows: dict[int, list[str]] = {}
    for task in sorted(tasks, key=lambda t: (levels[t], t)):
        rows.setdefault(levels[task], []).append(task)
    width = max(len(r) for r in rows.values())
    figure = Picture(figsize=(max(5.0, 3.2 * width), 1.3 * depth + 0.4))
    ax = figure.subplots()
    ax.set_xlim(0, width)
    ax.set_ylim(-depth + 0.3, 0.7)
    ax.axis("off")
    where = {}
    for row, names in rows.items():
        for i, task in enumerate(names):
            where[task] = ((width - len(names)) / 2 + i + 0.5, -row)
    for task, needs in tasks.items():
        for need in needs:
            (x0, y0), (x1, y1) = where[need], where[task]
            ax.annotate("", xy=(x1, y1 + 0.22), xytext=(x0, y0 - 0.22),
                        arrowprops={"arrowstyle": "->", "color": "#555"})
    for task, (x, y) in where.items():
        ax.text(x, y, (labels or {}).get(task, task), ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "round,pad=0.5", "facecolor": "#e8f0fe", "edgecolor": "#4a6fa5"})
    figure.tight_layout()
    return figure
