"""Decoding and inspecting uploaded image bytes.

Nothing here trusts the file name: the format is whatever Pillow finds when it decodes the data.
Every decode is bounded in memory (check_decodable, decode_upright) and, for originals, takes one of
the decode slots shared by all processes (gallery.decode_slots).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import mimetypes
import warnings
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone as dt_timezone
from typing import BinaryIO

import imagehash
from django.conf import settings
from django.utils import timezone
from PIL import Image, ImageStat, UnidentifiedImageError

from gallery.decode_slots import DecodeSlotsBusy, decode_slot
from gallery.places import gps_position
from gallery.text import text_from_file
from gallery.timezones import offset_name

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
# Every extension that names each format (lower case): a download keeps the uploaded one when it is among these.
EXTENSION_ALIASES = {"image/jpeg": {"jpg", "jpeg", "jpe", "jfif"}, "image/png": {"png"}, "image/webp": {"webp"},
                     "image/gif": {"gif"}, "image/tiff": {"tif", "tiff"}, "image/heif": {"heic", "heif", "hif"}}


def names_an_image_format(extension: str) -> bool:
    """Whether a file name's extension (lower case, no dot) says it is an image, of a format we read or not."""
    if any(extension in aliases for aliases in EXTENSION_ALIASES.values()):
        return True
    return (mimetypes.guess_type(f"x.{extension}")[0] or "").startswith("image/")


EXIF_IFD = 0x8769
GPS_IFD = 0x8825
TAG_MAKE = 0x010F
TAG_MODEL = 0x0110
TAG_DATETIME = 0x0132
TAG_DATETIME_ORIGINAL = 0x9003
TAG_OFFSET_TIME = 0x9010
TAG_OFFSET_TIME_ORIGINAL = 0x9011
TAG_GPS_TIME = 0x0007
TAG_GPS_DATE = 0x001D
# Pillow's names for the blocks (in image.info) that may hold XMP or IPTC, in formats where it finds them all.
_METADATA_INFO = ("xmp", "XML:com.adobe.xmp", "photoshop", "iptc", "Raw profile type iptc", "Raw profile type xmp")
_PILLOW_SEES_ALL = ("JPEG", "MPO", "PNG", "GIF")


