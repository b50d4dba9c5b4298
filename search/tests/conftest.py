from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from gallery.services import UploadResult, photo_create_from_bytes
from scripts.shapes import draw_shape
from search.embedder import reset_embedder

TOY_MODEL = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "toy-siglip"


@pytest.fixture
def toy_model(settings):
    """The repo's own tiny SigLIP, loaded through exactly the path a hub model takes."""
    settings.SEARCH_MODEL = str(TOY_MODEL)
    settings.SEARCH_DTYPE = "float32"
    reset_embedder()
    yield str(TOY_MODEL)
    reset_embedder()


def shape_png(colour: str, shape: str, seed: int = 0, size: int = 96) -> bytes:
    out = io.BytesIO()
    draw_shape(colour, shape, size=size, rng=random.Random(seed)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def add_shape(family, alice):
    """Store a synthetic shape photo in the Smiths' gallery, as an upload would."""
    counter = iter(range(10**6))

    def add(colour: str, shape: str, *, target_family=None, user=None, filename: str | None = None, **kwargs):
        n = next(counter)
        data = shape_png(colour, shape, seed=n)
        # A camera-style name: the file name must not tell metadata search what the picture shows.
        result = photo_create_from_bytes(
            family=target_family or family, uploaded_by=user or alice, data=data,
            filename=filename or f"IMG_{n:04d}.png", **kwargs,
        )
        assert result.outcome == UploadResult.SAVED, result.reason
        return result.photo

    return add


@pytest.fixture
def other_model(tmp_path):
    """A second model of another size for model-switch tests: same tokenizer, fresh random weights."""
    import shutil

    from transformers import AutoConfig, AutoModel

    def make(projection_dim: int) -> str:
        path = tmp_path / f"other-model-{projection_dim}"
        config = AutoConfig.from_pretrained(TOY_MODEL)
        config.text_config.projection_size = projection_dim
        config.text_config.hidden_size = projection_dim
        config.vision_config.hidden_size = projection_dim
        AutoModel.from_config(config).save_pretrained(path)
        for name in TOY_MODEL.iterdir():
            if name.suffix in (".model", ".json") and not (path / name.name).exists():
                shutil.copy(name, path / name.name)
        return str(path)

    return make


@pytest.fixture
def api(alice):
    """A client that authenticates like a script: alice's API token."""
    from django.test import Client
    from tests.factories import api_token_key

    token = api_token_key(alice)
    return Client(headers={"Authorization": f"Token {token}"})
