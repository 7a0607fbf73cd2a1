"""Geometry, colours and the `Pen` that draws in a local frame: the tools every subject uses."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

Color = tuple[int, int, int]
Point = tuple[float, float]
Matrix = tuple[float, float, float, float, float, float]
Box = tuple[float, float, float, float]

BLACK: Color = (22, 18, 16)
WHITE: Color = (250, 250, 248)


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


def _clamp(v: float) -> int:
    return max(0, min(255, round(v)))


def jitter(c: Color, rng: random.Random, amount: int = 18) -> Color:
    """Return ``c`` with each channel moved by up to ``amount``."""
    return (
        _clamp(c[0] + rng.randint(-amount, amount)),
        _clamp(c[1] + rng.randint(-amount, amount)),
        _clamp(c[2] + rng.randint(-amount, amount)),
    )


def shade(c: Color, f: float) -> Color:
    """Return ``c`` darkened (f < 1) or lightened towards white (f > 1)."""
    if f <= 1:
        return (_clamp(c[0] * f), _clamp(c[1] * f), _clamp(c[2] * f))
    t = min(1.0, f - 1)
    return (
        _clamp(c[0] + (255 - c[0]) * t),
        _clamp(c[1] + (255 - c[1]) * t),
        _clamp(c[2] + (255 - c[2]) * t),
    )


def mix(a: Color, b: Color, t: float) -> Color:
    """Return the colour ``t`` of the way from ``a`` to ``b``."""
    return (
        _clamp(a[0] + (b[0] - a[0]) * t),
        _clamp(a[1] + (b[1] - a[1]) * t),
        _clamp(a[2] + (b[2] - a[2]) * t),
    )


@dataclass(frozen=True)
class Pen:
    """Draws shapes given in an object's own coordinates through an affine transform."""

    draw: ImageDraw.ImageDraw
    m: Matrix

    @property
    def scale(self) -> float:
        """Return how many device pixels one local unit covers."""
        a, b, _, d, e, _ = self.m
        return math.sqrt(abs(a * e - b * d))

    def pt(self, x: float, y: float) -> Point:
        """Map one local point to device pixels."""
        a, b, c, d, e, f = self.m
        return (a * x + b * y + c, d * x + e * y + f)

    def pts(self, points: Iterable[Point]) -> list[Point]:
        """Map local points to device pixels."""
        return [self.pt(x, y) for x, y in points]

    def child(
        self,
        dx: float = 0.0,
        dy: float = 0.0,
        scale: float = 1.0,
        angle: float = 0.0,
        flip: bool = False,
    ) -> Pen:
        """Return a pen for a sub-frame placed at (dx, dy), scaled, rotated and maybe mirrored."""
        ca, sa = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        sx = -scale if flip else scale
        return Pen(self.draw, compose(self.m, (ca * sx, -sa * scale, dx, sa * sx, ca * scale, dy)))

    def on(self, draw: ImageDraw.ImageDraw) -> Pen:
        """Return the same transform drawing onto another image."""
        return Pen(draw, self.m)

    def width(self, w: float) -> int:
        """Convert a local line width to whole device pixels (at least 1)."""
        return max(1, round(w * self.scale))

    def poly(
        self,
        points: Iterable[Point],
        fill: Color | int | None,
        outline: Color | int | None = None,
        width: float = 0.5,
    ) -> None:
        """Draw a polygon."""
        self.draw.polygon(self.pts(points), fill=fill, outline=outline, width=self.width(width))

    def ellipse(
        self,
        cx: float,
        cy: float,
        rx: float,
        ry: float,
        fill: Color | int | None,
        outline: Color | int | None = None,
        width: float = 0.5,
        rot: float = 0.0,
        n: int = 32,
    ) -> None:
        """Draw an ellipse (as a polygon, so it turns with the pen)."""
        self.poly(ellipse_points(cx, cy, rx, ry, rot, n), fill, outline, width)

    def circle(self, cx: float, cy: float, r: float, fill: Color | int) -> None:
        """Draw a filled circle."""
        x, y = self.pt(cx, cy)
        rr = max(0.5, r * self.scale)
        self.draw.ellipse((x - rr, y - rr, x + rr, y + rr), fill=fill)

    def line(
        self, points: Sequence[Point], fill: Color | int, width: float, caps: bool = True
    ) -> None:
        """Draw a polyline with rounded joints (and rounded ends when ``caps``)."""
        self.draw.line(self.pts(points), fill=fill, width=self.width(width), joint="curve")
        if caps and width * self.scale > 2.5:
            for x, y in (points[0], points[-1]):
                self.circle(x, y, width / 2, fill)

    def stroke(self, points: Sequence[Point], widths: Sequence[float], fill: Color | int) -> None:
        """Draw a tapered stroke along a centre line."""
        self.poly(stroke_outline(points, widths), fill)

    def rect(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        fill: Color | int | None,
        outline: Color | int | None = None,
        width: float = 0.5,
    ) -> None:
        """Draw a rectangle (turns with the pen)."""
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], fill, outline, width)


def ground_shadow(
    pen: Pen, scene: Image.Image, cx: float, cy: float, rx: float, ry: float, alpha: int
) -> None:
    """Darken an elliptic patch of ``scene`` (a soft ground shadow)."""
    d = ImageDraw.Draw(scene, "RGBA")
    d.polygon(pen.pts(ellipse_points(cx, cy, rx, ry)), fill=(0, 0, 20, alpha))
