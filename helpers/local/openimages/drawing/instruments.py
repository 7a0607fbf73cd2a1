"""Musical instruments: acoustic and electric guitars, violin, drum, trumpet, keyboard."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from PIL import Image

from helpers.local.openimages.drawing.colours import Color, jitter, shade
from helpers.local.openimages.drawing.geometry import Point, ellipse_points, spline
from helpers.local.openimages.drawing.pen import Pen

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
