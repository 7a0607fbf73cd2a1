"""Figures the notebooks show: image grids and count charts (matplotlib, no pyplot state)."""

from __future__ import annotations

import inspect
import io
from collections.abc import Mapping, Sequence
from typing import Any

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


#: The colour of a caption that marks a mistake (starts with "✗").
MISTAKE = "#c5221f"
#: Box colours by a step's state (its first word), as KFP's UI colours a run's steps.
_STATE_COLOURS = {
    "succeeded": ("#e6f4ea", "#188038"),
    "done": ("#e6f4ea", "#188038"),
    "failed": ("#fce8e6", "#c5221f"),
    "stopped": ("#fef7e0", "#b06000"),
    "stopping": ("#fef7e0", "#b06000"),
    "running": ("#e8f0fe", "#1a73e8"),
}
_PLAIN_BOX = ("#e8f0fe", "#4a6fa5")
_IDLE_BOX = ("#f1f3f4", "#80868b")


def pipeline_graph(
    tasks: dict[str, list[str]],
    labels: dict[str, str] | None = None,
    title: str = "The pipeline's steps (arrows: what each step waits for)",
    states: Mapping[str, str] | None = None,
) -> Picture:
    """Draw a pipeline's DAG: each task a box, arrows from the tasks it depends on.

    `states` maps a step's display name to its state (and duration), shown under its name and
    coloured as KFP's UI shows a run; without it the boxes show the pipeline's shape only.
    """
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
    step_height = 1.5 if states is not None else 1.3
    figure = Picture(figsize=(max(5.0, 3.4 * width), step_height * depth + 0.8))
    ax = figure.subplots()
    ax.set_xlim(0, width)
    ax.set_ylim(-depth + 0.3, 0.7)
    ax.axis("off")
    ax.set_title(title, fontsize=11)
    where = {}
    for row, names in rows.items():
        for i, task in enumerate(names):
            where[task] = ((width - len(names)) / 2 + i + 0.5, -row)
    gap = 0.3 if states is not None else 0.22
    for task, needs in tasks.items():
        for need in needs:
            (x0, y0), (x1, y1) = where[need], where[task]
            ax.annotate(
                "",
                xy=(x1, y1 + gap),
                xytext=(x0, y0 - gap),
                arrowprops={"arrowstyle": "->", "color": "#555"},
            )
    for task, (x, y) in where.items():
        text = (labels or {}).get(task, task)
        face, edge = _PLAIN_BOX
        if states is not None:
            state = states.get(text.split("\n")[0], "unknown")
            text = f"{text}\n{state}"
            face, edge = _STATE_COLOURS.get(state.split(" ")[0], _IDLE_BOX)
        ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.5", "facecolor": face, "edgecolor": edge},
        )
    figure.tight_layout()
    return figure


# --- notebook 04: reviewing the labels and the training job ---------------------------------------


def labeled_counts_chart(table: pd.DataFrame) -> Picture:
    """Bar chart of labeled objects per class and split (failed objects as '(failed)')."""
    figure = split_counts_chart(table.assign(class_name=table["class_name"].fillna("(failed)")))
    figure.axes[0].set_title("Ground Truth labels per class and split")
    figure.axes[0].set_ylabel("labeled images")
    return figure


def confidence_histogram(table: pd.DataFrame, single_worker: bool = False) -> Picture:
    """Histogram of the consolidated labels' confidence, one series per split (job)."""
    import numpy as np

    done = table[table["confidence"].notna()]
    figure = Picture(figsize=(6.0, 3.2))
    ax = figure.subplots()
    bins = np.linspace(0.0, 1.0, 21)
    splits = [s for s in ("train", "validation") if (done["split"] == s).any()]
    values = [done.loc[done["split"] == s, "confidence"].astype(float) for s in splits]
    names = [f"{s} (mean {v.mean():.2f})" for s, v in zip(splits, values, strict=True)]
    ax.hist(values, bins=bins, label=names, stacked=True)
    ax.set_xlim(0, 1)
    ax.set_xlabel("confidence of the consolidated label (0 to 1)")
    ax.set_ylabel("images")
    ax.set_title("How sure Ground Truth is of each label")
    if splits:
        ax.legend(title="labeling job", loc="best")
    if single_worker:
        ax.text(
            0.55,
            0.5,
            "one worker per object:\nGround Truth reports confidence 0.00",
            transform=ax.transAxes,
            ha="center",
            fontsize=9,
            color="#a33",
        )
    figure.tight_layout()
    return figure


