"""The committed toy SigLIP really understands coloured shapes, and is calibrated.

Everything else in the suite leans on this: retrieval and probability assertions elsewhere
are only meaningful if the checkpoint ranks and scores fresh pictures correctly. The images
here come from a seed the training script never used.
"""

from __future__ import annotations

from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
from transformers import AutoModel, AutoProcessor, SiglipModel, SiglipProcessor

from scripts.shapes import COLOURS, SHAPES, labelled_images

FIXTURE = Path(__file__).parent / "fixtures" / "toy-siglip"
HELD_OUT_SEED = 20240607
PER_PAIR = 6  # more than 5, so a perfect top 5 is possible for every query
QUERIES = [(colour, shape) for colour in COLOURS for shape in SHAPES]


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Loading a local directory must never reach for the hub."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="module")
def toy() -> tuple[SiglipModel, SiglipProcessor]:
    return AutoModel.from_pretrained(FIXTURE).eval(), AutoProcessor.from_pretrained(FIXTURE)


@pytest.fixture(scope="module")
def held_out() -> list[tuple[object, str, str]]:
    return list(labelled_images(PER_PAIR, seed=HELD_OUT_SEED))


def logits_for(toy, texts: list[str], images: list) -> torch.Tensor:
    """(texts, images) logits exactly as transformers computes them: exp(t') * cos + b."""
    model, processor = toy
    inputs = processor(text=texts, images=images, padding="max_length", truncation=True,
                       max_length=model.config.text_config.max_position_embeddings, return_tensors="pt")
    with torch.inference_mode():
        return model(**inputs).logits_per_text


@pytest.fixture(scope="module")
def pair_logits(toy, held_out) -> tuple[torch.Tensor, torch.Tensor]:
    logits = logits_for(toy, [f"a photo of a {c} {s}" for c, s in QUERIES], [image for image, _, _ in held_out])
    match = torch.tensor([[(colour, shape) == query for _, colour, shape in held_out] for query in QUERIES])
    return logits, match


def test_loads_like_a_hub_siglip_checkpoint(toy):
    model, processor = toy
    assert type(model).__name__ == "SiglipModel" and model.config.model_type == "siglip"
    assert type(processor.tokenizer).__name__ == "SiglipTokenizer"
    assert list(processor.image_processor.image_mean) == [0.5, 0.5, 0.5]
    assert (FIXTURE / "model.safetensors").is_file()
    size = sum(path.stat().st_size for path in FIXTURE.iterdir())
    assert size < 1_500_000, f"fixture grew to {size} bytes; it is committed, keep it small"


def test_precision_at_5_for_every_colour_shape_query(pair_logits):
    logits, match = pair_logits
    hits = match.gather(1, logits.topk(5, dim=1).indices).float().mean(dim=1)
    assert hits.mean().item() >= 0.9, dict(zip(QUERIES, hits.tolist()))


def test_calibrated_probability_separates_matches_from_non_matches(pair_logits):
    logits, match = pair_logits
    probability = torch.sigmoid(logits)
    assert probability[match].mean().item() >= 0.8
    assert probability[~match].mean().item() <= 0.05


def test_calibration_is_learned_not_the_initialisation(toy):
    model, _ = toy
    assert model.logit_scale.exp().item() > 15  # trained away from SigLIP's init of 10
    assert model.logit_bias.item() < 0


@pytest.mark.parametrize("word", [*COLOURS, *SHAPES])
def test_single_words_retrieve_their_attribute(toy, held_out, word):
    logits = logits_for(toy, [word], [image for image, _, _ in held_out])[0]
    top = [held_out[i] for i in logits.topk(5).indices.tolist()]
    assert all(word in (colour, shape) for _, colour, shape in top)


@pytest.mark.parametrize("synonym", ["crimson", "scarlet", "ball", "sphere", "box"])
def test_synonyms_were_never_taught(toy, synonym):
    """Query expansion, not the model, must be what finds a "crimson ball"."""
    _, processor = toy
    assert f"▁{synonym}" not in processor.tokenizer.get_vocab()



@pytest.mark.parametrize("phrase", ["a photo of a crimson ball", "scarlet sphere", "a dog on the beach", "birthday"])
def test_unknown_words_match_nothing(toy, held_out, phrase):
    """Without expansion, words the model never learned must not look like a match."""
    logits = logits_for(toy, [phrase], [image for image, _, _ in held_out])[0]
    assert torch.sigmoid(logits).max().item() < 0.1
