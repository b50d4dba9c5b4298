"""Image bytes made on the spot for tests: every accepted format, and every kind of bad upload."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def image_bytes(fmt: str = "JPEG", *, size=(64, 48), colour=(200, 30, 30), exif: Image.Exif | None = None) -> bytes:
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    mode = "RGBA" if fmt in ("PNG", "WEBP") else "RGB"
    image = Image.new(mode, size, colour)
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    if fmt == "GIF":
        image = image.convert("P")
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def jpeg(colour=(200, 30, 30), size=(64, 48), **kwargs) -> bytes:
    return image_bytes("JPEG", colour=colour, size=size, **kwargs)


def rotated_jpeg() -> bytes:
    """A landscape 200×100 JPEG, left half red and right half blue, tagged "rotate 90° clockwise".

    Shown upright it is a 100×200 portrait with red on top."""
    image = Image.new("RGB", (200, 100), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 100, 100))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS 5D"
    exif.get_ifd(0x8769)[0x9003] = "2019:07:14 18:30:00"
    exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 22.0, 12.0), 3: "E", 4: (4.0, 53.0, 30.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def truncated_jpeg() -> bytes:
    data = jpeg(size=(256, 256), colour=(10, 120, 200))
    return data[: len(data) // 2]


def decompression_bomb_png(width: int = 40000, height: int = 40000) -> bytes:
    """A valid, tiny PNG that claims to be width×height pixels (header patched, CRC fixed)."""
    data = bytearray(image_bytes("PNG", size=(8, 8)))
    ihdr_start = 8 + 4 + 4  # signature, chunk length, chunk type
    data[ihdr_start:ihdr_start + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12:12 + 4 + 13])) & 0xFFFFFFFF
    data[ihdr_start + 13:ihdr_start + 17] = struct.pack(">I", crc)
    return bytes(data)


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
TEXT = b"this is not an image, whatever its name says\n"


def jpeg_scan_bomb(side: int = 4000, scans: int = 3000) -> bytes:
    """A small progressive greyscale JPEG that takes long to decode: after its own scans, `scans` more of one
    coefficient band, each a few bytes (runs of 32767 empty blocks), each of which libjpeg walks over every block of
    the full-size image again (3,000 scans of 4000x4000: about 10 s, in 180 KB). `side`: its blocks must come to 0 or
    at least 16384 past a multiple of 32767 (4000 does)."""
    grey = io.BytesIO()
    Image.new("L", (side, side), 128).save(grey, "JPEG", progressive=True, quality=50)
    body = grey.getvalue()[:-2]
    # An AC table (1) of two codes: "0" for EOB14 (a run of 2^14 + 14 bits of empty blocks), "10" for EOB.
    table = bytes([0x11]) + bytes([1, 1] + [0] * 14) + bytes([0xE0, 0x00])
    dht = b"\xff\xc4" + struct.pack(">H", 2 + len(table)) + table
    bits, left = "", ((side + 7) // 8) ** 2
    while left:
        run = min(left, 32767)
        assert run >= 16384, "choose another side"
        bits += "0" + format(run - 16384, "014b")
        left -= run
    bits += "1" * (-len(bits) % 8)
    entropy = b"".join(b"\xff\x00" if byte == 0xFF else bytes([byte])
                       for byte in (int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)))
    scan = b"\xff\xda" + struct.pack(">H", 8) + bytes([1, 1, 0x01, 63, 63, 0x00]) + entropy  # band 63 of comp. 1
    return body + dht + scan * scans + b"\xff\xd9"


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def palette_bomb_png(width: int = 10_000, height: int = 9_999, colour=(200, 30, 30)) -> bytes:
    """A genuine 1-bit palette PNG of width×height pixels (under the 100 MP limit) that is a few KB:
    every row is blank (palette entry 0, `colour`) but for a band in the middle (entry 1, white).

    Written by hand so that the test never holds the image itself: decoded in full it is 100 MB as a
    palette image and 400 MB as RGB(A)."""
    row_bytes = (width + 7) // 8
    blank, band = b"\0" + b"\0" * row_bytes, b"\0" + b"\xff" * row_bytes
    rows = [band if height // 3 <= y < height // 2 else blank for y in range(height)]
    compressor = zlib.compressobj(9)
    pixels = compressor.compress(b"".join(rows)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n"
            + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 3, 0, 0, 0))
            + _png_chunk(b"PLTE", bytes(colour) + b"\xff\xff\xff")
            + _png_chunk(b"IDAT", pixels)
            + _png_chunk(b"IEND", b""))


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return (float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4))


def gps_jpeg(latitude: float | None, longitude: float | None, *, taken: str | None = "2023:07:14 12:00:00",
             colour=(40, 160, 90)) -> bytes:
    """A JPEG whose EXIF says where (GPS IFD, as cameras write it) and when (DateTimeOriginal) it was taken."""
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    if latitude is not None:
        exif.get_ifd(0x8825).update({
            1: "N" if latitude >= 0 else "S", 2: _dms(latitude),
            3: "E" if longitude >= 0 else "W", 4: _dms(longitude),
        })
    return jpeg(colour=colour, exif=exif)


def with_metadata(data: bytes, *, xmp: dict | None = None, iptc: dict | None = None, exif: dict | None = None,
                  iptc_encoding: str = "utf-8") -> bytes:
    """`data` (an image file's bytes) with XMP, IPTC and EXIF fields written by exiv2 itself (pyexiv2), keyed as
    exiv2 names them: {"Xmp.dc.subject": ["Lisbon"], "Iptc.Application2.Caption": "…", "Exif.Image.XPTitle": "…"};
    the IPTC text in `iptc_encoding` (an old Windows program's "cp1252"), no character set declared unless given."""
    import pyexiv2

    image = pyexiv2.ImageData(data)
    try:
        if exif:
            image.modify_exif(exif)
        if iptc:
            image.modify_iptc(iptc, encoding=iptc_encoding)
        if xmp:
            image.modify_xmp(xmp)
        return image.get_bytes()
    finally:
        image.close()


def face_regions(*faces: str | tuple[str, str], microsoft: tuple[str, ...] = ()) -> dict:
    """XMP fields (for with_metadata) naming the people in a photo's face regions, as photo programs write them: MWG
    regions (Lightroom, digiKam, Picasa, Apple), each a name of type "Face" or a (name, type) pair ("Rex", "Pet"; a
    type of "" writes none), and Microsoft Photo regions (Windows Live Photo Gallery, digiKam), which have no type."""
    fields: dict = {}
    if faces:
        fields["Xmp.mwg-rs.Regions/mwg-rs:RegionList"] = 'type="Bag"'
    for n, face in enumerate(faces, 1):
        name, kind = (face, "Face") if isinstance(face, str) else face
        fields[f"Xmp.mwg-rs.Regions/mwg-rs:RegionList[{n}]/mwg-rs:Name"] = name
        if kind:
            fields[f"Xmp.mwg-rs.Regions/mwg-rs:RegionList[{n}]/mwg-rs:Type"] = kind
    if microsoft:
        fields["Xmp.MP.RegionInfo/MPRI:Regions"] = 'type="Bag"'
    for n, name in enumerate(microsoft, 1):
        fields[f"Xmp.MP.RegionInfo/MPRI:Regions[{n}]/MPReg:Rectangle"] = "0.25, 0.25, 0.2, 0.3"
        fields[f"Xmp.MP.RegionInfo/MPRI:Regions[{n}]/MPReg:PersonDisplayName"] = name
    return fields


def with_raw_xmp(data: bytes, packet: bytes) -> bytes:
    """A JPEG with an XMP packet of our own bytes in an APP1 segment right after SOI: what no metadata library
    would write (an entity bomb, invalid UTF-8, absurd nesting), as a hostile file would carry it."""
    import struct

    body = b"http://ns.adobe.com/xap/1.0/\x00" + packet
    assert data[:2] == b"\xff\xd8" and len(body) + 2 <= 0xFFFF
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + data[2:]


def xmp_packet(inner: bytes, *, doctype: bytes = b"") -> bytes:
    """An XMP packet whose rdf:Description holds `inner` (dc namespace declared)."""
    return (doctype + b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
            b'syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">' + inner
            + b"</rdf:Description></rdf:RDF></x:xmpmeta>")


def xmp_entity_bomb() -> bytes:
    """'Billion laughs': ten levels of entities, each ten of the one below (10^9 'lol's once expanded)."""
    entities = b'<!ENTITY lol0 "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (level, b"&lol%d;" % (level - 1) * 10) for level in range(1, 10))
    return xmp_packet(b"<dc:subject><rdf:Bag><rdf:li>&lol9;</rdf:li></rdf:Bag></dc:subject>",
                      doctype=b'<?xml version="1.0"?><!DOCTYPE x:xmpmeta [' + entities + b"]>")


def jpegs_sharing_keywords(count: int) -> list[bytes]:
    """`count` different photos whose files carry the same four keywords (Lisbon, Beach, Grandma, Summer)."""
    return [with_metadata(jpeg(colour=(n * 11 % 256, n * 7 % 256, 90)),
                          xmp={"Xmp.dc.subject": ["Lisbon", "Beach", "Grandma", "Summer"]})
            for n in range(count)]
