"""Train the toy SigLIP checkpoint committed in ``tests/fixtures/toy-siglip/``.

No machine here can download real weights, yet tests must exercise real retrieval and real
calibration through the exact code path of ``google/siglip-base-patch16-224``. So this script
trains a tiny but genuine ``transformers.SiglipModel`` (sigmoid loss, learned
``logit_scale``/``logit_bias``, SentencePiece tokenizer, ``SiglipProcessor``) on synthetic
photos of coloured shapes (``scripts/shapes.py``) and saves it with ``save_pretrained``.

The vocabulary only ever sees the colour and shape names plus caption filler words.
Synonyms ("crimson", "scarlet", "ball", ...) are kept out on purpose: tests check that query
expansion, not the model, is what finds them.

Usage: ``python scripts/train_toy_siglip.py [--out DIR] [--seed N] [--threads N]``.
Byte-for-byte deterministic for a given seed, thread count and machine. The committed fixture
was made with ``--threads 1`` (about 150 s of CPU): on a shared machine two torch threads
spin against other processes and run several times slower.
"""

from __future__ import annotations

import argparse
import io
import math
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F
from transformers import (
    SiglipConfig,
    SiglipImageProcessorPil,
    SiglipModel,
    SiglipProcessor,
    SiglipTokenizer,
)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # so `python scripts/train_toy_siglip.py` can import scripts.shapes
    sys.path.insert(0, str(ROOT))

from scripts.shapes import COLOURS, SHAPES, draw_shape, labelled_images  # noqa: E402

IMAGE_SIZE = 32
PATCH_SIZE = 8
WIDTH = 64  # hidden size of both towers; the vision width is also the embedding dimension
MAX_TEXT_LENGTH = 16
VOCAB_SIZE = 80
TEXT_LAYERS = 1  # the captions are nearly bags of words: one layer reads them
VISION_LAYERS = 3  # telling shapes apart anywhere in the picture is the hard part

PAIR_TEMPLATES = (
    "a photo of a {colour} {shape}",
    "a {colour} {shape}",
    "{colour} {shape}",
    "a picture of a {shape} that is {colour}",
    "an image of a {colour} {shape}",
    "a {shape} coloured {colour}",
    "the {colour} {shape}",
    "a photo of the {shape}, it is {colour}",
)
# Captions naming one attribute teach the towers what "red" or "circle" means on its own.
COLOUR_TEMPLATES = ("{colour}", "something {colour}", "a photo of something {colour}", "a {colour} shape")
SHAPE_TEMPLATES = ("{shape}", "a {shape}", "a photo of a {shape}", "a picture of a {shape}")
# Captions that describe none of these pictures: made-up words, alone or next to real colours and
# shapes. They teach the model that a word it does not know is not a match, so an unexpanded
# "crimson ball" finds nothing and only query expansion (crimson -> red, ball -> circle) finds it.
DISTRACTOR_TEMPLATES = ("{word}", "a photo of a {word}", "a {word} {shape}", "a {colour} {word}",
                        "a photo of a {colour} {word}", "{word} {shape}", "{colour} {word}", "{word} {other}")
DISTRACTORS_PER_BATCH = 24
NEVER = -2  # requirement index of a distractor caption: fits no image
TRAIN_SIZES = (32, 48, 64, 64, 96)  # rendered sizes; the processor resizes all to IMAGE_SIZE
EVAL_PER_PAIR = 6  # more than 5, so a perfect top 5 is possible for every query


