"""The `Pen`: draws shapes in a local frame (moved, scaled, turned, flipped) onto a scene."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

from helpers.local.openimages.drawing.colours import Color
from helpers.local.openimages.drawing.geometry import (
    Matrix,
    Point,
    compose,
    ellipse_points,
    stroke_outline,
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
