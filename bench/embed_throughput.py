"""Embedding throughput: bare SigLIP-B/16 forward (fp32 and the automatic dtype) against the whole
`search.services.embed_photos` pipeline (decode from disk, preprocess, forward, database write).

Run from the repository root:

    .venv/bin/python bench/embed_throughput.py [--photos 256] [--batch-size 16] [--nice -10]

Prints images/s for (a) the bare model forward in plain eager float32 and (b) exactly as the
embedder runs it with its automatic settings (bfloat16 on CPUs with AVX512-BF16/AMX, and there the
vision tower compiled, SEARCH_COMPILE=auto), both on the same preprocessed pixels, batch
SEARCH_BATCH_SIZE, interleaved; when (b) is compiled, also float32 compiled the same way and the
automatic dtype without compiling, so the table shows how much comes from the dtype and how much
from compiling, and the one-off compile time; (c) `embed_photos(photo_ids=..., fill_to=0)` over
every photo, reset to pending first, with the automatic settings; then the ratios pipeline/bare
(target >= 0.85) and auto/fp32 (target >= 2.5) and how closely bf16 embeddings agree with fp32 ones. Torch keeps the
thread count the embedder leaves it with. On a shared machine other people's jobs skew every rate:
the table says how many cores they took, and `--nice -10` (root) gives this process priority.

Nothing is downloaded and no developer data is touched: the model is a full-size, randomly
initialised SigLIP-B/16 (the shape and FLOPs of google/siglip-base-patch16-224) saved into a temp
dir and loaded through `search.embedder.Embedder` (AutoModel/AutoProcessor, as the product does);
photos are realistic JPEGs stored through `gallery.services.photo_create_from_bytes` into a
throwaway database on the same PostgreSQL server, with media in a temp dir. Both are removed at the end.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    cpu_snapshot, log, others_cores, random_model_world, set_niceness, setup_django, wait_for_idle,
)

setup_django()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from django.conf import settings  # noqa: E402
from PIL import Image  # noqa: E402

from scripts.shapes import COLOURS, SHAPES, draw_shape  # noqa: E402

transformers.utils.logging.set_verbosity_error()  # config diffing on save warns about default token ids
transformers.utils.logging.disable_progress_bar()

TARGET_PIPELINE_RATIO = 0.85
TARGET_DTYPE_RATIO = 2.5


# --- photos --------------------------------------------------------------------------------------


def photo_jpeg(index: int, size: tuple[int, int]) -> bytes:
    """A camera-like JPEG: a shape drawing upscaled to `size`, luminance noise (so the file has a
    photo's entropy and decode cost), EXIF with a camera and date; every 4th one stored sideways
    with an orientation tag, as phones do."""
    rng = random.Random(index)
    colour, shape = list(COLOURS)[index % len(COLOURS)], SHAPES[(index // len(COLOURS)) % len(SHAPES)]
    width, height = size
    pixels = np.asarray(draw_shape(colour, shape, size=320, rng=rng).resize(size, Image.Resampling.BILINEAR), np.int16)
    noise = np.random.default_rng(index).integers(-10, 11, size=(height, width, 1), dtype=np.int16)
    image = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "BenchCam", "B-16"
    exif[0x0132] = f"2024:06:{1 + index % 28:02d} 12:{index % 60:02d}:00"
    if index % 4 == 3:
        image = image.transpose(Image.Transpose.ROTATE_90)
        exif[0x0112] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def create_photos(count: int, size: tuple[int, int]) -> list[int]:
    from gallery.services import UploadResult, family_create, photo_create_from_bytes, user_create

    user = user_create(username="bench", password="bench-password-not-used")
    family = family_create(name="Bench family", admin=user)
    ids = []
    # JPEG encoding and Pillow's decode release the GIL: make the next files while storing these.
    with ThreadPoolExecutor(max_workers=2) as pool:
        for index, data in enumerate(pool.map(lambda i: photo_jpeg(i, size), range(count))):
            result = photo_create_from_bytes(family=family, uploaded_by=user, data=data, filename=f"IMG_{index:04d}.jpg")
            if result.outcome != UploadResult.SAVED:
                raise SystemExit(f"photo {index} was not stored: {result.outcome} {result.reason}")
            ids.append(result.photo.pk)
    return ids


def reset_to_pending(ids: list[int]) -> None:
    from gallery.models import Photo
    from search.models import PhotoEmbedding

    PhotoEmbedding.objects.filter(photo_id__in=ids).delete()
    Photo.objects.filter(pk__in=ids).update(status=Photo.Status.PENDING, status_reason="", embed_attempts=0)


# --- measurements --------------------------------------------------------------------------------





class BareForward:
    """Times the model alone on already preprocessed pixels, through `Embedder.encode_prepared`: what the
    worker runs for a batch (cast to the embedder's dtype, the compiled or eager forward, normalising),
    minus decoding and preprocessing."""

    def __init__(self, embedder, pixel_values: torch.Tensor):
        self.embedder, self.inputs = embedder, {"pixel_values": pixel_values}
        self.seconds: list[float] = []
        self.first_seconds: float | None = None  # the first batch: compiling, if the embedder compiles

    def run(self, batches: int = 1, *, timed: bool = True) -> None:
        for _ in range(batches):
            start = time.perf_counter()
            self.embedder.encode_prepared(self.inputs)
            if self.first_seconds is None:
                self.first_seconds = time.perf_counter() - start
            elif timed:
                self.seconds.append(time.perf_counter() - start)

    @property
    def rate(self) -> float:
        # The median batch: one batch slowed by another process on this shared machine doesn't count.
        return len(self.inputs["pixel_values"]) / float(np.median(self.seconds))


def pipeline_rate(ids: list[int], batch: int, *, profile: bool = False) -> tuple[float, float]:
    from search.services import embed_photos

    reset_to_pending(ids)
    report = embed_photos(photo_ids=ids[:batch], fill_to=0)  # warm-up: first-call costs, caches
    assert report.ready == min(batch, len(ids)), report
    reset_to_pending(ids)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()  # the calling thread only: where the model's thread waits
        profiler.enable()
    start = time.perf_counter()
    report = embed_photos(photo_ids=ids, fill_to=0)
    elapsed = time.perf_counter() - start
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    if report.ready != len(ids) or report.failed:
        raise SystemExit(f"pipeline did not embed every photo: {report}")
    return len(ids) / elapsed, elapsed



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=256, help="photos embedded by the pipeline (default 256)")
    parser.add_argument("--batch-size", type=int, default=settings.SEARCH_BATCH_SIZE,
                        help=f"model batch size (default SEARCH_BATCH_SIZE = {settings.SEARCH_BATCH_SIZE})")
    parser.add_argument("--size", default="1600x1200", help="photo size WxH (default 1600x1200)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="timed bare-forward rounds: one batch of each comparison model and two with the "
                             "embedder's automatic settings each (default 4)")
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                        help="on a shared machine, wait up to this long in all for other processes to go idle")
    parser.add_argument("--nice", type=int, default=0,
                        help="change this process's niceness first, e.g. -10 so that other people's jobs on a "
                             "shared machine don't skew the rates (negative values need root); default 0")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed pipeline run (its calling thread)")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    batch = args.batch_size
    if args.nice:
        set_niceness(args.nice)

    tmp = Path(tempfile.mkdtemp(prefix="bench-embed-"))
    try:
        return measure(args, tmp, batch, size)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(args: argparse.Namespace, tmp: Path, batch: int, size: tuple[int, int]) -> int:
    with random_model_world(tmp, "bench_embed", SEARCH_DEVICE="auto", SEARCH_DTYPE="auto",
                            SEARCH_BATCH_SIZE=batch) as model_dir:
        from gallery.images import decode_upright
        from gallery.models import Photo
        from search.embedder import Embedder, reset_embedder
        from search.models import PhotoEmbedding
        from search.services import DECODE_SIDE, load_embedder

        start = time.perf_counter()
        ids = create_photos(args.photos, size)
        log(f"stored {len(ids)} photos of {size[0]}×{size[1]} ({len(ids) / (time.perf_counter() - start):.1f}/s)")

        reset_embedder()
        embedder = load_embedder()  # exactly what the worker uses: settings, auto device and dtype
        log(f"embedder: device {embedder.device}, dtype {embedder.dtype}, {torch.get_num_threads()} torch threads")
        # The worker embeds from the display renditions, read through the storage API as here.
        displays = [p.display for p in Photo.objects.filter(pk__in=ids[:batch]).order_by("pk")]

        def open_upright(display):
            with display.open("rb") as stream:
                return decode_upright(stream, max_side=DECODE_SIDE, slot=False)

        images = [open_upright(display) for display in displays]
        pixel_values = embedder.prepare_images(images)["pixel_values"]

        dtype_name = str(embedder.dtype).removeprefix("torch.")
        # The baseline: plain eager float32, no compiling.
        fp32 = Embedder(str(model_dir), dtype="float32", batch_size=batch, compile="off")
        bare_fp32, bare_auto = BareForward(fp32, pixel_values), BareForward(embedder, pixel_values)
        # When the embedder compiles, the same models the other way round: float32 compiled exactly as
        # the embedder compiles, and the automatic dtype eager. The first batch of a compiling embedder
        # compiles; that is timed too.
        others: dict[str, BareForward] = {}
        if embedder.compile:
            others["float32 compiled"] = BareForward(
                Embedder(str(model_dir), dtype="float32", batch_size=batch, compile="on"), pixel_values)
            if embedder.dtype != torch.float32:
                others[f"{dtype_name} eager"] = BareForward(
                    Embedder(str(model_dir), dtype=dtype_name, batch_size=batch, compile="off"), pixel_values)
        log("first batches" + (" (compiling)" if embedder.compile else ""))
        for bare in (bare_fp32, bare_auto, *others.values()):
            bare.run(timed=False)
        bare_auto.run(timed=False)
        wait_until = time.perf_counter() + args.wait_idle
        wait_for_idle(wait_until)
        cpu_bare = cpu_snapshot()
        # Interleaved, so a change of load on the machine hits every variant alike.
        log(f"bare forward, float32, {', '.join(others)}{', ' if others else ''}{dtype_name} (auto) "
            f"interleaved, {args.rounds} rounds")
        for _ in range(args.rounds):
            bare_fp32.run()
            for bare in others.values():
                bare.run()
            bare_auto.run(2)
        busy_bare = others_cores(cpu_bare, cpu_snapshot())
        sample = images[:8]
        cosines = np.sum(fp32.encode_images(sample) * embedder.encode_images(sample), axis=1)
        compile_seconds = {"auto": embedder.compile_seconds,
                           **{name: bare.embedder.compile_seconds for name, bare in others.items()}}
        del fp32, bare_fp32.embedder
        for bare in others.values():
            del bare.embedder

        wait_for_idle(wait_until)
        log(f"pipeline, {len(ids)} photos")
        cpu_pipeline = cpu_snapshot()
        pipe_rate, pipe_seconds = pipeline_rate(ids, batch, profile=args.profile)
        log(f"bare forward, {dtype_name} (auto), after the pipeline")
        bare_auto.run(args.rounds)
        busy_pipeline = others_cores(cpu_pipeline, cpu_snapshot())
        fp32_rate, auto_rate = bare_fp32.rate, bare_auto.rate
        stored = {e.photo_id: np.array(e.vector) for e in PhotoEmbedding.objects.filter(photo_id__in=ids[:len(sample)])}
        direct = embedder.encode_images([open_upright(p) for p in paths[:len(sample)]])
        stored_cos = min(float(stored[pk] @ vec) for pk, vec in zip(sorted(stored), direct))

    pipeline_ratio, dtype_ratio = pipe_rate / auto_rate, auto_rate / fp32_rate
    ok = lambda good: "ok" if good else "BELOW TARGET"  # noqa: E731
    auto_name = f"{dtype_name}{' compiled' if embedder.compile else ''} (auto)"
    rates = {name: bare.rate for name, bare in others.items()}
    rows = [("bare forward, float32 (eager)", f"{fp32_rate:7.2f} img/s", "the baseline")]
    rows += [(f"bare forward, {name}", f"{rate:7.2f} img/s", "") for name, rate in rates.items()]
    rows += [
        (f"bare forward, {auto_name}", f"{auto_rate:7.2f} img/s", "what the worker runs"),
        (f"pipeline embed_photos, {dtype_name}", f"{pipe_rate:7.2f} img/s", f"{len(ids)} photos in {pipe_seconds:.1f} s"),
        ("pipeline / bare (same dtype)", f"{pipeline_ratio:7.3f}", f"target ≥ {TARGET_PIPELINE_RATIO}  {ok(pipeline_ratio >= TARGET_PIPELINE_RATIO)}"),
        (f"{auto_name} / float32", f"{dtype_ratio:7.3f}", f"target ≥ {TARGET_DTYPE_RATIO}  {ok(dtype_ratio >= TARGET_DTYPE_RATIO)}"),
        (f"cosine {dtype_name} vs float32", f"{cosines.min():.5f}", f"min over {len(cosines)} images; max diff {1 - cosines.min():.2e}"),
        ("cosine stored vs direct encode", f"{stored_cos:.5f}", f"min over {len(stored)} photos"),
    ]
    if "float32 compiled" in rates:
        at = len(rows) - 2  # after the target ratio
        rows[at:at] = [
            ("  of which compiling, float32", f"{rates['float32 compiled'] / fp32_rate:7.3f}", "float32 compiled / eager"),
            ("  of which the dtype, compiled", f"{auto_rate / rates['float32 compiled']:7.3f}",
             f"{dtype_name} / float32, both compiled"),
        ]
        if f"{dtype_name} eager" in rates:
            rows.insert(at + 2, (f"  compiling, {dtype_name}", f"{auto_rate / rates[f'{dtype_name} eager']:7.3f}",
                                 f"{dtype_name} compiled / eager"))
    for name, seconds in compile_seconds.items():
        if seconds is not None:
            label = f"{dtype_name} (auto)" if name == "auto" else name.removesuffix(" compiled")
            rows.append((f"compile + 1st batch, {label}", f"{seconds:7.1f} s",
                         "once per worker process, on its first photos" if name == "auto" else ""))
    if busy_bare is not None and busy_pipeline is not None:
        busy = max(busy_bare, busy_pipeline)
        note = "machine otherwise idle" if busy < 0.25 else "SHARED MACHINE: rates are low and noisy"
        rows.append(("others' CPU while measuring", f"{busy_bare:.2f} / {busy_pipeline:.2f}",
                     f"cores of {os.cpu_count()} (bare / pipeline phase, incl. PostgreSQL); {note}"))
    print()
    print(f"SigLIP-B/16 (random init), batch {batch}, {torch.get_num_threads()} threads, photos {size[0]}×{size[1]} JPEG")
    for name, value, note in rows:
        print(f"  {name:<40} {value:>14}   {note}")
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
