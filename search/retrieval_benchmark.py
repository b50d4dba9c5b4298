"""Text↔image retrieval over a Flickr30k / COCO Karpathy-test folder, through the product's own path.

What `manage.py benchmark_retrieval DIR` runs. Images are decoded as the worker decodes photos (gallery's
`decode_upright` at the worker's DECODE_SIDE) and embedded by the same `Embedder` (its processor, text padding and
the lower-casing SigLIP 2 needs); captions go through `Embedder.encode_texts` as written (the published figures use
the captions as they are), or, with `prompts="search"`, through the search's prompt templates. Retrieval is the
search's own pgvector statements (`vector_index.semantic_hits`, i.e. the HNSW walk a query makes) over a throwaway
copy of the embedding table: a schema made inside one transaction that is rolled back at the end, so nothing of it
outlives the run and no real family or photo is ever read or written. Exact (brute-force) recalls are printed
beside the walk's so an index problem and a preprocessing problem can be told apart.

A wrong text padding or case moves SigLIP 2 text vectors to cosine 0.8-0.9 of the right ones: recall a few points
under the published figure is how that shows.
"""

from __future__ import annotations

import csv
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.db import connection, transaction
from PIL import Image
from psycopg import sql

from gallery.images import ImageRejected, decode_upright
from search.embedder import Embedder
from search.models import PhotoEmbedding
from search.scope import Scope
from search.text_embeddings import encode_terms
from search.vector_index import drop_indexes, ensure_index, semantic_hits

KS = (1, 5, 10)
IMAGES_FAMILY, CAPTIONS_FAMILY = 0, -1  # ids no real family has: the throwaway table's two "families"
DECODE_SIDE = 448  # as search.services.DECODE_SIDE: the worker's decode size, before the processor's own resize

# Published zero-shot R@1 (percent), by (checkpoint name, dataset, direction). SigLIP: Zhai et al. 2023, "Sigmoid
# Loss for Language Image Pre-Training"; SigLIP 2: Tschannen et al. 2025.
PUBLISHED: dict[tuple[str, str, str], float] = {
    ("siglip-base-patch16-224", "flickr30k", "t2i"): 74.7,
    ("siglip-base-patch16-224", "coco", "t2i"): 47.8,
    ("siglip2-base-patch16-224", "coco", "t2i"): 52.1,
}


class DatasetError(ValueError):
    """The folder is not in a layout we read, or one of its images can't be read; the message says what or which."""


@dataclass
class Dataset:
    name: str  # "flickr30k", "coco" or the folder's name
    images: list[Path]
    captions: list[str]
    caption_image: list[int]  # index into images, per caption

    def captions_of(self) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in self.images]
        for caption, image in enumerate(self.caption_image):
            out[image].append(caption)
        return out


@dataclass
class Recalls:
    t2i: dict[int, float] = field(default_factory=dict)  # k → percent
    i2t: dict[int, float] = field(default_factory=dict)


@dataclass
class BenchmarkResult:
    dataset: Dataset
    model_name: str
    calibration: tuple[float, float]
    index: Recalls  # through the pgvector walks
    exact: Recalls  # brute force over the same vectors
    p_match: float  # mean calibrated probability of a caption and its own image
    p_other: float  # ... of a caption and another image

    def published(self, direction: str) -> float | None:
        return published_figure(self.model_name, self.dataset.name, direction)


def published_figure(model_name: str, dataset: str, direction: str) -> float | None:
    """The published R@1 for this checkpoint (hub id or a local directory of the same name), or None."""
    base = model_name.rstrip("/").rsplit("/", 1)[-1].lower()
    return PUBLISHED.get((base, dataset, direction))


# --- reading the folder --------------------------------------------------------------------------------------------


