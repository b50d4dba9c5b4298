"""Decoding and inspecting uploaded image bytes.

Everything here works on bytes already in memory and never trusts the file name:
the format is whatever Pillow finds when it decodes the data.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

import imagehash
from django.conf import settings
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

# Formats we keep, by the name Pillow gives the decoded data, and the MIME type we record.
ACCEPTED_FORMATS: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "TIFF": "image/tiff",
    "HEIF": "image/heif",
    "MPO": "image/jpeg",  # multi-picture JPEGs from some cameras/phones
}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif",
              "image/tiff": "tif", "image/heif": "heic"}

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
TAG_MAKE = 0x010F
TAG_MODEL = 0x0110
TAG_DATETIME = 0x0132
TAG_DATETIME_ORIGINAL = 0x9003


class ImageRejected(Exception):
    """The bytes are not an image we accept; the message is shown to the user as is."""


@dataclass
class ImageInfo:
    mime_type: str
    width: int
    height: int
    sha256: str
    phash: str
    thumbnail: bytes
    taken_at: datetime | None = None
    camera_make: str = ""
    camera_model: str = ""
    latitude: float | None = None
    longitude: float | None = None


def read_limited(stream: BinaryIO, *, max_bytes: int | None = None) -> bytes:
    """Read at most `max_bytes` (+1 to detect overflow) so a huge upload is refused, not buffered."""
    limit = max_bytes if max_bytes is not None else settings.UPLOAD_MAX_BYTES
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise ImageRejected(f"File is too large (over {human_size(limit)}).")
    return data


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def inspect_image(data: bytes) -> ImageInfo:
    """Validate and decode `data` fully; return what a stored photo keeps. Raises ImageRejected."""
    if not data:
        raise ImageRejected("The file is empty.")
    if len(data) > settings.UPLOAD_MAX_BYTES:
        raise ImageRejected(f"File is too large (over {human_size(settings.UPLOAD_MAX_BYTES)}).")
    max_pixels = settings.UPLOAD_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check only warns below 2x its limit; we enforce ours explicitly.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = image.format
            if fmt not in ACCEPTED_FORMATS:
                raise ImageRejected(f"{fmt or 'This'} images are not supported; use JPEG, PNG, WebP, GIF, TIFF or HEIC.")
            if image.width * image.height > max_pixels:
                raise ImageRejected(
                    f"Image is too large to decode safely ({image.width}×{image.height} pixels; "
                    f"the limit is {max_pixels:,} pixels)."
                )
            image.load()  # decodes every byte: truncated or corrupt data fails here
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise ImageRejected(f"Image is too large to decode safely (over {max_pixels:,} pixels).") from None
    except UnidentifiedImageError:
        raise ImageRejected("Not an image file we can read (JPEG, PNG, WebP, GIF, TIFF or HEIC expected).") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(f"The image data is damaged or incomplete ({_short(exc)}).") from None

    exif = image.getexif()
    upright = ImageOps.exif_transpose(image)
    make, model = _exif_text(exif, TAG_MAKE), _exif_text(exif, TAG_MODEL)
    latitude, longitude = _gps_position(exif)
    return ImageInfo(
        mime_type=ACCEPTED_FORMATS[fmt],
        width=upright.width,
        height=upright.height,
        sha256=sha256_of(data),
        phash=str(imagehash.phash(_rgb(upright))),
        thumbnail=make_thumbnail(upright),
        taken_at=_taken_at(exif),
        camera_make=make,
        camera_model=model,
        latitude=latitude,
        longitude=longitude,
    )


def make_thumbnail(upright: Image.Image) -> bytes:
    """A JPEG that fits in THUMBNAIL_SIZE², already rotated upright."""
    thumb = _rgb(upright.copy())
    thumb.thumbnail((settings.THUMBNAIL_SIZE, settings.THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text[:120]


def _exif_text(exif: Image.Exif, tag: int) -> str:
    value = exif.get(tag)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip("\x00 ").strip()[:100] if value else ""


def _taken_at(exif: Image.Exif) -> datetime | None:
    raw = exif.get_ifd(EXIF_IFD).get(TAG_DATETIME_ORIGINAL) or exif.get(TAG_DATETIME)
    if not raw:
        return None
    try:
        naive = datetime.strptime(str(raw).strip("\x00 ").strip(), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    # EXIF dates carry no zone; read them in the server's zone rather than pretending they are UTC.
    return timezone.make_aware(naive)


def _gps_position(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(GPS_IFD)
    try:
        lat = _dms_to_degrees(gps[2], gps[1])
        lon = _dms_to_degrees(gps[4], gps[3])
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return lat, lon


def _dms_to_degrees(dms, ref) -> float:
    degrees, minutes, seconds = (float(part) for part in dms)
    value = degrees + minutes / 60 + seconds / 3600
    if isinstance(ref, bytes):
        ref = ref.decode()
    return -value if str(ref).upper().startswith(("S", "W")) else value


def human_size(num_bytes: int) -> str:
    size = float(num_bytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{num_bytes} bytes"


def open_upright(path: str, *, max_side: int | None = None) -> Image.Image:
    """Decode a stored original as an upright RGB image, optionally shrunk so its longer side is about
    `max_side` (JPEG decodes directly at the reduced scale, which is most of the cost for big photos)."""
    with Image.open(path) as image:
        if max_side and image.format == "JPEG":
            image.draft("RGB", (max_side, max_side))
        image.load()
        upright = _rgb(ImageOps.exif_transpose(image))
    if max_side and max(upright.size) > 2 * max_side:
        upright.thumbnail((2 * max_side, 2 * max_side), Image.Resampling.BILINEAR)
    return upright
