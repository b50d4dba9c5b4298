"""`manage.py benchmark_retrieval DIR`: text↔image recall over a Flickr30k/COCO Karpathy-test folder, through the
product's own embedder and pgvector search, beside the published figures for the active model."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from search.embedder import ModelUnavailable, get_embedder
from search.retrieval_benchmark import DatasetError, load_dataset, result_lines, run_benchmark


class Command(BaseCommand):
    help = (
        "Text-to-image and image-to-text recall (R@1/5/10) over a local folder in the Flickr30k/COCO Karpathy layout "
        "(images plus dataset_*.json, or captions.txt/.tsv with “image<TAB>caption” lines), through the search's "
        "own embedder, calibration and pgvector walks in a throwaway schema that is rolled back at the end; "
        "printed beside the published figures for SEARCH_MODEL. Nothing is downloaded but the model, if missing."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="the folder with the images and the captions file")
        parser.add_argument("--captions", type=Path, help="the captions file, when it is not in DIR")
        parser.add_argument("--split", default="test", help="the Karpathy split to use (default: test)")
        parser.add_argument("--limit", type=int, help="only the first N images (a quick check)")
        parser.add_argument("--prompts", choices=("none", "search"), default="none",
                            help="captions as written (none, as the published figures are measured) or averaged "
                                 "over the search's prompt templates (search)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars (for logs)")

    def handle(self, *args, directory, captions, split, limit, prompts, no_progress, **options):
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        try:
            dataset = load_dataset(directory, captions=captions, split=split, limit=limit)
        except DatasetError as exc:
            raise CommandError(str(exc)) from None
        try:
            embedder = get_embedder(allow_download=True)
        except ModelUnavailable as exc:
            raise CommandError(str(exc)) from None
        bars: dict[str, tqdm] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = tqdm(total=total, unit=stage, desc=stage, disable=no_progress, file=self.stderr._out)
            bars[stage].update(done)

        try:
            result = run_benchmark(embedder, dataset, prompts=prompts, progress=progress)
        except DatasetError as exc:  # an image that can't be read, named
            raise CommandError(str(exc)) from None
        finally:
            for bar in bars.values():
                bar.close()
        self.stdout.write("\n".join(result_lines(result)))
