"""`manage.py benchmark_retrieval`: recall over a folder in the Flickr30k/COCO Karpathy layout, made here with the
toy model's own shapes, through the product's embedder and pgvector walks in a schema that vanishes afterwards."""

from __future__ import annotations

import io
import json
import random
import re
import sys

import pytest
from django.core.management import CommandError, call_command

from scripts.shapes import COLOURS, SHAPES, draw_shape
from search.models import PhotoEmbedding
from search.retrieval_benchmark import published_figure

pytestmark = pytest.mark.django_db


def _draw(folder, name: str, colour: str, shape: str, seed: int) -> None:
    draw_shape(colour, shape, size=96, rng=random.Random(seed)).save(folder / name, "JPEG")


@pytest.fixture
def karpathy(tmp_path):
    """A Karpathy split file (test split, one train image that must be left out), images in images/."""
    (tmp_path / "images").mkdir()
    entries = []
    for n, (colour, shape) in enumerate((c, s) for c in COLOURS for s in SHAPES):
        name = f"{n:04d}.jpg"
        _draw(tmp_path / "images", name, colour, shape, seed=n)
        entries.append({"filename": name, "split": "test", "imgid": n, "sentences": [
            {"raw": f"a {colour} {shape}."}, {"raw": f"A photo of a {colour} {shape}"}]})
    _draw(tmp_path / "images", "train.jpg", "red", "circle", seed=99)
    entries.append({"filename": "train.jpg", "split": "train", "sentences": [{"raw": "a red circle"}]})
    (tmp_path / "dataset_flickr30k.json").write_text(json.dumps({"dataset": "flickr30k", "images": entries}))
    return tmp_path


def run(*args) -> str:
    out = io.StringIO()
    call_command("benchmark_retrieval", *map(str, args), "--no-progress", stdout=out)
    return out.getvalue()


def recalls(output: str, label: str) -> list[float]:
    line = next(line for line in output.splitlines() if line.startswith(label))
    return [float(x) for x in line[len(label):].split()[:4]]


def test_toy_model_finds_its_own_shapes_both_ways(toy_model, karpathy, family, add_shape):
    add_shape("red", "circle")  # a real photo, which the benchmark must neither read nor change
    before = list(PhotoEmbedding.objects.values_list("pk", "model_name"))
    output = run(karpathy)
    assert "flickr30k: 18 images, 36 captions" in output
    t2i = recalls(output, "text → image")
    i2t = recalls(output, "image → text")
    r1, r5, r10, exact_r1 = t2i
    assert r1 >= 80 and r5 >= 95 and r10 == 100, output
    assert abs(r1 - exact_r1) <= 10, output  # the HNSW walk loses next to nothing on 18 images
    assert i2t[0] >= 80 and i2t[2] == 100, output
    assert "no published figure" in output  # the toy model has none
    p_match, p_other = (float(x) for x in re.search(r"p\(match\): ([\d.]+) .*, ([\d.]+) for other", output).groups())
    assert p_match > 0.5 > p_other
    # Nothing left behind: no schema, no index, the real embeddings untouched.
    assert list(PhotoEmbedding.objects.values_list("pk", "model_name")) == before
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'retrieval_benchmark_%'")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname ~ '_f(0|-1)$'")
        assert cursor.fetchone()[0] == 0
    assert run(karpathy) == output  # and it can run again in the same process


def test_tab_separated_captions_and_limit(toy_model, tmp_path):
    lines = ["image\tcaption"]
    for n, colour in enumerate(("red", "blue", "green", "yellow")):
        _draw(tmp_path, f"{colour}.jpg", colour, "square", seed=n)
        lines += [f"{colour}.jpg#0\ta {colour} square", f"{colour}.jpg#1\t{colour} square"]
    (tmp_path / "captions.txt").write_text("\n".join(lines) + "\n")
    output = run(tmp_path, "--limit", 3)
    assert ": 3 images, 6 captions" in output
    assert recalls(output, "text → image")[2] == 100
    assert "text → image" in run(tmp_path, "--prompts", "search")


def test_published_figures_by_checkpoint_name():
    assert published_figure("google/siglip-base-patch16-224", "flickr30k", "t2i") == 74.7
    assert published_figure("/models/siglip-base-patch16-224/", "coco", "t2i") == 47.8
    assert published_figure("google/siglip2-base-patch16-224", "coco", "t2i") == 52.1
    assert published_figure("google/siglip2-base-patch16-224", "flickr30k", "t2i") is None


