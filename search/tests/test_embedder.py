"""The embedder against the committed toy SigLIP: same numbers as transformers, clear failures.

No database and no network: the model is a local directory and the hub is forced offline.
"""

from __future__ import annotations

import random
import shutil
import socket
import time
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
import torch
import torch._dynamo
from PIL import Image
from transformers import AutoModel, AutoProcessor

from scripts.shapes import draw_shape
from search import embedder as embedder_module
from search.embedder import (
    Embedder, ModelUnavailable, _resolve_compile, cpu_supports_bf16, get_embedder, loaded_embedder,
    model_load_failed, model_status, reset_embedder,
)

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "toy-siglip"
TEXTS = ["a photo of a red circle", "a blue square", "yellow triangle", "A Purple Circle!", "crimson ball"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """huggingface_hub reads HF_HUB_OFFLINE at import time, so patch the constant too."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="module")
def toy() -> Embedder:
    return Embedder(str(FIXTURE), dtype="float32", batch_size=3)


@pytest.fixture(scope="module")
def auto_toy() -> Embedder:
    """Automatic device and dtype (bf16 on CPUs that have it) with the vision tower compiled, as a
    worker on such a CPU runs. Compiling even the toy takes ~10-20 s: one compiled model per run."""
    return Embedder(str(FIXTURE), batch_size=3, compile="on")


@pytest.fixture(scope="module")
def photos() -> list[Image.Image]:
    rng = random.Random(7)
    return [draw_shape(colour, shape, size=96, rng=rng)
            for colour, shape in [("red", "circle"), ("blue", "square"), ("yellow", "triangle"),
                                  ("purple", "circle"), ("green", "square"), ("orange", "triangle"), ("red", "square")]]


@pytest.fixture
def _fresh_singleton():
    reset_embedder()
    yield
    reset_embedder()


def test_exposes_what_callers_record(toy):
    assert toy.model_name == str(FIXTURE)
    assert toy.device == torch.device("cpu") and toy.dtype == torch.float32
    assert toy.dim == 64 and not toy.is_siglip2
    assert toy.max_length == toy.model.config.text_config.max_position_embeddings


def test_vectors_are_float32_and_unit_length(toy, photos):
    for vectors, count in ((toy.encode_images(photos), len(photos)), (toy.encode_texts(TEXTS), len(TEXTS))):
        assert vectors.dtype == np.float32 and vectors.shape == (count, toy.dim)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_input_gives_an_empty_matrix(toy):
    assert toy.encode_images([]).shape == (0, toy.dim)
    assert toy.encode_texts([]).shape == (0, toy.dim)


def test_batches_give_the_same_vectors_as_one_at_a_time(toy, photos):
    one_by_one = np.concatenate([toy.encode_images([photo]) for photo in photos])
    np.testing.assert_allclose(toy.encode_images(photos), one_by_one, atol=1e-5)
    one_by_one = np.concatenate([toy.encode_texts([text]) for text in TEXTS])
    np.testing.assert_allclose(toy.encode_texts(TEXTS), one_by_one, atol=1e-5)


def test_non_rgb_images_are_converted_first(toy, photos):
    rgba, grey = photos[0].convert("RGBA"), photos[1].convert("L")
    np.testing.assert_allclose(toy.encode_images([rgba, grey]),
                               toy.encode_images([photos[0], grey.convert("RGB")]), atol=1e-6)


def test_probability_equals_transformers_sigmoid_of_logits(toy, photos):
    model, processor = AutoModel.from_pretrained(FIXTURE).eval(), AutoProcessor.from_pretrained(FIXTURE)
    inputs = processor(text=TEXTS, images=photos, padding="max_length", truncation=True,
                       max_length=model.config.text_config.max_position_embeddings, return_tensors="pt")
    with torch.inference_mode():
        reference = torch.sigmoid(model(**inputs).logits_per_image).numpy()  # (images, texts)

    ours = toy.probability(toy.encode_images(photos) @ toy.encode_texts(TEXTS).T)
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    assert toy.calibration == pytest.approx((model.logit_scale.exp().item(), model.logit_bias.item()))
    assert ours[0, 0] > 0.5 and ours[0, 1] < 0.05  # a red circle is "a photo of a red circle", not "a blue square"


def test_probability_is_vectorised_and_saturates_without_warnings(toy):
    with np.errstate(all="raise"):
        p = toy.probability(np.array([-1.0, 0.0, 1.0]))
        assert p.shape == (3,) and p[0] < p[1] < p[2]
        assert toy.probability(1e6) == pytest.approx(1.0) and toy.probability(-1e6) == pytest.approx(0.0)


def test_auto_dtype_uses_bf16_only_where_the_cpu_has_it(toy, auto_toy, photos):
    assert auto_toy.dtype == (torch.bfloat16 if cpu_supports_bf16() else torch.float32)
    assert auto_toy.calibration == toy.calibration  # read before casting, at full precision
    cosines = np.sum(auto_toy.encode_images(photos) * toy.encode_images(photos), axis=1)
    assert cosines.min() > 0.99


def test_compiling_is_automatic_only_for_siglip_in_bf16_on_cpu():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert _resolve_compile("auto", cpu, torch.bfloat16, "siglip")
    assert not _resolve_compile("auto", cpu, torch.float32, "siglip")  # measured: no gain in fp32
    assert not _resolve_compile("auto", cuda, torch.float16, "siglip")  # never measured
    assert not _resolve_compile("auto", cpu, torch.bfloat16, "siglip2")  # images of varying patch counts
    assert _resolve_compile("on", cpu, torch.float32, "siglip2") and _resolve_compile("TRUE", cuda, torch.float16, "x")
    assert not _resolve_compile("off", cpu, torch.bfloat16, "siglip") and not _resolve_compile("0", cpu, torch.bfloat16, "siglip")
    with pytest.raises(ModelUnavailable, match="SEARCH_COMPILE 'sometimes'"):
        _resolve_compile("sometimes", cpu, torch.bfloat16, "siglip")


def test_the_compiled_vision_tower_gives_the_eager_vectors_in_one_shape(auto_toy, photos, monkeypatch):
    eager = Embedder(str(FIXTURE), dtype=str(auto_toy.dtype).removeprefix("torch."), batch_size=3, compile="off")
    vectors = auto_toy.encode_images(photos)  # 7 photos: batches of 3, 3 and 1 (padded to 3)
    assert auto_toy.compile and auto_toy.compile_seconds is not None
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(vectors * eager.encode_images(photos), axis=1)
    assert cosines.min() > 0.9999

    # Whatever a task's batch looks like (the pipeline's entry point, other counts), one compiled shape.
    monkeypatch.setattr(torch._dynamo.config, "error_on_recompile", True)
    for count in (1, 2, 5):
        again = auto_toy.encode_prepared(auto_toy.prepare_images(photos[:count]))
        np.testing.assert_allclose(again, vectors[:count], atol=1e-6)
    assert auto_toy.compile  # still compiled: a recompile would have raised and switched it off

    # The text tower is left alone.
    np.testing.assert_array_equal(auto_toy.encode_texts(TEXTS), eager.encode_texts(TEXTS))


def test_compile_off_keeps_eager_pytorch(photos, monkeypatch):
    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled although SEARCH_COMPILE is off")

    monkeypatch.setattr(torch, "compile", no_compiling)
    off = Embedder(str(FIXTURE), dtype="bfloat16", batch_size=3, compile="off")
    assert not off.compile
    assert off.encode_images(photos[:2]).shape == (2, off.dim) and off.compile_seconds is None


def test_a_failed_compile_falls_back_to_eager_once_and_says_so(toy, photos, monkeypatch, caplog):
    calls = []

    def broken_compile(fn, **kwargs):
        def compiled(*args):
            calls.append(1)
            raise RuntimeError("no C++ compiler")

        return compiled

    monkeypatch.setattr(torch, "compile", broken_compile)
    embedder = Embedder(str(FIXTURE), dtype="float32", batch_size=3, compile="on")
    with caplog.at_level("WARNING", logger="search.embedder"):
        vectors = embedder.encode_images(photos)
        embedder.encode_images(photos)
    np.testing.assert_allclose(vectors, toy.encode_images(photos), atol=1e-6)
    assert not embedder.compile and len(calls) == 1
    assert [r.message for r in caplog.records] == [
        f"could not compile the vision tower of {FIXTURE}; embedding photos without compiling "
        "(set SEARCH_COMPILE=off to skip the attempt)"]
    assert embedder.model.config.vision_config._attn_implementation == toy.model.config.vision_config._attn_implementation


def test_search_compile_setting_reaches_the_embedder(settings, _fresh_singleton):
    settings.SEARCH_MODEL, settings.SEARCH_DTYPE, settings.SEARCH_COMPILE = str(FIXTURE), "bfloat16", "off"
    assert not get_embedder().compile
    settings.SEARCH_COMPILE = "on"
    assert get_embedder().compile  # another setting, another embedder (nothing compiled until photos come)
    settings.SEARCH_DTYPE, settings.SEARCH_COMPILE = "float32", "auto"
    assert not get_embedder().compile  # auto compiles bfloat16 on CPU only


def test_missing_directory_says_so(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelUnavailable) as caught:
        Embedder(str(missing))
    assert str(missing) in caught.value.reason and "no such directory" in caught.value.reason


def test_directory_without_a_model_says_what_failed(tmp_path):
    with pytest.raises(ModelUnavailable) as caught:
        Embedder(str(tmp_path))
    assert caught.value.reason.startswith(f"Could not load model from directory '{tmp_path}'")


def test_uncached_hub_id_fails_fast_and_explains_what_to_do():
    started = time.monotonic()
    with pytest.raises(ModelUnavailable) as caught:
        Embedder("mediasearch-tests/never-downloaded-siglip")
    assert time.monotonic() - started < 10
    reason = caught.value.reason
    assert "'mediasearch-tests/never-downloaded-siglip'" in reason and "HF_HUB_OFFLINE" in reason
    assert "python manage.py download_model" in reason and "SEARCH_MODEL" in reason


def test_bad_dtype_is_reported_as_unavailable():
    with pytest.raises(ModelUnavailable, match="SEARCH_DTYPE 'float8'"):
        Embedder(str(FIXTURE), dtype="float8")


def test_get_embedder_loads_once_and_follows_the_setting(settings, _fresh_singleton, tmp_path):
    settings.SEARCH_MODEL, settings.SEARCH_DTYPE, settings.SEARCH_BATCH_SIZE = str(FIXTURE), "float32", 5
    first = get_embedder()
    assert get_embedder() is first and first.batch_size == 5
    assert model_status() == (True, f"{FIXTURE} on cpu (float32)")

    settings.SEARCH_MODEL = str(tmp_path / "elsewhere")
    with pytest.raises(ModelUnavailable):
        get_embedder()
    available, reason = model_status()
    assert not available and "no such directory" in reason


def test_get_embedder_remembers_a_failure_then_retries(settings, _fresh_singleton, tmp_path, monkeypatch):
    settings.SEARCH_MODEL, settings.SEARCH_DTYPE = str(tmp_path / "arrives-later"), "float32"
    with pytest.raises(ModelUnavailable) as first:
        get_embedder()
    shutil.copytree(FIXTURE, tmp_path / "arrives-later")
    with pytest.raises(ModelUnavailable) as second:
        get_embedder()  # remembered: not retried on every call
    assert second.value.reason == first.value.reason

    monkeypatch.setattr(embedder_module, "RETRY_AFTER_SECONDS", 0.0)
    assert get_embedder().model_name == str(tmp_path / "arrives-later")


def test_get_embedder_keeps_one_embedder_per_model(settings, _fresh_singleton, tmp_path):
    """A family mid-switch still searches with its previous model while the new one is active."""
    settings.SEARCH_DTYPE = "float32"
    shutil.copytree(FIXTURE, tmp_path / "previous")
    settings.SEARCH_MODEL = str(FIXTURE)
    active, previous = get_embedder(), get_embedder(str(tmp_path / "previous"))
    assert previous is not active and previous.model_name == str(tmp_path / "previous")
    assert get_embedder(str(FIXTURE)) is active


def test_loading_a_siglip_prints_no_warning_about_a_default_config_nobody_uses_nor_a_progress_bar():
    """transformers diffs a checkpoint's config against a default SiglipTextConfig, whose own token ids (49406 in a
    32,000-word vocabulary) its validator then warns about: every command that loaded the model printed two
    warnings a person can do nothing about. (In a fresh process: transformers warns once per process.)"""
    import subprocess
    import sys

    probe = ("import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mediasearch.settings'); django.setup();"
             "from search.embedder import get_embedder; print(get_embedder('tests/fixtures/toy-siglip').dim)")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "must be `None` or an integer within the vocabulary" not in result.stderr, result.stderr
    assert "Loading weights" not in result.stderr, result.stderr  # nor a progress bar in every command's output


def _closed_port() -> int:
    """A local port nothing listens on (connecting is refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _no_proxies(monkeypatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def unreachable_hub(monkeypatch):
    """Online mode (HF_HUB_OFFLINE unset), no proxy, and the hub's address a local port nothing listens on."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    _no_proxies(monkeypatch)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"http://127.0.0.1:{_closed_port()}")


def test_an_unreachable_hub_fails_in_seconds_not_half_a_minute(unreachable_hub):
    """Online mode (HF_HUB_OFFLINE unset) with no way to the hub: huggingface_hub retried every file five times with
    backoff, 26 s in all, on each of the worker's tries (one a minute). One connection to the hub's host says so."""
    started = time.monotonic()
    with pytest.raises(ModelUnavailable) as caught:
        Embedder("mediasearch-tests/never-downloaded-siglip", allow_download=True)
    assert time.monotonic() - started < 5
    reason = caught.value.reason
    assert "'mediasearch-tests/never-downloaded-siglip'" in reason and "the hub at 127.0.0.1 can't be reached" in reason
    assert "python manage.py download_model" in reason and "HF_HUB_OFFLINE=1" in reason
    assert "OSError" not in reason  # the cache miss before says nothing the reason does not


def test_the_hub_probe_answers_for_a_listening_host_and_leaves_proxies_alone(monkeypatch):
    from search.embedder import hub_unreachable

    _no_proxies(monkeypatch)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        assert hub_unreachable() is None
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"https://127.0.0.1:{_closed_port()}")
    assert "127.0.0.1" in hub_unreachable()
    # Behind a proxy only the proxy knows the way: no direct probe, the download decides.
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert hub_unreachable() is None


def test_download_model_without_a_way_to_the_hub_says_so_at_once(unreachable_hub):
    from django.core.management import CommandError, call_command

    started = time.monotonic()
    with pytest.raises(CommandError, match="the hub at 127.0.0.1 can't be reached"):
        call_command("download_model", "mediasearch-tests/never-downloaded-siglip")
    assert time.monotonic() - started < 5


def test_download_model_with_hf_hub_offline_set_says_to_unset_it():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="HF_HUB_OFFLINE is set"):
        call_command("download_model", "mediasearch-tests/never-downloaded-siglip")


def test_download_model_on_a_local_directory_says_whether_the_model_in_it_loads(tmp_path):
    """`download_model` on a directory said "is a local directory: nothing to download" and succeeded, also for a
    folder missing the weights (a copy cut short): the self-hoster checking their model was told all was well, and
    learnt otherwise from the banner minutes later. It loads the model now and says whether it can."""
    import shutil
    from io import StringIO

    from django.core.management import CommandError, call_command

    toy = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "toy-siglip"
    out = StringIO()
    call_command("download_model", str(toy), stdout=out)
    assert "nothing to download" in out.getvalue() and "it loads (64 dimensions)" in out.getvalue()

    broken = tmp_path / "siglip"
    broken.mkdir()
    shutil.copy(toy / "config.json", broken / "config.json")
    with pytest.raises(CommandError, match=r"Could not load model from directory .*model\.safetensors"):
        call_command("download_model", str(broken))


def test_a_loaded_model_is_handed_out_while_another_one_loads(settings, _fresh_singleton, tmp_path):
    """The lock that keeps two threads from loading one model twice was taken to hand out a model already loaded too:
    mid-switch, a search of the active model, a verdict (loaded_embedder) and the refine bar (model_load_failed) in a
    web process waited, seconds with a real SigLIP, while another of its threads loaded the previous model. What is
    loaded (or failed) is handed out at once; only loads wait for each other."""
    import threading

    settings.SEARCH_MODEL, settings.SEARCH_DTYPE = str(FIXTURE), "float32"
    active = get_embedder()
    answers = {}

    def meanwhile():
        answers.update(search=get_embedder(), verdict=loaded_embedder(), failed=model_load_failed())

    with embedder_module._lock:  # (another thread loading the previous model holds it for as long as the load)
        thread = threading.Thread(target=meanwhile)
        thread.start()
        thread.join(5)
        waited = thread.is_alive()
    thread.join()
    assert not waited, "handing out a loaded model waited for another model's load"
    assert answers == {"search": active, "verdict": active, "failed": False}
