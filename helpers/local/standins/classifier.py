"""A small, real image classifier that stands in for the built-in image-classification algorithm.

Local mode cannot run the algorithm's MXNet ResNet, so training jobs of that algorithm run this
instead: every picture is decoded with Pillow, shrunk to :data:`IMAGE_SIZE` pixels square and
described by hand-made features (:data:`FEATURE_GROUPS`). Some describe the whole picture
(gradient orientations on a grid, texture, where it is busy). The others describe the object:
pixels whose colour differs from the picture's border are taken as foreground, which gives the
object's colours (whatever the background), how straight its edges are, and a crop around it
whose colours, gradient orientations and texture no longer depend on where the object stands
or how big it is; thin straight strokes (necks, strings, drumsticks) are counted too. A softmax
(multinomial logistic regression) classifier is then trained on those features with mini-batch
SGD (or NAG, Adam, RMSprop), driven by the job's hyperparameters and logging its accuracies the
way the algorithm does (``Epoch[0] Train-accuracy=0.5``).

With a few dozen training pictures a linear model on hundreds of features can fit anything,
including shuffled labels; what makes it generalise is mostly features that ignore the
background, and a little scaling each group of features as a whole (see :func:`_standardiser`).

The module is pure: bytes in, results out. The caller fetches the images, turns a
:class:`TrainingError` into the job's ``ClientError`` failure reason, and stores the bytes of
:func:`model_archive` as ``model.tar.gz``. The archive holds only JSON and an ``.npz`` of plain
number arrays (no pickle); :func:`load_model` reads it back.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import math
import multiprocessing
import os
import tarfile
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType

import numpy as np
from PIL import Image, ImageFilter

from helpers.errors import WalkthroughError

#: Side, in pixels, of the square every picture is shrunk to before its features are taken.
IMAGE_SIZE = 64
#: Side of the larger square the texture features are taken from (fine stripes and spots).
TEXTURE_SIZE = 128
#: Layer counts the real algorithm accepts (ImageNet-style and CIFAR-style ResNets).
NUM_LAYERS = (18, 34, 50, 101, 152, 200, 20, 32, 44, 56, 110)
OPTIMIZERS = ("sgd", "adam", "rmsprop", "nag")
AUGMENTATION_TYPES = ("crop", "crop_color", "crop_color_transform")
REQUIRED = ("num_classes", "num_training_samples")
#: What ``model-info.json`` says the archive is; :func:`load_model` refuses anything else.
MODEL_FORMAT = "gt-kfp-walkthrough/local-image-classifier"
MODEL_VERSION = 2
WEIGHTS_FILE = "model.npz"
INFO_FILE = "model-info.json"
SHAPES_FILE = "model-shapes.json"
HYPERPARAMS_FILE = "hyperparams.json"
WEIGHT_ARRAYS = ("mean", "scale", "weights", "bias")

_ORIENTATIONS = 9
_COLOUR_LEVELS = 4
_LBP_BINS = 59
_HUES = 12
_COHERENCE_BINS = 5
#: Line directions (dy, dx) the thin-stroke detector looks along.
_LINE_DIRECTIONS = ((0, 1), (1, 1), (1, 0), (1, -1))
#: Width in pixels of the border strip whose colour is taken as the background's.
_BORDER = 2
#: RGB distance (channels in [0, 1]) from the border colours above which a pixel is foreground.
_FOREGROUND_DISTANCE = 0.25
#: The parts of a picture's feature vector, in order: (name, length). See :func:`image_features`.
FEATURE_GROUPS: tuple[tuple[str, int], ...] = (
    ("picture gradient orientations, 4x4 grid", 16 * _ORIENTATIONS),
    ("picture texture (local binary patterns)", _LBP_BINS),
    ("picture gradient energy, 4x4 grid", 16),
    ("foreground hue histogram", 2 * _HUES + 4),
    ("foreground edge coherence", 2 * _COHERENCE_BINS),
    ("thin straight strokes", 4 + len(_LINE_DIRECTIONS) + 2),
    ("object colour histograms", 3 * _COLOUR_LEVELS**3),
    ("object gradient orientations, 4x4 grid", 16 * _ORIENTATIONS),
    ("object gradient orientations, 2x2 grid", 4 * _ORIENTATIONS),
    ("object texture (local binary patterns)", _LBP_BINS),
)
#: Length of a picture's feature vector.
FEATURE_SIZE = sum(size for _, size in FEATURE_GROUPS)
#: Pictures from which feature extraction is shared among processes (fewer: this one does it),
#: and the most processes it uses.
PARALLEL_MIN = 1000
MAX_PROCESSES = 4
#: Multiplies the sgd/nag learning rate: the algorithm's default 0.1 then trains well here.
_LR_SCALE = 10.0
_ARCHIVE_LIMIT = 64 * 1024 * 1024  # bytes any one archive member may expand to


class TrainingError(WalkthroughError, ValueError):
    """The job's hyperparameters or data are wrong; the message says what to fix."""

    @property
    def failure_reason(self) -> str:
        """Return the message as SageMaker's ``FailureReason`` spells algorithm errors."""
        return f"ClientError: {self}"


