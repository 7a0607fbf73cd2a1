"""Snowmen, with hat, scarf, arms and face."""

from __future__ import annotations

import math
import random

from PIL import Image

from helpers.local.openimages.drawing.colours import jitter, mix, shade
from helpers.local.openimages.drawing.geometry import ellipse_points, spline
from helpers.local.openimages.drawing.pen import Pen, ground_shadow


def draw_snowman(pen: Pen, scene: Image.Image, rng: random.Random) -> None:
    """Draw a snowman: stacked snowballs, coal eyes, carrot nose, arms, scarf, maybe a hat."""
    snow = jitter((244, 246, 250), rng, 5)
    shadow = mix(snow, (150, 170, 205), 0.35)
    three = rng.random() < 0.7
    balls = [(0, 22, 26), (0, -16, 19), (0, -44, 13)] if three else [(0, 16, 28), (0, -28, 18)]
    wobble = [(x + rng.uniform(-2, 2), y, r * rng.uniform(0.92, 1.08)) for x, y, r in balls]
    ground_shadow(pen, scene, 0, wobble[0][1] + wobble[0][2] - 1, wobble[0][2] * 1.5, 5, 70)
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
