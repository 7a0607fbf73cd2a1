"""Colours for the drawings: RGB triples, and jittering, shading and mixing them."""

from __future__ import annotations

import random

Color = tuple[int, int, int]

BLACK: Color = (22, 18, 16)
WHITE: Color = (250, 250, 248)


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