# --- Hyperparameters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hyperparameters:
    """The algorithm's hyperparameters, parsed; defaults are the algorithm's own."""

    num_classes: int
    num_training_samples: int
    epochs: int = 30
    learning_rate: float = 0.1
    mini_batch_size: int = 32
    image_shape: tuple[int, int, int] = (3, 224, 224)
    num_layers: int = 152
    use_pretrained_model: int = 0
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0001
    beta_1: float = 0.9
    beta_2: float = 0.999
    eps: float = 1e-8
    gamma: float = 0.9
    lr_scheduler_factor: float = 0.1
    lr_scheduler_step: tuple[int, ...] = ()
    augmentation_type: str | None = None
    early_stopping: bool = False
    early_stopping_min_epochs: int = 10
    early_stopping_patience: int = 5
    early_stopping_tolerance: float = 0.0
    resize: int | None = None
    #: Names given that the algorithm knows but this stand-in does not use, or does not know.
    ignored: tuple[str, ...] = ()

    def learning_rate_at(self, epoch: int) -> float:
        """Return the learning rate of ``epoch`` (0-based) after the lr_scheduler_step cuts."""
        cuts = sum(1 for step in self.lr_scheduler_step if step <= epoch)
        return self.learning_rate * self.lr_scheduler_factor**cuts


def _parse_int(name: str, text: str, minimum: int, allowed: Sequence[int] = ()) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = None
    if allowed and value not in allowed:
        raise TrainingError(f"{name} must be one of {', '.join(map(str, allowed))}, got {text!r}")
    if value is None or value < minimum:
        raise TrainingError(f"{name} must be an integer >= {minimum}, got {text!r}")
    return value


def _parse_float(name: str, text: str, low: float, high: float, low_open: bool = False) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not (low < value <= high if low_open else low <= value <= high):
        interval = f"({low:g}, {high:g}]" if low_open else f"[{low:g}, {high:g}]"
        raise TrainingError(f"{name} must be a number in {interval}, got {text!r}")
    return value


def _parse_choice(name: str, text: str, choices: Sequence[str]) -> str:
    value = text.strip()
    if value not in choices:
        raise TrainingError(f"{name} must be one of {', '.join(choices)}, got {text!r}")
    return value