def load_dataset(directory: Path, *, captions: Path | None = None, split: str = "test", limit: int | None = None) -> Dataset:
    """The images and captions of a Karpathy split file (`dataset_*.json`, images of `split`) or of a
    `captions.txt`/`captions.tsv` with one `image<TAB>caption` per line (Flickr's `image.jpg#0` names too)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetError(f"{directory} is not a folder.")
    path = captions or _find_captions(directory)
    if not path.is_file():
        raise DatasetError(f"{path} is not a file: give the captions file (dataset_*.json, captions.txt), "
                           "not a folder." if path.is_dir() else f"There is no captions file {path}.")
    try:
        if path.suffix == ".json":
            name, pairs = _karpathy(path, directory, split)
        else:
            name, pairs = _tab_separated(path, directory)
    except UnicodeDecodeError:
        raise DatasetError(f"{path.name} is not UTF-8 text.") from None
    except OSError as exc:
        raise DatasetError(f"Could not read {path}: {exc.strerror}.") from None
    images: dict[Path, int] = {}
    texts, owners = [], []
    for image, caption in pairs:
        if image not in images:
            if limit is not None and len(images) >= limit:
                continue
            images[image] = len(images)
        texts.append(caption)
        owners.append(images[image])
    if not images:
        raise DatasetError(f"{path.name} lists no images of split “{split}”." if path.suffix == ".json"
                           else f"{path.name} lists no images.")
    missing = [image for image in images if not image.is_file()]
    if missing:
        raise DatasetError(f"{len(missing)} image(s) named in {path.name} are not in {directory}, e.g. {missing[0].name}.")
    return Dataset(name=name, images=list(images), captions=texts, caption_image=owners)


def _find_captions(directory: Path) -> Path:
    for pattern in ("dataset_*.json", "captions.tsv", "captions.txt", "*.token"):
        found = sorted(directory.glob(pattern))
        if found:
            return found[0]
    raise DatasetError(f"No captions file in {directory}: expected a Karpathy split file (dataset_flickr30k.json, "
                       "dataset_coco.json) or captions.txt / captions.tsv with one “image<TAB>caption” per line.")


def _dataset_name(text: str) -> str:
    lowered = text.lower()
    for name in ("flickr30k", "coco"):
        if name in lowered:
            return name
    return lowered


def _karpathy(path: Path, directory: Path, split: str) -> tuple[str, list[tuple[Path, str]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))  # -sig: a byte order mark (Windows editors) too
        entries = data["images"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:  # RecursionError: nested beyond any split file
        raise DatasetError(f"{path.name} is not a Karpathy split file (a JSON object with “images”).") from exc
    pairs, number = [], 0
    try:
        for number, entry in enumerate(entries, start=1):
            if entry.get("split") != split:
                continue
            image = _image_path(directory, str(entry.get("filepath", "")), str(entry["filename"]))
            pairs += [(image, _caption(sentence["raw"])) for sentence in entry.get("sentences", [])]
    except (KeyError, TypeError, AttributeError) as exc:
        raise DatasetError(f"{path.name} is not a Karpathy split file: each of its “images” is an object with "
                           f"“filename” and “sentences”, each sentence with “raw” (entry {number}: {exc!r}).") from None
    return _dataset_name(str(data.get("dataset") or path.stem)), pairs


def _caption(raw) -> str:
    """A sentence's text: str() of a null or a number would be a caption nobody wrote ("None"), and an empty one
    none at all; both would be searched and counted in the recalls."""
    if not isinstance(raw, str) or not raw.strip():
        raise TypeError(f"its “raw” is {json.dumps(raw)}, not a caption")
    return raw.strip()


def _image_path(directory: Path, subfolder: str, filename: str) -> Path:
    """Where the image is: beside the captions, in its Karpathy `filepath` (COCO's val2014/), in images/, or in
    flickr30k-images/ (how the Flickr30k archive unpacks)."""
    candidates = [directory / subfolder / filename, directory / filename, directory / "images" / subfolder / filename,
                  directory / "images" / filename, directory / "flickr30k-images" / filename]
    return next((c for c in candidates if c.is_file()), candidates[0])


# Longer is no caption (Flickr30k's and COCO's longest are a few hundred characters): a file that is no captions list.
CAPTION_MAX_CHARS = 10_000


def _tab_separated(path: Path, directory: Path) -> tuple[str, list[tuple[Path, str]]]:
    pairs = []
    with path.open(newline="", encoding="utf-8-sig") as stream:  # -sig: a byte order mark (Windows editors) too
        rows = csv.reader(stream, delimiter="\t", quoting=csv.QUOTE_NONE)
        try:
            for number, row in enumerate(rows, start=1):
                if not row or not "".join(row).strip():
                    continue
                if len(row) < 2 or not row[1].strip():
                    raise DatasetError(f"{path.name}, line {number}: expected “image<TAB>caption”.")
                if len(row[1]) > CAPTION_MAX_CHARS:  # (csv's own limit is the process's: another package may lift it)
                    raise DatasetError(f"{path.name}, line {number}: expected “image<TAB>caption”, not a caption of "
                                       f"{len(row[1]):,} characters.")
                filename = row[0].strip().split("#", 1)[0]  # Flickr's results_20130124.token: image.jpg#0
                if number == 1 and filename.lower() in ("image", "filename", "file"):
                    continue  # a header line
                pairs.append((_image_path(directory, "", filename), row[1].strip()))
        except csv.Error as exc:  # a field longer than csv's limit (131,072 characters): no caption is
            raise DatasetError(f"{path.name}, line {rows.line_num}: expected “image<TAB>caption” ({exc}).") \
                from None
    return _dataset_name(directory.name), pairs


# --- embedding -----------------------------------------------------------------------------------------------------


def embed_images(embedder: Embedder, paths: list[Path], progress: Callable[[int], None] | None = None) -> np.ndarray:
    chunks = []
    for start in range(0, len(paths), embedder.batch_size):
        batch = paths[start:start + embedder.batch_size]
        images = []
        for path in batch:
            images.append(_decode(path))
        chunks.append(embedder.encode_images(images))
        if progress:
            progress(len(batch))
    return np.concatenate(chunks) if chunks else np.empty((0, embedder.dim), dtype=np.float32)


def _decode(path: Path) -> Image.Image:
    """The image at `path` as the worker decodes photos; one that can't be read is named (among thousands)."""
    try:
        with path.open("rb") as stream:
            return decode_upright(stream, max_side=DECODE_SIDE, slot=False)
    except ImageRejected as exc:
        raise DatasetError(f"Could not read the image {path}: {exc.reason_for(path.name)}") from None
    except OSError as exc:
        raise DatasetError(f"Could not read the image {path}: {exc.strerror or exc}.") from None


def embed_captions(embedder: Embedder, captions: list[str], *, prompts: str = "none",
                   progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Caption vectors: as written (`prompts="none"`), or averaged over the search's prompt templates ("search")."""
    chunks, step = [], max(embedder.batch_size, 64)
    for start in range(0, len(captions), step):
        batch = captions[start:start + step]
        chunks.append(encode_terms(embedder, batch) if prompts == "search" else embedder.encode_texts(batch))
        if progress:
            progress(len(batch))
    return np.concatenate(chunks) if chunks else np.empty((0, embedder.dim), dtype=np.float32)


# --- retrieval -----------------------------------------------------------------------------------------------------


def run_benchmark(embedder: Embedder, dataset: Dataset, *, prompts: str = "none",
                  progress: Callable[[str, int, int], None] | None = None) -> BenchmarkResult:
    def step(stage: str, total: int) -> Callable[[int], None] | None:
        return (lambda n: progress(stage, n, total)) if progress else None

    image_vectors = embed_images(embedder, dataset.images, step("images", len(dataset.images)))
    text_vectors = embed_captions(embedder, dataset.captions, prompts=prompts,
                                  progress=step("captions", len(dataset.captions)))
    owners = np.asarray(dataset.caption_image)
    ranked_t2i, ranked_i2t = _index_rankings(embedder, image_vectors, text_vectors, step("search", 1))
    cosines = text_vectors @ image_vectors.T  # (captions, images)
    exact_t2i = np.argsort(-cosines, axis=1, kind="stable")[:, :max(KS)]
    exact_i2t = np.argsort(-cosines.T, axis=1, kind="stable")[:, :max(KS)]
    matching = cosines[np.arange(len(owners)), owners]
    others = np.ones_like(cosines, dtype=bool)
    others[np.arange(len(owners)), owners] = False
    return BenchmarkResult(
        dataset=dataset, model_name=embedder.model_name, calibration=embedder.calibration,
        index=Recalls(t2i=_t2i_recalls(ranked_t2i, owners), i2t=_i2t_recalls(ranked_i2t, owners)),
        exact=Recalls(t2i=_t2i_recalls(exact_t2i, owners), i2t=_i2t_recalls(exact_i2t, owners)),
        p_match=float(np.mean(embedder.probability(matching))),
        p_other=float(np.mean(embedder.probability(cosines[others]))) if others.any() else 0.0,
    )


def _t2i_recalls(ranked, owners: np.ndarray) -> dict[int, float]:
    return {k: 100.0 * float(np.mean([owner in list(row[:k]) for row, owner in zip(ranked, owners)])) for k in KS}


def _i2t_recalls(ranked, owners: np.ndarray) -> dict[int, float]:
    """An image is found at k when any of its captions is among the k nearest captions."""
    return {k: 100.0 * float(np.mean([any(owners[c] == image for c in row[:k]) for image, row in enumerate(ranked)]))
            for k in KS}


def _index_rankings(embedder: Embedder, images: np.ndarray, captions: np.ndarray,
                    progress: Callable[[int], None] | None) -> tuple[list[list[int]], list[list[int]]]:
    """Rankings (best first, max(KS) long) from the search's own walks: each caption walks the images' HNSW index
    as a one-term query; each image walks an index of the captions. All inside one transaction on a throwaway
    schema that shadows the embedding table, rolled back whatever happens."""
    model, dim, limit = embedder.model_name, embedder.dim, max(KS)
    with transaction.atomic():
        _throwaway_table()
        _insert(model, IMAGES_FAMILY, images)
        _insert(model, CAPTIONS_FAMILY, captions, first_id=len(images))
        t2i = [_ranked(semantic_hits(model_name=model, dim=dim, vectors=[vector], scope=Scope((IMAGES_FAMILY,)),
                                     limit=limit), limit, offset=0) for vector in captions]
        i2t = [_ranked(semantic_hits(model_name=model, dim=dim, vectors=[vector], scope=Scope((CAPTIONS_FAMILY,)),
                                     limit=limit), limit, offset=len(images)) for vector in images]
        for family_id in (IMAGES_FAMILY, CAPTIONS_FAMILY):  # also forgets them in the process's list of indexes
            drop_indexes(family_id=family_id, model_name=model)
        transaction.set_rollback(True)  # the schema, its table and its indexes go with the transaction
    if progress:
        progress(1)
    return t2i, i2t


def _ranked(hits: dict[int, tuple[float, int, float | None]], limit: int, *, offset: int) -> list[int]:
    best = sorted(hits.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    return [row_id - offset for row_id, _ in best]


def _throwaway_table() -> None:
    """A schema of this transaction's own, first on the search path, with an empty embedding table of the same
    columns: the search's unqualified statements read and index it instead of the real one."""
    schema = f"retrieval_benchmark_{secrets.token_hex(4)}"
    table = PhotoEmbedding._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schemas(false)")
        path = [sql.Identifier(name) for name in cursor.fetchone()[0]]
        cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)).as_string(cursor.connection))
        cursor.execute(sql.SQL("SET LOCAL search_path TO {}").format(
            sql.SQL(", ").join([sql.Identifier(schema), *path])).as_string(cursor.connection))
        cursor.execute(sql.SQL("CREATE TABLE {schema}.{table} (LIKE {table} INCLUDING DEFAULTS)").format(
            schema=sql.Identifier(schema), table=sql.Identifier(table)).as_string(cursor.connection))


