"""A picture of the setup: each piece a box, colored by its check's status."""

from __future__ import annotations

from collections.abc import Sequence

from helpers.checks.model import Result
from helpers.checks.report import COLORS
from helpers.plots import Picture

#: (check number or None, label, x, y); None is a box no check stands for.
BOXES: tuple[tuple[int | None, str, float, float], ...] = (
    (1, "credentials\n(account, region)", 1.0, 5.0),
    (2, "region with\nGround Truth", 3.5, 5.0),
    (11, "KFP API\n(you submit here)", 6.0, 5.0),
    (12, "GPU training\nquota", 8.5, 5.0),
    (8, "service account\n(runs the pods)", 1.0, 3.4),
    (6, "IAM OIDC provider\n+ pod role trust", 3.5, 3.4),
    (7, "pod role\npermissions", 6.0, 3.4),
    (None, "SageMaker\nlabeling + training", 8.5, 3.4),
    (9, "Cognito pool, group\n+ private workforce", 1.0, 1.8),
    (10, "team and\njob names", 3.5, 1.8),
    (5, "execution role\n(jobs act as it)", 6.0, 1.8),
    (3, "bucket\n(region, CORS)", 8.5, 1.8),
    (4, "notebook 01\ninputs", 8.5, 0.4),
)
ARROWS: tuple[tuple[str, str, str], ...] = (
    ("service account", "IAM OIDC provider", "token"),
    ("IAM OIDC provider", "pod role", "assume"),
    ("pod role", "SageMaker", "create jobs"),
    ("pod role", "execution role", "PassRole"),
    ("Cognito pool", "team and", "workteam"),
    ("execution role", "bucket", "read / write"),
    ("bucket", "notebook 01", ""),
)


def setup_diagram(results: Sequence[Result] = ()) -> Picture:
    """Draw the setup's pieces and how they connect; boxes take their check's status color."""
    status = {r.number: r.status for r in results}
    figure = Picture(figsize=(11, 5.6))
    ax = figure.subplots()
    ax.set_xlim(-0.3, 9.8)
    ax.set_ylim(-0.4, 5.8)
    ax.axis("off")
    where = {label: (x, y) for _, label, x, y in BOXES}

    def find(prefix: str) -> tuple[float, float]:
        return next(xy for label, xy in where.items() if label.startswith(prefix))

    for start, end, label in ARROWS:
        (x0, y0), (x1, y1) = find(start), find(end)
        ax.annotate(
            "",
            xy=(x1 - 0.95 * (x1 > x0) + 0.95 * (x1 < x0), y1 + 0.35 * (y1 < y0)),
            xytext=(x0 + 0.95 * (x1 > x0) - 0.95 * (x1 < x0), y0 - 0.35 * (y1 < y0)),
            arrowprops={"arrowstyle": "->", "color": "#555"},
        )
        if label and x0 == x1:
            ax.text(
                x0 + 0.08, (y0 + y1) / 2, label, ha="left", va="center", fontsize=7.5, color="#555"
            )
        elif label:
            ax.text(
                (x0 + x1) / 2, (y0 + y1) / 2 + 0.12, label, ha="center", fontsize=7.5, color="#555"
            )
    for number, label, x, y in BOXES:
        state = status.get(number) if number else None
        text = f"{number}. {label}" if number else label
        if state:
            text += f"\n{state}"
        ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=8.5,
            bbox={
                "boxstyle": "round,pad=0.45",
                "facecolor": COLORS.get(state or "", "#e8f0fe"),
                "edgecolor": "#4a6fa5",
            },
        )
    ax.set_title("The setup the pipeline needs (numbers are the checks)")
    figure.tight_layout()
    return figure