def _parse_bool(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise TrainingError(f"{name} must be True or False, got {text!r}")
    return value == "true"


def _parse_image_shape(name: str, text: str) -> tuple[int, int, int]:
    parts = text.split(",")
    try:
        channels, height, width = (int(p.strip()) for p in parts)
    except ValueError:
        channels = height = width = 0
    if channels not in (1, 3) or height < 1 or width < 1:
        raise TrainingError(
            f"{name} must be 'num_channels,height,width' with 1 or 3 channels and positive "
            f"sizes (for example '3,224,224'), got {text!r}"
        )
    return channels, height, width


def _parse_steps(name: str, text: str) -> tuple[int, ...]:
    try:
        steps = tuple(int(p.strip()) for p in text.split(",") if p.strip())
    except ValueError:
        steps = (0,)
    if not steps or min(steps) < 1 or list(steps) != sorted(steps):
        raise TrainingError(
            f"{name} must be epochs in increasing order separated by commas "
            f"(for example '10,20'), got {text!r}"
        )
    return steps


#: Every hyperparameter the stand-in reads, name -> parser(name, text).
_PARSERS: Mapping[str, Callable[[str, str], object]] = MappingProxyType(
    {
        "num_classes": partial(_parse_int, minimum=2),
        "num_training_samples": partial(_parse_int, minimum=1),
        "epochs": partial(_parse_int, minimum=1),
        "learning_rate": partial(_parse_float, low=0.0, high=1.0, low_open=True),
        "mini_batch_size": partial(_parse_int, minimum=1),
        "image_shape": _parse_image_shape,
        "num_layers": partial(_parse_int, minimum=1, allowed=NUM_LAYERS),
        "use_pretrained_model": partial(_parse_int, minimum=0, allowed=(0, 1)),
        "optimizer": partial(_parse_choice, choices=OPTIMIZERS),
        "momentum": partial(_parse_float, low=0.0, high=1.0),
        "weight_decay": partial(_parse_float, low=0.0, high=1.0),
        "beta_1": partial(_parse_float, low=0.0, high=1.0),
        "beta_2": partial(_parse_float, low=0.0, high=1.0),
        "eps": partial(_parse_float, low=0.0, high=1.0, low_open=True),
        "gamma": partial(_parse_float, low=0.0, high=1.0),
        "lr_scheduler_factor": partial(_parse_float, low=0.0, high=1.0),
        "lr_scheduler_step": _parse_steps,
        "augmentation_type": partial(_parse_choice, choices=AUGMENTATION_TYPES),
        "early_stopping": _parse_bool,
        "early_stopping_min_epochs": partial(_parse_int, minimum=1),
        "early_stopping_patience": partial(_parse_int, minimum=1),
        "early_stopping_tolerance": partial(_parse_float, low=0.0, high=1.0),
        "resize": partial(_parse_int, minimum=2),
    }
)


def _text(name: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TrainingError(f"{name} must be given as a string, got {value!r}")


def parse_hyperparameters(raw: Mapping[str, str]) -> Hyperparameters:
    """Parse a training job's ``HyperParameters`` (strings) or raise TrainingError."""
    for name in REQUIRED:
        if name not in raw:
            raise TrainingError(f"Missing required hyperparameter: {name}")
    values = {
        name: parser(name, _text(name, raw[name]))
        for name, parser in _PARSERS.items()
        if name in raw
    }
    ignored = tuple(sorted(name for name in raw if name not in _PARSERS))
    return Hyperparameters(**values, ignored=ignored)  # type: ignore[arg-type]


# --- Data checks ----------------------------------------------------------------------------------


def _check_labels(channel: str, labels: Sequence[int], num_classes: int) -> None:
    for index, label in enumerate(labels):
        number = isinstance(label, int | float | np.integer | np.floating)
        whole = number and not isinstance(label, bool) and float(label).is_integer()
        if not whole or not 0 <= label < num_classes:
            raise TrainingError(
                f"Record {index} of the {channel} channel has label {label!r}, but labels must "
                f"be whole numbers from 0 to num_classes - 1 = {num_classes - 1}; fix the label "
                f"or set num_classes to the number of classes in the data"
            )


def check_data(
    hp: Hyperparameters, train_labels: Sequence[int], validation_labels: Sequence[int]
) -> None:
    """Raise TrainingError if the train/validation labels disagree with the hyperparameters."""
    if hp.num_training_samples != len(train_labels):
        raise TrainingError(
            f"num_training_samples is {hp.num_training_samples} but the train channel has "
            f"{len(train_labels)} records; set num_training_samples to {len(train_labels)}"
        )
    if not validation_labels:
        raise TrainingError(
            "The validation channel has no records; give it at least 1 labelled image"
        )
    _check_labels("train", train_labels, hp.num_classes)
    _check_labels("validation", validation_labels, hp.num_classes)


# --- Features -------------------------------------------------------------------------------------


def _decode(data: bytes, size: int) -> Image.Image:
    """Return the picture as RGB, shrunk to ``size`` x ``size`` (aspect ratio not kept)."""
    with Image.open(io.BytesIO(data)) as img:
        img.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, much faster
        rgb = img.convert("RGB")
    return rgb.resize((size, size), Image.Resampling.BOX)


def _array(img: Image.Image) -> np.ndarray:
    return np.asarray(img, dtype=np.float64) / 255.0


def _box_blur(a: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the (2 radius + 1)-pixel square around each pixel, edges repeated."""
    k = 2 * radius + 1
    padded = np.pad(a, radius, mode="edge")
    s = np.pad(padded, ((1, 0), (1, 0))).cumsum(axis=0).cumsum(axis=1)
    return (s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]) / (k * k)


def _dilate(mask: np.ndarray, size: int) -> np.ndarray:
    grown = Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(size))
    return np.asarray(grown) > 127


def _foreground(small: Image.Image) -> np.ndarray:
    """Guess which pixels show the object(s) rather than the background.

    The pictures put their subject on a background that reaches the border (sky and ground,
    a wall and a floor, a gradient, a texture), so a pixel is background if its colour is close
    to the border colour at either end of its row or of its column.
    """
    rgb = _array(small.filter(ImageFilter.BoxBlur(1)))  # smooths grain and JPEG noise
    b = _BORDER
    ends = (
        rgb[:, :b].mean(axis=1)[:, None],
        rgb[:, -b:].mean(axis=1)[:, None],
        rgb[:b].mean(axis=0)[None],
        rgb[-b:].mean(axis=0)[None],
    )
    distance = np.min([np.linalg.norm(rgb - end, axis=2) for end in ends], axis=0)
    return distance > _FOREGROUND_DISTANCE


def _object_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Return (left, top, right, bottom) around most of the foreground, the whole if none."""
    side = mask.shape[0]
    if mask.sum() < 8:
        return 0, 0, side, side
    ys, xs = np.nonzero(mask)
    y0, y1 = np.percentile(ys, (2, 98))
    x0, x1 = np.percentile(xs, (2, 98))
    pad_y, pad_x = (y1 - y0 + 1) * 0.08, (x1 - x0 + 1) * 0.08
    return (
        max(0, int(x0 - pad_x)),
        max(0, int(y0 - pad_y)),
        min(side, math.ceil(x1 + pad_x) + 1),
        min(side, math.ceil(y1 + pad_y) + 1),
    )


def _colour_codes(rgb: np.ndarray) -> np.ndarray:
    """Return each pixel's joint RGB bin (``_COLOUR_LEVELS`` levels per channel)."""
    levels = np.minimum((rgb * _COLOUR_LEVELS).astype(np.intp), _COLOUR_LEVELS - 1)
    return (levels[..., 0] * _COLOUR_LEVELS + levels[..., 1]) * _COLOUR_LEVELS + levels[..., 2]


def _cell_index(side: int, cells: int) -> np.ndarray:
    """Return, for a side x side picture, the index of each pixel's cell in a cells x cells grid."""
    cell_of = np.arange(side) * cells // side
    return cell_of[:, None] * cells + cell_of[None, :]


def _colour_histograms(rgb: np.ndarray) -> np.ndarray:
    """Colour histograms of the whole, the centre and the strongest 8x8-pixel cell.

    The max over cells says "some small patch is mostly this colour" wherever the object is.
    """
    codes = _colour_codes(rgb)
    bins, side = _COLOUR_LEVELS**3, rgb.shape[0]
    q, cells = side // 4, side // 8
    whole = np.bincount(codes.ravel(), minlength=bins) / codes.size
    centre_codes = codes[q:-q, q:-q]
    centre = np.bincount(centre_codes.ravel(), minlength=bins) / centre_codes.size
    per_cell = np.bincount(
        (_cell_index(side, cells) * bins + codes).ravel(), minlength=cells * cells * bins
    ).reshape(cells * cells, bins)
    strongest = per_cell.max(axis=0) / (codes.size / (cells * cells))
    return np.sqrt(np.concatenate([whole, centre, strongest]))


def _hue_histogram(rgb: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted histogram of hue (light or dark) for coloured pixels, grey level for the rest."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    high, low = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    chroma = high - low
    safe = np.where(chroma > 1e-6, chroma, 1.0)
    hue = np.where(
        high == r, ((g - b) / safe) % 6, np.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4)
    )
    hue_bin = np.minimum((hue * (_HUES / 6)).astype(np.intp), _HUES - 1)
    grey_bin = 2 * _HUES + np.minimum((high * 4).astype(np.intp), 3)
    codes = np.where(chroma > 0.25, hue_bin * 2 + (high > 0.55), grey_bin)
    hist = np.bincount(codes.ravel(), weights=weights.ravel(), minlength=2 * _HUES + 4)
    return np.sqrt(hist / (weights.sum() + 1e-6))


def _derivatives(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the central differences along x and y (zero on the outermost pixels)."""
    gx = np.zeros_like(image)
    gy = np.zeros_like(image)
    gx[:, 1:-1] = image[:, 2:] - image[:, :-2]
    gy[1:-1, :] = image[2:, :] - image[:-2, :]
    return gx, gy


def _colour_gradients(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the gradient of the colour channel that changes most (as HOG does).

    Returns its magnitude and unsigned orientation (radians in [0, pi)).
    """
    gx, gy = _derivatives(rgb)
    squared = gx * gx + gy * gy
    strongest = np.argmax(squared, axis=2)[..., None]

    def pick(values: np.ndarray) -> np.ndarray:
        return np.take_along_axis(values, strongest, 2)[..., 0]

    return np.sqrt(pick(squared)), np.arctan2(pick(gy), pick(gx)) % np.pi


def _orientation_histograms(magnitude: np.ndarray, angle: np.ndarray, cells: int) -> np.ndarray:
    """HOG-like: a magnitude-weighted orientation histogram per cell of a cells x cells grid."""
    cell = _cell_index(magnitude.shape[0], cells)
    orientation = np.minimum((angle * (_ORIENTATIONS / np.pi)).astype(np.intp), _ORIENTATIONS - 1)
    hist = np.bincount(
        (cell * _ORIENTATIONS + orientation).ravel(),
        weights=magnitude.ravel(),
        minlength=cells * cells * _ORIENTATIONS,
    ).reshape(cells * cells, _ORIENTATIONS)
    norms = np.linalg.norm(hist, axis=1, keepdims=True)
    hist = hist / (norms + 0.1 * norms.mean() + 1e-6)  # flat cells stay small, not noisy
    return np.sqrt(hist).ravel()


def _coherence(gray: np.ndarray, near: np.ndarray) -> np.ndarray:
    """Histograms of how one-directional the edges near the object are, at two scales.

    From the structure tensor: straight edges and stripes score near 1, corners, round
    outlines and noise lower; each pixel counts with its edge energy.
    """
    gx, gy = _derivatives(gray)
    out = []
    for radius in (2, 4):
        jxx, jyy, jxy = (_box_blur(p, radius) for p in (gx * gx, gy * gy, gx * gy))
        energy = jxx + jyy
        coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / (energy + 1e-6)
        levels = np.minimum((coherence * _COHERENCE_BINS).astype(np.intp), _COHERENCE_BINS - 1)
        hist = np.bincount(levels.ravel(), (energy * near).ravel(), minlength=_COHERENCE_BINS)
        out.append(np.sqrt(hist / (hist.sum() + 1e-9)))
    return np.concatenate(out)


def _thin_lines(rgb: np.ndarray) -> np.ndarray:
    """How much of the picture is thin straight strokes (necks, strings, sticks, legs, tubes).

    A pixel is on a stroke in a direction if it is brighter (or darker) than the pixels two
    steps to both sides, and stays so for two steps both ways along the direction.
    """
    channels = np.ascontiguousarray(rgb.transpose(2, 0, 1))  # max over channels is then fast
    side = rgb.shape[0]
    padded = np.pad(channels, ((0, 0), (4, 4), (4, 4)), mode="edge")

    def moved(image: np.ndarray, dy: int, dx: int) -> np.ndarray:  # image[..., y + dy, x + dx]
        return image[..., 4 + dy : 4 + dy + side, 4 + dx : 4 + dx + side]

    responses = []
    for ly, lx in _LINE_DIRECTIONS:
        py, px = 2 * lx, -2 * ly  # two steps across the stroke
        left, right = moved(padded, py, px), moved(padded, -py, -px)
        bright = np.minimum(channels - left, channels - right).max(axis=0)
        dark = np.minimum(left - channels, right - channels).max(axis=0)
        stroke = np.pad(np.maximum(np.maximum(bright, dark), 0.0), 4, mode="edge")
        ahead = moved(stroke, ly, lx) + moved(stroke, 2 * ly, 2 * lx)
        behind = moved(stroke, -ly, -lx) + moved(stroke, -2 * ly, -2 * lx)
        responses.append(np.minimum(ahead, behind) / 2)
    per_direction = np.stack(responses)
    strongest = per_direction.max(axis=0)
    shares = np.sort(per_direction.reshape(len(_LINE_DIRECTIONS), -1).mean(axis=1))[::-1]
    return np.sqrt(
        np.concatenate(
            [
                [np.mean(strongest > t) for t in (0.05, 0.1, 0.2, 0.3)],
                shares / (shares.sum() + 1e-9),  # sorted: the same for any rotation
                [strongest.mean(), np.quantile(strongest, 0.99)],
            ]
        )
    )


def _uniform_pattern_table() -> np.ndarray:
    """Map the 256 8-bit LBP codes to 59 bins: one per uniform pattern, one for all others."""
    table = np.full(256, _LBP_BINS - 1, dtype=np.intp)
    uniform = [c for c in range(256) if bin(c ^ ((c >> 1) | ((c & 1) << 7))).count("1") <= 2]
    table[uniform] = np.arange(len(uniform))
    table.setflags(write=False)
    return table


_UNIFORM_PATTERNS = _uniform_pattern_table()


def _lbp_histogram(gray: np.ndarray) -> np.ndarray:
    """Histogram of uniform 8-neighbour local binary patterns: the texture's fine structure."""
    centre = gray[1:-1, 1:-1] + 0.02  # small margin: sensor noise does not flip bits
    codes = np.zeros(centre.shape, dtype=np.intp)
    h, w = gray.shape
    offsets = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
    for bit, (dy, dx) in enumerate(offsets):
        neighbour = gray[1 + dy : h - 1 + dy, 1 + dx : w - 1 + dx]
        codes |= (neighbour >= centre).astype(np.intp) << bit
    patterns = _UNIFORM_PATTERNS[codes]
    return np.sqrt(np.bincount(patterns.ravel(), minlength=_LBP_BINS) / patterns.size)


def _energy(magnitude: np.ndarray) -> np.ndarray:
    """Mean gradient energy of each cell of a 4x4 grid: where the picture is busy."""
    q = magnitude.shape[0] // 4
    return np.sqrt(magnitude.reshape(4, q, 4, q).mean(axis=(1, 3))).ravel()


def _gray(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114])


def _feature_groups(big: Image.Image) -> list[np.ndarray]:
    """Return the parts of a picture's feature vector, in :data:`FEATURE_GROUPS` order."""
    small = big.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX)
    rgb, big_gray = _array(small), _gray(_array(big))
    mask = _foreground(small)
    scale = TEXTURE_SIZE // IMAGE_SIZE
    box = tuple(scale * v for v in _object_box(mask))
    crop = _array(big.crop(box).resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX))
    crop_magnitude, crop_angle = _colour_gradients(crop)
    near = _dilate(mask, 3)
    return [
        _orientation_histograms(*_colour_gradients(rgb), 4),
        _lbp_histogram(big_gray),
        _energy(np.hypot(*_derivatives(big_gray))),
        _hue_histogram(rgb, mask.astype(np.float64)),
        _coherence(_gray(rgb), near),
        _thin_lines(rgb),
        _colour_histograms(crop),
        _orientation_histograms(crop_magnitude, crop_angle, 4),
        _orientation_histograms(crop_magnitude, crop_angle, 2),
        _lbp_histogram(_gray(crop)),
    ]


def image_features(data: bytes) -> np.ndarray:
    """Return the feature vector of one JPEG/PNG picture (see :data:`FEATURE_GROUPS`)."""
    return np.concatenate(_feature_groups(_decode(data, TEXTURE_SIZE)))


def extract_features(images: Sequence[bytes], channel: str = "input") -> np.ndarray:
    """Return one feature row per picture; raise TrainingError naming any unreadable picture.

    Many pictures (:data:`PARALLEL_MIN` or more) are shared out among the machine's cores, in
    chunks, as a data loader's workers would; the rows are the same either way.
    """
    workers = min(os.cpu_count() or 1, MAX_PROCESSES)
    if len(images) < PARALLEL_MIN or workers < 2:
        return _features_of(images, channel, 0)
    size = -(-len(images) // (workers * 4))
    starts = range(0, len(images), size)
    context = multiprocessing.get_context("spawn")  # no fork of a process that has threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        parts = pool.map(
            _features_of,
            [images[i : i + size] for i in starts],
            [channel] * len(starts),
            starts,
        )
        return np.concatenate(list(parts))


def _features_of(images: Sequence[bytes], channel: str, first: int) -> np.ndarray:
    """The feature rows of consecutive pictures, the first being record number `first`."""
    rows = [np.zeros((0, FEATURE_SIZE))]
    for index, data in enumerate(images, start=first):
        try:
            rows.append(image_features(data)[None, :])
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
            raise TrainingError(
                f"Record {index} of the {channel} channel is not a readable JPEG or PNG image "
                f"({exc}); remove it or replace it"
            ) from exc
    return np.concatenate(rows)


# --- Model ----------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Model:
    """A trained classifier: feature standardisation plus softmax weights."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: np.ndarray

    @property
    def num_classes(self) -> int:
        """Return the number of classes the model scores."""
        return int(self.bias.shape[0])

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Return the logits of raw feature rows."""
        return ((features - self.mean) * self.scale) @ self.weights + self.bias

    def probabilities(self, images: Sequence[bytes]) -> np.ndarray:
        """Return one row of class probabilities per picture (as the algorithm's endpoint does)."""
        return _softmax(self.scores(extract_features(images)))

    def feature_probabilities(self, features: np.ndarray) -> np.ndarray:
        """Return one row of class probabilities per row of raw features."""
        return _softmax(self.scores(features))

    def predict(self, images: Sequence[bytes]) -> list[int]:
        """Return the most likely class index of each picture."""
        return [int(k) for k in np.argmax(self.scores(extract_features(images)), axis=1)]


def image_probabilities(model: Model, data: bytes) -> list[float]:
    """Return one picture's class probabilities in class index order (the endpoint's answer).

    A picture that cannot be decoded raises TrainingError ("Unable to decode the image: ...").
    """
    try:
        features = image_features(data)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise TrainingError(f"Unable to decode the image: {exc}") from exc
    return [float(p) for p in _softmax(model.scores(features[None, :]))[0]]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _standardiser(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (mean, scale) making train features zero-mean with rows of about unit length.

    Each part of :data:`FEATURE_GROUPS` is scaled as a whole to the same share of that length,
    so a histogram's rare bins are not blown up to the weight of its common ones: with a few
    dozen pictures, scaling each feature to unit variance lets the model fit noise in rare bins
    (on the demo data it cost about 2 points of validation accuracy).
    """
    mean = features.mean(axis=0)
    scale = np.ones(features.shape[1])
    start = 0
    for _, size in FEATURE_GROUPS:
        part = features[:, start : start + size] - mean[start : start + size]
        spread = math.sqrt(float(np.mean(np.sum(part * part, axis=1))))
        spread = spread if spread > 1e-8 else 1.0  # constant in training: leave it be
        scale[start : start + size] = 1.0 / (spread * math.sqrt(len(FEATURE_GROUPS)))
        start += size
    return mean, scale


# --- Optimisers (MXNet's update rules) ------------------------------------------------------------


class _Optimizer:
    """One optimiser's per-parameter state; ``step`` updates the parameters in place."""

    def __init__(self, hp: Hyperparameters, params: Sequence[np.ndarray]) -> None:
        self.hp = hp
        self.first = [np.zeros_like(p) for p in params]
        self.second = [np.zeros_like(p) for p in params]
        self.updates = 0

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], lr: float) -> None:
        """Apply one update with learning rate ``lr``."""
        self.updates += 1
        rule = getattr(self, f"_{self.hp.optimizer}")
        for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
            rule(param, grad, i, lr)

    def _sgd(self, param: np.ndarray, grad: np.ndarray, i: int, lr: float) -> None:
        mom = self.first[i]
        mom *= self.hp.momentum
        mom -= lr * (grad + self.hp.weight_decay * param)
        param += mom

    def _nag(self, param: np.ndarray, grad: np.ndarray, i: int, lr: float) -> None:
        grad = grad + self.hp.weight_decay * param
        mom = self.first[i]
        mom *= self.hp.momentum
        mom += grad
        param -= lr * (grad + self.hp.momentum * mom)

    def _adam(self, param: np.ndarray, grad: np.ndarray, i: int, lr: float) -> None:
        hp, t = self.hp, self.updates
        m, v = self.first[i], self.second[i]
        m *= hp.beta_1
        m += (1 - hp.beta_1) * grad
        v *= hp.beta_2
        v += (1 - hp.beta_2) * grad * grad
        lr_t = lr * math.sqrt(1 - hp.beta_2**t) / (1 - hp.beta_1**t)
        param -= lr_t * m / (np.sqrt(v) + hp.eps)

    def _rmsprop(self, param: np.ndarray, grad: np.ndarray, i: int, lr: float) -> None:
        n = self.second[i]
        n *= self.hp.gamma
        n += (1 - self.hp.gamma) * grad * grad
        param -= lr * grad / np.sqrt(n + self.hp.eps)


