"""Fruit: single fruits about 20 units across, centred on their own origin, and groups of them."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from types import MappingProxyType

from PIL import Image

from helpers.local.openimages.drawing.colours import Color, jitter, shade
from helpers.local.openimages.drawing.geometry import Point, ellipse_points, spline
from helpers.local.openimages.drawing.pen import Pen


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
