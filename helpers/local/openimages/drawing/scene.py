"""Scene assembly: which subjects exist, where they go, and the finished picture (JPEG)."""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from PIL import Image, ImageDraw

from helpers.local.openimages.drawing.backgrounds import BACKGROUNDS
from helpers.local.openimages.drawing.cats import draw_cat
from helpers.local.openimages.drawing.fruit import FRUITS, draw_fruit
from helpers.local.openimages.drawing.geometry import Box
from helpers.local.openimages.drawing.instruments import (
    draw_acoustic_guitar,
    draw_drum,
    draw_electric_guitar,
    draw_keyboard,
    draw_trumpet,
    draw_violin,
)
from helpers.local.openimages.drawing.pen import Pen
from helpers.local.openimages.drawing.snowman import draw_snowman

SS = 2
JPEG_QUALITY = 88
SIZES: tuple[tuple[int, int], ...] = ((320, 256), (288, 288), (256, 320), (352, 264), (336, 256))


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