# --- Training -------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TrainingResult:
    """What a training run produced: per-epoch accuracies and the final model."""

    train_accuracies: tuple[float, ...]
    validation_accuracies: tuple[float, ...]
    model: Model

    @property
    def train_accuracy(self) -> float:
        """Return the training accuracy of the last epoch run."""
        return self.train_accuracies[-1]

    @property
    def validation_accuracy(self) -> float:
        """Return the validation accuracy of the model after the last epoch run."""
        return self.validation_accuracies[-1]


def _run_epoch(
    x: np.ndarray,
    y: np.ndarray,
    params: Sequence[np.ndarray],
    opt: _Optimizer,
    lr: float,
    order: np.ndarray,
    batch: int,
) -> float:
    """Run one pass of mini-batch updates; return the accuracy seen on the batches (as MXNet)."""
    weights, bias = params
    correct = 0
    for start in range(0, len(order), batch):
        idx = order[start : start + batch]
        probs = _softmax(x[idx] @ weights + bias)
        correct += int(np.sum(np.argmax(probs, axis=1) == y[idx]))
        probs[np.arange(len(idx)), y[idx]] -= 1.0
        probs /= len(idx)
        opt.step(params, (x[idx].T @ probs, probs.sum(axis=0)), lr)
    return correct / len(order)


