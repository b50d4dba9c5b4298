"""Reading text in photos: rapidocr's PP-OCRv4 detection, recognition and orientation models (inside its wheel),
on CPU through onnxruntime, offline. One reader per process, loaded on first use (about 0.7 s)."""

from __future__ import annotations

import threading

import numpy as np
from PIL import Image

_reader = None
_lock = threading.Lock()

# CJK letters that are drawn as a plain shape, which the recogniser reads a square, a frame or a ring as (a square
# as "口", "mouth", at confidence 0.6-0.8): alone on a line they are a shape, not text. (In words, "出口", they stay.)
SHAPE_GLYPHS = frozenset("口囗ロ〇 ")

# The recogniser scales an image up until its short side is 30 pixels, pads one wider than 8:1 to a quarter of its
# width, then scales its short side up to 736: a 1600×1 strip (a 65000×2 banner's display rendition) became
# 48000×12000, 15 GB. An image is read on a canvas at least 32 pixels and an eighth of its long side across (white,
# under and beside it: the lines' positions stay), which those steps never grow past 5888×736.
MAX_ASPECT = 8
MIN_SIDE = 32


def get_reader():
    """The process's RapidOCR reader (loaded once; onnxruntime sessions are safe to share between threads)."""
    global _reader
    if _reader is None:
        with _lock:
            if _reader is None:
                from rapidocr_onnxruntime import RapidOCR  # imports onnxruntime and OpenCV: only where OCR runs

                _reader = RapidOCR()
    return _reader


def read_text(image: Image.Image, *, min_confidence: float = 0.5) -> str:
    """The text lines found in the image, top to bottom, one per line; "" when there is none.

    Lines the recogniser is less sure of than `min_confidence` (0..1) are dropped: on photos without text it
    mostly "reads" textures, with low confidence. So are lines without a letter or digit: a plain square or
    triangle is read as "■" or "▼", surely, and says nothing a search could use; and lines of nothing but
    SHAPE_GLYPHS, the letters a square or ring is read as ("口")."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    result, _ = get_reader()(np.asarray(_padded(rgb)))
    lines = []
    for box, text, confidence in result or []:
        text = " ".join(str(text).split())
        if (float(confidence) >= min_confidence and any(char.isalnum() for char in text)
                and not set(text) <= SHAPE_GLYPHS):
            top = min(point[1] for point in box)
            left = min(point[0] for point in box)
            lines.append((top, left, text))
    lines.sort()
    return "\n".join(text for _, _, text in lines)


def _padded(image: Image.Image) -> Image.Image:
    """`image` on a white canvas no thinner than MIN_SIDE and than 1/MAX_ASPECT of its long side, at its top left."""
    width, height = image.size
    least = max(MIN_SIDE, -(-max(width, height) // MAX_ASPECT))
    if width >= least and height >= least:
        return image
    canvas = Image.new("RGB", (max(width, least), max(height, least)), "white")
    canvas.paste(image, (0, 0))
    return canvas
