"""Geometry for the drawings: points, affine matrices, ellipses, splines, tapered strokes."""

from __future__ import annotations

import math
from collections.abc import Sequence

Point = tuple[float, float]
Matrix = tuple[float, float, float, float, float, float]
Box = tuple[float, float, float, float]


def compose(p: Matrix, c: Matrix) -> Matrix:
    """Return the affine matrix that applies ``c`` first and then ``p``."""
    a1, b1, c1, d1, e1, f1 = p
    a2, b2, c2, d2, e2, f2 = c
    return (
        a1 * a2 + b1 * d2,
        a1 * b2 + b1 * e2,
        a1 * c2 + b1 * f2 + c1,
        d1 * a2 + e1 * d2,
        d1 * b2 + e1 * e2,
        d1 * c2 + e1 * f2 + f1,
    )


def ellipse_points(
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    rot: float = 0.0,
    n: int = 32,
    start: float = 0.0,
    end: float = 360.0,
) -> list[Point]:
    """Return points on an (optionally rotated) ellipse or elliptic arc, angles in degrees."""
    cr, sr = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    closed = abs(end - start) >= 360.0
    count = n if closed else max(2, n)
    out: list[Point] = []
    for i in range(count):
        t = math.radians(start + (end - start) * i / (count if closed else count - 1))
        x, y = rx * math.cos(t), ry * math.sin(t)
        out.append((cx + x * cr - y * sr, cy + x * sr + y * cr))
    return out


def _catmull(p0: float, p1: float, p2: float, p3: float, t: float) -> float:
    return 0.5 * (
        2 * p1
        + (-p0 + p2) * t
        + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t * t
        + (-p0 + 3 * p1 - 3 * p2 + p3) * t * t * t
    )


def spline(points: Sequence[Point], steps: int = 8) -> list[Point]:
    """Return a Catmull-Rom curve through ``points``."""
    if len(points) < 3:
        return list(points)
    pts = [points[0], *points, points[-1]]
    out: list[Point] = []
    for i in range(1, len(pts) - 2):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
        for step in range(steps):
            t = step / steps
            out.append((_catmull(x0, x1, x2, x3, t), _catmull(y0, y1, y2, y3, t)))
    out.append(points[-1])
    return out


def stroke_outline(points: Sequence[Point], widths: Sequence[float]) -> list[Point]:
    """Return a polygon around a centre line whose full width varies point by point."""
    left: list[Point] = []
    right: list[Point] = []
    n = len(points)
    for i, (x, y) in enumerate(points):
        xa, ya = points[max(0, i - 1)]
        xb, yb = points[min(n - 1, i + 1)]
        dx, dy = xb - xa, yb - ya
        length = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / length, dx / length
        half = widths[i] / 2
        left.append((x + nx * half, y + ny * half))
        right.append((x - nx * half, y - ny * half))
    return left + right[::-1]