def _should_stop(hp: Hyperparameters, history: Sequence[float]) -> bool:
    """Early stopping: no relative validation gain above the tolerance for ``patience`` epochs."""
    patience = hp.early_stopping_patience
    if not hp.early_stopping or len(history) < hp.early_stopping_min_epochs:
        return False
    if len(history) <= patience:
        return False
    best_before, recent = max(history[:-patience]), max(history[-patience:])
    return recent - best_before <= hp.early_stopping_tolerance * best_before


def _log_setup(hp: Hyperparameters, n_train: int, n_val: int, log: Callable[[str], None]) -> None:
    channels, height, width = hp.image_shape
    log(f"Training on {n_train} records, {n_val} validation records, {hp.num_classes} classes")
    log(
        f"Local mode: a softmax classifier on colour, shape and texture features of the picture "
        f"and of its foreground object ({IMAGE_SIZE}x{IMAGE_SIZE} pixels) stands in for "
        f"ResNet-{hp.num_layers} "
        f"(image_shape {channels},{height},{width} is checked, not used)"
    )
    log(
        f"Hyperparameters: epochs={hp.epochs}, learning_rate={hp.learning_rate:g}, "
        f"mini_batch_size={hp.mini_batch_size}, optimizer={hp.optimizer}, "
        f"momentum={hp.momentum:g}, weight_decay={hp.weight_decay:g}"
    )
    if hp.use_pretrained_model:
        log("use_pretrained_model=1: local mode has no pretrained weights; training from scratch")
    if hp.augmentation_type:
        log(f"augmentation_type={hp.augmentation_type} is not applied in local mode")
    if hp.ignored:
        log(f"Hyperparameters not used in local mode: {', '.join(hp.ignored)}")