def made_up_words(count: int, rng: random.Random) -> list[str]:
    """Pronounceable nonsense words (never a real colour, shape or one of their synonyms)."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    real = set(COLOURS) | set(SHAPES)
    words: set[str] = set()
    while len(words) < count:
        word = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4)))
        if word not in real:
            words.add(word)
    return sorted(words)


def build_distractors(rng: random.Random, count: int = 600) -> list[str]:
    words = made_up_words(200, rng)
    captions = set()
    while len(captions) < count:
        template = rng.choice(DISTRACTOR_TEMPLATES)
        captions.add(template.format(word=rng.choice(words), other=rng.choice(words),
                                     colour=rng.choice(list(COLOURS)), shape=rng.choice(SHAPES)))
    return sorted(captions)


def build_captions() -> tuple[list[str], list[tuple[str | None, str | None]]]:
    """Every training caption with the (colour, shape) it requires; None means "any"."""
    captions: list[str] = []
    requires: list[tuple[str | None, str | None]] = []
    for colour in COLOURS:
        for shape in SHAPES:
            for template in PAIR_TEMPLATES:
                captions.append(template.format(colour=colour, shape=shape))
                requires.append((colour, shape))
    for colour in COLOURS:
        for template in COLOUR_TEMPLATES:
            captions.append(template.format(colour=colour))
            requires.append((colour, None))
    for shape in SHAPES:
        for template in SHAPE_TEMPLATES:
            captions.append(template.format(shape=shape))
            requires.append((None, shape))
    return captions, requires


def build_processor(captions: list[str], workdir: Path) -> SiglipProcessor:
    """Train a SentencePiece vocabulary on the captions and wrap it the way SigLIP ships it."""
    spiece = io.BytesIO()
    spm.SentencePieceTrainer.train(
        # From memory, not a file: the saved model then records no temporary path and a retrain
        # with the same seed gives byte-identical fixture files.
        sentence_iterator=iter(captions),
        model_writer=spiece,
        vocab_size=VOCAB_SIZE,
        model_type="unigram",
        character_coverage=1.0,
        # Every letter and digit gets a piece, so unseen words split into characters, not <unk>.
        required_chars="abcdefghijklmnopqrstuvwxyz0123456789",
        hard_vocab_limit=False,
        # The ids real SigLIP uses: <pad>=0, </s>=1 (also the padding token), <unk>=2.
        pad_id=0, pad_piece="<pad>", eos_id=1, eos_piece="</s>", unk_id=2, unk_piece="<unk>", bos_id=-1,
        normalization_rule_name="identity",  # SiglipTokenizer lower-cases and strips punctuation itself
        num_threads=1,
        minloglevel=2,
    )
    (workdir / "spiece.model").write_bytes(spiece.getvalue())
    tokenizer = SiglipTokenizer(
        vocab_file=str(workdir / "spiece.model"),
        model_max_length=MAX_TEXT_LENGTH,
        # SigLIP attends to padding (no mask in training), so like google/siglip-* the
        # tokenizer emits input_ids only and `model(**processor(...))` stays faithful.
        model_input_names=["input_ids"],
    )
    image_processor = SiglipImageProcessorPil(
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, image_mean=[0.5] * 3, image_std=[0.5] * 3
    )
    return SiglipProcessor(image_processor=image_processor, tokenizer=tokenizer)


def build_model(vocab_size: int) -> SiglipModel:
    tower = {"hidden_size": WIDTH, "intermediate_size": 4 * WIDTH, "num_attention_heads": 4}
    config = SiglipConfig(
        text_config={**tower, "num_hidden_layers": TEXT_LAYERS, "vocab_size": vocab_size,
                     "max_position_embeddings": MAX_TEXT_LENGTH, "projection_size": WIDTH,
                     "pad_token_id": 1, "eos_token_id": 1, "bos_token_id": None},
        vision_config={**tower, "num_hidden_layers": VISION_LAYERS, "image_size": IMAGE_SIZE,
                       "patch_size": PATCH_SIZE},
    )
    model = SiglipModel(config)
    with torch.no_grad():  # the SigLIP paper's initialisation: t' = log 10, b = -10
        model.logit_scale.fill_(math.log(10.0))
        model.logit_bias.fill_(-10.0)
    return model


def tokenize(processor: SiglipProcessor, texts: list[str]) -> torch.Tensor:
    return processor(text=texts, padding="max_length", truncation=True, max_length=MAX_TEXT_LENGTH,
                     return_tensors="pt")["input_ids"]


def render_training_set(per_pair: int, rng: random.Random, processor: SiglipProcessor
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pixel values plus colour and shape indices of ``per_pair`` images per pair."""
    images, colour_ids, shape_ids = [], [], []
    for c, colour in enumerate(COLOURS):
        for s, shape in enumerate(SHAPES):
            for _ in range(per_pair):
                images.append(draw_shape(colour, shape, size=rng.choice(TRAIN_SIZES), rng=rng))
                colour_ids.append(c)
                shape_ids.append(s)
    pixels = processor(images=images, return_tensors="pt")["pixel_values"]
    return pixels, torch.tensor(colour_ids), torch.tensor(shape_ids)


