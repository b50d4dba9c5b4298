from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Download the configured SEARCH_MODEL from the Hugging Face hub into the local cache, for offline use."

    def add_arguments(self, parser):
        parser.add_argument("model", nargs="?", default=None, help="hub id (default: SEARCH_MODEL)")

    def handle(self, *args, model, **options):
        from huggingface_hub import snapshot_download
        from huggingface_hub.constants import is_offline_mode

        from search.embedder import ModelUnavailable, get_embedder, hub_unreachable, is_local

        name = model or settings.SEARCH_MODEL
        if Path(name).is_dir():
            # Nothing to fetch, but whether it loads is what the asker wants to know (a copy cut short lacks files).
            try:
                embedder = get_embedder(name)  # as the web and worker processes load it
            except ModelUnavailable as exc:
                raise CommandError(exc.reason) from None
            self.stdout.write(f"{name} is a local directory: nothing to download; it loads "
                              f"({embedder.dim} dimensions).")
            return
        if is_local(name):
            raise CommandError(f"{name} is a path, and there is no such directory: nothing to download.")

        if is_offline_mode():
            raise CommandError(f"Could not download {name}: HF_HUB_OFFLINE is set (unset it for this command).")
        if unreachable := hub_unreachable():  # at once, instead of huggingface_hub's half minute of retries
            raise CommandError(f"Could not download {name}: {unreachable}.")
        self.stdout.write(f"Downloading {name} …")
        try:
            path = snapshot_download(name, allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt"])
        except Exception as exc:  # noqa: BLE001 - network, auth and "no such repo" all end the same way
            raise CommandError(f"Could not download {name}: {exc}") from None
        self.stdout.write(self.style.SUCCESS(f"Saved to {path}. Set HF_HUB_OFFLINE=1 to never touch the network."))
