"""Media on the file system against media in an S3-compatible store: what the storage costs an upload and a view.

    .venv/bin/python bench/media_storage.py                # 12 uploads, 40 thumbnail and 5 original requests each
    .venv/bin/python bench/media_storage.py --uploads 4    # quicker

The S3 store is moto's server in a child process on a loopback port (a Python server: absolute S3 times say
little about a real store; the ratios say what going through boto3 and HTTP adds). Through Django's test client
on the real views, in a throwaway database:

- upload: `photo_create_from_bytes` of a 1600×1200 JPEG (decode, renditions, three writes, the row), per photo;
- thumbnail / original: the permission-checked media views, streamed bodies read whole;
- memory: peak RSS growth of a fresh process while it serves one large original (an uncompressed TIFF of 38 MB)
  as the original view does, for the file system, S3 as configured (one transfer thread, the first 8 MiB of a read
  in memory, the rest in a temporary file), S3 with boto3's threaded transfers, and S3 with django-storages'
  defaults (threaded, `max_memory_size` 0: the whole object in memory).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log, percentile_ms, setup_django, throwaway_database  # noqa: E402

setup_django()

import boto3  # noqa: E402
import numpy as np  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402
from PIL import Image  # noqa: E402

from mediasearch.settings import media_storage  # noqa: E402
from tests.processes import free_port  # noqa: E402


def _status(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _peak_growth(fn) -> int:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM := VmRSS
    base = _status("VmRSS")
    fn()
    return _status("VmHWM") - base


def _jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)  # smooth enough to compress like a photo
    out = io.BytesIO()
    Image.fromarray(small).resize((1600, 1200), Image.BILINEAR).save(out, "JPEG", quality=90)
    return out.getvalue()


def _big_tiff() -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (3650, 3650, 3), dtype=np.uint8)).save(out, "TIFF")
    return out.getvalue()


def _body(response) -> int:
    return sum(len(chunk) for chunk in response.streaming_content)


def run(label: str, storage: dict, args, family, user) -> dict:
    from gallery.models import Photo
    from gallery.services import UploadResult, photo_create_from_bytes

    with override_settings(STORAGES={**_settings().STORAGES, "default": storage}, ALLOWED_HOSTS=["testserver"]):
        uploads = []
        for n in range(args.uploads):
            data = _jpeg(n + 1000 * len(label))
            start = time.perf_counter()
            result = photo_create_from_bytes(family=family, uploaded_by=user, data=data, filename=f"IMG_{n:04d}.jpg")
            uploads.append(time.perf_counter() - start)
            assert result.outcome == UploadResult.SAVED, result.reason
        client = Client()
        client.force_login(user)
        photo = Photo.objects.filter(family=family).latest("pk")
        thumbs, originals = [], []
        for _ in range(args.thumbnails):
            start = time.perf_counter()
            _body(client.get(reverse("gallery:photo_thumbnail", args=[photo.pk])))
            thumbs.append(time.perf_counter() - start)
        for _ in range(args.originals):
            start = time.perf_counter()
            _body(client.get(reverse("gallery:photo_original", args=[photo.pk])))
            originals.append(time.perf_counter() - start)
        Photo.all_objects.filter(family=family).delete()
    row = {"upload": percentile_ms(uploads, 50), "thumbnail": percentile_ms(thumbs, 50),
           "original": percentile_ms(originals, 50)}
    log(f"{label:<12} upload p50 {row['upload']:7.1f} ms   thumbnail p50 {row['thumbnail']:6.1f} ms   "
        f"original p50 {row['original']:6.1f} ms")
    return row


# A fresh interpreter per measurement: memory freed by an earlier one would hide a later one's growth.
CHILD = """
import json, sys
sys.path.insert(0, {root!r})
from bench.common import setup_django
setup_django()
from django.http import FileResponse
from django.core.files.storage import storages
from bench.media_storage import _peak_growth, _storage
storage = storages.create_storage(_storage(**json.loads({spec!r})))

def serve():  # what the original view does: a FileResponse over storage.open, its body read whole
    response = FileResponse(storage.open("big.tif", "rb"), content_type="image/tiff")
    for _ in response.streaming_content:
        pass
    response.close()

serve()  # warm: imports, the connection
import time
start = time.perf_counter()
growth = _peak_growth(serve)
print("RESULT", growth, time.perf_counter() - start)
"""


def _storage(*, env: dict, threads: bool = False, **options) -> dict:
    """The storage `env` configures (through settings' own media_storage), with `options` changed."""
    storage = media_storage(env)
    if threads:
        options["transfer_config"] = None  # django-storages' default: boto3's threaded transfers
    return {**storage, "OPTIONS": {**storage["OPTIONS"], **options}}


def serving_peak(spec: dict) -> tuple[float, float]:
    """Peak RSS growth (MB) of a fresh process while it serves the large original from `storage`, and seconds."""
    import json

    code = CHILD.format(root=str(Path(__file__).resolve().parent.parent), spec=json.dumps(spec))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "LOG_LEVEL": "WARNING"})
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(done.stderr[-3000:])
    _, growth, seconds = lines[-1].split()
    return int(growth) / 2**20, float(seconds)


def _settings():
    from django.conf import settings

    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uploads", type=int, default=12)
    parser.add_argument("--thumbnails", type=int, default=40)
    parser.add_argument("--originals", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=2, help="fresh processes per memory measurement")
    args = parser.parse_args()
    args.big = _big_tiff()

    tmp = Path(tempfile.mkdtemp(prefix="bench-media-"))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="bench", aws_secret_access_key="bench")
        for _ in range(100):
            try:
                client.create_bucket(Bucket="bench")
                break
            except Exception:  # noqa: BLE001 - the server is still starting
                time.sleep(0.1)
        env = {"MEDIA_STORAGE": "s3", "S3_BUCKET": "bench", "S3_ENDPOINT_URL": endpoint, "S3_REGION": "us-east-1",
               "S3_ACCESS_KEY_ID": "bench", "S3_SECRET_ACCESS_KEY": "bench", "S3_ADDRESSING_STYLE": "path"}
        s3 = media_storage(env)
        filesystem = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp}}
        with throwaway_database("bench_media"):
            from tests.factories import FamilyFactory, MembershipFactory, UserFactory

            family, user = FamilyFactory(name="Bench"), UserFactory(username="bench")
            MembershipFactory(family=family, user=user)
            rows = {label: run(label, storage, args, family, user) for label, storage in
                    (("file system", filesystem), ("s3", s3))}
        fs, ours = rows["file system"], rows["s3"]
        print(f"\nS3 / file system: upload {ours['upload'] / fs['upload']:.2f}, thumbnail "
              f"{ours['thumbnail'] / fs['thumbnail']:.2f}, original {ours['original'] / fs['original']:.2f}")
        (tmp / "big.tif").write_bytes(args.big)
        client.put_object(Bucket="bench", Key="big.tif", Body=args.big)
        print(f"peak memory growth serving a {len(args.big) / 2**20:.0f} MB original (fresh process each):")
        for label, spec in (("file system", {"env": {"MEDIA_ROOT": str(tmp)}, "location": str(tmp)}),
                            ("s3 as configured", {"env": env}),
                            ("s3, threaded transfers", {"env": env, "threads": True}),
                            ("s3, django-storages' default (all in memory)", {"env": env, "threads": True,
                                                                              "max_memory_size": 0})):
            peaks = [serving_peak(spec) for _ in range(args.repeat)]
            print(f"  {label:<46} " + "  ".join(f"+{mb:5.1f} MB in {s:4.2f} s" for mb, s in peaks))
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
