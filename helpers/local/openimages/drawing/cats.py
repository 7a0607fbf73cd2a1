"""Big cats: one body model; cheetah = slim, long legs, round spots; tiger = heavy, stripes."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw

from helpers.local.openimages.drawing.colours import BLACK, WHITE, Color, jitter, mix, shade
from helpers.local.openimages.drawing.geometry import Point, compose, spline
from helpers.local.openimages.drawing.pen import Pen, ground_shadow


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
    ground_shadow(pen, scene, -5, ground + 1, 52, 4, 60)
    far_full = Image.new("L", scene.size, 0)
    near_full = Image.new("L", scene.size, 0)
    _cat_silhouette(pen.on(ImageDraw.Draw(far_full)), s, parts, near=False)
    _cat_silhouette(pen.on(ImageDraw.Draw(near_full)), s, parts, near=True)
    bbox = ImageChops.lighter(far_full, near_full).getbbox()
    if bbox is None:
        return
    # Colour the cat inside its bounding box only: pasting through full-size masks is slow.
    crop = scene.crop(bbox)
    cpen = Pen(ImageDraw.Draw(crop), compose((1.0, 0.0, -bbox[0], 0.0, 1.0, -bbox[1]), pen.m))
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