def train(
    hp: Hyperparameters,
    train: Sequence[tuple[bytes, int]],
    validation: Sequence[tuple[bytes, int]],
    log: Callable[[str], None],
    seed: int = 0,
) -> TrainingResult:
    """Train the stand-in classifier on (image bytes, class index) records, logging as MXNet does.

    ``image_shape`` and ``resize`` are validated but pictures are always shrunk to
    :data:`IMAGE_SIZE` square; ``num_layers`` only names the network in the log.
    """
    check_data(hp, [label for _, label in train], [label for _, label in validation])
    _log_setup(hp, len(train), len(validation), log)
    started = time.perf_counter()
    x_raw = extract_features([data for data, _ in train], "train")
    v_raw = extract_features([data for data, _ in validation], "validation")
    log(f"Extracted {x_raw.shape[1]} features per image in {time.perf_counter() - started:.2f}s")
    y = np.array([int(label) for _, label in train], dtype=np.intp)
    v_y = np.array([int(label) for _, label in validation], dtype=np.intp)
    return train_features(hp, (x_raw, y), (v_raw, v_y), log, seed)


def train_features(
    hp: Hyperparameters,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    log: Callable[[str], None],
    seed: int = 0,
) -> TrainingResult:
    """Train on feature rows already extracted ((features, class indices) per channel)."""
    (x_raw, y), (v_raw, v_y) = train, validation
    mean, scale = _standardiser(x_raw)
    x, v = (x_raw - mean) * scale, (v_raw - mean) * scale
    params = (np.zeros((x.shape[1], hp.num_classes)), np.zeros(hp.num_classes))
    opt = _Optimizer(hp, params)
    rng = np.random.default_rng(seed)
    train_acc: list[float] = []
    val_acc: list[float] = []
    for epoch in range(hp.epochs):
        tick = time.perf_counter()
        lr = hp.learning_rate_at(epoch) * (_LR_SCALE if hp.optimizer in ("sgd", "nag") else 1.0)
        order = rng.permutation(len(y))
        train_acc.append(_run_epoch(x, y, params, opt, lr, order, hp.mini_batch_size))
        log(f"Epoch[{epoch}] Train-accuracy={train_acc[-1]:.6f}")
        log(f"Epoch[{epoch}] Time cost={time.perf_counter() - tick:.3f}")
        predicted = np.argmax(v @ params[0] + params[1], axis=1)
        val_acc.append(float(np.mean(predicted == v_y)))
        log(f"Epoch[{epoch}] Validation-accuracy={val_acc[-1]:.6f}")
        if _should_stop(hp, val_acc):
            log(f"Early stopping after epoch {epoch}: validation accuracy stopped improving")
            break
    model = Model(mean=mean, scale=scale, weights=params[0], bias=params[1])
    return TrainingResult(tuple(train_acc), tuple(val_acc), model)


