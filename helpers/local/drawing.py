"""Deterministic Pillow drawings of the five walkthrough classes for the local Open Images mirror.

Every picture is drawn at twice its final size on a random background and then halved, which
smooths the edges. All randomness comes from the ``seed`` passed to :func:`render_jpeg`, so the
same seed always gives the same JPEG bytes (with the same Pillow and libjpeg build).
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from PIL import Image, ImageChops, ImageDraw

SS = 2
JPEG_QUALITY = 88
SIZES: tuple[tuple[int, int], ...] = ((320, 256), (288, 288), (256, 320), (352, 264), (336, 256))

Color = tuple[int, int, int]
Point = tuple[float, float]
Matrix = tuple[float, float, float, float, float, float]
Box = tuple[float, float, float, float]

BLACK: Color = (22, 18, 16)
WHITE: Color = (250, 250, 248)


# --------------------------------------------------------------------------------------------
# Geometry and colour helpers
# --------------------------------------------------------------------------------------------


def _compose(p: Matrix, c: Matrix) -> Matrix:
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
        return Pen(self.draw, _compose(self.m, (ca * sx, -sa * scale, dx, sa * sx, ca * scale, dy)))

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


def _shadow(
    pen: Pen, scene: Image.Image, cx: float, cy: float, rx: float, ry: float, alpha: int
) -> None:
    """Darken an elliptic patch of ``scene`` (a soft ground shadow)."""
    d = ImageDraw.Draw(scene, "RGBA")
    d.polygon(pen.pts(ellipse_points(cx, cy, rx, ry)), fill=(0, 0, 20, alpha))


# --------------------------------------------------------------------------------------------
# Backgrounds (all classes draw from the same backgrounds, so a background says nothing)
# --------------------------------------------------------------------------------------------

SKY_TOPS: tuple[Color, ...] = ((70, 130, 200), (40, 100, 190), (110, 160, 215), (150, 170, 190))
GROUNDS: MappingProxyType[str, Color] = MappingProxyType(
    {
        "grass": (80, 140, 50),
        "savanna": (190, 165, 90),
        "snow": (236, 240, 246),
        "sand": (215, 190, 140),
        "dirt": (125, 95, 65),
    }
)
WALLS: tuple[Color, ...] = (
    (225, 215, 190),
    (200, 210, 215),
    (235, 225, 215),
    (180, 160, 140),
    (210, 200, 225),
    (150, 170, 150),
    (240, 240, 235),
    (110, 110, 120),
)


def _lowfreq(nrng: np.random.Generator, w: int, h: int, cells: int) -> np.ndarray:
    """Return smooth noise in about [-1, 1] of shape (h, w)."""
    cy = max(2, round(cells * h / max(w, h)))
    cx = max(2, round(cells * w / max(w, h)))
    small = Image.fromarray(nrng.normal(0.0, 0.5, (cy, cx)).astype(np.float32), mode="F")
    return np.asarray(small.resize((w, h), Image.Resampling.BICUBIC))


def _grain(nrng: np.random.Generator, w: int, h: int, sigma: float) -> np.ndarray:
    """Return per-pixel noise of shape (h, w)."""
    return nrng.standard_normal((h, w), dtype=np.float32) * np.float32(sigma)


def _vgradient(
    w: int, h: int, top: Color, bottom: Color, y0: int = 0, y1: int | None = None
) -> np.ndarray:
    """Return an (h, w, 3) float array fading from ``top`` to ``bottom`` between rows y0..y1."""
    y1 = h if y1 is None else y1
    t = np.clip((np.arange(h, dtype=np.float32) - y0) / max(1, y1 - y0), 0, 1)[:, None, None]
    a = np.array(top, dtype=np.float32)[None, None, :]
    b = np.array(bottom, dtype=np.float32)[None, None, :]
    return np.broadcast_to(a + (b - a) * t, (h, w, 3)).copy()


def _to_image(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="RGB")


def _clouds(img: Image.Image, rng: random.Random, horizon: int) -> None:
    d = ImageDraw.Draw(img, "RGBA")
    w = img.width
    for _ in range(rng.randint(0, 4)):
        cx, cy = rng.uniform(0, w), rng.uniform(0.05, 0.7) * horizon
        size = rng.uniform(0.05, 0.14) * w
        alpha = rng.randint(150, 230)
        for _ in range(rng.randint(4, 7)):
            ox, oy = rng.uniform(-1.6, 1.6) * size, rng.uniform(-0.4, 0.3) * size
            r = size * rng.uniform(0.45, 0.9)
            d.ellipse(
                (cx + ox - r, cy + oy - r * 0.7, cx + ox + r, cy + oy + r * 0.7),
                fill=(255, 255, 255, alpha),
            )


def _blades(img: Image.Image, rng: random.Random, horizon: int, base: Color, count: int) -> None:
    d = ImageDraw.Draw(img)
    w, h = img.size
    for _ in range(count):
        x = rng.uniform(0, w)
        y = rng.uniform(horizon, h)
        depth = (y - horizon) / max(1, h - horizon)
        length = (4 + 18 * depth) * rng.uniform(0.6, 1.4)
        lean = rng.uniform(-0.5, 0.5) * length
        c = shade(base, rng.uniform(0.6, 1.35))
        d.line([(x, y), (x + lean, y - length)], fill=c, width=max(1, round(1 + 2 * depth)))


def _bg_outdoor(
    w: int, h: int, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, int]:
    horizon = round(h * rng.uniform(0.3, 0.65))
    top = jitter(rng.choice(SKY_TOPS), rng, 15)
    arr = _vgradient(w, h, top, shade(top, 1.55), 0, horizon)
    kind = rng.choice(list(GROUNDS))
    g = jitter(GROUNDS[kind], rng, 15)
    ground = _vgradient(w, h - horizon, shade(g, 0.85 if kind != "snow" else 0.93), g)
    ground += _lowfreq(nrng, w, h - horizon, rng.randint(4, 10))[:, :, None] * 28
    ground += _grain(nrng, w, h - horizon, 6 if kind == "snow" else 12)[:, :, None]
    arr[horizon:] = ground
    if rng.random() < 0.35:  # distant hills or tree line
        hills = _lowfreq(nrng, w, 1, 6)[0] * 0.06 * h + 0.05 * h
        ys = np.arange(h)[:, None]
        band = (ys < horizon) & (ys > horizon - hills[None, :] - 0.02 * h)
        hill_c = np.array(
            shade(jitter((70, 110, 70), rng, 25), rng.uniform(0.7, 1.1)), dtype=np.float32
        )
        arr[band] = hill_c
    img = _to_image(arr)
    _clouds(img, rng, horizon)
    if kind in ("grass", "savanna"):
        _blades(img, rng, horizon, g, rng.randint(150, 350))
    return img, horizon


def _bg_sky(
    w: int, h: int, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, int]:
    top = jitter(rng.choice(SKY_TOPS), rng, 15)
    if rng.random() < 0.25:  # sunset
        top, bottom = jitter((90, 80, 150), rng, 20), jitter((250, 170, 110), rng, 20)
    else:
        bottom = shade(top, 1.6)
    arr = _vgradient(w, h, top, bottom)
    arr += _grain(nrng, w, h, 2.5)[:, :, None]
    img = _to_image(arr)
    _clouds(img, rng, h)
    return img, h


def _bg_indoor(
    w: int, h: int, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, int]:
    floor_y = round(h * rng.uniform(0.55, 0.85))
    wall = jitter(rng.choice(WALLS), rng, 12)
    arr = _vgradient(w, h, shade(wall, 0.92), wall, 0, floor_y)
    arr[:floor_y] += _lowfreq(nrng, w, floor_y, 5)[:, :, None] * 10
    if rng.random() < 0.4:  # wallpaper stripes
        period = rng.uniform(0.04, 0.12) * w
        xs = np.arange(w, dtype=np.float32)
        stripe = ((xs / period) % 1.0 < rng.uniform(0.2, 0.5)).astype(np.float32)
        arr[:floor_y] += stripe[None, :, None] * rng.choice((-14.0, 12.0))
    floor = jitter(
        rng.choice(
            ((150, 105, 65), (120, 80, 50), (190, 150, 100), (110, 110, 110), (160, 60, 50))
        ),
        rng,
        15,
    )
    fl = _vgradient(w, h - floor_y, shade(floor, 0.8), floor)
    xs = np.arange(w, dtype=np.float32)
    grain = np.sin(xs[None, :] * rng.uniform(0.05, 0.2) + _lowfreq(nrng, w, h - floor_y, 6) * 4)
    fl += grain[:, :, None] * 10
    plank = rng.uniform(0.08, 0.2) * w
    fl[:, (xs % plank) < 2] *= 0.7
    arr[floor_y:] = fl
    arr += _grain(nrng, w, h, 4)[:, :, None]
    img = _to_image(arr)
    d = ImageDraw.Draw(img)
    d.rectangle((0, floor_y - 0.02 * h, w, floor_y), fill=shade(wall, rng.choice((0.6, 1.2))))
    if rng.random() < 0.5:  # a window or a picture frame
        x0 = rng.uniform(0.05, 0.7) * w
        y0 = rng.uniform(0.05, 0.2) * h
        fw, fh = rng.uniform(0.18, 0.3) * w, rng.uniform(0.2, 0.35) * h
        frame = jitter(rng.choice(((245, 245, 240), (90, 60, 40), (40, 40, 40))), rng, 10)
        inner = jitter(rng.choice(((160, 200, 235), (120, 150, 110), (200, 170, 140))), rng, 20)
        d.rectangle((x0, y0, x0 + fw, y0 + fh), fill=frame)
        m = 0.06 * fw
        d.rectangle((x0 + m, y0 + m, x0 + fw - m, y0 + fh - m), fill=inner)
    return img, floor_y


def _bg_gradient(
    w: int, h: int, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, int]:
    a = (rng.randint(20, 240), rng.randint(20, 240), rng.randint(20, 240))
    b = mix(a, (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)), 0.7)
    ang = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (xs / w - 0.5) * math.cos(ang) + (ys / h - 0.5) * math.sin(ang) + 0.5
    t = np.clip(t, 0, 1)[:, :, None]
    arr = np.array(a, np.float32) + (np.array(b, np.float32) - np.array(a, np.float32)) * t
    arr += _grain(nrng, w, h, 3)[:, :, None]
    return _to_image(arr), round(h * rng.uniform(0.7, 0.95))


def _bg_texture(
    w: int, h: int, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, int]:
    base = np.array((rng.randint(40, 220), rng.randint(40, 220), rng.randint(40, 220)), np.float32)
    arr = np.empty((h, w, 3), np.float32)
    cells = rng.randint(3, 14)
    for ch in range(3):
        arr[:, :, ch] = base[ch] + _lowfreq(nrng, w, h, cells) * rng.uniform(25, 70)
    arr += _grain(nrng, w, h, rng.uniform(4, 14))[:, :, None]
    return _to_image(arr), round(h * rng.uniform(0.7, 0.95))


def _bg_wood(
    w: int, h: int, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, int]:
    base = jitter(
        rng.choice(((150, 100, 60), (190, 145, 95), (110, 70, 45), (205, 175, 130))), rng, 12
    )
    ys = np.arange(h, dtype=np.float32)[:, None]
    warp = _lowfreq(nrng, w, h, 4) * 2.5 + _lowfreq(nrng, w, h, 12) * 0.6
    rings = np.sin(ys * rng.uniform(0.25, 0.5) + warp) * 0.5 + 0.5
    fine = np.sin(ys * 1.7 + warp * 3) * 0.5 + 0.5
    arr = np.array(base, np.float32)[None, None, :] * (
        0.78 + 0.2 * rings[:, :, None] + 0.06 * fine[:, :, None]
    )
    plank = rng.uniform(0.18, 0.35) * h
    arr[(np.arange(h) % plank) < 1.5] *= 0.6
    arr += _grain(nrng, w, h, 4)[:, :, None]
    return _to_image(arr), round(h * rng.uniform(0.75, 0.95))


def _bg_bokeh(
    w: int, h: int, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, int]:
    base = jitter(rng.choice(((30, 30, 40), (50, 40, 30), (20, 50, 60), (60, 70, 50))), rng, 15)
    arr = _vgradient(w, h, base, shade(base, rng.uniform(0.6, 1.6)))
    img = _to_image(arr + _grain(nrng, w, h, 3)[:, :, None])
    d = ImageDraw.Draw(img, "RGBA")
    for _ in range(rng.randint(8, 22)):
        r = rng.uniform(0.02, 0.08) * w
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        c = (rng.randint(120, 255), rng.randint(120, 255), rng.randint(60, 200))
        for k, a in ((1.0, 40), (0.8, 50), (0.55, 60)):
            d.ellipse((x - r * k, y - r * k, x + r * k, y + r * k), fill=(*c, a))
    return img, round(h * rng.uniform(0.75, 0.95))


BACKGROUNDS: tuple[
    tuple[Callable[[int, int, random.Random, np.random.Generator], tuple[Image.Image, int]], float],
    ...,
] = (
    (_bg_outdoor, 0.32),
    (_bg_sky, 0.1),
    (_bg_indoor, 0.2),
    (_bg_gradient, 0.1),
    (_bg_texture, 0.12),
    (_bg_wood, 0.08),
    (_bg_bokeh, 0.08),
)


# --------------------------------------------------------------------------------------------
# Musical instruments
# --------------------------------------------------------------------------------------------

WOODS: tuple[Color, ...] = (
    (200, 140, 75),
    (165, 95, 40),
    (120, 65, 30),
    (222, 185, 125),
    (45, 35, 32),
    (150, 35, 30),
)


def _strings(pen: Pen, bottom: Sequence[Point], top: Sequence[Point], width: float) -> None:
    for (x0, y0), (x1, y1) in zip(bottom, top, strict=True):
        pen.line([(x0, y0), (x1, y1)], (225, 222, 210), width, caps=False)


def _frets(pen: Pen, x_half: float, y_bottom: float, y_top: float, count: int) -> None:
    length = y_bottom - y_top
    for i in range(1, count):
        y = y_top + length * (1 - 2 ** (-i / 6)) * 1.05
        if y < y_bottom:
            pen.line([(-x_half, y), (x_half, y)], (200, 200, 195), 0.5, caps=False)


def _headstock(pen: Pen, y: float, color: Color, pegs: int = 3) -> None:
    pen.poly([(-3.5, y), (3.5, y), (5.8, y - 16), (-5.8, y - 16)], color)
    for i in range(pegs):
        py = y - 4 - i * 4.5
        for side in (-1, 1):
            pen.line([(side * 4.5, py), (side * 8.5, py)], (200, 200, 200), 1.0)
            pen.ellipse(side * 9.5, py, 1.6, 1.2, (230, 230, 225))


def draw_acoustic_guitar(pen: Pen, scene: Image.Image, rng: random.Random) -> None:
    """Draw an acoustic guitar standing upright (body at the bottom)."""
    wood = jitter(rng.choice(WOODS), rng)
    edge = shade(wood, 0.55)
    for cy, rx, ry in ((28, 22, 20), (2, 16.5, 15)):
        pen.ellipse(0, cy, rx + 1.3, ry + 1.3, (235, 230, 215) if rng.random() < 0.5 else edge)
    for cy, rx, ry in ((28, 22, 20), (2, 16.5, 15)):
        pen.ellipse(0, cy, rx, ry, edge if rng.random() < 0.5 else wood)
    if rng.random() < 0.6:  # sunburst centre
        pen.ellipse(0, 24, 17, 18, wood)
        pen.ellipse(0, 3, 12, 11, wood)
        pen.poly([(-12, 3), (12, 3), (15, 20), (-15, 20)], wood)
        pen.ellipse(0, 20, 12, 14, shade(wood, 1.15))
    else:
        pen.ellipse(0, 28, 22, 20, wood)
        pen.ellipse(0, 2, 16.5, 15, wood)
    if rng.random() < 0.6:
        pen.ellipse(6, 17, 7, 9, shade(wood, 0.45), rot=-20)
    pen.circle(0, 8, 7.3, (215, 200, 160))
    pen.circle(0, 8, 6.2, (28, 20, 16))
    pen.rect(-9, 33, 9, 37, (45, 30, 22))
    pen.rect(-3.4, -62, 3.4, 1, (55, 38, 28))
    _frets(pen, 3.4, 1, -62, 19)
    _headstock(pen, -62, shade(wood, 0.7))
    _strings(
        pen,
        [(-3 + i * 1.2, 35) for i in range(6)],
        [(-2.6 + i * 1.04, -62) for i in range(6)],
        0.35,
    )


def draw_electric_guitar(pen: Pen, scene: Image.Image, rng: random.Random) -> None:
    """Draw a solid-body electric guitar with a double cutaway."""
    paint = jitter(
        rng.choice(
            (
                (190, 20, 30),
                (20, 20, 25),
                (240, 240, 235),
                (30, 80, 170),
                (230, 140, 30),
                (40, 140, 110),
            )
        ),
        rng,
        12,
    )
    outline = shade(paint, 0.5)
    shapes = ((0, 28, 20, 18, 0), (-11, 6, 7, 14, -22), (12, 8, 6, 11, 22), (0, 14, 14, 10, 0))
    for cx, cy, rx, ry, rot in shapes:
        pen.ellipse(cx, cy, rx + 1, ry + 1, outline, rot=rot)
    for cx, cy, rx, ry, rot in shapes:
        pen.ellipse(cx, cy, rx, ry, paint, rot=rot)
    guard = (245, 245, 240) if sum(paint) < 400 else (25, 25, 25)
    pen.poly(spline([(-8, 4), (-4, 14), (-12, 30), (-2, 40), (10, 34), (4, 18), (5, 6)]), guard)
    for y in (10, 20, 30)[: rng.randint(2, 3)]:
        pen.rect(-4.5, y - 1.3, 4.5, y + 1.3, (30, 30, 30), (200, 200, 200), 0.3)
    for kx, ky in ((9, 30), (12, 35), (7, 37)):
        pen.circle(kx, ky, 1.6, (220, 220, 215))
    pen.rect(-3.1, -58, 3.1, 8, (232, 205, 150) if rng.random() < 0.5 else (70, 45, 30))
    _frets(pen, 3.1, 8, -58, 22)
    _headstock(pen, -58, (232, 205, 150))
    pen.rect(-5, 37, 5, 39.5, (190, 190, 190))
    _strings(
        pen,
        [(-2.8 + i * 1.1, 38) for i in range(6)],
        [(-2.4 + i * 0.96, -58) for i in range(6)],
        0.3,
    )


def draw_violin(pen: Pen, scene: Image.Image, rng: random.Random) -> None:
    """Draw a violin with its fingerboard, f-holes, scroll and sometimes a bow."""
    wood = jitter(rng.choice(((185, 85, 25), (150, 60, 20), (200, 120, 50), (120, 45, 20))), rng)
    edge = shade(wood, 0.5)
    parts = ((0, -2, 10.5, 11.5), (0, 20, 12.5, 13.5))
    for cx, cy, rx, ry in parts:
        pen.ellipse(cx, cy, rx + 0.9, ry + 0.9, edge)
    for cx, cy, rx, ry in parts:
        pen.ellipse(cx, cy, rx, ry, wood)
    pen.ellipse(0, 10, 6, 14, shade(wood, 1.15))
    for side in (-1, 1):
        f = [(side * 6.5, 5), (side * 5.2, 9), (side * 6.8, 14), (side * 5.5, 19)]
        pen.line(spline(f), (30, 15, 10), 0.9)
        pen.circle(side * 6.5, 5, 0.9, (30, 15, 10))
        pen.circle(side * 5.5, 19, 0.9, (30, 15, 10))
    pen.poly([(-3.5, 26), (3.5, 26), (2.3, 33), (-2.3, 33)], (25, 20, 18))
    pen.rect(-4.2, 14.5, 4.2, 15.6, (225, 200, 150))
    pen.rect(-2.2, -36, 2.2, -10, shade(wood, 0.9))
    pen.poly([(-2.1, -36), (2.1, -36), (3, 10), (-3, 10)], (25, 22, 20))
    pen.rect(-2.2, -46, 2.2, -36, shade(wood, 0.85))
    for i in range(2):
        py = -39 - i * 4
        pen.line([(-6, py), (6, py + 1)], (25, 20, 18), 1.1)
    pen.circle(0, -49, 3.6, shade(wood, 0.8))
    pen.line(ellipse_points(0.3, -49, 2.2, 2.2, 0, 10, 0, 300), edge, 0.6, caps=False)
    _strings(
        pen,
        [(-1.6 + i * 1.07, 27) for i in range(4)],
        [(-1.3 + i * 0.87, -36) for i in range(4)],
        0.28,
    )
    if rng.random() < 0.55:
        sign = rng.choice((-1, 1))
        a, b = (-26 * sign, 42), (24 * sign, -44)
        pen.line([a, b], (80, 40, 20), 1.1)
        pen.line(
            [(a[0] + 2.2, a[1] + 1.5), (b[0] + 2.0, b[1] + 3)], (235, 230, 215), 0.7, caps=False
        )
        pen.ellipse(a[0], a[1], 2.6, 1.6, (20, 20, 20), rot=-58 * sign)


def draw_drum(pen: Pen, scene: Image.Image, rng: random.Random) -> None:
    """Draw a snare drum with sticks, or a bass drum with a cymbal."""
    shell = jitter(
        rng.choice(
            (
                (190, 25, 35),
                (30, 60, 160),
                (20, 20, 22),
                (240, 240, 240),
                (170, 110, 60),
                (180, 180, 190),
            )
        ),
        rng,
        12,
    )
    metal = (205, 205, 210)
    if rng.random() < 0.6:
        pen.line([(-20, 16), (-30, 42)], (90, 90, 95), 1.2)
        pen.line([(20, 16), (30, 42)], (90, 90, 95), 1.2)
        pen.line([(0, 20), (0, 42)], (90, 90, 95), 1.2)
        pen.ellipse(0, 16, 30, 8, shade(shell, 0.7))
        pen.rect(-30, -8, 30, 16, shell)
        pen.rect(-30, -2, 30, 0, shade(shell, 1.3))
        pen.line(ellipse_points(0, 16, 30, 8, 0, 16, 0, 180), metal, 1.6)
        for i in range(7):
            x = -27 + i * 9
            pen.rect(x - 1, -4, x + 1, 12, metal, (120, 120, 125), 0.3)
        pen.ellipse(0, -8, 30, 8, (236, 232, 218), metal, 1.5)
        for sx in (-1, 1):
            a, b = (sx * 38, -40), (sx * -4, -12)
            pen.line([a, b], (215, 180, 120), 1.8)
            pen.ellipse(b[0], b[1], 1.8, 1.4, (230, 200, 150))
        return
    pen.line([(34, -20), (34, 40)], (90, 90, 95), 1.0)
    pen.ellipse(34, -22, 17, 3.2, (210, 170, 60), (160, 120, 40), 0.6, rot=-8)
    pen.ellipse(-14, -26, 12, 5, shade(shell, 0.7))
    pen.rect(-26, -34, -2, -26, shell)
    pen.ellipse(-14, -34, 12, 5, (236, 232, 218), metal, 1.0)
    pen.circle(0, 8, 31, shade(shell, 0.8))
    pen.circle(0, 8, 28, shell)
    pen.circle(0, 8, 25, (240, 238, 230) if rng.random() < 0.6 else (30, 30, 30))
    pen.circle(0, 8, rng.uniform(6, 12), shade(shell, 1.2))
    for i in range(10):
        a = math.radians(i * 36 + 18)
        x, y = math.cos(a) * 29.5, 8 + math.sin(a) * 29.5
        pen.circle(x, y, 1.7, metal)
    pen.line([(-18, 30), (-24, 42)], (90, 90, 95), 1.4)
    pen.line([(18, 30), (24, 42)], (90, 90, 95), 1.4)


def draw_trumpet(pen: Pen, scene: Image.Image, rng: random.Random) -> None:
    """Draw a brass (or silver) trumpet lying sideways, bell to the right."""
    brass = jitter((214, 172, 60), rng, 14) if rng.random() < 0.8 else (200, 200, 208)
    dark, light = shade(brass, 0.6), shade(brass, 1.45)
    tube = 3.4
    pen.line([(-20, 8), (14, 8)], dark, tube)
    pen.line(ellipse_points(14, 2, 6, 6, 0, 10, -90, 90), dark, tube)
    pen.line(ellipse_points(-20, 2, 6, 6, 0, 10, 90, 270), brass, tube)
    pen.line([(-48, -4), (14, -4)], brass, tube)
    pen.line([(-46, -4.9), (12, -4.9)], light, 0.7, caps=False)
    pen.poly([(-56, -5.8), (-50, -2.2), (-50, -5.8), (-56, -2.2)], brass)
    pen.ellipse(-56, -4, 1.2, 3.2, dark)
    top = [(x, -4 - (1.7 + 13 * ((x - 10) / 36) ** 2.6)) for x in range(10, 47, 3)]
    bottom = [(x, -4 + (1.7 + 13 * ((x - 10) / 36) ** 2.6)) for x in range(46, 9, -3)]
    pen.poly(top + bottom, brass)
    pen.line(top, light, 0.7, caps=False)
    pen.ellipse(46, -4, 2.8, 14.7, light)
    pen.ellipse(46.6, -4, 2.0, 13.2, dark)
    for x in (-12, -4, 4):
        pen.rect(x - 2.6, -12, x + 2.6, 13, brass, dark, 0.4)
        pen.rect(x - 3, -13.5, x + 3, -12, light)
        pen.line([(x, -13.5), (x, -18)], dark, 0.9)
        pen.ellipse(x, -18.5, 2.6, 1.1, (240, 238, 225))
        pen.rect(x - 3, 12.5, x + 3, 14.5, dark)


def draw_keyboard(pen: Pen, scene: Image.Image, rng: random.Random) -> None:
    """Draw a keyboard instrument with black and white keys on a stand."""
    body = jitter(rng.choice(((25, 25, 28), (60, 35, 25), (200, 30, 40), (235, 235, 235))), rng, 8)
    pen.line([(-36, 18), (-22, 44)], (60, 60, 65), 1.6)
    pen.line([(-22, 18), (-36, 44)], (60, 60, 65), 1.6)
    pen.line([(36, 18), (22, 44)], (60, 60, 65), 1.6)
    pen.line([(22, 18), (36, 44)], (60, 60, 65), 1.6)
    pen.rect(-52, -16, 52, 18, body)
    for i in range(rng.randint(0, 6)):
        pen.circle(-40 + i * 5, -10, 1.4, (180, 180, 185))
    n = rng.choice((17, 21, 24))
    x0, x1, y0, y1 = -48, 48, -4, 15
    kw = (x1 - x0) / n
    for i in range(n):
        pen.rect(x0 + i * kw, y0, x0 + (i + 1) * kw, y1, (250, 250, 245), (120, 120, 120), 0.3)
    for i in range(n - 1):
        if i % 7 in (0, 1, 3, 4, 5):
            cx = x0 + (i + 1) * kw
            pen.rect(cx - kw * 0.3, y0, cx + kw * 0.3, y0 + (y1 - y0) * 0.62, (15, 15, 15))


# --------------------------------------------------------------------------------------------
# Fruit (each single fruit is about 20 units across, centred on its own origin)
# --------------------------------------------------------------------------------------------


def _leaf(pen: Pen, x: float, y: float, length: float, angle: float, color: Color) -> None:
    leaf = pen.child(x, y, 1.0, angle)
    leaf.poly(
        spline(
            [
                (0, 0),
                (length * 0.4, -length * 0.22),
                (length, 0),
                (length * 0.4, length * 0.22),
                (0, 0),
            ],
            5,
        ),
        color,
    )
    leaf.line([(0, 0), (length * 0.9, 0)], shade(color, 0.7), 0.4, caps=False)


def fruit_apple(pen: Pen, rng: random.Random) -> None:
    """Draw an apple with a stem and usually a leaf."""
    c = jitter(
        rng.choice(((200, 30, 30), (170, 20, 35), (140, 195, 60), (225, 200, 60), (215, 70, 40))),
        rng,
        15,
    )
    for cx, cy, rx, ry in ((-3.2, 0.5, 8.6, 9.6), (3.2, 0.5, 8.6, 9.6)):
        pen.ellipse(cx, cy, rx, ry, shade(c, 0.7))
    for cx, cy, rx, ry in ((-3.2, 0, 7.6, 8.6), (3.2, 0, 7.6, 8.6)):
        pen.ellipse(cx, cy, rx, ry, c)
    pen.ellipse(0, -7.5, 3, 1.4, shade(c, 0.55))
    pen.ellipse(-5, -3, 2.2, 3.5, shade(c, 1.45), rot=20)
    pen.line([(0, -7.5), (0.8, -11), (2.2, -13.5)], (95, 60, 30), 1.0)
    if rng.random() < 0.75:
        _leaf(pen, 1.2, -11, rng.uniform(6, 8), rng.uniform(-40, 10), jitter((70, 150, 50), rng))


def fruit_orange(pen: Pen, rng: random.Random) -> None:
    """Draw an orange with a dimpled peel (sometimes cut in half)."""
    c = jitter((242, 140, 25), rng, 12)
    if rng.random() < 0.25:  # cut half: segments
        pen.circle(0, 0, 10, shade(c, 0.85))
        pen.circle(0, 0, 9, (250, 225, 160))
        for i in range(10):
            a0, a1 = i * 36 + 4, i * 36 + 32
            pen.poly([(0, 0), *ellipse_points(0, 0, 8.2, 8.2, 0, 5, a0, a1)], shade(c, 1.1))
        pen.circle(0, 0, 1.2, (250, 230, 180))
        return
    pen.circle(0, 0, 10, shade(c, 0.8))
    pen.circle(-0.4, -0.4, 9.3, c)
    for _ in range(40):
        a, r = rng.uniform(0, 2 * math.pi), 8.5 * math.sqrt(rng.random())
        pen.circle(math.cos(a) * r, math.sin(a) * r, 0.35, shade(c, 0.82))
    pen.ellipse(-3.5, -3.5, 2.4, 3.2, shade(c, 1.35), rot=30)
    pen.circle(0.5, -8.8, 1.0, (90, 110, 40))
    if rng.random() < 0.4:
        _leaf(pen, 0.5, -9, 7, rng.uniform(-60, -20), jitter((50, 120, 40), rng))


def fruit_lemon(pen: Pen, rng: random.Random) -> None:
    """Draw a lemon (or lime)."""
    c = jitter((245, 220, 50), rng, 12) if rng.random() < 0.75 else jitter((120, 180, 50), rng)
    pen.ellipse(-10.3, 0, 2.2, 1.6, shade(c, 0.8))
    pen.ellipse(10.3, 0, 2.2, 1.6, shade(c, 0.8))
    pen.ellipse(0, 0, 10.5, 7.8, shade(c, 0.8))
    pen.ellipse(-0.3, -0.3, 9.7, 7.0, c)
    pen.ellipse(-3, -3, 3.5, 1.8, shade(c, 1.4))


def fruit_banana(pen: Pen, rng: random.Random) -> None:
    """Draw a small bunch of bananas."""
    c = jitter((242, 212, 55), rng, 12) if rng.random() < 0.85 else jitter((170, 190, 60), rng)
    count = rng.randint(1, 4)
    for k in range(count):
        rot = (k - (count - 1) / 2) * 9
        b = pen.child(0, k * 1.2, 1.0, rot)
        centre = ellipse_points(0, -14, 22, 19, 0, 14, 35, 145)
        widths = [1.2 + 5.2 * max(0.0, math.sin(math.pi * i / 13)) ** 0.7 for i in range(14)]
        b.stroke(centre, [w + 1.0 for w in widths], shade(c, 0.7))
        b.stroke(centre, widths, c)
        b.line(centre[3:11], shade(c, 1.3), 0.6, caps=False)
        for _ in range(rng.randint(0, 5)):
            px, py = rng.choice(centre[3:11])
            b.circle(px, py, rng.uniform(0.3, 0.7), (110, 75, 30))
        b.circle(*centre[-1], 1.2, (70, 50, 30))
        b.line([centre[0], (centre[0][0] + 3, centre[0][1] - 2.5)], (110, 120, 50), 1.6)


def fruit_pear(pen: Pen, rng: random.Random) -> None:
    """Draw a pear."""
    c = jitter(rng.choice(((180, 200, 70), (215, 200, 80), (190, 120, 50))), rng, 12)
    outline = shade(c, 0.75)
    shape = [
        (0, -10),
        (-4, -8),
        (-5.2, -2),
        (-9.5, 5),
        (-8, 11.5),
        (0, 13),
        (8, 11.5),
        (9.5, 5),
        (5.2, -2),
        (4, -8),
        (0, -10),
    ]
    pen.poly(spline(shape, 5), outline)
    pen.poly(spline([(x * 0.9, y * 0.92) for x, y in shape], 5), c)
    for _ in range(14):
        pen.circle(rng.uniform(-6, 6), rng.uniform(-3, 10), 0.3, shade(c, 0.75))
    pen.ellipse(-4, 3, 2, 3.5, shade(c, 1.35), rot=15)
    pen.line([(0, -9.5), (0.8, -13), (2.4, -14.5)], (95, 65, 35), 1.0)
    if rng.random() < 0.4:
        _leaf(pen, 1.0, -12.5, 6, rng.uniform(-40, 0), jitter((80, 150, 50), rng))


def fruit_grapes(pen: Pen, rng: random.Random) -> None:
    """Draw a bunch of grapes with a vine leaf."""
    c = jitter((95, 35, 95), rng, 15) if rng.random() < 0.6 else jitter((165, 200, 90), rng, 15)
    rows = (5, 5, 4, 4, 3, 2, 1)
    r = 2.2
    for j, n in enumerate(rows):
        for i in range(n):
            x = (i - (n - 1) / 2) * r * 1.75 + rng.uniform(-0.4, 0.4)
            y = -9 + j * r * 1.55
            pen.circle(x, y, r, shade(c, 0.7))
            pen.circle(x - 0.2, y - 0.2, r * 0.88, c)
            pen.circle(x - 0.8, y - 0.8, r * 0.28, shade(c, 1.5))
    pen.line([(0, -11), (0.5, -14), (2, -16)], (100, 75, 40), 0.9)
    if rng.random() < 0.7:
        _leaf(pen, 1.5, -14, 9, rng.uniform(-30, 20), jitter((70, 140, 50), rng))


def fruit_strawberry(pen: Pen, rng: random.Random) -> None:
    """Draw a strawberry with seeds and green sepals."""
    c = jitter((215, 30, 40), rng, 12)
    shape = [
        (0, -8),
        (-6, -8),
        (-8.5, -4),
        (-6.5, 3),
        (0, 10),
        (6.5, 3),
        (8.5, -4),
        (6, -8),
        (0, -8),
    ]
    pen.poly(spline(shape, 5), shade(c, 0.75))
    pen.poly(spline([(x * 0.9, y * 0.9 - 0.3) for x, y in shape], 5), c)
    for j in range(5):
        for i in range(5 - j // 2):
            x = (i - (4 - j // 2) / 2) * 2.8 * (1 - j * 0.12)
            y = -5 + j * 2.9
            pen.ellipse(x, y, 0.35, 0.6, (245, 215, 90))
    green = jitter((60, 140, 45), rng)
    for i in range(5):
        a = -90 + (i - 2) * 32
        pen.child(0, -8, 1.0, a + 180).poly([(0, -1.2), (5.5, 0), (0, 1.2)], green)
    pen.line([(0, -8), (0.5, -11)], shade(green, 0.8), 0.9)


FRUITS: MappingProxyType[str, Callable[[Pen, random.Random], None]] = MappingProxyType(
    {
        "apples": fruit_apple,
        "oranges": fruit_orange,
        "lemons": fruit_lemon,
        "bananas": fruit_banana,
        "pears": fruit_pear,
        "grapes": fruit_grapes,
        "strawberries": fruit_strawberry,
    }
)


def _fruit_group(pen: Pen, rng: random.Random, kinds: Sequence[str]) -> None:
    count = len(kinds)
    container = rng.random()
    if container < 0.3:  # bowl behind
        bowl = jitter(
            rng.choice(((240, 240, 240), (170, 110, 60), (60, 110, 170), (200, 60, 50))), rng, 10
        )
        pen.ellipse(0, 8, 46, 8, shade(bowl, 0.75))
    elif container < 0.55:  # plate
        plate = jitter(rng.choice(((245, 245, 245), (230, 225, 210), (170, 200, 220))), rng, 8)
        pen.ellipse(0, 16, 50, 11, shade(plate, 0.8))
        pen.ellipse(0, 15, 46, 9.5, plate)
    spots: list[Point] = []
    for i in range(count):
        if count == 1:
            spots.append((0, 0))
        else:
            t = i / (count - 1)
            spots.append(
                (
                    (t - 0.5) * 2 * min(34, 13 * count) + rng.uniform(-4, 4),
                    rng.uniform(-5, 8) - (8 if 0 < i < count - 1 and count > 2 else 0),
                )
            )
    order = sorted(range(count), key=lambda k: spots[k][1])
    big = {1: 2.7, 2: 1.9, 3: 1.6}.get(count, 1.3)
    for k in order:
        x, y = spots[k]
        FRUITS[kinds[k]](
            pen.child(x, y, big * rng.uniform(0.9, 1.1), rng.uniform(-25, 25), rng.random() < 0.5),
            rng,
        )
    if container < 0.3:
        bowl_front = [
            *ellipse_points(0, 8, 46, 8, 0, 12, 0, 180),
            *ellipse_points(0, 8, 46, 28, 0, 12, 180, 0),
        ]
        pen.poly(bowl_front, bowl)
        pen.line(ellipse_points(0, 8, 46, 8, 0, 16, 0, 180), shade(bowl, 1.25), 1.0)
        pen.ellipse(0, 35, 16, 3.5, shade(bowl, 0.8))


def draw_fruit(pen: Pen, scene: Image.Image, rng: random.Random, kind: str) -> None:
    """Draw one to five fruits of ``kind`` (or a mix), sometimes in a bowl or on a plate."""
    if kind == "mixed":
        kinds = [rng.choice(list(FRUITS)) for _ in range(rng.randint(3, 5))]
    else:
        kinds = [kind] * rng.choice((1, 1, 2, 3, 3, 4, 5))
    _fruit_group(pen, rng, kinds)


# --------------------------------------------------------------------------------------------
# Big cats: one body model, cheetah = slim, long legs, round spots; tiger = heavy, stripes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatShape:
    """Proportions of a big cat in side view (local units, facing +x, ground at y = 40)."""

    chest_h: float
    hip_h: float
    waist_drop: float
    leg_len: float
    leg_w: float
    head_r: float
    tail_w: float


CHEETAH = CatShape(
    chest_h=26, hip_h=20, waist_drop=5, leg_len=40, leg_w=5.2, head_r=8.5, tail_w=3.6
)
TIGER = CatShape(chest_h=34, hip_h=31, waist_drop=1, leg_len=30, leg_w=8.5, head_r=12.5, tail_w=5.5)


@dataclass(frozen=True)
class CatParts:
    """A posed big cat as local shapes (see :class:`CatShape` for the frame)."""

    body_y: float
    ground: float
    ellipses: tuple[tuple[float, float, float, float, float], ...]
    trunk: list[Point]
    legs: list[tuple[bool, list[Point]]]
    head: Point
    neck: list[Point]
    tail: list[Point]


def _cat_geometry(s: CatShape, pose: str, rng: random.Random) -> CatParts:
    """Return the parts of a cat as local polygons and polylines."""
    lying = pose == "lying"
    ground = 40.0
    body_y = ground - (s.leg_len * (0.28 if lying else 1.0)) - s.chest_h / 2
    chest_x, hip_x = 20.0, -24.0
    chest_bottom = body_y + s.chest_h / 2
    hip_bottom = body_y + s.hip_h / 2
    ellipses = (
        (chest_x, body_y, 25.0, s.chest_h / 2, -4.0),
        (hip_x, body_y - 1, 21.0, s.hip_h / 2, 4.0),
    )
    top_y = body_y - min(s.chest_h, s.hip_h) / 2
    trunk = [
        (chest_x, body_y - s.chest_h / 2 + 1),
        (hip_x, top_y + 1),
        (hip_x, hip_bottom - 1),
        (-2, min(chest_bottom, hip_bottom) - s.waist_drop),
        (chest_x, chest_bottom - 1),
    ]
    # legs: (near?, hip/shoulder, knee, paw)
    legs: list[tuple[bool, list[Point]]] = []
    stride = {"standing": 4.0, "walking": 12.0, "running": 24.0, "lying": 0.0}[pose]
    phase = rng.uniform(0, 2 * math.pi)
    leg_roots = (
        (False, chest_x + 6, True, 0.5),
        (True, chest_x + 1, True, 0.0),
        (False, hip_x - 3, False, 0.5),
        (True, hip_x - 7, False, 0.0),
    )
    for near, x_top, front, offs in leg_roots:
        top = (x_top, body_y + 2)
        if lying:
            if front:
                paw = (x_top + 22 + (4 if near else 0), ground - 2.5)
                knee = (x_top + 6, ground - 3)
            else:
                paw = (x_top + 14, ground - 2)
                knee = (x_top - 4, ground - 6)
        elif pose == "running":
            swing = (1 if front else -1) * stride * (1.0 if near else 0.7)
            paw = (x_top + swing, ground - 4 - (6 if near else 2))
            knee = (x_top + swing * 0.35 + (4 if not front else -3), (top[1] + paw[1]) / 2 + 2)
        else:
            swing = stride * math.sin(phase + offs * math.pi + (0 if front else math.pi / 2))
            paw = (x_top + swing, ground)
            knee_dx = 3.0 if front else -5.0
            knee = (x_top + swing * 0.5 + knee_dx, top[1] + (ground - top[1]) * 0.5)
        legs.append((near, [top, knee, paw]))
    head_r = s.head_r
    if lying:
        head = (chest_x + 24, body_y - s.chest_h / 2 - head_r * 0.6)
    elif pose == "running":
        head = (chest_x + 27, body_y - s.chest_h * 0.2)
    else:
        head = (chest_x + 24, body_y - s.chest_h / 2 - head_r * rng.uniform(0.2, 0.9))
    neck = [
        (chest_x + 4, body_y - s.chest_h / 2 + 1),
        (head[0] - head_r * 0.4, head[1] - head_r * 0.75),
        (head[0] + head_r * 0.3, head[1] + head_r * 0.6),
        (chest_x + 17, body_y + s.chest_h * 0.2),
    ]
    curl = rng.uniform(-1, 1)
    tx0, ty0 = hip_x - 19, body_y - s.hip_h * 0.25
    if lying:
        tail = [
            (tx0, ty0),
            (tx0 - 12, ground - 4),
            (tx0 - 30, ground - 3),
            (tx0 - 42, ground - 8 - 6 * curl),
        ]
    elif pose == "running":
        tail = [
            (tx0, ty0),
            (tx0 - 16, ty0 + 2),
            (tx0 - 32, ty0 + 2 - 4 * curl),
            (tx0 - 44, ty0 - 6 - 8 * curl),
        ]
    else:
        tail = [
            (tx0, ty0),
            (tx0 - 8, ty0 + 14),
            (tx0 - 12, ty0 + 28 - 6 * abs(curl)),
            (tx0 - 20 - 8 * curl, ty0 + 30 - 16 * max(0.0, curl)),
        ]
    return CatParts(body_y, ground, ellipses, trunk, legs, head, neck, spline(tail, 6))


def _cat_silhouette(pen: Pen, s: CatShape, parts: CatParts, near: bool) -> None:
    """Draw (in 255) either the far legs or everything else of the cat."""
    for is_near, (top, knee, paw) in parts.legs:
        if is_near != near:
            continue
        pen.line([top, knee], 255, s.leg_w * 1.45)
        pen.line([knee, paw], 255, s.leg_w)
        pen.ellipse(
            paw[0] + s.leg_w * 0.25, paw[1] - s.leg_w * 0.25, s.leg_w * 0.75, s.leg_w * 0.5, 255
        )
    if not near:
        return
    for cx, cy, rx, ry, rot in parts.ellipses:
        pen.ellipse(cx, cy, rx, ry, 255, rot=rot)
    pen.poly(parts.trunk, 255)
    pen.poly(parts.neck, 255)
    hx, hy = parts.head
    r = s.head_r
    pen.circle(hx, hy, r, 255)
    pen.ellipse(hx + r * 0.75, hy + r * 0.3, r * 0.55, r * 0.45, 255)
    pen.ellipse(hx - r * 0.35, hy - r * 0.85, r * 0.32, r * 0.3, 255)
    pen.ellipse(hx + r * 0.1, hy - r * 0.95, r * 0.3, r * 0.3, 255)
    tail = parts.tail
    n = len(tail)
    pen.stroke(tail, [s.tail_w * (1.1 - 0.35 * i / n) for i in range(n)], 255)


def _pattern_spots(pen: Pen, mask: Image.Image, rng: random.Random) -> Image.Image:
    pat = Image.new("L", mask.size, 0)
    d = ImageDraw.Draw(pat)
    box = mask.getbbox()
    if box is None:
        return pat
    step = 4.2 * pen.scale
    x0, y0, x1, y1 = box
    y = y0 - step / 2
    row = 0
    while y < y1 + step:
        x = x0 - step / 2 + (step / 2 if row % 2 else 0)
        while x < x1 + step:
            r = rng.uniform(0.75, 1.25) * pen.scale
            px, py = x + rng.uniform(-0.3, 0.3) * step, y + rng.uniform(-0.3, 0.3) * step
            d.ellipse((px - r, py - r * rng.uniform(0.8, 1.1), px + r, py + r), fill=255)
            x += step
        y += step * 0.87
        row += 1
    return pat


def _pattern_stripes(
    pen: Pen, mask: Image.Image, s: CatShape, parts: CatParts, rng: random.Random
) -> Image.Image:
    pat = Image.new("L", mask.size, 0)
    p = pen.on(ImageDraw.Draw(pat))
    body_y = parts.body_y
    ground = parts.ground
    top = body_y - max(s.chest_h, s.hip_h) / 2 - 2
    bottom = body_y + s.chest_h / 2 + 1
    x = -48.0
    while x < 44:  # body: tapering stripes down from the back, a few up from the belly
        from_top = rng.random() < 0.8
        length = (bottom - top) * (rng.uniform(0.45, 0.9) if from_top else rng.uniform(0.25, 0.45))
        y_start = top if from_top else bottom
        ys = [y_start + (length * k / 6) * (1 if from_top else -1) for k in range(7)]
        wob = rng.uniform(1.0, 2.5)
        slant = rng.uniform(-0.3, 0.3)
        pts = [
            (x + wob * math.sin(k * 1.1 + x) + slant * (yy - y_start), yy)
            for k, yy in enumerate(ys)
        ]
        w0 = rng.uniform(2.0, 3.4)
        p.stroke(pts, [w0 * (1 - k / 7) + 0.3 for k in range(7)], 255)
        if rng.random() < 0.3:  # forked stripe
            fx, fy = pts[2]
            p.stroke([(fx, fy), (fx + 3, fy + length * 0.35)], [1.6, 0.3], 255)
        x += rng.uniform(3.8, 6.0)
    hx, hy = parts.head
    r = s.head_r
    for k in range(3):  # forehead and cheeks
        fx = hx + r * (-0.25 + 0.28 * k)
        p.stroke([(fx, hy - r * 1.0), (fx + r * 0.05, hy - r * 0.45)], [r * 0.16, r * 0.04], 255)
        cy = hy + r * (-0.1 + 0.28 * k)
        p.stroke([(hx - r * 1.05, cy), (hx - r * 0.3, cy + r * 0.1)], [r * 0.2, r * 0.04], 255)
    tail = parts.tail
    for i in range(4, len(tail) - 1, 3):  # rings across the tail
        (xa, ya), (xb, yb) = tail[i - 1], tail[i + 1]
        dx, dy = xb - xa, yb - ya
        length = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / length * s.tail_w, dx / length * s.tail_w
        xc, yc = tail[i]
        p.stroke([(xc - nx, yc - ny), (xc + nx, yc + ny)], [1.8, 1.8], 255)
    y = bottom + 4
    while y < ground - 1:  # leg bands
        xs = -60.0
        while xs < 70:
            seg = rng.uniform(6, 14)
            p.stroke(
                [(xs, y), (xs + seg / 2, y + rng.uniform(-1, 1)), (xs + seg, y)],
                [0.5, rng.uniform(1.6, 2.6), 0.5],
                255,
            )
            xs += seg + rng.uniform(1, 5)
        y += rng.uniform(4.5, 7)
    return pat


def draw_cat(pen: Pen, scene: Image.Image, rng: random.Random, spotted: bool) -> None:
    """Draw a cheetah (``spotted``) or a tiger in a random pose."""
    s = CHEETAH if spotted else TIGER
    poses = (
        ("standing", "walking", "running", "lying")
        if spotted
        else ("standing", "walking", "walking", "lying")
    )
    pose = rng.choice(poses)
    parts = _cat_geometry(s, pose, rng)
    if spotted:
        base = jitter(rng.choice(((214, 168, 88), (224, 184, 110), (196, 150, 80))), rng, 12)
        belly = jitter((240, 228, 196), rng, 8)
        mark: Color = (28, 22, 16)
    elif rng.random() < 0.12:  # white tiger
        base, belly, mark = jitter((232, 226, 212), rng, 6), WHITE, (35, 30, 30)
    else:
        base = jitter(rng.choice(((226, 118, 34), (214, 104, 28), (236, 140, 50))), rng, 12)
        belly, mark = jitter((244, 238, 226), rng, 6), (22, 16, 12)
    ground = parts.ground
    _shadow(pen, scene, -5, ground + 1, 52, 4, 60)
    far_full = Image.new("L", scene.size, 0)
    near_full = Image.new("L", scene.size, 0)
    _cat_silhouette(pen.on(ImageDraw.Draw(far_full)), s, parts, near=False)
    _cat_silhouette(pen.on(ImageDraw.Draw(near_full)), s, parts, near=True)
    bbox = ImageChops.lighter(far_full, near_full).getbbox()
    if bbox is None:
        return
    # Colour the cat inside its bounding box only: pasting through full-size masks is slow.
    crop = scene.crop(bbox)
    cpen = Pen(ImageDraw.Draw(crop), _compose((1.0, 0.0, -bbox[0], 0.0, 1.0, -bbox[1]), pen.m))
    far_mask, near_mask = far_full.crop(bbox), near_full.crop(bbox)
    both = ImageChops.lighter(far_mask, near_mask)
    pattern = (
        _pattern_spots(cpen, both, rng) if spotted else _pattern_stripes(cpen, both, s, parts, rng)
    )
    crop.paste(shade(base, 0.75), mask=far_mask)
    crop.paste(shade(mark, 0.9), mask=ImageChops.multiply(far_mask, pattern))
    crop.paste(base, mask=near_mask)
    body_y = parts.body_y
    belly_mask = Image.new("L", crop.size, 0)
    bp = cpen.on(ImageDraw.Draw(belly_mask))
    bp.ellipse(-2, body_y + s.chest_h * 0.47, 30, s.chest_h * 0.14, 255)
    hx, hy = parts.head
    r = s.head_r
    bp.ellipse(hx + r * 0.7, hy + r * 0.45, r * 0.6, r * 0.4, 255)
    bp.ellipse(hx + r * 0.15, hy + r * 0.55, r * 0.5, r * 0.35, 255)
    if spotted:  # cheetah tail: dark rings and a white tip
        tail = parts.tail
        tp = cpen.on(ImageDraw.Draw(pattern))
        n = len(tail)
        for i in range(int(n * 0.65), n - 2, 3):
            tp.circle(tail[i][0], tail[i][1], s.tail_w * 0.9, 255)
        bp.circle(tail[-1][0], tail[-1][1], s.tail_w * 0.6, 255)
    crop.paste(mix(base, belly, 0.8), mask=ImageChops.multiply(near_mask, belly_mask))
    crop.paste(
        mark,
        mask=ImageChops.multiply(
            near_mask,
            ImageChops.subtract(
                pattern, ImageChops.multiply(belly_mask, Image.new("L", crop.size, 160))
            ),
        ),
    )
    scene.paste(crop, bbox[:2])
    # face
    eye = (hx + r * 0.3, hy - r * 0.2)
    pen.ellipse(eye[0], eye[1], r * 0.2, r * 0.13, (230, 180, 40), rot=-10)
    pen.circle(eye[0] + r * 0.04, eye[1], r * 0.08, BLACK)
    pen.poly(
        [
            (hx + r * 1.22, hy + r * 0.08),
            (hx + r * 1.3, hy + r * 0.22),
            (hx + r * 1.05, hy + r * 0.26),
        ],
        (40, 25, 25),
    )
    pen.line(
        [
            (hx + r * 1.2, hy + r * 0.3),
            (hx + r * 0.95, hy + r * 0.6),
            (hx + r * 0.7, hy + r * 0.55),
        ],
        (40, 25, 25),
        0.5,
        caps=False,
    )
    pen.ellipse(hx - r * 0.35, hy - r * 0.85, r * 0.16, r * 0.14, shade(base, 0.4))
    if spotted:  # tear marks
        pen.line(
            [
                (eye[0] + r * 0.15, eye[1] + r * 0.1),
                (hx + r * 0.7, hy + r * 0.25),
                (hx + r * 0.85, hy + r * 0.6),
            ],
            mark,
            r * 0.11,
        )
    for k in range(3):
        wy = hy + r * (0.35 + 0.1 * k)
        pen.line(
            [(hx + r * 1.0, wy), (hx + r * 1.8, wy + r * (k - 1) * 0.25)],
            (235, 235, 230),
            0.25,
            caps=False,
        )


# --------------------------------------------------------------------------------------------
# Snowman
# --------------------------------------------------------------------------------------------


def draw_snowman(pen: Pen, scene: Image.Image, rng: random.Random) -> None:
    """Draw a snowman: stacked snowballs, coal eyes, carrot nose, arms, scarf, maybe a hat."""
    snow = jitter((244, 246, 250), rng, 5)
    shadow = mix(snow, (150, 170, 205), 0.35)
    three = rng.random() < 0.7
    balls = [(0, 22, 26), (0, -16, 19), (0, -44, 13)] if three else [(0, 16, 28), (0, -28, 18)]
    wobble = [(x + rng.uniform(-2, 2), y, r * rng.uniform(0.92, 1.08)) for x, y, r in balls]
    _shadow(pen, scene, 0, wobble[0][1] + wobble[0][2] - 1, wobble[0][2] * 1.5, 5, 70)
    head_x, head_y, head_r = wobble[-1]
    body_x, body_y, body_r = wobble[-2]
    arm_c = jitter((95, 65, 40), rng, 15)
    for side in (-1, 1):
        ang = math.radians(rng.uniform(-40, 30))
        x0 = body_x + side * body_r * 0.7
        y0 = body_y - body_r * 0.3
        x1 = x0 + side * 26 * math.cos(ang)
        y1 = y0 - 26 * math.sin(ang) - 6
        pen.line(
            [(x0, y0), ((x0 + x1) / 2, (y0 + y1) / 2 + rng.uniform(-2, 2)), (x1, y1)], arm_c, 1.3
        )
        fx, fy = x0 + (x1 - x0) * 0.75, y0 + (y1 - y0) * 0.75
        pen.line([(fx, fy), (fx + side * 5, fy - 5)], arm_c, 0.9)
        pen.line([(x1, y1), (x1 + side * 4, y1 + 2)], arm_c, 0.8)
    for x, y, r in wobble:
        pen.circle(x, y, r + 0.8, mix(shadow, (120, 130, 150), 0.3))
        pen.circle(x, y, r, shadow)
        pen.circle(x - r * 0.12, y - r * 0.12, r * 0.85, snow)
    coal = (25, 25, 28)
    for i in range(3 if three else 2):
        pen.circle(body_x, body_y - body_r * 0.45 + i * body_r * 0.45, body_r * 0.09, coal)
    for side in (-1, 1):
        pen.circle(head_x + side * head_r * 0.33, head_y - head_r * 0.2, head_r * 0.11, coal)
    for i in range(5):
        a = math.radians(40 + i * 25)
        pen.circle(
            head_x + math.cos(a) * head_r * 0.55,
            head_y + math.sin(a) * head_r * 0.5,
            head_r * 0.06,
            coal,
        )
    side = rng.choice((-1, 1))
    carrot = jitter((240, 120, 30), rng, 10)
    length = head_r * rng.uniform(0.9, 1.5)
    pen.poly(
        [
            (head_x, head_y - head_r * 0.1),
            (head_x, head_y + head_r * 0.2),
            (head_x + side * length, head_y + head_r * 0.1),
        ],
        carrot,
    )
    scarf = jitter(
        rng.choice(((200, 30, 40), (30, 90, 170), (40, 140, 60), (230, 180, 30), (140, 50, 150))),
        rng,
        12,
    )
    neck_y = head_y + head_r * 0.85
    pen.poly(
        spline(
            [
                (-head_r * 1.05, neck_y - 3),
                (0, neck_y - 1),
                (head_r * 1.05, neck_y - 3),
                (head_r * 1.1, neck_y + 2),
                (0, neck_y + 4.5),
                (-head_r * 1.1, neck_y + 2),
            ],
            4,
        ),
        scarf,
    )
    tail_x = head_x - side * head_r * 0.5
    pen.poly(
        [
            (tail_x - 2.5, neck_y),
            (tail_x + 2.5, neck_y),
            (tail_x + 3.5 - side * 2, neck_y + 17),
            (tail_x - 2.5 - side * 2, neck_y + 16),
        ],
        scarf,
    )
    if rng.random() < 0.6:
        for k in range(2):
            y = neck_y + 7 + k * 4.5
            pen.line(
                [(tail_x - 3 - side * k, y), (tail_x + 3 - side * k, y)],
                shade(scarf, 1.5),
                1.0,
                caps=False,
            )
    hat = rng.random()
    top_y = head_y - head_r * 0.75
    if hat < 0.45:  # top hat
        hc = jitter(rng.choice(((25, 25, 28), (60, 40, 30), (40, 40, 70))), rng, 6)
        pen.rect(head_x - head_r * 1.0, top_y - 2, head_x + head_r * 1.0, top_y + 1, hc)
        pen.rect(head_x - head_r * 0.65, top_y - head_r * 1.2, head_x + head_r * 0.65, top_y, hc)
        pen.rect(
            head_x - head_r * 0.65, top_y - 4, head_x + head_r * 0.65, top_y - 2, shade(scarf, 0.9)
        )
    elif hat < 0.75:  # knitted beanie with a pompom
        hc = shade(scarf, rng.uniform(0.8, 1.3))
        pen.poly(
            ellipse_points(head_x, top_y + 3, head_r * 0.95, head_r * 0.85, 0, 16, 180, 360), hc
        )
        pen.rect(
            head_x - head_r * 0.98, top_y + 1, head_x + head_r * 0.98, top_y + 4.5, shade(hc, 0.8)
        )
        pen.circle(head_x, top_y + 3 - head_r * 0.85, 3.2, (245, 245, 240))


# --------------------------------------------------------------------------------------------
# Scene assembly
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """How to draw one object: its local bounding box and the function that draws it."""

    box: Box
    draw: Callable[[Pen, Image.Image, random.Random], None]
    grounded: bool
    max_angle: float


def _fruit(kind: str) -> Callable[[Pen, Image.Image, random.Random], None]:
    def run(pen: Pen, scene: Image.Image, rng: random.Random) -> None:
        """Draw the fruit group."""
        draw_fruit(pen, scene, rng, kind)

    return run


def _cat(spotted: bool) -> Callable[[Pen, Image.Image, random.Random], None]:
    def run(pen: Pen, scene: Image.Image, rng: random.Random) -> None:
        """Draw the cat."""
        draw_cat(pen, scene, rng, spotted)

    return run


SUBJECTS: MappingProxyType[str, MappingProxyType[str, Subject]] = MappingProxyType(
    {
        "musical_instrument": MappingProxyType(
            {
                "acoustic_guitar": Subject((-24, -78, 24, 50), draw_acoustic_guitar, False, 70),
                "electric_guitar": Subject((-22, -76, 22, 47), draw_electric_guitar, False, 70),
                "violin": Subject((-27, -54, 27, 44), draw_violin, False, 60),
                "drum": Subject((-40, -44, 52, 44), draw_drum, True, 6),
                "trumpet": Subject((-58, -21, 50, 17), draw_trumpet, False, 35),
                "keyboard": Subject((-53, -17, 53, 45), draw_keyboard, True, 12),
            }
        ),
        "fruit": MappingProxyType(
            {k: Subject((-56, -34, 56, 40), _fruit(k), True, 10) for k in (*FRUITS, "mixed")}
        ),
        "cheetah": MappingProxyType({"cheetah": Subject((-92, -30, 64, 46), _cat(True), True, 8)}),
        "tiger": MappingProxyType({"tiger": Subject((-92, -34, 64, 46), _cat(False), True, 8)}),
        "snowman": MappingProxyType(
            {"snowman": Subject((-40, -78, 40, 56), draw_snowman, True, 6)}
        ),
    }
)
KINDS: tuple[str, ...] = tuple(SUBJECTS)


def _place(
    subject: Subject, area: Box, ground: float, rng: random.Random, base: Pen, solo: bool
) -> Pen:
    """Return a pen that puts the subject's local box inside ``area`` (device pixels)."""
    bx0, by0, bx1, by1 = subject.box
    ax0, ay0, ax1, ay1 = area
    aw, ah = ax1 - ax0, ay1 - ay0
    angle = rng.uniform(-subject.max_angle, subject.max_angle)
    rad = math.radians(abs(angle))
    lw, lh = bx1 - bx0, by1 - by0
    rw = lw * math.cos(rad) + lh * math.sin(rad)
    rh = lw * math.sin(rad) + lh * math.cos(rad)
    fill = rng.uniform(0.72, 1.0) if solo else rng.uniform(0.8, 1.0)
    scale = min(aw / rw, ah / rh) * fill
    half_w, half_h = rw * scale / 2, rh * scale / 2
    cx = rng.uniform(ax0 + half_w, ax1 - half_w) if ax1 - ax0 > 2 * half_w else (ax0 + ax1) / 2
    if subject.grounded:  # stand somewhere between the horizon and the bottom edge
        lo = max(ground + 0.03 * ah, ay0 + 2 * half_h)
        hi = max(lo, ay1 + 0.02 * ah)
        cy = min(rng.uniform(lo, hi), ay1 + 0.02 * ah) - half_h
    else:
        cy = rng.uniform(ay0 + half_h, ay1 - half_h) if ah > 2 * half_h else (ay0 + ay1) / 2
    lcx, lcy = (bx0 + bx1) / 2, (by0 + by1) / 2
    pen = base.child(cx, cy, scale, angle, flip=rng.random() < 0.5)
    return pen.child(-lcx, -lcy)


