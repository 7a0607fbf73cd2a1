"""Backgrounds for the pictures: every class draws from the same ones, so none says the class."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from types import MappingProxyType

import numpy as np
from PIL import Image, ImageDraw

from helpers.local.openimages.drawing.colours import Color, jitter, mix, shade

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