# --- model.tar.gz ---------------------------------------------------------------------------------


def _npz_bytes(model: Model) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{name: np.asarray(getattr(model, name), np.float64) for name in WEIGHT_ARRAYS})
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _json(value: object) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


def model_archive(result: TrainingResult, hp: Hyperparameters) -> bytes:
    """Return the bytes of ``model.tar.gz``: weights as ``.npz`` plus JSON descriptions."""
    model = result.model
    channels, height, width = hp.image_shape
    info = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "image_size": IMAGE_SIZE,
        "texture_size": TEXTURE_SIZE,
        "num_features": int(model.weights.shape[0]),
        "num_classes": model.num_classes,
        "weights": WEIGHTS_FILE,
        "train_accuracy": result.train_accuracy,
        "validation_accuracy": result.validation_accuracy,
        "epochs_run": len(result.train_accuracies),
    }
    buf = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as packed,  # same model, same bytes
        tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        _add(tar, INFO_FILE, _json(info))
        _add(tar, SHAPES_FILE, _json([{"shape": [1, channels, height, width], "name": "data"}]))
        _add(tar, HYPERPARAMS_FILE, _json(dataclasses.asdict(hp)))
        _add(tar, WEIGHTS_FILE, _npz_bytes(model))
    return buf.getvalue()


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    try:
        member = tar.getmember(name)
    except KeyError:
        raise TrainingError(f"model archive has no {name}") from None
    handle = tar.extractfile(member) if member.isfile() else None
    if handle is None or member.size > _ARCHIVE_LIMIT:
        raise TrainingError(f"model archive member {name} is not a regular file of sane size")
    return handle.read()