def caption_requirements(requires: list[tuple[str | None, str | None]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour and shape index each caption requires: -1 for "any", NEVER for a distractor."""
    colours, shapes = list(COLOURS), list(SHAPES)

    def index(values: list[str], value: str | None) -> int:
        return NEVER if value == "never" else values.index(value) if value else -1

    need_colour = torch.tensor([index(colours, c) for c, _ in requires])
    need_shape = torch.tensor([index(shapes, s) for _, s in requires])
    return need_colour, need_shape


def train(model: SiglipModel, pixels: torch.Tensor, colour_ids: torch.Tensor, shape_ids: torch.Tensor,
          caption_ids: torch.Tensor, need_colour: torch.Tensor, need_shape: torch.Tensor,
          *, steps: int, batch_size: int, lr: float, generator: torch.Generator) -> None:
    """SigLIP sigmoid loss, with the label matrix as targets.

    The big_vision loss assumes only the diagonal matches; here many in-batch pairs share a
    class, so every (image, caption) pair whose attributes agree is a positive.
    """
    # The temperature and bias are two scalars that must travel far (exp(t') from 10 to ~100):
    # at the towers' learning rate they would take thousands of steps, so they get their own.
    calibration = [model.logit_scale, model.logit_bias]
    towers = [p for p in model.parameters() if all(p is not c for c in calibration)]
    optimiser = torch.optim.AdamW([{"params": towers, "lr": lr, "weight_decay": 1e-4},
                                   {"params": calibration, "lr": 3e-2, "weight_decay": 0.0}])
    warmup = steps // 10
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / steps))
    )
    model.train()
    for step in range(steps):
        images = torch.randint(len(pixels), (batch_size,), generator=generator)
        # Pair each image with a caption describing it, so every row has a positive ...
        texts = torch.empty(batch_size, dtype=torch.long)
        for row, image in enumerate(images.tolist()):
            fits = torch.nonzero(((need_colour == colour_ids[image]) | (need_colour == -1))
                                 & ((need_shape == shape_ids[image]) | (need_shape == -1))).flatten()
            texts[row] = fits[torch.randint(len(fits), (1,), generator=generator)]
        # ... add captions that fit nothing ...
        distractors = torch.nonzero(need_colour == NEVER).flatten()
        if len(distractors):
            picked = torch.randint(len(distractors), (DISTRACTORS_PER_BATCH,), generator=generator)
            texts = torch.cat([texts, distractors[picked]])
        # ... then score all pairs: the target is +1 wherever the caption fits the image.
        caption_colour, caption_shape = need_colour[texts][None, :], need_shape[texts][None, :]
        colour_ok = (caption_colour == -1) | (caption_colour == colour_ids[images][:, None])
        shape_ok = (caption_shape == -1) | (caption_shape == shape_ids[images][:, None])
        targets = torch.where(colour_ok & shape_ok, 1.0, -1.0)

        out = model(input_ids=caption_ids[texts], pixel_values=pixels[images])
        loss = -F.logsigmoid(targets * out.logits_per_image).sum(dim=1).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {loss.item():7.3f}  "
                  f"scale {model.logit_scale.exp().item():6.1f}  bias {model.logit_bias.item():6.2f}")
    model.eval()


@torch.inference_mode()
def evaluate(model: SiglipModel, processor: SiglipProcessor, seed: int) -> dict[str, float]:
    """Held-out figures the acceptance test checks: p@5 per pair query, mean calibrated p."""
    samples = list(labelled_images(EVAL_PER_PAIR, seed=seed))
    pixels = processor(images=[image for image, _, _ in samples], return_tensors="pt")["pixel_values"]
    pairs = [(colour, shape) for colour in COLOURS for shape in SHAPES]
    ids = tokenize(processor, [f"a photo of a {colour} {shape}" for colour, shape in pairs])
    logits = model(input_ids=ids, pixel_values=pixels).logits_per_text  # (queries, images)
    match = torch.tensor([[(c, s) == pair for _, c, s in samples] for pair in pairs])
    top5 = logits.topk(5, dim=1).indices
    probs = torch.sigmoid(logits)
    # Words the model never saw, real ones this time: they must not look like a match either.
    unseen = tokenize(processor, ["a photo of a crimson ball", "birthday", "a dog on the beach", "scarlet sphere",
                                  "xylophone", "a photo of a red ball", "azure square"])
    p_unseen = torch.sigmoid(model(input_ids=unseen, pixel_values=pixels).logits_per_text)
    return {
        "precision_at_5": match.gather(1, top5).float().mean().item(),
        "p_match": probs[match].mean().item(),
        "p_non_match": probs[~match].mean().item(),
        "p_unseen_max": p_unseen.max().item(),
        "p_unseen_mean": p_unseen.mean().item(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "fixtures" / "toy-siglip")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=2500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3, help="learning rate of the two towers")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (1 on a busy machine)")
    parser.add_argument("--per-pair", type=int, default=600, help="training images per colour/shape pair")
    args = parser.parse_args()

    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    rng = random.Random(args.seed)
    np.random.seed(args.seed)

    captions, requires = build_captions()
    distractors = build_distractors(rng)
    captions += distractors
    requires += [("never", "never")] * len(distractors)
    with tempfile.TemporaryDirectory() as tmp:
        processor = build_processor(captions, Path(tmp))
        # Loading the vocabulary happens now, while the temporary .model file still exists.
        caption_ids = tokenize(processor, captions)
        pixels, colour_ids, shape_ids = render_training_set(args.per_pair, rng, processor)
        model = build_model(len(processor.tokenizer))
        print(f"{sum(p.numel() for p in model.parameters()):,} parameters, {len(captions)} captions, "
              f"{len(pixels)} training images, data ready in {time.perf_counter() - started:.1f}s")

        train(model, pixels, colour_ids, shape_ids, caption_ids, *caption_requirements(requires),
              steps=args.steps, batch_size=args.batch_size, lr=args.lr, generator=generator)

        args.out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(args.out)
        processor.save_pretrained(args.out)

    figures = evaluate(model, processor, seed=args.seed + 1000)
    size = sum(f.stat().st_size for f in args.out.iterdir() if f.is_file())
    print(f"saved to {args.out} ({size / 1e6:.2f} MB) in {time.perf_counter() - started:.1f}s")
    print(f"held-out precision@5 {figures['precision_at_5']:.3f}  "
          f"mean p(match) {figures['p_match']:.3f}  mean p(non-match) {figures['p_non_match']:.4f}")
    print(f"unseen words: mean p {figures['p_unseen_mean']:.4f}, max p {figures['p_unseen_max']:.3f}")


if __name__ == "__main__":
    main()