def test_bad_folders_say_what_is_wrong(toy_model, tmp_path):
    with pytest.raises(CommandError, match="No captions file"):
        run(tmp_path)
    (tmp_path / "captions.txt").write_text("missing.jpg\ta cat\n")
    with pytest.raises(CommandError, match="not in"):
        run(tmp_path)
    (tmp_path / "captions.txt").write_text("just one column\n")
    with pytest.raises(CommandError, match="image<TAB>caption"):
        run(tmp_path)
    (tmp_path / "captions.txt").unlink()
    (tmp_path / "dataset_coco.json").write_text("{\"images\": []}")
    with pytest.raises(CommandError, match="no images of split"):
        run(tmp_path)
    with pytest.raises(CommandError, match="not a folder"):
        run(tmp_path / "nope")


@pytest.mark.parametrize("content", ['{"images": 5}', '{"images": [5]}', '{"images": [{"split": "test"}]}',
                                     '{"images": [{"split": "test", "filename": "a.jpg", "sentences": [{}]}]}',
                                     '{"images": [{"split": "test", "filename": 7, "sentences": "x"}]}'])
def test_a_split_file_of_the_wrong_shape_says_so(toy_model, tmp_path, content):
    (tmp_path / "dataset_flickr30k.json").write_text(content)
    with pytest.raises(CommandError, match="dataset_flickr30k.json"):
        run(tmp_path)


def test_a_captions_file_that_cannot_be_read_says_so(toy_model, tmp_path):
    with pytest.raises(CommandError, match="nope.txt"):
        run(tmp_path, "--captions", str(tmp_path / "nope.txt"))
    with pytest.raises(CommandError, match="folder"):
        run(tmp_path, "--captions", str(tmp_path))
    (tmp_path / "captions.txt").write_bytes(b"\xff\xfe\x00a.jpg\tcat\n")
    with pytest.raises(CommandError, match="UTF-8"):
        run(tmp_path)


def test_captions_saved_with_a_byte_order_mark_are_read(toy_model, tmp_path, karpathy):
    """Windows editors (Notepad) start a UTF-8 file with a byte order mark: the header line of captions.txt and the
    split file's JSON were read with it: the header as an image (named with the mark) that is missing, the JSON as
    "not a Karpathy split file"."""
    split_file = karpathy / "dataset_flickr30k.json"
    split_file.write_bytes(b"\xef\xbb\xbf" + split_file.read_bytes())
    assert ": 18 images, 36 captions" in run(karpathy)
    lines = ["image\tcaption"]
    for n, colour in enumerate(("red", "blue")):
        _draw(tmp_path, f"{colour}.jpg", colour, "square", seed=n)
        lines.append(f"{colour}.jpg#0\ta {colour} square")
    (tmp_path / "captions.txt").write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode())
    split_file.unlink()
    assert ": 2 images, 2 captions" in run(tmp_path)


def test_an_image_that_cannot_be_read_is_named(toy_model, karpathy):
    """Out of a thousand images, "Could not read an image" left the reader to find which one."""
    (karpathy / "images" / "0004.jpg").write_text("not an image")
    with pytest.raises(CommandError, match=r"0004\.jpg.*JPEG, PNG"):
        run(karpathy)


@pytest.mark.parametrize("raw", [None, "   ", 5, ["a red circle"]])
def test_a_caption_that_is_no_text_says_so(toy_model, karpathy, raw):
    """A sentence whose "raw" was null became the caption "None", and an empty one an empty caption: both were
    embedded and searched as captions, and the recalls counted them, without a word (QA). The split file's entry is
    named, as for its other faults; captions.txt already refuses an empty caption."""
    split_file = karpathy / "dataset_flickr30k.json"
    data = json.loads(split_file.read_text())
    data["images"][3]["sentences"][1]["raw"] = raw
    split_file.write_text(json.dumps(data))
    with pytest.raises(CommandError, match=r"dataset_flickr30k\.json.*entry 4"):
        run(karpathy)


@pytest.mark.parametrize("field_limit", [131_072, sys.maxsize])
def test_a_captions_line_longer_than_any_caption_says_so(toy_model, tmp_path, field_limit):
    """A line of more than 131,072 characters (a file that is no captions list, saved as captions.txt) ended the
    command in a traceback: _csv.Error: field larger than field limit. csv's limit is the process's own, and
    reverse_geocode raises it to sys.maxsize when imported: then such a line was read as a caption."""
    import csv

    _draw(tmp_path, "a.jpg", "red", "circle", seed=1)
    (tmp_path / "captions.txt").write_text("a.jpg\ta red circle\na.jpg\t" + "x" * 200_000 + "\n")
    before = csv.field_size_limit(field_limit)
    try:
        with pytest.raises(CommandError, match=r"captions.txt, line 2"):
            run(tmp_path)
    finally:
        csv.field_size_limit(before)


def test_a_split_file_nested_deeper_than_json_can_read_says_so(toy_model, tmp_path):
    """Arrays nested 100,000 deep ended the command in a traceback: RecursionError while decoding."""
    (tmp_path / "dataset_coco.json").write_text('{"images": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(CommandError, match="dataset_coco.json is not a Karpathy split file"):
        run(tmp_path)
