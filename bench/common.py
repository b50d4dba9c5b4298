"""Helpers shared by the benchmarks: Django setup, a throwaway database, a full-size random SigLIP-B/16.

Usage at the top of a bench script (run from the repository root as `.venv/bin/python bench/x.py`):

    import sys, pathlib
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    from bench.common import setup_django
    setup_django()

Everything else (Django models, torch) is imported after `setup_django()`.
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKENIZER_DIR = ROOT / "tests" / "fixtures" / "toy-siglip"
START = time.perf_counter()


def setup_django() -> None:
    """Configure and set up Django with the project's settings (quiet logging)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediasearch.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    from mediasearch.runtime import ensure_secret_key_file

    ensure_secret_key_file()  # as manage.py does: settings only read the key

    django.setup()


def log(message: str) -> None:
    """A progress line on stdout, stamped with the seconds since the benchmark started."""
    print(f"[{time.perf_counter() - START:6.1f}s] {message}", flush=True)


@contextlib.contextmanager
def throwaway_database(prefix: str, *, keep: bool = False) -> Iterator[str]:
    """A fresh, migrated database `<prefix>_<pid>` on the same server, dropped on exit (unless `keep`:
    then it stays for a closer look with psql, and the caller says so; drop it by hand afterwards).

    Our own name, so a concurrent pytest run's test database (or another benchmark's) is never clobbered.
    Yields the database name."""
    from django.db import connection

    name = f"{prefix}_{os.getpid()}"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
    try:
        yield name
    finally:
        if keep:
            connection.close()
            connection.settings_dict["NAME"] = old_name
        else:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def build_siglip_b16(dest: Path, *, seed: int = 0) -> None:
    """A randomly initialised SigLIP-B/16 (the shape and FLOPs of google/siglip-base-patch16-224) with its
    image processor and the repo's small tokenizer, saved with save_pretrained so that
    `search.embedder.Embedder(dest)` loads it exactly as it loads a hub checkpoint.

    Only the text vocabulary follows the small tokenizer (embedding-table size; the text tower's 12 layers,
    768 hidden and 64-token sequence are the real ones, so a text forward costs what it costs in production)."""
    import torch
    from PIL import Image
    from transformers import AutoTokenizer, SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipProcessor
    from transformers.initialization import no_init_weights

    tokenizer_dir = TOKENIZER_DIR if (TOKENIZER_DIR / "tokenizer_config.json").exists() else None
    if tokenizer_dir is None:
        sys.exit(f"No tokenizer found in {TOKENIZER_DIR}; run scripts/train_toy_siglip.py.")
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    # SiglipConfig defaults are the siglip-base-patch16-224 shape (vision and text: 768 hidden,
    # 12 layers, text max_position_embeddings 64; vision patch 16 at 224 px).
    config = SiglipConfig(
        text_config={"vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id,
                     "eos_token_id": tokenizer.eos_token_id, "bos_token_id": None},
    )
    torch.manual_seed(seed)
    # transformers' own initialisers take ~20 s for 200M parameters on 2 cores; plain fan-in-scaled
    # normals are as good for timing and take about a second.
    with no_init_weights():
        model = SiglipModel(config)
    with torch.no_grad():
        norms = set()
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()
                norms.update(id(p) for p in module.parameters())
        for param in model.parameters():
            if id(param) in norms:
                continue
            if param.dim() >= 2:
                param.normal_(0.0, math.prod(param.shape[1:]) ** -0.5)
            else:
                param.zero_()  # biases, logit scale and bias (as transformers initialises them)
    model.save_pretrained(dest)
    image_processor = SiglipImageProcessor(
        size={"height": 224, "width": 224}, image_mean=[0.5] * 3, image_std=[0.5] * 3,
        resample=Image.Resampling.BICUBIC, do_convert_rgb=True,
    )
    SiglipProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(dest)


# --- a shared machine ----------------------------------------------------------------------------
# (The same helpers as embed_throughput.py's, which can import these instead; `pids` is new: processes
# working for us, such as our PostgreSQL backend, whose CPU is then not counted as the neighbours'.)


def _process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def cpu_snapshot(pids: tuple[int, ...] = ()) -> tuple[float, float, float] | None:
    """(CPU seconds used by the whole machine, by this process and `pids`, wall clock), to tell how much
    of the machine other processes took while we measured. Linux only."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:9]]
    except OSError:
        return None
    busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait
    ours = os.times()
    return busy, ours.user + ours.system + sum(_process_cpu_seconds(pid) for pid in pids), time.perf_counter()


def others_cores(start, end) -> float | None:
    """Cores other processes kept busy on average between two cpu_snapshot()s."""
    if start is None or end is None:
        return None
    return max(0.0, (end[0] - start[0]) - (end[1] - start[1])) / (end[2] - start[2])


def wait_for_idle(deadline: float, *, threshold: float = 0.3, pids: tuple[int, ...] = ()) -> None:
    """On a shared machine, wait (until `deadline`, a perf_counter time) for other processes to
    leave the CPUs alone, so the figures measure our code rather than the neighbours."""
    said = False
    while time.perf_counter() < deadline:
        before = cpu_snapshot(pids)
        time.sleep(3)
        busy = others_cores(before, cpu_snapshot(pids))
        if busy is None or busy < threshold:
            return
        if not said:
            log(f"other processes use {busy:.2f} cores; waiting for the machine to go idle")
            said = True


def set_niceness(nice: int) -> None:
    """Run this process at `nice`. Call before torch starts its thread pool: Linux niceness is per
    thread and new threads inherit it. With scheduler autogroups (one per session, the default on
    most distributions) niceness only counts inside the group, so the group's own is set too."""
    try:
        os.nice(nice - os.nice(0))
        Path("/proc/self/autogroup").write_text(str(nice))
    except FileNotFoundError:
        pass  # no autogroups here: the process niceness is what counts
    except PermissionError:
        log(f"not allowed to set niceness {nice} (negative values need root)")
    log(f"niceness {os.nice(0)}; " + (Path("/proc/self/autogroup").read_text().strip()
                                      if Path("/proc/self/autogroup").exists() else "no autogroup"))


def median_ms(call, repeats: int) -> float:
    """The median of `repeats` timed calls of `call`, in ms, after one untimed call (warm caches and plans)."""
    call()
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations) * 1000


def percentile_ms(seconds: list[float], q: float) -> float:
    """The q-th percentile (0-100) of durations given in seconds, in milliseconds."""
    import numpy as np

    return float(np.percentile(np.asarray(seconds) * 1000.0, q))


@contextlib.contextmanager
def random_model_world(tmp: Path, prefix: str, **settings_overrides) -> Iterator[Path]:
    """A full-size random SigLIP-B/16 as the active model, media in `tmp`, and a throwaway database: what the
    ingest benchmarks run in. Yields the model's folder."""
    from django.conf import settings
    from django.test import override_settings

    model_dir, media = tmp / "model", tmp / "media"
    log(f"building a random SigLIP-B/16 in {model_dir}")
    build_siglip_b16(model_dir)
    overrides = override_settings(
        STORAGES={**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                   "OPTIONS": {"location": media}}},
        MEDIA_ROOT=media, SEARCH_MODEL=str(model_dir), **settings_overrides,
    )
    with overrides, throwaway_database(prefix) as database:
        log(f"throwaway database {database}, media in {media}")
        yield model_dir
