"""What tag suggestions cost embedding: `embed_photos` throughput with suggestions on against off, in the same run,
and the scoring hook alone per batch.

Run from the repository root:

    .venv/bin/python bench/suggest_overhead.py [--photos 64] [--rounds 3] [--extra-concepts 0] [--size 1600x1200]

(1) The one-off cost of a vocabulary: its concepts' text embeddings (the prompt templates, a text forward each),
paid once per model and vocabulary change and then read from the cache (search.text_embeddings). (2) The hook
alone: `search.suggestions.photos_suggest` on one batch of freshly embedded photos (read the stored embeddings,
one matrix product against the vocabulary, write the suggestions, rebuild the search documents), median ms per
batch and per photo. (3) `search.services.embed_photos(photo_ids=all, fill_to=0)` with every photo reset to
pending (and its suggestions removed), with TAG_SUGGESTIONS_ENABLED off and on, interleaved `--rounds` times (off-on, on-off, ...);
the ratio of the median rates (target: suggestions cost <= 5 %, i.e. on/off >= 0.95), and the hook's share of
the time per photo measured in (2), which the machine's noise disturbs far less.

The model is a full-size random SigLIP-B/16 (bench.common.build_siglip_b16): it sees no concept, so the bench
sets TAG_SUGGESTION_THRESHOLD to 0 and every photo gets TAG_SUGGESTION_LIMIT suggestions written, the most a real
photo can cost. The vocabulary is the seeded one (migration search 0011), plus `--extra-concepts` made-up ones to
show how the cost grows with it. OCR is off (bench/ocr_throughput.py measures it). A throwaway database and a temp
media dir are removed at the end; other processes' load on a shared machine skews the rates (printed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import cpu_snapshot, log, others_cores, random_model_world, setup_django  # noqa: E402

setup_django()

import torch  # noqa: E402
import transformers  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from bench.embed_throughput import create_photos, reset_to_pending  # noqa: E402

transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

TARGET_RATIO = 0.95


def embed_rate(ids: list[int], *, suggestions: bool) -> float:
    """Photos per second of one embed_photos run over every photo, reset to pending, suggestions on or off."""
    from gallery.models import Photo, TagSuggestion
    from search.services import embed_photos

    reset_to_pending(ids)
    TagSuggestion.objects.filter(photo_id__in=ids).delete()
    Photo.objects.filter(pk__in=ids).update(suggestions_model="")
    with override_settings(TAG_SUGGESTIONS_ENABLED=suggestions):
        start = time.perf_counter()
        report = embed_photos(photo_ids=ids, fill_to=0)
        elapsed = time.perf_counter() - start
    if report.ready != len(ids):
        raise SystemExit(f"not every photo was embedded: {report}")
    if suggestions and not TagSuggestion.objects.filter(photo_id__in=ids).exists():
        raise SystemExit("suggestions were on but none were written")
    return len(ids) / elapsed


def hook_seconds(ids: list[int], batch: int, repeats: int = 5) -> list[float]:
    """Seconds of the scoring hook on one batch of embedded photos that have no suggestions yet."""
    from gallery.models import Photo, TagSuggestion
    from search.suggestions import photos_suggest

    chunk, times = ids[:batch], []
    for _ in range(repeats):
        TagSuggestion.objects.filter(photo_id__in=chunk).delete()
        Photo.objects.filter(pk__in=chunk).update(suggestions_model="")
        start = time.perf_counter()
        scored = photos_suggest(chunk)
        times.append(time.perf_counter() - start)
        assert scored == len(chunk), scored
    return times


class HookTimer:
    """Times the scoring hook where embed_photos calls it (search.services.suggest_after_embedding), for the bench
    only: the share of the 'on' runs' time it takes, which drifting load on a shared machine barely disturbs."""

    def __init__(self):
        self.seconds, self.calls = 0.0, 0

    def __enter__(self):
        from search import services

        self._original = original = services.suggest_after_embedding

        def timed(photo_ids):
            start = time.perf_counter()
            try:
                return original(photo_ids)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1

        services.suggest_after_embedding = timed
        return self

    def __exit__(self, *exc):
        from search import services

        services.suggest_after_embedding = self._original


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=64, help="photos per embedding run (default 64)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved off/on embedding runs (default 3)")
    parser.add_argument("--extra-concepts", type=int, default=0, help="made-up concepts added to the vocabulary")
    parser.add_argument("--size", default="1600x1200", help="photo size WxH (default 1600x1200)")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-suggest-"))
    try:
        with random_model_world(tmp, "bench_suggest", SEARCH_DEVICE="auto", SEARCH_DTYPE="auto", OCR_ENABLED=False,
                                TAG_SUGGESTION_THRESHOLD=0.0):
            return measure(args, size)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(args: argparse.Namespace, size: tuple[int, int]) -> int:
    from search.models import TagConcept
    from search.services import load_embedder
    from search.suggestions import vocabularies
    from search.text_embeddings import term_vectors

    TagConcept.objects.bulk_create([TagConcept(name=f"made-up concept {n}") for n in range(args.extra_concepts)])
    ids = create_photos(args.photos, size)
    log(f"stored {len(ids)} photos of {size[0]}×{size[1]}")
    embedder = load_embedder()
    batch = embedder.batch_size
    concepts = vocabularies([0])[0]  # the global vocabulary (no family has its own entries here)
    start = time.perf_counter()
    term_vectors(embedder, [concept.text for concept in concepts])
    vocabulary_seconds = time.perf_counter() - start
    log(f"vocabulary of {len(concepts)} concepts embedded once in {vocabulary_seconds:.1f} s (then cached)")

    log("warm-up run (suggestions on)")
    embed_rate(ids[:batch], suggestions=True)
    hook = hook_seconds(ids, batch)
    log(f"hook alone on {min(batch, len(ids))} photos: median {statistics.median(hook) * 1000:.1f} ms")

    cpu = cpu_snapshot()
    rates: dict[bool, list[float]] = {False: [], True: []}
    in_hook = HookTimer()
    with in_hook:
        for n in range(args.rounds):
            # ABBA: off-on, then on-off, so a load that drifts during the run hits both alike.
            for on in ((False, True) if n % 2 == 0 else (True, False)):
                rates[on].append(embed_rate(ids, suggestions=on))
                log(f"round {n + 1}: suggestions {'on ' if on else 'off'} {rates[on][-1]:6.2f} photos/s")
    busy = others_cores(cpu, cpu_snapshot())

    off, on = statistics.median(rates[False]), statistics.median(rates[True])
    on_seconds = sum(len(ids) / rate for rate in rates[True])
    per_photo_hook = statistics.median(hook) / min(batch, len(ids))
    share = per_photo_hook / (1 / off)
    ratio = on / off
    ok = lambda good: "ok" if good else "ABOVE TARGET"  # noqa: E731
    rows = [
        ("vocabulary", f"{len(concepts):7d} concepts", f"{args.extra_concepts} made up"),
        ("vocabulary text embeddings, once", f"{vocabulary_seconds:7.2f} s", "per model and vocabulary change; cached"),
        (f"hook per batch of {min(batch, len(ids))}", f"{statistics.median(hook) * 1000:7.1f} ms",
         f"min {min(hook) * 1000:.1f} ms; read embeddings, 1 matrix product, write, reindex"),
        ("hook per photo", f"{per_photo_hook * 1000:7.2f} ms", f"{settings.TAG_SUGGESTION_LIMIT} suggestions written each"),
        ("embed_photos, suggestions off", f"{off:7.2f} img/s", " ".join(f"{r:.2f}" for r in rates[False])),
        ("embed_photos, suggestions on", f"{on:7.2f} img/s", " ".join(f"{r:.2f}" for r in rates[True])),
        ("on / off (same run)", f"{ratio:7.3f}", f"target ≥ {TARGET_RATIO}  {ok(ratio >= TARGET_RATIO)}"),
        ("hook time / embedding time", f"{share:7.2%}", f"target ≤ {1 - TARGET_RATIO:.0%}  {ok(share <= 1 - TARGET_RATIO)}"),
        ("hook share of the 'on' runs", f"{in_hook.seconds / on_seconds:7.2%}",
         f"{in_hook.seconds:.2f} s of {on_seconds:.1f} s, timed inside embed_photos ({in_hook.calls} calls)"),
    ]
    if busy is not None:
        note = "machine otherwise idle" if busy < 0.25 else "SHARED MACHINE: rates are noisy; trust the hook share"
        rows.append(("others' CPU while measuring", f"{busy:.2f}", f"cores of {os.cpu_count()}; {note}"))
    print()
    print(f"SigLIP-B/16 (random init), {embedder.dtype}, batch {batch}, {torch.get_num_threads()} threads, "
          f"{len(ids)} photos {size[0]}×{size[1]} JPEG")
    for name, value, note in rows:
        print(f"  {name:<36} {value:>16}   {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