def _insert(model_name: str, family_id: int, vectors: np.ndarray, *, first_id: int = 0) -> None:
    """Rows straight into the throwaway table (no photo rows exist for them: unfiltered walks never read photos)."""
    ensure_index(model_name=model_name, dim=vectors.shape[1], family_id=family_id)
    table = PhotoEmbedding._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            sql.SQL("INSERT INTO {} (id, photo_id, family_id, model_name, vector, created_at) "
                    "VALUES (%s, %s, %s, %s, %s::vector, now())").format(sql.Identifier(table)).as_string(cursor.connection),
            [(first_id + i + 1, first_id + i, family_id, model_name, _text(vector)) for i, vector in enumerate(vectors)],
        )


def _text(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.8g}" for x in vector) + "]"


# --- printing ------------------------------------------------------------------------------------------------------


def result_lines(result: BenchmarkResult) -> list[str]:
    """The report as lines of text: recalls both ways, through the index and exact, beside the published R@1."""
    d = result.dataset
    a, b = result.calibration
    lines = [
        f"{d.name}: {len(d.images)} images, {len(d.captions)} captions; model {result.model_name} "
        f"(calibration a = {a:.2f}, b = {b:.2f})",
        "",
        f"{'':14}{'R@1':>7}{'R@5':>7}{'R@10':>7}   {'exact R@1':>9}   published R@1",
    ]
    for direction, label in (("t2i", "text → image"), ("i2t", "image → text")):
        walk, exact = getattr(result.index, direction), getattr(result.exact, direction)
        published = result.published(direction)
        figure = "no published figure" if published is None else \
            f"{published:.1f} ({walk[1] - published:+.1f})"
        lines.append(f"{label:14}" + "".join(f"{walk[k]:7.1f}" for k in KS) + f"   {exact[1]:9.1f}   {figure}")
    lines += ["", f"calibrated p(match): {result.p_match:.3f} for a caption and its own image, "
                  f"{result.p_other:.4f} for other pairs"]
    return lines
