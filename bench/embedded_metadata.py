"""What reading embedded metadata (exiv2 in a limited child process) adds to an upload.

Run from the repository root:

    .venv/bin/python bench/embedded_metadata.py [--photos 40] [--size 1600x1200]

Stores `--photos` camera-like JPEGs (bench.embed_throughput.photo_jpeg) carrying XMP (dc:subject, dc:title,
dc:description, lr:hierarchicalSubject), IPTC (Keywords, Caption, City, Country) and EXIF text written by
pyexiv2, through `gallery.services.photo_create_from_bytes`, alternately with EMBEDDED_METADATA on and off
(each file once, so no duplicates), in a throwaway database and a temp media dir. Prints the median and p90
per upload of each, the difference (the time added per upload), their ratio, and `read_embedded` alone on
the same files (one child process each: Python start, exiv2 load, parse).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import log, percentile_ms, setup_django, throwaway_database  # noqa: E402

setup_django()


def with_metadata(data: bytes, index: int) -> bytes:
    from tests.images import with_metadata as write

    return write(
        data,
        xmp={"Xmp.dc.subject": ["Lisbon", "Tram", f"Trip {index}"], "Xmp.dc.title": {'lang="x-default"': "Tram 28"},
             "Xmp.dc.description": {'lang="x-default"': "The yellow tram climbing to the castle"},
             "Xmp.lr.hierarchicalSubject": ["Places|Portugal|Lisbon", "People|Grandma Rosa"]},
        iptc={"Iptc.Application2.Keywords": ["tram", "Holiday"], "Iptc.Application2.Caption": "A caption",
              "Iptc.Application2.City": "Lisbon", "Iptc.Application2.CountryName": "Portugal"},
        exif={"Exif.Image.XPKeywords": "Beach;Sunset", "Exif.Image.ImageDescription": "A description"},
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--size", default="1600x1200")
    args = parser.parse_args()
    size = tuple(int(part) for part in args.size.split("x"))

    from django.test import override_settings

    from bench.embed_throughput import photo_jpeg
    from gallery.embedded import read_embedded
    from gallery.services import UploadResult, family_create, photo_create_from_bytes, user_create

    log(f"making {args.photos} {args.size} JPEGs with XMP, IPTC and EXIF text")
    files = [with_metadata(photo_jpeg(i, size), i) for i in range(args.photos)]
    log(f"median file {statistics.median(len(f) for f in files) / 1e6:.2f} MB")

    with tempfile.TemporaryDirectory() as tmp, throwaway_database("bench_embedded"), override_settings(
        STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                              "OPTIONS": {"location": tmp}},
                  "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
        MEDIA_ROOT=tmp,
    ):
        user = user_create(username="bench", password="bench-password-not-used")
        family = family_create(name="Bench family", admin=user)
        # Warm: imports, the zone polygons, the database connection.
        for i, data in enumerate(files[:2]):
            photo_create_from_bytes(family=family, uploaded_by=user, data=data,
                                    filename=f"warm{i}.jpg")
        timings: dict[bool, list[float]] = {True: [], False: []}
        for index, data in enumerate(files[2:], start=2):
            enabled = index % 2 == 0
            with override_settings(EMBEDDED_METADATA=enabled):
                started = time.perf_counter()
                result = photo_create_from_bytes(family=family, uploaded_by=user, data=data,
                                                 filename=f"IMG_{index:04d}.jpg")
                timings[enabled].append(time.perf_counter() - started)
            assert result.outcome == UploadResult.SAVED, result.reason
            assert bool(result.photo.tags.exists()) == enabled
        reads = []
        for data in files:
            started = time.perf_counter()
            assert read_embedded(data).keywords
            reads.append(time.perf_counter() - started)

    on, off = percentile_ms(timings[True], 50), percentile_ms(timings[False], 50)
    print()
    print(f"{'':38} {'median':>9} {'p90':>9}")
    print(f"{'upload, embedded metadata on':38} {on:8.1f}ms {percentile_ms(timings[True], 90):8.1f}ms")
    print(f"{'upload, embedded metadata off':38} {off:8.1f}ms {percentile_ms(timings[False], 90):8.1f}ms")
    print(f"{'read_embedded alone':38} {percentile_ms(reads, 50):8.1f}ms {percentile_ms(reads, 90):8.1f}ms")
    print(f"added per upload: {on - off:.1f} ms (median on - median off); on / off = {on / off:.2f}")


if __name__ == "__main__":
    main()