class ImageRejected(Exception):
    """The bytes are not an image we accept; the message is shown to the user as is. `detail`: what the decoder
    itself said (for the log, never for the person)."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail

    def reason_for(self, filename: str) -> str:
        """The message about the file called `filename` (where the caller knows its name)."""
        return str(self)


class ImageIncomplete(ImageRejected):
    """The data ends before the picture does: a copy or download that was cut off."""

    def __init__(self, *, detail: str = "") -> None:
        super().__init__(INCOMPLETE + ": it ends before its picture does. " + INCOMPLETE_ADVICE, detail=detail)

    def reason_for(self, filename: str) -> str:
        return f"{INCOMPLETE}: {filename} ends before its picture does. {INCOMPLETE_ADVICE}"


# The words for a file whose data stops short (Pillow: "image file is truncated (N bytes not processed)").
INCOMPLETE = "The file is incomplete (cut off)"
INCOMPLETE_ADVICE = "A copy or download of it was probably interrupted: upload it again from the original."
DAMAGED = "The image data is damaged or incomplete: it could not be decoded. Upload it again from the original."
NOT_AN_IMAGE = "Not an image file we can read (JPEG, PNG, WebP, GIF, TIFF or HEIC expected)."
# What an archive's first bytes are (tar's "ustar" sits at byte 257), by the name people know the kind by.
ARCHIVE_SIGNATURES = ((0, b"PK\x03\x04", "ZIP"), (0, b"PK\x05\x06", "ZIP"), (0, b"PK\x07\x08", "ZIP"),
                      (0, b"7z\xbc\xaf\x27\x1c", "7-Zip"), (0, b"Rar!\x1a\x07", "RAR"), (257, b"ustar", "TAR"),
                      (0, b"\x1f\x8b", "gzip"), (0, b"BZh", "bzip2"), (0, b"\xfd7zXZ\x00", "xz"),
                      (0, b"\x28\xb5\x2f\xfd", "Zstandard"))
# Files inside a ZIP that make it a document (Office's .docx, OpenDocument, EPUB), not an archive of photos.
_DOCUMENT_MEMBERS = ("[Content_Types].xml", "mimetype")


def archive_kind(data: bytes) -> str:
    """The kind of archive `data` is ("ZIP", "TAR", "7-Zip", "RAR", "gzip", …), by its bytes; "" when it is none."""
    kind = next((name for offset, magic, name in ARCHIVE_SIGNATURES if data[offset:offset + len(magic)] == magic), "")
    if kind == "ZIP":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:  # reads the directory only
                if any(name in _DOCUMENT_MEMBERS for name in archive.namelist()):
                    return ""
        except (zipfile.BadZipFile, ValueError, OSError):
            pass  # a part cut off, or of a split archive: still what it says it is
    return kind


# ISO media files (ftyp at byte 4) whose brand is an image's (HEIC, HEIF, AVIF): any other brand is a video or sound
# (an iPhone's "qt  ", an Android phone's "mp42" or "isom", "3gp4"). Matroska/WebM and AVI are videos by their start.
_IMAGE_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"mif2",
                           b"msf1", b"avif", b"avis", b"avci", b"jpeg", b"jpgs"})
VIDEO_REFUSAL = "A video, not a photo: the gallery keeps photos only, so this file was not uploaded."


def is_a_video(data: bytes) -> bool:
    """Whether `data` starts as a video file does (MP4, MOV, 3GP, Matroska/WebM, AVI): a phone's picker hands its
    videos over with the photos."""
    if data[4:8] == b"ftyp":
        return data[8:12] not in _IMAGE_BRANDS
    return data[:4] == b"\x1a\x45\xdf\xa3" or (data[:4] == b"RIFF" and data[8:12] == b"AVI ")


def archive_refusal(kind: str) -> str:
    return (f"An archive ({kind}), not a photo: uploading does not open archives. Unpack it first (on most computers, "
            "double-click it) and upload the photos in it; a Google Photos export is better unpacked into one folder "
            "and imported (python manage.py import_photos, see the README's “Import a folder”), which also reads "
            "the dates, places and captions beside its photos.")
# Pillow refuses a PNG text chunk or colour profile that unpacks to more than PngImagePlugin.MAX_TEXT_CHUNK (1 MB) or
# text chunks over MAX_TEXT_MEMORY: a bomb guard, kept, but the picture itself is whole.
EMBEDDED_TOO_LARGE = ("The file's embedded text or colour profile is too large to read safely (over 1 MB unpacked; "
                      "an editor's metadata history can grow so): save or export the image again without its "
                      "metadata, then upload it.")
_PILLOW_TEXT_LIMITS = ("MAX_TEXT_CHUNK", "MAX_TEXT_MEMORY")


@dataclass
class ImageInfo:
    mime_type: str
    width: int
    height: int
    sha256: str
    phash: str
    mean_colour: str
    thumbnail: bytes
    display: bytes
    taken_at: datetime | None = None  # the EXIF date read in the server's zone (see taken_local)
    # The camera's wall-clock time and its offset when it wrote one ("+05:30", else "").
    taken_local: datetime | None = None
    taken_offset: str = ""
    # Whether that date is only EXIF DateTime, when the file was made or last changed (a scanner's, an editor's day),
    # for want of DateTimeOriginal: what Google Photos knew of the date taken (a Takeout sidecar's) comes first.
    taken_is_a_change: bool = False
    # The GPS receiver's date and time (GPSDateStamp, GPSTimeStamp: UTC), when the file has them.
    taken_utc: datetime | None = None
    # Whether the file may carry metadata beyond what Pillow reads (XMP, IPTC, EXIF text): worth asking exiv2.
    has_metadata: bool = True
    camera_make: str = ""
    camera_model: str = ""
    latitude: float | None = None
    longitude: float | None = None


def read_limited(stream: BinaryIO, *, max_bytes: int | None = None) -> bytes:
    """Read at most `max_bytes` (+1 to detect overflow) so a huge upload is refused, not buffered."""
    limit = max_bytes if max_bytes is not None else settings.UPLOAD_MAX_BYTES
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise ImageRejected(too_large(limit))
    return data


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def inspect_image(data: bytes) -> ImageInfo:
    """Validate and decode `data`; return what a stored photo keeps. Raises ImageRejected (ImageBusy when
    every decode slot stayed taken).

    One decode, at reduced scale where the format allows it and with bounded memory whatever the file
    (see decode_upright), gives the display rendition, the thumbnail and the perceptual hash."""
    if not data:
        raise ImageRejected("The file is empty.")
    if len(data) > settings.UPLOAD_MAX_BYTES:
        raise ImageRejected(too_large(settings.UPLOAD_MAX_BYTES))
    decoded = _decode(io.BytesIO(data), max_side=settings.DISPLAY_SIZE, slot=True)
    exif = decoded.exif
    make, model = _exif_text(exif, TAG_MAKE), _exif_text(exif, TAG_MODEL)
    latitude, longitude = _gps_position(exif)
    taken_local, taken_offset = _taken_local(exif)
    taken_utc = _gps_utc(exif)
    return ImageInfo(
        mime_type=ACCEPTED_FORMATS[decoded.format],
        width=decoded.width,
        height=decoded.height,
        sha256=sha256_of(data),
        phash=str(imagehash.phash(decoded.image)),
        mean_colour=mean_colour_of(decoded.image),
        thumbnail=make_thumbnail(decoded.image),
        display=encode_display(decoded.image),
        taken_at=timezone.make_aware(taken_local) if taken_local else None,
        taken_local=taken_local,
        taken_offset=taken_offset,
        taken_is_a_change=_is_a_change(exif, taken_local),
        taken_utc=taken_utc,
        has_metadata=bool(exif) or decoded.format not in _PILLOW_SEES_ALL or decoded.has_metadata_block,
        camera_make=make,
        camera_model=model,
        latitude=latitude,
        longitude=longitude,
    )


def decode_upright(stream: BinaryIO, *, max_side: int, slot: bool = True) -> Image.Image:
    """Decode an image file as an upright RGB image whose longer side is at most `max_side`, with bounded
    memory: the limits of check_decodable apply, JPEGs decode directly at reduced scale, and the full-size
    decode of other formats is shrunk strip by strip and freed before this returns.

    With `slot`, the decode waits for one of the DECODE_CONCURRENCY slots shared by every process (use it
    for originals; our own renditions are small). Raises ImageRejected."""
    return _decode(stream, max_side=max_side, slot=slot).image


def turned(upright: Image.Image, rotation: int) -> Image.Image:
    """The upright image turned `rotation` degrees clockwise (a member's correction: 0, 90, 180 or 270)."""
    transpose = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
    return upright.transpose(transpose[rotation % 360]) if rotation % 360 else upright


def encode_display(upright: Image.Image) -> bytes:
    """The display rendition: a JPEG (every browser shows it) within DISPLAY_SIZE², already upright."""
    return _jpeg(upright, settings.DISPLAY_SIZE, quality=85)


def mean_colour_of(image: Image.Image) -> str:
    """The picture's mean colour as "rrggbb" (hex, the file's own RGB numbers), stored beside the perceptual hash:
    the hash is taken of the grey picture, so every flat picture (a blank scan, a pocket shot, a red or a green
    square) has the same hash; their mean colours tell them apart (search.duplicate_finder)."""
    return "".join(f"{round(channel):02x}" for channel in ImageStat.Stat(_rgb(image)).mean[:3])


def make_thumbnail(upright: Image.Image) -> bytes:
    """A JPEG that fits in THUMBNAIL_SIZE², already rotated upright."""
    return _jpeg(upright, settings.THUMBNAIL_SIZE, quality=85)


def _jpeg(upright: Image.Image, side: int, *, quality: int) -> bytes:
    image = _rgb(upright)
    if max(image.size) > side:
        image = image.copy()
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # The original's RGB colour profile (decode_upright keeps it): browsers then show Adobe RGB or Display P3 photos in
    # their own colours, not as if their numbers were sRGB.
    image.save(out, "JPEG", quality=quality, optimize=True, icc_profile=upright.info.get(ICC_PROFILE))
    return out.getvalue()


ICC_PROFILE = "icc_profile"
_ICC_MAX_BYTES = 1 << 20  # a larger one is no camera's or phone's: the renditions go without


def _rgb_profile(image: Image.Image) -> bytes | None:
    """The image's ICC profile when it describes RGB colours (bytes 16-19 of its header name the colour space), for
    the RGB renditions: copied as it is, never interpreted. A CMYK or grey profile would garble an RGB image."""
    profile = image.info.get(ICC_PROFILE)
    if isinstance(profile, bytes) and 128 <= len(profile) <= _ICC_MAX_BYTES and profile[16:20] == b"RGB ":
        return profile
    return None


# --- bounded decoding ----------------------------------------------------------------------------

JPEG_FORMATS = ("JPEG", "MPO")
# Bytes per pixel of Pillow's own buffer for a decoded image of each mode (every other mode: 4).
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
# What a format's decoder holds beside Pillow's buffer while it decodes, in bytes per (decoded) pixel,
# measured with Pillow 13 / pillow-heif 1.8: libwebp's canvas and its copy, libheif's planes and RGB
# output, libtiff's RGBA strip reader. PNG and GIF decode row by row into Pillow's buffer.
_DECODER_BYTES = {"WEBP": 12, "HEIF": 3, "TIFF": 4}
# Strips of the full-size image are converted to RGB and reduced this many pixels at a time.
_STRIP_PIXELS = 1_000_000
ORIENTATION = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageBusy(ImageRejected):
    """Every decode slot stayed taken: nothing is wrong with the file, try again later."""


@dataclass
class _Decoded:
    image: Image.Image  # upright RGB, longer side at most the max_side asked for
    format: str
    width: int  # the full-size image's, upright
    height: int
    exif: Image.Exif
    has_metadata_block: bool = False  # Pillow saw an XMP or IPTC block


def max_pixels_for(fmt: str) -> int:
    """JPEGs decode at up to 1/8 scale, so their pixel limit can be far higher than other formats'."""
    return settings.UPLOAD_MAX_PIXELS_JPEG if fmt in JPEG_FORMATS else settings.UPLOAD_MAX_PIXELS


def decode_cost(image: Image.Image, *, full_size: tuple[int, int], max_side: int) -> int:
    """Bytes a decode of `image` (opened, not loaded; for a JPEG, after draft()) needs at its peak: the
    decoded buffer, what the format's decoder holds beside it, and our reduced working copies."""
    width, height = image.size
    pixels = width * height
    cost = pixels * (_MODE_BYTES.get(image.mode, 4) + _DECODER_BYTES.get(image.format, 0))
    if image.format in JPEG_FORMATS and image.info.get("progressive"):
        # A progressive JPEG keeps every DCT coefficient of the full-size image (2 bytes each) whatever
        # the scale it is decoded at.
        layers = getattr(image, "layer", None) or [(0, 1, 1, 0)]
        h_max, v_max = max(layer[1] for layer in layers) or 1, max(layer[2] for layer in layers) or 1
        full = full_size[0] * full_size[1]
        cost += sum(2 * full * layer[1] * layer[2] // (h_max * v_max) for layer in layers)
    factor = max(1, max(width, height) // max_side)
    reduced = -(-width // factor) * -(-height // factor)
    strip = min(pixels, _STRIP_PIXELS)
    return cost + 4 * (2 * reduced + 3 * strip)


# Scans a JPEG may have. libjpeg walks every block of the full-size image again for each scan (draft mode does not
# spare it), so a file of thousands of tiny scans decodes for minutes in a few hundred KB; encoders write one scan
# (baseline), about ten (progressive) or a few dozen (mozjpeg's searched scripts).
JPEG_MAX_SCANS = 100


def jpeg_scan_count(stream: BinaryIO, *, stop_after: int) -> int:
    """The scans (SOS segments) of the first image of a JPEG file, counted by walking its segments and, after each
    scan, its entropy-coded data to the next marker (as libjpeg reads them: a marker inside an APP segment is none);
    counting stops past `stop_after`. The stream is read in chunks and left where it was."""
    start = stream.tell()
    stream.seek(0)
    try:
        reader = _JpegReader(stream)
        if reader.read(2) != b"\xff\xd8":
            return 0
        scans = 0
        while scans <= stop_after and (marker := reader.next_marker()) not in (None, 0xD9):
            if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # (no length: restart markers, TEM)
                continue
            length = int.from_bytes(reader.read(2), "big")
            if length < 2:
                break
            reader.skip(length - 2)
            scans += marker == 0xDA
        return scans
    finally:
        stream.seek(start)


class _JpegReader:
    """A JPEG file read forward in chunks, for jpeg_scan_count."""

    CHUNK = 1 << 20

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.buffer, self.at = stream, b"", 0

    def _fill(self, wanted: int) -> bool:
        """At least `wanted` bytes from `at` in the buffer, if the file has them."""
        while len(self.buffer) - self.at < wanted:
            chunk = self.stream.read(self.CHUNK)
            if not chunk:
                return False
            self.buffer, self.at = self.buffer[self.at:] + chunk, 0
        return True

    def read(self, size: int) -> bytes:
        self._fill(size)
        data = self.buffer[self.at:self.at + size]
        self.at += len(data)
        return data

    def skip(self, size: int) -> None:
        while size > 0 and self._fill(1):
            step = min(size, len(self.buffer) - self.at)
            self.at, size = self.at + step, size - step

    def next_marker(self) -> int | None:
        """The code of the next marker (None at the end of the file): past entropy-coded data, whose 0xFF bytes are
        followed by 0x00 (stuffing) and whose restart markers are part of it, and past fill bytes."""
        while self._fill(2):
            found = self.buffer.find(b"\xff", self.at)
            if found < 0:
                self.at = len(self.buffer)
                continue
            self.at = found
            if not self._fill(2):
                return None
            code = self.buffer[self.at + 1]
            if code == 0xFF:  # a fill byte
                self.at += 1
            elif code == 0x00 or 0xD0 <= code <= 0xD7:
                self.at += 2
            else:
                self.at += 2
                return code
        return None


def check_decodable(image: Image.Image, *, max_side: int) -> None:
    """Refuse, before decoding anything, what we can't or won't decode: unknown formats, more pixels than
    the format's limit, or a decode that would need more than DECODE_MAX_MEMORY. JPEGs are set to decode
    at the smallest scale that still gives `max_side` (draft mode), which is what makes big ones cheap."""
    fmt = image.format
    if fmt not in ACCEPTED_FORMATS:
        raise ImageRejected(f"{fmt or 'This'} images are not supported; use JPEG, PNG, WebP, GIF, TIFF or HEIC.")
    full_size = image.size
    limit = max_pixels_for(fmt)
    if image.width * image.height > limit:
        raise ImageRejected(
            f"Image is too large to decode safely ({image.width}×{image.height} pixels; "
            f"the limit for {fmt} images is {limit:,} pixels)."
        )
    if fmt in JPEG_FORMATS:
        if jpeg_scan_count(image.fp, stop_after=JPEG_MAX_SCANS) > JPEG_MAX_SCANS:
            raise ImageRejected(f"This JPEG is made of more than {JPEG_MAX_SCANS} scans (a photo has a few, at most "
                                "a few dozen): decoding it would take minutes. Save it again from a photo program.")
        longest = max(full_size)
        image.draft("RGB", (max(1, full_size[0] * max_side // longest), max(1, full_size[1] * max_side // longest)))
    cost = decode_cost(image, full_size=full_size, max_side=max_side)
    if cost > settings.DECODE_MAX_MEMORY:
        raise ImageRejected(
            f"Image is too large to decode safely ({full_size[0]}×{full_size[1]} pixels of {fmt} would need about "
            f"{human_size(cost)} of memory; the limit is {human_size(settings.DECODE_MAX_MEMORY)})."
        )


def _decode(stream: BinaryIO, *, max_side: int, slot: bool) -> _Decoded:
    with _decode_errors(), warnings.catch_warnings():
        # Pillow's own bomb check only warns below 2x its limit; check_decodable enforces ours.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(stream) as image:
            fmt, full_size = image.format, image.size
            check_decodable(image, max_side=max_side)
            with _slot_if(slot):
                image.load()  # decodes every byte: truncated or corrupt data fails here
                exif = image.getexif()  # (a PNG's eXIf chunk may follow its pixels: read after load)
                has_block = any(key in image.info for key in _METADATA_INFO)
                profile = _rgb_profile(image)
                reduced = _reduce(image, max_side=max_side)
                image.close()  # the full-size buffer goes before the slot does
    reduced.info = {ICC_PROFILE: profile} if profile else {}  # what the renditions keep of the original's
    orientation = exif.get(ORIENTATION)
    if orientation in _TRANSPOSE:
        reduced = reduced.transpose(_TRANSPOSE[orientation])
    width, height = (full_size[1], full_size[0]) if orientation in (5, 6, 7, 8) else full_size
    return _Decoded(image=reduced, format=fmt, width=width, height=height, exif=exif, has_metadata_block=has_block)


def _reduce(image: Image.Image, *, max_side: int) -> Image.Image:
    """A new RGB image from a loaded one, its longer side at most `max_side`. The full-size image is never
    copied or converted whole (a palette or 1-bit image would grow four-fold as RGB): an integer reduce()
    first, strip by strip unless the image is RGB already, then a LANCZOS resize of the small result."""
    width, height = image.size
    factor = max(1, max(width, height) // max_side)
    if image.mode == "RGB":
        reduced = image.reduce(factor) if factor > 1 else image
    else:
        reduced = Image.new("RGB", (-(-width // factor), -(-height // factor)))
        rows = factor * max(1, _STRIP_PIXELS // (width * factor))
        for top in range(0, height, rows):
            strip = _rgb(image.crop((0, top, width, min(height, top + rows))))
            reduced.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    if max(reduced.size) > max_side:
        scale = max_side / max(reduced.size)
        return reduced.resize((max(1, round(reduced.width * scale)), max(1, round(reduced.height * scale))),
                              Image.Resampling.LANCZOS)
    return reduced.copy() if reduced is image else reduced


@contextlib.contextmanager
def _slot_if(wanted: bool):
    if not wanted:
        yield
        return
    try:
        with decode_slot():
            yield
    except DecodeSlotsBusy:
        raise ImageBusy("The server is busy with other images right now; please try this file again in a minute.") from None


@contextlib.contextmanager
def _decode_errors():
    """Whatever Pillow raises on bad data becomes a plain ImageRejected."""
    try:
        yield
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise ImageRejected("Image is too large to decode safely (far over the pixel limit).") from None
    except UnidentifiedImageError:
        raise ImageRejected(NOT_AN_IMAGE) from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        # Our words for the person; Pillow's stay in `detail`, for the log.
        if isinstance(exc, ValueError) and any(limit in str(exc) for limit in _PILLOW_TEXT_LIMITS):
            raise ImageRejected(EMBEDDED_TOO_LARGE, detail=_short(exc)) from None
        if "truncated" in str(exc).lower() or isinstance(exc, EOFError):
            raise ImageIncomplete(detail=_short(exc)) from None
        raise ImageRejected(DAMAGED, detail=_short(exc)) from None


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode.startswith("I;16"):
        # 16-bit greyscale (scans): Pillow's own conversion clips every value above 255 to white, so scale
        # the 0-65535 range down to 0-255 first (through "I", the mode point() takes in any byte order).
        return image.convert("I").point(lambda value: value / 256).convert("RGB")
    if image.mode in ("F", "I"):
        # 32-bit greyscale (scientific scanners, HDR tools' exports), which Pillow clips to 0-255: floats of 0 to 1
        # came out black, larger numbers white. Floats of 0-1 and whole numbers of 16 bits keep their scale; larger
        # values are scaled by the brightest.
        high = image.getextrema()[1]
        if not math.isfinite(high) or high <= 0:
            return image.convert("RGB")  # (all black)
        if image.mode == "F":
            top = max(high, 1.0)
        else:
            top = 255 if high <= 255 else 65535 if high <= 65535 else high
        return image.point(lambda value: value * (255.0 / top)).convert("L").convert("RGB")
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text[:120]


# The first photograph that survives was taken in 1826: an earlier date is a typing mistake, or a camera's clock
# that was never set (which may write the year 1 as well as 1970).
EARLIEST_TAKEN = datetime(1826, 1, 1, tzinfo=dt_timezone.utc)
# A camera's clock may be off by years (never set, a dead battery), not by centuries: the most "shift dates" moves a
# photo (gallery.correction_services), and the furthest ahead of today a camera's date is still read as one.
MAX_CLOCK_ERROR = timedelta(days=100 * 366)
# The day a clock counting from the Unix epoch starts on, in UTC and in zones behind it.
UNIX_EPOCH_DAYS = frozenset({date(1969, 12, 31), date(1970, 1, 1)})


def possible_date(naive: datetime) -> bool:
    """Whether a date a file tells (a camera's wall clock, the GPS receiver's UTC, a Takeout sidecar's) is one a photo
    can have: from 1826 to a century ahead of today. Another (the year 1 or 9999 of a clock never set) is no date
    taken: read in the photo's zone or in UTC it could leave the years the database and Python hold, failing the
    upload. Nor is the first day of a clock that counts from the Unix epoch and was never set (a phone, an action
    camera, a dashcam): 1 January 1970, or 31 December 1969 where it runs behind UTC (no digital photo was taken
    then; its name, or the upload, tells better)."""
    latest = timezone.now().replace(tzinfo=None) + MAX_CLOCK_ERROR
    return EARLIEST_TAKEN.replace(tzinfo=None) <= naive <= latest and naive.date() not in UNIX_EPOCH_DAYS


def _exif_text(exif: Image.Exif, tag: int) -> str:
    value = exif.get(tag)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    # Text from inside a file, as its title and keywords are read (NUL, which PostgreSQL refuses, control and
    # invisible characters dropped): a camera's name shows on the photo page and in the API.
    return text_from_file(str(value)).strip()[:100] if value else ""


def exif_dates(data: bytes) -> tuple[datetime | None, str, datetime | None, bool]:
    """The EXIF date taken (naive wall clock), its offset, the GPS time (UTC) of a stored original, and whether the
    date is only DateTime (the day a scanner or an editor wrote the file: ImageInfo.taken_is_a_change), without
    decoding pixels. (None, "", None, False) for anything Pillow can't open."""
    try:
        with warnings.catch_warnings(), Image.open(io.BytesIO(data)) as image:
            warnings.simplefilter("ignore")
            exif = image.getexif()
            local, offset = _taken_local(exif)
            return local, offset, _gps_utc(exif), _is_a_change(exif, local)
    except Exception:  # an original that opened once: anything odd now means "no date", not a failure
        return None, "", None, False


def _is_a_change(exif: Image.Exif, local: datetime | None) -> bool:
    return local is not None and not exif.get_ifd(EXIF_IFD).get(TAG_DATETIME_ORIGINAL)


def _taken_local(exif: Image.Exif) -> tuple[datetime | None, str]:
    """The EXIF date taken as the camera's wall clock (naive), and the offset the camera wrote beside it
    (OffsetTimeOriginal for DateTimeOriginal, OffsetTime for DateTime; "" when none). The zone it is read in
    is decided by the caller (gallery.timezones)."""
    exif_ifd = exif.get_ifd(EXIF_IFD)
    raw, offset = exif_ifd.get(TAG_DATETIME_ORIGINAL), exif_ifd.get(TAG_OFFSET_TIME_ORIGINAL)
    if not raw:
        raw, offset = exif.get(TAG_DATETIME), exif_ifd.get(TAG_OFFSET_TIME)
    if not raw:
        return None, ""
    try:
        naive = datetime.strptime(str(raw).strip("\x00 ").strip(), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None, ""
    if not possible_date(naive):
        return None, ""
    if isinstance(offset, bytes):
        offset = offset.decode("ascii", "replace")
    return naive, offset_name(str(offset) if offset else "")


def _gps_utc(exif: Image.Exif) -> datetime | None:
    """The GPS receiver's time (GPSDateStamp "2023:12:31" and GPSTimeStamp (h, m, s), UTC); None when either is
    missing or not a real time."""
    gps = exif.get_ifd(GPS_IFD)
    stamp, clock = gps.get(TAG_GPS_DATE), gps.get(TAG_GPS_TIME)
    if not stamp or not clock:
        return None
    try:
        if isinstance(stamp, bytes):
            stamp = stamp.decode("ascii")
        day = datetime.strptime(str(stamp).strip("\x00 ").strip(), "%Y:%m:%d")
        hours, minutes, seconds = (float(part) for part in clock)
        if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 61):
            return None
        moment = day + timedelta(hours=int(hours), minutes=int(minutes), seconds=int(seconds))
        return moment.replace(tzinfo=dt_timezone.utc) if possible_date(moment) else None
    except (TypeError, ValueError, ZeroDivisionError, UnicodeDecodeError, OverflowError):
        return None


def _gps_position(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(GPS_IFD)
    try:
        lat = _dms_to_degrees(gps[2], gps[1], hemispheres="NS")
        lon = _dms_to_degrees(gps[4], gps[3], hemispheres="EW")
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None, None
    return gps_position(lat, lon) or (None, None)  # (0, 0: what a phone or camera without a fix writes)


def _dms_to_degrees(dms, ref, *, hemispheres: str) -> float:
    """A GPS coordinate in degrees, negative in the second of its `hemispheres` ("NS", "EW"). A reference that names
    neither ("X", a longitude's "N", or one written empty) makes it nonsense (ValueError), as a missing one does
    (KeyError, above): a position in the wrong hemisphere is worse than none. digiKam takes no position without a
    reference either, and an XMP coordinate without its letter is none (gallery.embedded._coordinate)."""
    degrees, minutes, seconds = (float(part) for part in dms)
    value = degrees + minutes / 60 + seconds / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    ref = str(ref).strip("\x00 ").upper()
    if ref[:1] not in tuple(hemispheres):
        raise ValueError(f"GPS reference {ref[:8]!r} names no hemisphere of {hemispheres}")
    return -value if ref[0] == hemispheres[1] else value


def too_large(limit: int) -> str:
    """The reason a file over `limit` bytes is refused, wherever it is noticed (while streaming or after)."""
    return f"File is too large (over {human_size(limit)})."


def human_size(num_bytes: int) -> str:
    size = float(num_bytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{num_bytes} bytes"