def image_rows(
    groups: dict[str, Sequence[tuple[str, bytes]]],
    columns: int = 5,
    cell: float = 2.2,
    title: str | None = None,
) -> Picture:
    """Draw images in rows, one row (or more) per group, the group's name at the row's left."""
    if not groups:
        raise ValueError("no images to show")
    columns = min(columns, max(len(v) for v in groups.values()))
    lines = [
        (name, list(items[i : i + columns]))
        for name, items in groups.items()
        for i in range(0, len(items), columns)
    ]
    height = len(lines) * (cell + 0.45) + (0.4 if title else 0)  # room for two-line captions
    figure = Picture(figsize=(columns * cell + 0.6, height))
    axes = figure.subplots(len(lines), columns, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    shown: set[str] = set()
    for row, (name, items) in zip(axes, lines, strict=True):
        for ax, (caption, data) in zip(row, items, strict=False):
            with Image.open(io.BytesIO(data)) as picture:
                ax.imshow(picture.convert("RGB"))
            ax.set_title(caption, fontsize=8, color=MISTAKE if caption[:1] == "✗" else "black")
        if name and name not in shown:
            row[0].text(
                -0.08,
                0.5,
                name,
                transform=row[0].transAxes,
                rotation=90,
                ha="right",
                va="center",
                fontsize=10,
                fontweight="bold",
            )
            shown.add(name)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def captioned_grid(
    images: Sequence[tuple[str, bytes]], columns: int = 5, title: str | None = None
) -> Picture:
    """Draw images in a grid with room for two-line captions (see `image_rows`)."""
    return image_rows({"": images}, columns=columns, title=title)


def confusion_matrix_chart(
    matrix: pd.DataFrame,
    accuracy: float,
    title: str = "Labels vs Open Images",
    chosen_by: str = "what the workers chose",
) -> Picture:
    """Heat map of a confusion matrix with its counts (rows: reference, columns: given)."""
    size = max(4.5, 1.2 * len(matrix.columns) + 2.5)
    figure = Picture(figsize=(size, size * 0.85))
    ax = figure.subplots()
    values = matrix.to_numpy()
    ax.imshow(values, cmap="Blues", vmin=0, vmax=max(1, int(values.max())))
    for (row, column), count in _cells(values):
        dark = count > values.max() / 2
        ax.text(
            column,
            row,
            str(count),
            ha="center",
            va="center",
            color="white" if dark else "black",
            fontsize=11,
        )
    ax.set_xticks(range(len(matrix.columns)), matrix.columns, rotation=30, ha="right")
    ax.set_yticks(range(len(matrix.index)), matrix.index)
    ax.set_xlabel(f"{matrix.columns.name or 'label'} ({chosen_by})")
    ax.set_ylabel(matrix.index.name or "reference")
    ax.set_title(f"{title} (accuracy {accuracy:.0%})")
    figure.tight_layout()
    return figure


def _cells(values: object) -> list[tuple[tuple[int, int], int]]:
    """Every cell of a 2-D array as ((row, column), value)."""
    import numpy as np

    array = np.asarray(values)
    rows, columns = array.shape
    return [((r, c), int(array[r, c])) for r in range(rows) for c in range(columns)]


def prediction_matrix_chart(matrix: pd.DataFrame, accuracy: float) -> Picture:
    """The model's confusion matrix on the test images (rows: Open Images, columns: predicted)."""
    return confusion_matrix_chart(
        matrix, accuracy, title="Model vs Open Images on the test images", chosen_by="the model"
    )


def learning_curves(curves: pd.DataFrame, job_name: str) -> Picture:
    """Train and validation accuracy per epoch, from the training job's log."""
    figure = Picture(figsize=(6.0, 3.2))
    ax = figure.subplots()
    for split, style in (("train", "o-"), ("validation", "s--")):
        if split in curves and curves[split].notna().any():
            last = curves[split].dropna().iloc[-1]
            ax.plot(curves["epoch"], curves[split], style, label=f"{split} (last {last:.2f})")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Learning curves of {job_name}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    figure.tight_layout()
    return figure


def source(obj: object) -> Any:
    """The source of a function or class from its module, shown as a Python code block."""
    from IPython.display import Markdown

    return Markdown(f"```python\n{inspect.getsource(obj)}```")
