"""Peak memory of decoding an upload, and of the worker's decode for embedding: the old full decode against
today's bounded one, in the same run.

Run from the repository root:

    .venv/bin/python bench/decode_memory.py [--parallel 8]

Each figure is the peak RSS growth (VmHWM after /proc/self/clear_refs, minus VmRSS before) of one fresh
child process that set up Django, warmed every import with a small decode, then decoded one file:

- "before, upload": what inspect_image did until now: Image.open, load() at full size, exif_transpose,
  then the phash and the thumbnail from a full-size RGB conversion. (It refused the 200 MP JPEG outright
  with its 100 MP limit; the row shows what decoding it would have cost.)
- "after, upload": gallery.images.inspect_image now (display rendition, thumbnail and phash from one decode).
- "before, worker": the worker's old open_upright(path, max_side=448): draft for JPEG, else a full decode
  and a full-size RGB conversion. "after, worker": gallery.images.decode_upright(stream, max_side=448) on the
  original (the worker now reads the display rendition, and the original only for photos without one).

Files: a 14 KB 1-bit palette PNG of 10,000×9,999, a flat 200 MP JPEG (16,000×12,500, ~3 MB), a
camera-like 12 MP JPEG and a 12 MP HEIC. Then `--parallel` uploads of distinct bomb PNGs at once with
DECODE_CONCURRENCY=2 against DECODE_CONCURRENCY=N (no limit in effect): the peak of the children's summed
RSS growth, sampled every 5 ms.

The decode slots are advisory locks on the configured database (no table is read or written); media and
files live in a temp dir removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MB = 1024 * 1024

PRELUDE = r'''
import io, json, os, sys, time
import django
django.setup()
import imagehash
from PIL import Image, ImageOps
from gallery.images import _rgb, decode_upright, inspect_image, make_thumbnail
inspect_image(open(sys.argv[1], "rb").read())  # warm: imports, plugins, the database connection


def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024


def measure(fn):
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base, start = status("VmRSS"), time.perf_counter()
    error = ""
    try:
        fn()
    except Exception as exc:
        error = str(exc)[:100]
    return {"growth": status("VmHWM") - base, "seconds": time.perf_counter() - start, "error": error}


def before_upload(data):
    """inspect_image as it was: a full decode, a full-size upright copy, full-size RGB conversions."""
    image = Image.open(io.BytesIO(data))
    image.load()
    upright = ImageOps.exif_transpose(image)
    imagehash.phash(_rgb(upright))
    thumb = _rgb(upright.copy())
    thumb.thumbnail((400, 400), Image.Resampling.LANCZOS)


def before_worker(path):
    """open_upright(path, max_side=448) as it was."""
    with Image.open(path) as image:
        if image.format == "JPEG":
            image.draft("RGB", (448, 448))
        image.load()
        upright = _rgb(ImageOps.exif_transpose(image))
    if max(upright.size) > 896:
        upright.thumbnail((896, 896), Image.Resampling.BILINEAR)


def after_worker(path):
    with open(path, "rb") as stream:
        decode_upright(stream, max_side=448)


Image.MAX_IMAGE_PIXELS = None  # the "before" rows measure what a full decode costs, whatever the old limit
'''

CASE = r'''
path, kind = sys.argv[2], sys.argv[3]
data = open(path, "rb").read()
fn = {"before-upload": lambda: before_upload(data), "after-upload": lambda: inspect_image(data),
      "before-worker": lambda: before_worker(path), "after-worker": lambda: after_worker(path)}[kind]
print("RESULT " + json.dumps(measure(fn)), flush=True)
'''

TOGETHER = r'''
print("READY", flush=True)
sys.stdin.readline()
data = open(sys.argv[2], "rb").read()
print("RESULT " + json.dumps(measure(lambda: inspect_image(data))), flush=True)
os._exit(0)
'''


def make_files(folder: Path, parallel: int) -> dict[str, Path]:
    from tests.images import jpeg, palette_bomb_png

    (folder / "warm.jpg").write_bytes(jpeg())
    files = {"bomb PNG 10000x9999 1-bit": folder / "bomb.png"}
    files["bomb PNG 10000x9999 1-bit"].write_bytes(palette_bomb_png())
    for n in range(parallel):
        (folder / f"bomb{n}.png").write_bytes(palette_bomb_png(colour=(200, 30, n)))
    files["JPEG 16000x12500 (200 MP)"] = folder / "200mp.jpg"
    files["JPEG 4000x3000 camera-like"] = folder / "photo.jpg"
    files["HEIC 4000x3000 camera-like"] = folder / "photo.heic"
    code = f"""
