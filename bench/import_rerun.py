"""What an XMP sidecar beside every photo costs a re-run of `import_photos` (a nightly import of a darktable library).

Run from the repository root:

    .venv/bin/python bench/import_rerun.py [--photos 300] [--runs 3]

Writes `--photos` small distinct JPEGs into two folders of a temp dir, one with a darktable-style `.jpg.xmp` sidecar
beside each photo (keywords, title, a date taken) and one without, imports both (into two families of a throwaway
database, with a temp media dir), then times `--runs` re-runs of each, which find nothing new. Prints the median
re-run of each, per photo, and their ratio: the sidecars' cost when nothing changed (what a sidecar whose bytes were
read before at its path, PhotoXmpSidecar, and a sidecar file not tried as a photo save), and the first imports' times.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import log, setup_django, throwaway_database  # noqa: E402

setup_django()


def sidecar(index: int) -> bytes:
    """An XMP sidecar as darktable writes one (its own keys and an edit history beside the photo's metadata)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:darktable="http://darktable.sf.net/" xmlns:exif="http://ns.adobe.com/exif/1.0/"'
        f' exif:DateTimeOriginal="2019:07:{1 + index % 28:02d} 10:11:12.000" darktable:xmp_version="5">\n'
        f'<dc:subject><rdf:Bag><rdf:li>beach</rdf:li><rdf:li>roll {index // 36}</rdf:li></rdf:Bag></dc:subject>'
        f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Frame {index}</rdf:li></rdf:Alt></dc:title>'
        '<darktable:history><rdf:Seq><rdf:li darktable:operation="exposure" darktable:enabled="1"'
        ' darktable:params="0000000000000000"/></rdf:Seq></darktable:history>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>\n"
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from django.core.management import call_command
    from django.test import override_settings

    from gallery.services import family_create, user_create
    from tests import images

    with tempfile.TemporaryDirectory() as tmp, throwaway_database("bench_import_rerun"), override_settings(
        STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                              "OPTIONS": {"location": f"{tmp}/media"}},
                  "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
        MEDIA_ROOT=f"{tmp}/media",
    ):
        user = user_create(username="bench", password="bench-password-not-used")
        folders = {}
        for with_sidecars in (True, False):
            family = family_create(name=f"Bench {'sidecars' if with_sidecars else 'plain'}", admin=user)
            folder = Path(tmp) / ("with-sidecars" if with_sidecars else "plain")
            folder.mkdir()
            for index in range(args.photos):
                name = f"IMG_{index:04d}.jpg"
                # (distinct files: a size of their own; the two folders' files differ too)
                (folder / name).write_bytes(images.jpeg(colour=(index % 256, 90 if with_sidecars else 30, 7),
                                                        size=(320, 200 + index)))
                if with_sidecars:
                    (folder / f"{name}.xmp").write_bytes(sidecar(index))
            folders[with_sidecars] = (folder, family)
        log(f"{args.photos} photos in each folder, one with a sidecar beside each photo")

        def run(with_sidecars: bool) -> float:
            folder, family = folders[with_sidecars]
            started = time.perf_counter()
            call_command("import_photos", str(folder), "--family", str(family.pk), "--user", "bench",
                         "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
            return time.perf_counter() - started

        first = {with_sidecars: run(with_sidecars) for with_sidecars in (True, False)}
        reruns: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.runs):
            for with_sidecars in (True, False):
                reruns[with_sidecars].append(run(with_sidecars))

    plain, sidecars = statistics.median(reruns[False]), statistics.median(reruns[True])
    print()
    print(f"  first import, {args.photos} photos without sidecars, s      {first[False]:8.2f}")
    print(f"  first import, {args.photos} photos with sidecars, s         {first[True]:8.2f}")
    print(f"  re-run finding nothing new, without sidecars, s (median)   {plain:8.3f}   {1000 * plain / args.photos:.2f} ms a photo")
    print(f"  re-run finding nothing new, with sidecars, s (median)      {sidecars:8.3f}   {1000 * sidecars / args.photos:.2f} ms a photo")
    print(f"  ratio with / without sidecars                              {sidecars / plain:8.1f}x")


if __name__ == "__main__":
    main()