def _load_weights(data: bytes) -> dict[str, np.ndarray]:
    """Return the weight arrays of ``model.npz`` (never unpickling anything)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        missing = [name for name in WEIGHT_ARRAYS if name not in npz.files]
        if missing:
            raise TrainingError(f"model archive weights lack {', '.join(missing)}")
        return {name: np.asarray(npz[name], dtype=np.float64) for name in WEIGHT_ARRAYS}


def _read_archive(archive: bytes) -> dict[str, np.ndarray]:
    """Check ``model-info.json`` and return the weight arrays of a model archive."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        info = json.loads(_member(tar, INFO_FILE))
        if (
            not isinstance(info, dict)
            or info.get("format") != MODEL_FORMAT
            or info.get("version") != MODEL_VERSION
        ):
            raise TrainingError(
                f"model archive is not a local-mode image classifier ({MODEL_FORMAT} "
                f"version {MODEL_VERSION}); retrain it with this version of the walkthrough"
            )
        return _load_weights(_member(tar, WEIGHTS_FILE))


def load_model(archive: bytes) -> Model:
    """Read a model back from the bytes of a ``model.tar.gz`` made by :func:`model_archive`."""
    try:
        arrays = _read_archive(archive)
    except TrainingError:
        raise
    except (tarfile.TarError, OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        raise TrainingError(f"cannot read the model archive: {exc}") from exc
    model = Model(**arrays)
    features, classes = model.weights.shape if model.weights.ndim == 2 else (0, 0)
    shapes = (model.mean.shape, model.scale.shape, model.bias.shape)
    if features != FEATURE_SIZE or shapes != ((features,), (features,), (classes,)):
        raise TrainingError("model archive weights have shapes this version cannot use")
    return model
