"""Synthetic photos of one coloured shape on a neutral background.

The toy SigLIP checkpoint is trained on these images (``scripts/train_toy_siglip.py``), and
tests and benchmarks use them as "family photos" whose true content is known, so retrieval
and calibration can be asserted without downloading anything.

Backgrounds are deliberately desaturated (greys with a faint tint, a gradient and a little
noise) so the only saturated colour in a picture is the shape's: "red" always means the shape.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageDraw

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "green": (40, 165, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 210, 40),
    "purple": (140, 55, 185),
    "orange": (245, 135, 25),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")

_SUPERSAMPLE = 2  # draw at 2x and downscale: cheap anti-aliasing, so edges look photographic
_COLOUR_JITTER = 18  # per channel, small enough that no colour drifts into its neighbour


def _neutral(rng: random.Random) -> np.ndarray:
    grey = rng.uniform(35, 225)
    return np.array([grey + rng.uniform(-12, 12) for _ in range(3)], dtype=np.float32)


def _background(size: int, rng: random.Random) -> np.ndarray:
    """A gradient between two neutral tones in a random direction, as an (size, size, 3) array."""
    start, end = _neutral(rng), _neutral(rng)
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    t = (xs - 0.5) * math.cos(angle) + (ys - 0.5) * math.sin(angle) + 0.5
    t = np.clip(t, 0.0, 1.0)[..., None]
    return start * (1 - t) + end * t


def _polygon(shape: str, cx: float, cy: float, radius: float, rng: random.Random) -> list[tuple[float, float]]:
    if shape == "square":
        # Small tilts only: a square turned 45 degrees reads as a diamond.
        rotation, corners, radius = math.radians(45 + rng.uniform(-10, 10)), 4, radius * 0.95
    else:
        rotation, corners = math.radians(-90 + rng.uniform(-15, 15)), 3
    return [
        (cx + radius * math.cos(rotation + 2 * math.pi * k / corners),
         cy + radius * math.sin(rotation + 2 * math.pi * k / corners))
        for k in range(corners)
    ]


def draw_shape(colour: str, shape: str, *, size: int = 224, rng: random.Random) -> Image.Image:
    """Draw one ``colour`` ``shape`` with random position, size, tint and background.

    ``rng`` is required so every caller decides its own reproducibility (training, held-out
    test sets and benchmarks use different seeds).
    """
    if colour not in COLOURS:
        raise ValueError(f"unknown colour {colour!r}; known: {', '.join(COLOURS)}")
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")

    big = size * _SUPERSAMPLE
    canvas = Image.fromarray(np.clip(_background(big, rng), 0, 255).astype(np.uint8))
    radius = rng.uniform(0.2, 0.38) * big
    cx, cy = (rng.uniform(radius, big - radius) for _ in range(2))
    fill = tuple(int(np.clip(c + rng.uniform(-_COLOUR_JITTER, _COLOUR_JITTER), 0, 255)) for c in COLOURS[colour])

    draw = ImageDraw.Draw(canvas)
    if shape == "circle":
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
    else:
        draw.polygon(_polygon(shape, cx, cy, radius, rng), fill=fill)

    pixels = np.asarray(canvas.resize((size, size), Image.Resampling.LANCZOS), dtype=np.float32)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(0, 6), pixels.shape)
    return Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))


def labelled_images(per_pair: int, *, seed: int, size: int = 224) -> Iterator[tuple[Image.Image, str, str]]:
    """Yield ``(image, colour, shape)`` for every colour/shape pair, ``per_pair`` times each."""
    rng = random.Random(seed)
    for colour in COLOURS:
        for shape in SHAPES:
            for _ in range(per_pair):
                yield draw_shape(colour, shape, size=size, rng=rng), colour, shape
