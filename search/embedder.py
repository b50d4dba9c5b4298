"""Turn photos and query texts into unit vectors with a SigLIP-family model.

One module owns the model so the web process (text tower, for queries) and the django-q2
worker (vision tower, for photos) load it the same way, once per process, and agree on
preprocessing. ``SEARCH_MODEL`` is a hub id or a local directory; the committed toy checkpoint
in ``tests/fixtures/toy-siglip`` goes through exactly the same code path.

Scores come from the model's own calibration, ``p = sigmoid(exp(logit_scale) * cos + logit_bias)``:
SigLIP learned both numbers with its sigmoid loss, so they are read from the checkpoint,
never chosen by hand (raw cosines are small by design; see DESIGN.md).

torch and transformers are imported lazily so that importing this module (Django URL
loading, management commands) stays cheap in processes that never embed anything.

On CPUs with native bfloat16 the vision tower is compiled once per process (``SEARCH_COMPILE``,
see ``_resolve_compile``): eager PyTorch leaves bf16 at about 2x fp32 there, because only the
matrix products get faster while attention, GELU, layer norms and copies do not.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch
    from PIL import Image

DEFAULT_MODEL = "google/siglip-base-patch16-224"
RETRY_AFTER_SECONDS = 60.0  # how long a failed load is remembered before get_embedder() tries again
_DTYPES = {"float32": "float32", "fp32": "float32", "float16": "float16", "fp16": "float16",
           "half": "float16", "bfloat16": "bfloat16", "bf16": "bfloat16"}
_BF16_CPU_FLAGS = {"avx512_bf16", "amx_bf16", "amx_tile"}
_COMPILE = {"auto": "auto", "on": "on", "true": "on", "1": "on", "yes": "on",
            "off": "off", "false": "off", "0": "off", "no": "off"}
_COMPILED_ATTENTION = "mediasearch_cpu"  # the name our attention function is registered under in transformers
# Inductor settings for the compiled vision tower. Freezing turns the weights into constants so that
# oneDNN gets them prepacked and fuses bias and GELU into the matrix products; concatenating the
# q/k/v projections makes one larger product out of three.
_INDUCTOR_OPTIONS = {"freezing": True, "cpp.enable_concat_linear": True}

logger = logging.getLogger(__name__)


class _DefaultTextConfigNoise(logging.Filter):
    """transformers diffs a checkpoint's config against a default SiglipTextConfig (to_diff_dict), and its validator
    then warns about that default's own token ids (49406 and 49407 in a vocabulary of 32,000): every load of any
    SigLIP printed two warnings about a config no one uses. Only those two are dropped; a checkpoint's own bad ids
    still say so (other numbers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("within the vocabulary (between 0 and 31999)" in message
                    and message.rstrip().split("got ")[-1].startswith(("49406.", "49407.")))


logging.getLogger("transformers.configuration_utils").addFilter(_DefaultTextConfigNoise())


class ModelUnavailable(RuntimeError):
    """The model can't be loaded; ``reason`` is meant to be shown to people as is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def cpu_supports_bf16() -> bool:
    """Whether this CPU has native bfloat16 maths (AVX512-BF16 or AMX).

    Only then is bf16 a win on CPU (SigLIP-B/16 on 2 AVX512-BF16 cores, batches of 32: about 2.1x fp32
    eager, 2.6x compiled; bench/embed_throughput.py); without it PyTorch emulates bf16 and is slower than fp32.
    """
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = {flag for line in cpuinfo.splitlines() if line.startswith("flags") for flag in line.split()}
    return bool(flags & _BF16_CPU_FLAGS)


def _resolve_device_and_dtype(device: str, dtype: str) -> tuple[torch.device, torch.dtype]:
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved_device = torch.device(device)
    except RuntimeError as exc:
        raise ModelUnavailable(f"SEARCH_DEVICE {device!r} is not a valid torch device ({exc}).") from exc
    if dtype == "auto":
        if resolved_device.type == "cuda":
            return resolved_device, torch.float16
        use_bf16 = resolved_device.type == "cpu" and cpu_supports_bf16()
        return resolved_device, torch.bfloat16 if use_bf16 else torch.float32
    if dtype.lower() not in _DTYPES:
        raise ModelUnavailable(f"SEARCH_DTYPE {dtype!r} is not one of: auto, {', '.join(sorted(set(_DTYPES)))}.")
    return resolved_device, getattr(torch, _DTYPES[dtype.lower()])


def _resolve_compile(setting: str, device: torch.device, dtype: torch.dtype, model_type: str) -> bool:
    """Whether to compile the vision tower: ``SEARCH_COMPILE`` = ``auto`` (default), ``on`` or ``off``.

    ``auto`` compiles where it was measured to pay off: SigLIP (fixed-size images, one static
    shape) on CPU in bfloat16, where it lifts throughput by about a fifth for a one-off
    compilation of some 20-40 s on the first photo batch of a worker process (bench/embed_throughput.py).
    ``on`` also tries every other combination; ``off`` keeps plain eager PyTorch.
    """
    import torch

    choice = _COMPILE.get(str(setting).strip().lower())
    if choice is None:
        raise ModelUnavailable(f"SEARCH_COMPILE {setting!r} is not one of: auto, on, off.")
    if choice == "auto":
        return device.type == "cpu" and dtype == torch.bfloat16 and model_type == "siglip"
    return choice == "on"


def _compiled_attention(module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                        attention_mask: torch.Tensor | None, scaling: float | None = None, dropout: float = 0.0,
                        **kwargs: Any) -> tuple[torch.Tensor, None]:
    """Attention for the compiled vision tower, registered with transformers' AttentionInterface.

    PyTorch's fused CPU attention kernel runs no faster in bf16 than in fp32 (on short sequences,
    196 patches); written out as two batched products it lets inductor fuse the scaling, softmax
    and casts in between. The scores are kept in float32, as that kernel keeps them, so the
    vectors are as precise as with SDPA (bf16 scores would double the attention's rounding error).
    """
    import torch

    if scaling is None:
        scaling = query.shape[-1] ** -0.5
    scores = torch.matmul(query.float() * scaling, key.float().transpose(2, 3))
    if attention_mask is not None:
        scores = scores + attention_mask
    probs = torch.softmax(scores, dim=-1).to(value.dtype)
    return torch.matmul(probs, value).transpose(1, 2).contiguous(), None


HUB_PROBE_SECONDS = 3.0


def is_local(model_id: str) -> bool:
    """Whether SEARCH_MODEL names a directory (which may be missing), not a hub id."""
    path = Path(model_id)
    return path.exists() or path.is_absolute() or model_id.startswith(".")


def hub_unreachable() -> str | None:
    """Why the model hub can't be reached from here, or None: one TCP connection to its host (HF_ENDPOINT's), which
    fails in milliseconds without a network, and in HUB_PROBE_SECONDS at most. Without it, huggingface_hub retries
    each file five times with backoff before giving up (26 s), on every try of the worker's (one a minute). Behind a
    proxy only the proxy knows the way: no probe, the download decides."""
    import urllib.request
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    url = urlsplit(constants.ENDPOINT)
    if not url.hostname:
        return None
    proxies = urllib.request.getproxies()
    if (proxies.get(url.scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(url.hostname):
        return None
    try:
        with socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)),
                                      timeout=HUB_PROBE_SECONDS):
            return None
    except OSError as exc:
        return f"the hub at {url.hostname} can't be reached ({exc.strerror or exc})"


def _explain_load_failure(model_id: str, exc: Exception, *, hub_tried: bool = True,
                          unreachable: str | None = None) -> str:
    from huggingface_hub.constants import is_offline_mode

    message = str(exc).strip()
    detail = f"{type(exc).__name__}: {message.splitlines()[0] if message else 'no detail'}"
    path = Path(model_id)
    if path.is_dir():
        return f"Could not load model from directory '{model_id}' ({detail})."
    if path.exists():
        return f"Could not load model '{model_id}': it is a file, SEARCH_MODEL needs a directory or a hub id."
    if path.is_absolute() or model_id.startswith("."):
        return f"Could not load model '{model_id}': there is no such directory."
    if unreachable:  # the cache miss says nothing more: the reason is the network
        return (f"Could not load model '{model_id}': it is not in the local cache and {unreachable}. Run `python "
                "manage.py download_model` on a machine with network, or set SEARCH_MODEL to a local directory; "
                "on a machine without network, set HF_HUB_OFFLINE=1.")
    if not hub_tried:
        where = "this process only loads cached models (the worker downloads them)"
    elif is_offline_mode():
        where = "HF_HUB_OFFLINE is set"
    else:
        where = "the hub is unreachable or does not have it"
    return (
        f"Could not load model '{model_id}': not in the local cache and {where} ({detail}). "
        "Run `python manage.py download_model` on a machine with network, "
        "or set SEARCH_MODEL to a local directory."
    )


def _pooled(features: Any) -> torch.Tensor:
    """transformers 5 returns a BaseModelOutputWithPooling from get_*_features, 4.x a tensor."""
    import torch

    return features if isinstance(features, torch.Tensor) else features.pooler_output


def _load(model_cls: Any, processor_cls: Any, model_id: str, *, local_files_only: bool) -> tuple[Any, Any]:
    import torch
    from transformers.utils import logging as transformers_logging

    # transformers draws a "Loading weights" progress bar on stderr: noise in every command's output and in the
    # worker's log (a hub download's own bars are huggingface_hub's, and stay).
    bar = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        # Loaded in float32 first: the calibration scalars are read at full precision
        # (in bf16, exp(logit_scale) ~ 110 would be off by up to ~2), then the towers cast.
        model = model_cls.from_pretrained(model_id, dtype=torch.float32, local_files_only=local_files_only)
        return model, processor_cls.from_pretrained(model_id, local_files_only=local_files_only)
    finally:
        if bar:
            transformers_logging.enable_progress_bar()


class Embedder:
    """A loaded SigLIP-family model plus its processor, producing L2-normalised float32 vectors."""

    def __init__(self, model_id: str, device: str = "auto", dtype: str = "auto", batch_size: int = 32,
                 allow_download: bool = True, compile: str = "auto") -> None:
        from transformers import AutoModel, AutoProcessor

        self.model_name = model_id
        self.batch_size = batch_size
        self.device, self.dtype = _resolve_device_and_dtype(device, dtype)
        _resolve_compile(compile, self.device, self.dtype, "siglip")  # a bad setting fails before the load
        try:
            model, self.processor = _load(AutoModel, AutoProcessor, model_id, local_files_only=True)
        except Exception as local_exc:  # not in the cache (or broken): maybe the hub has it
            if not allow_download:
                raise ModelUnavailable(_explain_load_failure(model_id, local_exc, hub_tried=False)) from local_exc
            from huggingface_hub.constants import is_offline_mode

            unreachable = None if is_local(model_id) or is_offline_mode() else hub_unreachable()
            if unreachable:
                raise ModelUnavailable(_explain_load_failure(model_id, local_exc, unreachable=unreachable)) from local_exc
            try:
                model, self.processor = _load(AutoModel, AutoProcessor, model_id, local_files_only=False)
            except Exception as exc:  # anything from files, network, config parsing: all mean "unavailable"
                raise ModelUnavailable(_explain_load_failure(model_id, exc)) from exc
        if not hasattr(model, "logit_bias") or not hasattr(model, "get_image_features"):
            raise ModelUnavailable(
                f"Model '{model_id}' is a {model.config.model_type!r} model, not a SigLIP-family "
                "image-text model (it has no learned logit_bias)."
            )
        scale, bias = model.logit_scale.detach().double(), model.logit_bias.detach().double()
        self._calibration = (scale.exp().item(), bias.item())
        self.model = model.to(device=self.device, dtype=self.dtype).eval()
        config = model.config
        self.is_siglip2 = config.model_type == "siglip2"
        self.max_length: int = config.text_config.max_position_embeddings
        self.dim: int = getattr(config.text_config, "projection_size", None) or config.vision_config.hidden_size
        # The compiled vision forward is built on the first photo batch, so that web processes,
        # which only embed query texts, never pay for it. ``compile`` turns False if compiling fails.
        self.compile: bool = _resolve_compile(compile, self.device, self.dtype, config.model_type)
        self._vision: Any = None
        self._vision_attention: str | None = None  # the attention implementation compiling replaced
        self.compile_seconds: float | None = None  # compile + first batch, once it happened
        # Query texts are embedded on one thread of the embedder's own, whichever request thread asks. PyTorch's CPU
        # thread pool (OpenMP) belongs to the thread that calls it: each new calling thread would build another pool
        # on its first query (tens of ms; the warm-up can't reach request threads that don't exist yet), and several
        # request threads encoding at once would run several pools on the same cores.
        self._text_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="text-encoder")

    @property
    def calibration(self) -> tuple[float, float]:
        """``(a, b)`` = ``(exp(logit_scale), logit_bias)`` of the loaded checkpoint."""
        return self._calibration

    def probability(self, cos: np.ndarray | float) -> np.ndarray:
        """The model's calibrated match probability ``sigmoid(a * cos + b)``, element-wise."""
        a, b = self._calibration
        logits = a * np.asarray(cos, dtype=np.float64) + b
        return 0.5 * (1.0 + np.tanh(0.5 * logits))  # = sigmoid, without overflow warnings

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        """Embed photos, ``batch_size`` at a time; returns float32 (N, dim), rows of unit length."""
        batches = []
        for start in range(0, len(images), self.batch_size):
            inputs = self.prepare_images(images[start:start + self.batch_size])
            batches.append(self._embed_images(inputs))
        return self._stack(batches)

    def compile_images(self) -> None:
        """Compile the vision tower now, on one blank image, when it is to be compiled and is not yet. The worker
        does this before it claims any photo: a compile can't be stopped half way, so a stop (or kill) meanwhile
        then leaves no photo claimed."""
        if self.compile and self.compile_seconds is None:
            from PIL import Image

            self.encode_images([Image.new("RGB", (32, 32))])

    def prepare_images(self, images: list[Image.Image]) -> Any:
        """The model inputs for one batch of photos: CPU-only work that touches no model state,
        so a worker thread can prepare the next batch while the model runs on this one."""
        rgb = [image if image.mode == "RGB" else image.convert("RGB") for image in images]
        return self.processor(images=rgb, return_tensors="pt")

    def encode_prepared(self, inputs: Any) -> np.ndarray:
        """Embed one batch made by ``prepare_images``; same vectors as ``encode_images`` of its photos."""
        return self._stack([self._embed_images(inputs)])

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Embed query texts; returns float32 (N, dim), rows of unit length."""
        return self._text_thread.submit(self._encode_texts, texts).result()

    def _encode_texts(self, texts: list[str]) -> np.ndarray:
        if self.is_siglip2:
            texts = [text.lower() for text in texts]  # SigLIP 2 was trained on lower-cased text
        batches = []
        for start in range(0, len(texts), self.batch_size):
            # SigLIP was trained on max_length-padded text and pools the last position, so
            # any other padding changes the vector.
            inputs = self.processor(text=texts[start:start + self.batch_size], padding="max_length",
                                    truncation=True, max_length=self.max_length, return_tensors="pt")
            # Only input_ids: SigLIP attends to its padding (there was no mask in training).
            batches.append(self._embed(self.model.get_text_features, {"input_ids": inputs["input_ids"]}))
        return self._stack(batches)

    def _embed_images(self, inputs: Any) -> np.ndarray:
        if self.compile and set(inputs.keys()) == {"pixel_values"}:
            try:
                return self._embed_compiled(inputs["pixel_values"])
            except Exception:
                self._stop_compiling()
        return self._embed(self.model.get_image_features, inputs)

    def _embed_compiled(self, pixel_values: torch.Tensor) -> np.ndarray:
        """The compiled vision tower, on batches of exactly ``batch_size``: a smaller batch (the last
        of a task) is padded with blank images, so one static shape is compiled, once."""
        import torch
        import torch._inductor.config as inductor_config

        started = time.perf_counter()
        if self._vision is None:
            self._vision = self._compile_vision()
        out = []
        with torch.inference_mode(), inductor_config.patch(_INDUCTOR_OPTIONS):
            # Always a fresh buffer: the compiled graph is guarded on its input being exactly like this.
            batch = torch.zeros(self.batch_size, *pixel_values.shape[1:], device=self.device, dtype=self.dtype)
            for start in range(0, len(pixel_values), self.batch_size):
                chunk = pixel_values[start:start + self.batch_size]
                count = len(chunk)
                batch[:count] = chunk
                batch[count:] = 0
                vectors = self._vision(batch)[:count].float()
                out.append((vectors / vectors.norm(dim=-1, keepdim=True)).cpu().numpy())
        if self.compile_seconds is None:
            self.compile_seconds = time.perf_counter() - started
            logger.info("compiled the vision tower of %s (%s, %s, batches of %d) in %.1f s; SEARCH_COMPILE=off "
                        "turns this off", self.model_name, self.device.type, str(self.dtype).removeprefix("torch."),
                        self.batch_size, self.compile_seconds)
        return np.concatenate(out) if out else np.empty((0, self.dim), dtype=np.float32)

    def _compile_vision(self) -> Any:
        import torch
        from transformers import AttentionInterface

        AttentionInterface.register(_COMPILED_ATTENTION, _compiled_attention)
        self._vision_attention = self.model.config.vision_config._attn_implementation
        self.model.set_attn_implementation({"vision_config": _COMPILED_ATTENTION})
        model = self.model

        def vision(pixel_values: torch.Tensor) -> torch.Tensor:
            return _pooled(model.get_image_features(pixel_values=pixel_values))

        return torch.compile(vision, fullgraph=True)

    def _stop_compiling(self) -> None:
        """Compiling (or running what it made) failed: say so once, then stay on eager PyTorch."""
        logger.warning("could not compile the vision tower of %s; embedding photos without compiling "
                       "(set SEARCH_COMPILE=off to skip the attempt)", self.model_name, exc_info=True)
        self.compile, self._vision = False, None
        if self._vision_attention is not None:
            self.model.set_attn_implementation({"vision_config": self._vision_attention})
            self._vision_attention = None

    def _embed(self, features_fn: Any, inputs: Any) -> np.ndarray:
        import torch

        tensors = {key: value.to(self.device, self.dtype) if value.is_floating_point() else value.to(self.device)
                   for key, value in inputs.items()}
        with torch.inference_mode():
            vectors = _pooled(features_fn(**tensors)).float()
            vectors = vectors / vectors.norm(dim=-1, keepdim=True)
        return vectors.cpu().numpy()

    def _stack(self, batches: list[np.ndarray]) -> np.ndarray:
        if not batches:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.concatenate(batches).astype(np.float32, copy=False)


_lock = threading.Lock()
_Key = tuple[str, str, str, int, str]  # (model, device, dtype, batch size, compile) an embedder was built with
_embedders: dict[_Key, Embedder] = {}
_failures: dict[_Key, tuple[float, str]] = {}  # when it failed, and why


def get_embedder(model_name: str | None = None, *, allow_download: bool = False) -> Embedder:
    """The process-wide embedder for ``model_name`` (default: settings.SEARCH_MODEL), loaded once.

    Keyed by model so a family still searching with its previous model keeps working while
    photos are re-embedded with the new one. A failed load is remembered for
    RETRY_AFTER_SECONDS, so page views don't each pay for another attempt (and, online,
    another hub timeout); changing the settings retries at once. Only the worker passes
    ``allow_download``: a page view never waits on the network (offline, a hub lookup takes
    half a minute to fail); it uses what the worker or ``download_model`` put in the cache.
    """
    key = _key(model_name)
    embedder = _embedders.get(key)  # (one loaded is handed out without the lock, which a load holds for seconds)
    if embedder is not None:
        return embedder
    with _lock:  # serialises loading: two threads never load the same model twice
        if key in _embedders:
            return _embedders[key]
        failure = _failures.get(key)
        if failure is not None and time.monotonic() - failure[0] < RETRY_AFTER_SECONDS:
            raise ModelUnavailable(failure[1])
        try:
            embedder = Embedder(key[0], device=key[1], dtype=key[2], batch_size=key[3], allow_download=allow_download,
                                compile=key[4])
        except ModelUnavailable as exc:
            _failures[key] = (time.monotonic(), exc.reason)
            raise
        _failures.pop(key, None)
        _embedders[key] = embedder
        return embedder


def _key(model_name: str | None) -> _Key:
    from django.conf import settings

    return (
        model_name or str(getattr(settings, "SEARCH_MODEL", DEFAULT_MODEL)),
        str(getattr(settings, "SEARCH_DEVICE", "auto")),
        str(getattr(settings, "SEARCH_DTYPE", "auto")),
        int(getattr(settings, "SEARCH_BATCH_SIZE", 32)),
        str(getattr(settings, "SEARCH_COMPILE", "auto")),
    )


def loaded_embedder(model_name: str | None = None) -> Embedder | None:
    """The process's embedder for ``model_name`` when it has loaded it, None when it has tried no load: never loads
    (a verdict must not wait seconds for one). ModelUnavailable, with the reason remembered, when its latest load
    failed."""
    key = _key(model_name)
    # (without the lock, which a load of another model holds for seconds: an embedder is published loaded, whole)
    embedder = _embedders.get(key)
    if embedder is not None:
        return embedder
    failure = _failures.get(key)
    if failure is not None:
        raise ModelUnavailable(failure[1])
    return None


def model_load_failed(model_name: str | None = None) -> bool:
    """Whether this process's latest attempt to load ``model_name`` failed (none succeeded since), without trying one:
    what a request that must not wait for a load (a verdict) can know of the model. False when no load was tried."""
    key = _key(model_name)
    return key in _failures and key not in _embedders  # (without the lock, as loaded_embedder)


def reset_embedder() -> None:
    """Forget loaded models and remembered failures (tests change settings between cases)."""
    with _lock:
        _embedders.clear()
        _failures.clear()


def model_status(model_name: str | None = None) -> tuple[bool, str]:
    """``(available, reason)`` for pages to show; loads the model if needed, never raises."""
    try:
        embedder = get_embedder(model_name)
    except ModelUnavailable as exc:
        return False, exc.reason
    return True, f"{embedder.model_name} on {embedder.device.type} ({str(embedder.dtype).removeprefix('torch.')})"