from PIL import Image
import pillow_heif
pillow_heif.register_heif_opener()
Image.MAX_IMAGE_PIXELS = None
Image.new("RGB", (16000, 12500), (40, 120, 200)).save({str(folder / "200mp.jpg")!r}, quality=90)
scene = Image.radial_gradient("L").resize((4000, 3000)).convert("RGB")
noise = Image.effect_noise((4000, 3000), 40).convert("RGB")
photo = Image.blend(scene, noise, 0.3)
photo.save({str(folder / "photo.jpg")!r}, quality=90)
photo.save({str(folder / "photo.heic")!r}, "HEIF", quality=80)
"""
    subprocess.run([sys.executable, "-c", code], check=True)  # its 800 MB image never touches us
    return files


def child_env(media: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "mediasearch.settings",
            "LOG_LEVEL": "WARNING", "MEDIA_ROOT": str(media), **extra}


def run_one(folder: Path, path: Path, kind: str, env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", PRELUDE + CASE, str(folder / "warm.jpg"), str(path), kind],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"{kind} on {path.name} reported nothing:\n{done.stderr[-3000:]}")


def rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_together(folder: Path, count: int, env: dict) -> tuple[int, float]:
    children = [subprocess.Popen([sys.executable, "-c", PRELUDE + TOGETHER, str(folder / "warm.jpg"),
                                  str(folder / f"bomb{n}.png")], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True) for n in range(count)]
    for child in children:
        assert child.stdout.readline().startswith("READY")
    base = {child.pid: rss(child.pid) for child in children}
    start = time.perf_counter()
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    peak = 0
    while any(child.poll() is None for child in children):
        peak = max(peak, sum(max(0, rss(pid) - base[pid]) if rss(pid) else 0 for pid in base))
        time.sleep(0.005)
    for child in children:
        child.communicate()
    return peak, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parallel", type=int, default=8, help="uploads at once in the last part (0: skip it)")
    args = parser.parse_args()
    from mediasearch.runtime import ensure_secret_key_file

    ensure_secret_key_file()  # its children set Django up with the site's settings, which only read the key
    with tempfile.TemporaryDirectory(prefix="decode-memory-") as tmp:
        folder = Path(tmp)
        files = make_files(folder, args.parallel)
        env = child_env(folder / "media")
        print(f"{'file':<28} {'path':<7} {'before MB':>9} {'after MB':>9} {'after/before':>12} "
              f"{'before s':>8} {'after s':>8}")
        for name, path in files.items():
            for where in ("upload", "worker"):
                before = run_one(folder, path, f"before-{where}", env)
                after = run_one(folder, path, f"after-{where}", env)
                note = f"  (after: {after['error']})" if after["error"] else ""
                print(f"{name:<28} {where:<7} {before['growth'] / MB:9.0f} {after['growth'] / MB:9.0f} "
                      f"{after['growth'] / max(before['growth'], 1):12.2f} {before['seconds']:8.2f} "
                      f"{after['seconds']:8.2f}{note}", flush=True)
        if args.parallel:
            n = args.parallel
            limited, limited_s = run_together(folder, n, child_env(folder / "media", DECODE_CONCURRENCY="2",
                                                                    DECODE_WAIT_SECONDS="300"))
            unlimited, unlimited_s = run_together(folder, n, child_env(folder / "media", DECODE_CONCURRENCY=str(n)))
            print(f"\n{n} bomb PNG uploads at once, summed RSS growth: DECODE_CONCURRENCY={n} (no limit) "
                  f"{unlimited / MB:.0f} MB in {unlimited_s:.1f} s; DECODE_CONCURRENCY=2 {limited / MB:.0f} MB "
                  f"in {limited_s:.1f} s; ratio {limited / max(unlimited, 1):.2f}")
            print(f"(the old code, {n} full decodes at once, would need about {n} x the 'before, upload' row)")


if __name__ == "__main__":
    main()
