"""OCR cost and its effect on embedding: seconds per photo with and without text, and embedding throughput
while an OCR worker reads a backlog, against embedding alone.

Run from the repository root:

    .venv/bin/python bench/ocr_throughput.py [--photos 24] [--text-photos 6] [--size 1600x1200]
    .venv/bin/python bench/ocr_throughput.py --part ingest [--photos 20] [--every 10] [--rounds 2]

(1) `vision.ocr.read_text` (rapidocr-onnxruntime, PP-OCRv4) on the display renditions of photos with text
(rendered signs and receipts) and without (camera-like shape photos), median seconds per photo, as the
worker reads them (decode included). (2) `search.services.embed_photos(photo_ids=all, fill_to=0)` with every
photo reset to pending: alone; then with an OCR worker process (spawned, at niceness 10 as `serve` starts it)
running `search.ocr.photos_read_text` over a backlog of embedded text photos at the same time, as the
product runs it (each OCR photo waits while photos wait to be embedded); then the same with that wait
switched off (YIELD_SECONDS = 0: only the OS priority protects embedding). Prints the ratios
embedding-with-OCR / embedding-alone (target >= 0.9).

`--part ingest` (see ingest.__doc__): the whole ingest time per photo against embedding alone, with the OCR
gate off and with the gate forced to pass one photo in `--every`.

Nothing is downloaded and no developer data is touched: the SigLIP is a full-size, randomly initialised
SigLIP-B/16 (bench.common.build_siglip_b16); a throwaway database and a temp media dir are removed at the end.
The machine may be shared: other processes' load skews every figure (printed).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import cpu_snapshot, log, others_cores, random_model_world, setup_django  # noqa: E402

setup_django()

import transformers  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connections  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from bench.embed_throughput import photo_jpeg  # noqa: E402

transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

TARGET_RATIO = 0.9
TEXTS = (["BAKERY", "OPEN 7AM - 6PM", "Fresh bread daily"], ["MILK 1.20", "BREAD 2.50", "EGGS 3.10", "TOTAL 6.80"],
         ["NO PARKING", "Mon - Fri 8 - 18"], ["Platform 2", "Oxford Street", "Exit"])
DOCUMENTS = {1}  # which of TEXTS is a document (a receipt); the others are signs


def text_jpeg(index: int, size: tuple[int, int]) -> bytes:
    lines = TEXTS[index % len(TEXTS)]
    image = Image.new("RGB", size, ["white", "#f4efe2", "#fffbe6", "#e8eef4"][index % 4])
    draw = ImageDraw.Draw(image)
    font_size = size[1] // 10
    font = ImageFont.load_default(size=font_size)
    draw.text((size[0] - size[0] // 5, size[1] - size[1] // 8), f"No. {index}", fill="#606060", font=font)  # unique
    for n, line in enumerate(lines):
        draw.text((size[0] // 12, size[1] // 10 + n * int(font_size * 1.6)), line, fill="#202020", font=font)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def store(family, user, datas: list[bytes], prefix: str) -> list[int]:
    from gallery.services import UploadResult, photo_create_from_bytes

    ids = []
    for index, data in enumerate(datas):
        result = photo_create_from_bytes(family=family, uploaded_by=user, data=data, filename=f"{prefix}_{index:04d}.jpg")
        if result.outcome != UploadResult.SAVED:
            raise SystemExit(f"photo {index} was not stored: {result.outcome} {result.reason}")
        ids.append(result.photo.pk)
    return ids


def ocr_seconds(ids: list[int]) -> tuple[list[float], list[str]]:
    from gallery.images import decode_upright
    from gallery.models import Photo
    from vision.ocr import read_text

    seconds, texts = [], []
    for photo in Photo.objects.filter(pk__in=ids).order_by("pk"):
        start = time.perf_counter()
        with photo.display.open("rb") as stream:
            image = decode_upright(stream, max_side=settings.OCR_MAX_SIDE, slot=False)
        texts.append(read_text(image, min_confidence=settings.OCR_MIN_CONFIDENCE))
        seconds.append(time.perf_counter() - start)
    return seconds, texts


def reset(embed_ids: list[int], ocr_ids: list[int]) -> None:
    """embed_ids: pending embedding; ocr_ids: waiting to be read (a reader takes only photos pending with a reason:
    left without one, as a reading leaves it, they would be read by nobody)."""
    from gallery.models import Photo
    from search.models import PhotoEmbedding
    from search.ocr import OCR_QUEUED

    PhotoEmbedding.objects.filter(photo_id__in=embed_ids).delete()
    Photo.objects.filter(pk__in=embed_ids).update(status=Photo.Status.PENDING, status_reason="", embed_attempts=0)
    Photo.objects.filter(pk__in=ocr_ids).update(ocr_status=Photo.OcrStatus.PENDING, ocr_reason=OCR_QUEUED,
                                                ocr_attempts=0, text_in_photo=None)


def _ocr_worker(ocr_ids: list[int], yield_seconds: float, done, database: str, media: str) -> None:
    """The OCR worker, in a process of its own like `serve`'s (spawned, not forked: a fork would make the
    embedding process pay copy-on-write for every page it writes): niceness 10, reads the backlog photo by photo."""
    os.nice(10)
    connections["default"].settings_dict["NAME"] = database
    override_settings(STORAGES={**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": media}}},
        MEDIA_ROOT=media, OCR_ENABLED=True).enable()
    from search import ocr

    ocr.YIELD_SECONDS = yield_seconds
    connections.close_all()
    report = ocr.photos_read_text(photo_ids=ocr_ids)
    done.put(report.done)
    connections.close_all()


def embed_rate(embed_ids: list[int], ocr_ids: list[int] | None, *,
               yield_seconds: float = 0.0) -> tuple[float, int, float]:
    """Photos/s of embed_photos over embed_ids, with an OCR worker reading ocr_ids meanwhile (if given);
    returns the rate, how many photos the OCR worker had read when embedding finished and the CPU seconds
    it used meanwhile."""
    import psutil

    from gallery.models import Photo
    from search.services import embed_photos

    reset(embed_ids, ocr_ids or [])
    connections.close_all()  # the worker must not inherit this process's connection
    worker, queue = None, None
    if ocr_ids:
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        worker = context.Process(target=_ocr_worker, args=(ocr_ids, yield_seconds, queue,
                                                           connections["default"].settings_dict["NAME"],
                                                           str(settings.MEDIA_ROOT)))
        worker.start()
        time.sleep(8.0)  # the worker has started (Django, torch, the reader) and is reading when embedding starts
    cpu_before = sum(psutil.Process(worker.pid).cpu_times()[:2]) if worker else 0.0
    start = time.perf_counter()
    report = embed_photos(photo_ids=embed_ids, fill_to=0)
    seconds = time.perf_counter() - start
    read_meanwhile = Photo.objects.filter(pk__in=ocr_ids or [], ocr_status=Photo.OcrStatus.DONE).count()
    cpu = sum(psutil.Process(worker.pid).cpu_times()[:2]) - cpu_before if worker else 0.0
    if worker is not None:
        worker.join(timeout=600)
        if worker.is_alive():
            worker.terminate()
        read = queue.get(timeout=10) if worker.exitcode == 0 else None
        if read != len(ocr_ids):  # the figures would be of a worker that had nothing (or less) to do
            raise SystemExit(f"the OCR worker read {read} of the {len(ocr_ids)} photos it was given "
                             f"(exit code {worker.exitcode})")
    assert report.ready == len(embed_ids), report
    return len(embed_ids) / seconds, read_meanwhile, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("throughput", "ingest"), default="throughput",
                        help="throughput: OCR cost and embedding with an OCR worker running (default); "
                             "ingest: whole ingest time per photo against embedding alone")
    parser.add_argument("--photos", type=int, default=None,
                        help="photos to embed in each embedding run (default 24; with --part ingest the "
                             "embedder's batch size, 32: a smaller last batch is padded to it, so a count that "
                             "is not a multiple of it inflates embedding's time per photo)")
    parser.add_argument("--text-photos", type=int, default=6, help="photos with text: the OCR backlog")
    parser.add_argument("--every", type=int, default=10,
                        help="--part ingest: one photo in EVERY (rounded) holds text; those are the ones the "
                             "forced gate passes (default 10)")
    parser.add_argument("--size", default="1600x1200")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds of the embedding runs, interleaved; the median of each is reported "
                             "(default 3; 2 with --part ingest: a/b/c then c/b/a)")
    args = parser.parse_args()
    ingest_part = args.part == "ingest"
    args.photos = args.photos or (0 if ingest_part else 24)  # 0: the embedder's batch size
    args.rounds = args.rounds or (2 if ingest_part else 3)
    size = tuple(int(n) for n in args.size.split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="bench_ocr_"))
    try:
        return ingest(args, tmp, size) if ingest_part else measure(args, tmp, size)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(args, tmp: Path, size: tuple[int, int]) -> int:
    with random_model_world(tmp, "bench_ocr", OCR_ENABLED=True, OCR_GATE=False):
        from gallery.models import Photo
        from gallery.services import family_create, user_create
        from search.services import embed_photos, load_embedder

        user = user_create(username="bench", password="bench-password-not-used")
        family = family_create(name="Bench family", admin=user)
        text_ids = store(family, user, [text_jpeg(i, size) for i in range(args.text_photos)], "TEXT")
        plain_ids = store(family, user, [photo_jpeg(i, size) for i in range(args.photos)], "IMG")
        log(f"stored {len(text_ids)} photos with text and {len(plain_ids)} without, {size[0]}×{size[1]}")

        from vision.ocr import get_reader

        start = time.perf_counter()
        get_reader()
        log(f"OCR reader loaded in {time.perf_counter() - start:.2f} s")
        with_text, texts = ocr_seconds(text_ids)
        without_text, empties = ocr_seconds(plain_ids[: max(2, args.text_photos)])
        for text in texts:
            log("read: " + text.replace("\n", " / "))
        log(f"no-text photos read as: {[t for t in empties if t] or 'nothing'}")

        load_embedder()
        embed_photos(photo_ids=text_ids, fill_to=0)  # the OCR backlog: embedded, waiting to be read
        assert not Photo.objects.filter(pk__in=text_ids).exclude(status=Photo.Status.READY).exists()

        cpu_start = cpu_snapshot()
        rates: dict[str, list[float]] = {"alone": [], "yielding": [], "competing": []}
        # Interleaved rounds, so that a burst of other people's work on a shared machine hits every kind alike.
        for round_ in range(1, args.rounds + 1):
            rate, _, _ = embed_rate(plain_ids, None)
            rates["alone"].append(rate)
            log(f"round {round_}: embedding alone: {rate:.2f} photos/s")
            rate, read, cpu = embed_rate(plain_ids, text_ids, yield_seconds=120.0)
            rates["yielding"].append(rate)
            log(f"round {round_}: embedding with the OCR worker (waits for embedding): {rate:.2f} photos/s, "
                f"{read} OCR photos read meanwhile, OCR worker CPU {cpu:.1f} s")
            rate, read, cpu = embed_rate(plain_ids, text_ids, yield_seconds=0.0)
            rates["competing"].append(rate)
            log(f"round {round_}: embedding with the OCR worker not waiting (niceness 10 only): {rate:.2f} photos/s, "
                f"{read} OCR photos read meanwhile, OCR worker CPU {cpu:.1f} s")
        alone, yielding, competing = (statistics.median(rates[k]) for k in ("alone", "yielding", "competing"))
        others = others_cores(cpu_start, cpu_snapshot())

    print()
    print(f"cores: {os.cpu_count()}, other processes used {others:.2f} cores on average" if others is not None
          else f"cores: {os.cpu_count()}")
    print(f"| {'measure':58} | {'value':>10} |")
    print(f"|{'-' * 60}|{'-' * 12}|")
    print(f"| {'OCR s/photo with text (median, display rendition)':58} | {statistics.median(with_text):10.2f} |")
    signs = [s for i, s in enumerate(with_text) if i % len(TEXTS) not in DOCUMENTS]
    documents = [s for i, s in enumerate(with_text) if i % len(TEXTS) in DOCUMENTS]
    print(f"| {'  of which a sign (median)':58} | {statistics.median(signs):10.2f} |")
    if documents:
        print(f"| {'  of which a document: a receipt (median)':58} | {statistics.median(documents):10.2f} |")
    print(f"| {'OCR s/photo without text (median)':58} | {statistics.median(without_text):10.2f} |")
    print(f"| {'embedding alone, photos/s (median of rounds)':58} | {alone:10.2f} |")
    print(f"| {'embedding with OCR worker (as shipped), photos/s':58} | {yielding:10.2f} |")
    print(f"| {'embedding with OCR worker not waiting, photos/s':58} | {competing:10.2f} |")
    ratio = yielding / alone
    print(f"| {'ratio as shipped (target >= %.2f)' % TARGET_RATIO:58} | {ratio:10.2f} |")
    print(f"| {'ratio without the wait':58} | {competing / alone:10.2f} |")
    return 0 if ratio >= TARGET_RATIO else 1


# --- the whole ingest per photo (--part ingest) --------------------------------------------------

# Where the ingest photos say they were taken (GPS in EXIF): places and time zones are looked up for each.
CITIES = ((38.7223, -9.1393), (51.5072, -0.1276), (-33.8688, 151.2093), (40.4168, -3.7038), (35.6762, 139.6503))

INGEST_MODES = {
    "a": ("(a) embedding alone", {"OCR_ENABLED": False, "TAG_SUGGESTIONS_ENABLED": False}),
    "b": ("(b) + suggestions + OCR of every photo", {"OCR_ENABLED": True, "OCR_GATE": False,
                                                     "TAG_SUGGESTIONS_ENABLED": True}),
    "c": ("(c) + suggestions + OCR, gate forced", {"OCR_ENABLED": True, "OCR_GATE": True,
                                                   "TAG_SUGGESTIONS_ENABLED": True}),
}
# Named steps timed inside the runs (module, global name): calls through those names are timed.
PROCESSING_PARTS = {
    "suggestions": [("search.services", "suggest_after_embedding")],
    "OCR gate + queueing": [("search.services", "ocr_after_embedding")],
    "search documents": [("search.receivers", "documents_refresh"), ("search.ocr", "documents_refresh")],
}
UPLOAD_PARTS = {
    "embedded metadata (read_embedded)": [("gallery.services", "read_embedded")],
    "place (reverse geocoder)": [("gallery.services", "place_for")],
    "time zone from GPS": [("gallery.services", "when_taken")],
    "search document": [("search.receivers", "documents_refresh")],
}


def _gps_rational(value: float) -> str:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return f"{degrees}/1 {minutes}/1 {round((value - degrees - minutes / 60) * 360000)}/100"


def ingest_jpeg(index: int, size: tuple[int, int], *, text: bool) -> bytes:
    """A photo as a phone or Lightroom leaves it: a camera-like picture (or, with `text`, a rendered sign or
    receipt) carrying XMP, IPTC and EXIF keywords, title and description, and a GPS position."""
    from tests.images import with_metadata

    latitude, longitude = CITIES[index % len(CITIES)]
    return with_metadata(
        text_jpeg(index, size) if text else photo_jpeg(index, size),
        xmp={"Xmp.dc.subject": ["Holiday", "Family", f"Trip {index}"],
             "Xmp.dc.title": {'lang="x-default"': f"Day out {index}"},
             "Xmp.dc.description": {'lang="x-default"': "An afternoon in town with grandma"},
             "Xmp.lr.hierarchicalSubject": ["Places|Town", "People|Grandma Rosa"]},
        iptc={"Iptc.Application2.Keywords": ["outing", "summer"], "Iptc.Application2.Caption": "A caption"},
        exif={"Exif.Image.XPKeywords": "Town;Walk", "Exif.Image.ImageDescription": "A description",
              "Exif.GPSInfo.GPSLatitudeRef": "N" if latitude >= 0 else "S",
              "Exif.GPSInfo.GPSLatitude": _gps_rational(latitude),
              "Exif.GPSInfo.GPSLongitudeRef": "E" if longitude >= 0 else "W",
              "Exif.GPSInfo.GPSLongitude": _gps_rational(longitude)},
    )


class Timers:
    """Bench only: wall seconds spent in named functions. While active, each (module, global name) of `targets`
    is replaced by a timing wrapper, so calls made through that name are timed (nested ones overlap)."""

    def __init__(self, targets: dict[str, list[tuple[str, str]]]):
        self.targets = targets
        self.seconds = dict.fromkeys(targets, 0.0)
        self._saved: list = []

    def _wrap(self, label: str, original):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
        return timed

    def __enter__(self):
        import importlib

        for label, names in self.targets.items():
            for module_name, name in names:
                module = importlib.import_module(module_name)
                self._saved.append((module, name, getattr(module, name)))
                setattr(module, name, self._wrap(label, getattr(module, name)))
        return self

    def __exit__(self, *exc):
        for module, name, original in reversed(self._saved):
            setattr(module, name, original)
        self._saved = []


@contextlib.contextmanager
def forced_gate(passing: set[int]):
    """BENCH ONLY, NOT THE PRODUCT'S GATE: a random SigLIP can't tell a sign from a shape, so the gate's decision
    is forced. The real `search.ocr.text_probabilities` still runs (the gate's cost is paid: cached text
    embeddings of TEXT_CONCEPTS, a dot product per photo); its answer is replaced by 1.0 for the photos in
    `passing` and 0.0 for the others, so the real `photos_text_gate` passes exactly those (OCR_GATE on)."""
    from search import ocr

    original = ocr.text_probabilities

    def forced(photo_ids):
        return {pk: 1.0 if pk in passing else 0.0 for pk in original(photo_ids)}

    ocr.text_probabilities = forced
    try:
        yield
    finally:
        ocr.text_probabilities = original


@dataclass
class IngestRun:
    wall: float  # seconds, embed_photos (with its hooks) + photos_read_text of what was queued
    cpu: float  # CPU seconds of this process (every thread) and its PostgreSQL backend meanwhile
    parts: dict[str, float]
    read: int  # photos OCR read
    with_text: int  # of which text was found in
    suggestions: int  # suggestions written


def ingest_reset(ids: list[int]) -> None:
    """The photos as they are once stored: pending embedding, text not read, no suggestions; the queue empty."""
    from django_q.models import OrmQ

    from gallery.models import Photo, TagSuggestion

    reset(ids, ids)
    Photo.objects.filter(pk__in=ids).update(ocr_reason="", suggestions_model="")
    TagSuggestion.objects.filter(photo_id__in=ids).delete()
    OrmQ.objects.all().delete()


def ingest_run(mode: str, ids: list[int], passing: set[int]) -> IngestRun:
    """One photo set from stored to fully processed, sequentially in this process: `embed_photos` (which scores
    the suggestions and passes the photos through the OCR gate as the worker does), then what the OCR tasks
    would do with the photos the gate queued (`photos_read_text`, in this process instead of the OCR cluster)."""
    from django.db import connection

    from gallery.models import Photo, TagSuggestion
    from search.ocr import photos_read_text
    from search.services import embed_photos

    ingest_reset(ids)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    gate = forced_gate(passing) if mode == "c" else contextlib.nullcontext()
    with override_settings(**INGEST_MODES[mode][1]), gate, Timers(PROCESSING_PARTS) as timers:
        before = cpu_snapshot((backend,))
        start = time.perf_counter()
        report = embed_photos(photo_ids=ids, fill_to=0)
        embedded = time.perf_counter()
        queued = (list(Photo.objects.filter(pk__in=ids, ocr_status=Photo.OcrStatus.PENDING)
                       .order_by("pk").values_list("pk", flat=True)) if settings.OCR_ENABLED else [])
        ocr = photos_read_text(photo_ids=queued)
        end = time.perf_counter()
        after = cpu_snapshot((backend,))
    if report.ready != len(ids) or ocr.done != len(queued):
        raise SystemExit(f"mode {mode}: not every photo was processed: {report}, {ocr}")
    expected = {"a": 0, "b": len(ids), "c": len(passing)}[mode]
    if len(queued) != expected:
        raise SystemExit(f"mode {mode}: the gate queued {len(queued)} photos, expected {expected}")
    parts = dict(timers.seconds)
    parts["OCR reading"] = end - embedded
    parts["embedding"] = embedded - start - parts["suggestions"] - parts["OCR gate + queueing"]
    return IngestRun(wall=end - start, cpu=(after[1] - before[1]) if before and after else float("nan"),
                     parts=parts, read=ocr.done, with_text=sum(1 for t in ocr.texts.values() if t.strip()),
                     suggestions=TagSuggestion.objects.filter(photo_id__in=ids).count())


def _machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    isa = "AVX512-BF16" if "avx512_bf16" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{model or 'unknown CPU'} ({isa}), {os.cpu_count()} cores"


def ingest(args, tmp: Path, size: tuple[int, int]) -> int:
    """The whole ingest per photo against embedding alone.

    `--photos` photos (default: the embedder's batch size, 32, as a batch smaller than that is padded to it) as
    phones and Lightroom leave them: XMP/IPTC/EXIF keywords, title, description and a GPS position (five cities),
    round(photos / `--every`) of them (every: 10) rendered signs or receipts spread among camera-like shape
    photos. They are stored through `photo_create_from_bytes` with the product's defaults (embedded metadata
    read, place and time zone looked up, search document built), timed. Then, from stored to fully processed, each run
    sequentially in this one process (so the times are the total work per photo, not what two workers overlap):
    (a) `embed_photos` alone (OCR and suggestions off); (b) `embed_photos` with tag suggestions on (product
    defaults: threshold 0.5, limit 10) and OCR of every photo (OCR_GATE off), then `photos_read_text` of what it
    queued; (c) the same with the gate on and its decision forced (`forced_gate`, bench only) to pass the text
    photos, one in `--every`, and skip the others. Runs in the order a, b, c then c, b, a (`--rounds`, default 2); medians."""
    with random_model_world(tmp, "bench_ingest", SEARCH_DEVICE="auto", SEARCH_DTYPE="auto", EMBEDDED_METADATA=True):
        import torch

        from gallery.models import Photo
        from gallery.services import family_create, user_create
        from search.services import embed_photos, load_embedder

        user = user_create(username="bench", password="bench-password-not-used")
        family = family_create(name="Bench family", admin=user)
        embedder = load_embedder()
        args.photos = args.photos or embedder.batch_size
        if args.photos % embedder.batch_size:
            log(f"WARNING: {args.photos} photos is not a multiple of the batch size {embedder.batch_size}: the last "
                "batch is padded with blank images, which inflates embedding's seconds per photo")
        log(f"making {args.photos} photos")
        count = max(1, round(args.photos / args.every))
        text_index = {round(k * args.photos / count) for k in range(count)}
        files = [ingest_jpeg(i, size, text=i in text_index) for i in range(args.photos)]
        warm_files = [ingest_jpeg(10_000, size, text=True), ingest_jpeg(10_001, size, text=False)]
        warm_ids = store(family, user, warm_files, "WARM")  # first uploads load the geocoder, zones, exiv2 reader
        upload_seconds, ids = [], []
        with Timers(UPLOAD_PARTS) as upload_parts:
            for index, data in enumerate(files):
                start = time.perf_counter()
                ids += store(family, user, [data], f"{'TEXT' if index in text_index else 'IMG'}{index:04d}")
                upload_seconds.append(time.perf_counter() - start)
        passing = {ids[i] for i in text_index}
        placed = Photo.objects.filter(pk__in=ids).exclude(place_country="").count()
        tagged = Photo.objects.filter(pk__in=ids, tags__isnull=False).distinct().count()
        log(f"stored {len(ids)} photos ({len(passing)} with text), {size[0]}×{size[1]}: {placed} with a place, "
            f"{tagged} with embedded keywords as tags")
        if placed != len(ids) or tagged != len(ids):
            raise SystemExit("the embedded metadata or the places were not read: the figures would not include them")

        start = time.perf_counter()
        embed_photos(photo_ids=ids + warm_ids, fill_to=0)  # nothing left pending: OCR would give way to it
        log(f"first embedding of every photo (warm-up) {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        for mode in ("c", "b"):  # vocabulary and gate concepts' text embeddings (cached once), the OCR reader
            ingest_run(mode, warm_ids, {warm_ids[0]})
        one_off = time.perf_counter() - start
        log(f"warm-up on 2 photos: vocabulary and gate text embeddings, OCR reader: {one_off:.1f} s")

        runs: dict[str, list[IngestRun]] = {mode: [] for mode in INGEST_MODES}
        cpu_start = cpu_snapshot()
        for round_ in range(args.rounds):
            for mode in ("a", "b", "c") if round_ % 2 == 0 else ("c", "b", "a"):
                run = ingest_run(mode, ids, passing)
                runs[mode].append(run)
                log(f"round {round_ + 1}: {INGEST_MODES[mode][0]}: {run.wall / len(ids):.3f} s/photo "
                    f"(embedding {run.parts['embedding'] / len(ids):.3f}), "
                    f"CPU {run.cpu / len(ids):.3f} s/photo, OCR read {run.read} ({run.with_text} with text), "
                    f"{run.suggestions} suggestions")
        others = others_cores(cpu_start, cpu_snapshot())
        threads, dtype = torch.get_num_threads(), embedder.dtype

    n = len(ids)
    wall = {m: statistics.median(r.wall for r in rs) / n for m, rs in runs.items()}
    cpu = {m: statistics.median(r.cpu for r in rs) / n for m, rs in runs.items()}
    part = {m: {k: statistics.median(r.parts[k] for r in rs) / n for k in rs[0].parts} for m, rs in runs.items()}
    metadata = sum(upload_parts.seconds.values()) / n  # nested: none of these four calls another
    print()
    print(f"{_machine()}; torch {threads} threads, SigLIP-B/16 (random init) {dtype}, batch {embedder.batch_size}; "
          f"{n} photos {size[0]}×{size[1]} JPEG, {len(passing)} with text; {args.rounds} rounds (a b c, c b a), medians")
    if others is not None:
        note = "machine otherwise idle" if others < 0.25 else "SHARED MACHINE: every figure is skewed"
        print(f"other processes used {others:.2f} cores on average while the runs were timed ({note})")
    print()
    print(f"| {'per photo':58} | {'wall ms':>8} | {'CPU ms':>8} | {'/ (a)':>6} |")
    print(f"|{'-' * 60}|{'-' * 10}|{'-' * 10}|{'-' * 8}|")

    def row(name: str, seconds: float, cpu_seconds: float | None = None, ratio: float | None = None) -> None:
        cpu_text = f"{cpu_seconds * 1000:8.1f}" if cpu_seconds is not None else " " * 8
        ratio_text = f"{ratio:6.3f}" if ratio is not None else " " * 6
        print(f"| {name:58} | {seconds * 1000:8.1f} | {cpu_text} | {ratio_text} |")

    row("upload (photo_create_from_bytes), median", statistics.median(upload_seconds))
    for label, seconds in upload_parts.seconds.items():
        row(f"  of which {label}", seconds / n)
    for mode in ("a", "b", "c"):
        name = INGEST_MODES[mode][0] + (f", {len(passing)} of {n} read" if mode == "c" else "")
        row(name, wall[mode], cpu[mode], wall[mode] / wall["a"])
        if mode == "a":
            continue
        for label in ("embedding", "suggestions", "OCR gate + queueing", "OCR reading", "search documents"):
            row(f"  of which {label}" + (" (within the above)" if label == "search documents" else ""),
                part[mode][label], None, part[mode][label] / wall["a"])
    row("whole ingest, gate off: upload metadata + (b)", metadata + wall["b"], None, (metadata + wall["b"]) / wall["a"])
    row(f"whole ingest, {len(passing)} of {n} read: upload metadata + (c)", metadata + wall["c"], None,
        (metadata + wall["c"]) / wall["a"])
    print()
    print(f"ratios of the runs (wall / CPU): (b)/(a) {wall['b'] / wall['a']:.2f} / {cpu['b'] / cpu['a']:.2f}, "
          f"(c)/(a) {wall['c'] / wall['a']:.2f} / {cpu['c'] / cpu['a']:.2f}")
    added = {m: sum(part[m][k] for k in ("suggestions", "OCR gate + queueing", "OCR reading")) for m in ("b", "c")}
    print(f"by parts (embedding alone + what the run added to it; the embedding itself is the same work in every "
          f"run, so its run-to-run noise is left out): (b)/(a) {1 + added['b'] / wall['a']:.2f}, "
          f"(c)/(a) {1 + added['c'] / wall['a']:.2f}; whole ingest {1 + (metadata + added['b']) / wall['a']:.2f} "
          f"and {1 + (metadata + added['c']) / wall['a']:.2f}")
    print(f"suggestions share: {part['b']['suggestions'] / wall['a']:.1%} of embedding alone, "
          f"{part['c']['suggestions'] / wall['c']:.1%} of (c), {part['b']['suggestions'] / wall['b']:.1%} of (b); "
          f"{runs['b'][0].suggestions / n:.1f} suggestions written per photo")
    print(f"upload metadata (embedded metadata, place, time zone, document) {metadata * 1000:.0f} ms/photo; "
          f"one-off warm-up (vocabulary + gate text embeddings, OCR reader) {one_off:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