def render(items: Sequence[tuple[str, str]], seed: int, size: tuple[int, int]) -> Image.Image:
    """Draw a picture holding one subject per (kind, variant) item."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    w, h = size[0] * SS, size[1] * SS
    funcs = [f for f, _ in BACKGROUNDS]
    weights = [wt for _, wt in BACKGROUNDS]
    bg = rng.choices(funcs, weights)[0]
    small, ground = bg(size[0], size[1], rng, nrng)  # backgrounds are drawn at 1x
    scene = small.resize((w, h), Image.Resampling.NEAREST)  # halving restores it exactly
    ground *= SS
    base = Pen(ImageDraw.Draw(scene), (1.0, 0.0, 0.0, 0.0, 1.0, 0.0))
    n = len(items)
    margin = 0.03 * w
    for i, (kind, variant) in enumerate(items):
        subject = SUBJECTS[kind][variant]
        x0 = margin + (w - 2 * margin) * i / n
        x1 = margin + (w - 2 * margin) * (i + 1) / n
        area = (x0, 0.04 * h, x1, 0.97 * h)
        subject.draw(_place(subject, area, ground, rng, base, n == 1), scene, rng)
    out = scene.reduce(SS)
    return out


def render_jpeg(items: Sequence[tuple[str, str]], seed: int, size: tuple[int, int]) -> bytes:
    """Draw a picture (see :func:`render`) and return it as baseline JPEG bytes."""
    buf = io.BytesIO()
    render(items, seed, size).save(
        buf, format="JPEG", quality=JPEG_QUALITY, optimize=False, subsampling=2
    )
    return buf.getvalue()
