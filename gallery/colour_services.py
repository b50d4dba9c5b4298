"""Mean colours of photos stored before they were kept (Photo.mean_colour), read from their thumbnails: what makes
a perceptual-hash match a near-duplicate (search.duplicate_finder), so the sweep fills it a batch at a time."""

from __future__ import annotations

import logging

from django.conf import settings
from PIL import Image

from gallery.images import mean_colour_of
from gallery.models import Photo

logger = logging.getLogger(__name__)

# Stored for a photo whose thumbnail could not be read: not a colour (the finder compares "rrggbb" only), and not ""
# either, so the sweep does not try it again every time.
UNREADABLE = "-"


def photos_mean_colour_fill(*, limit: int | None = None) -> list[int]:
    """Fill the mean colour of up to `limit` (RENDITION_SWEEP_LIMIT) photos lacking one, trash included, from their
    thumbnails (a few KB each: their colours are the original's within a level or two). Returns the ids filled, whose
    near-duplicates are then to be looked for again."""
    limit = settings.RENDITION_SWEEP_LIMIT if limit is None else limit
    filled = []
    for photo in Photo.all_objects.filter(mean_colour="").order_by("pk").only("pk", "thumbnail")[:limit]:
        try:
            with photo.thumbnail.open("rb") as stream, Image.open(stream) as image:
                colour = mean_colour_of(image)
        except (OSError, ValueError) as exc:  # missing or unreadable thumbnail (Pillow's errors are OSErrors)
            logger.warning("photo %s: no mean colour: %s", photo.pk, exc)
            colour = UNREADABLE
        Photo.all_objects.filter(pk=photo.pk, mean_colour="").update(mean_colour=colour)
        if colour != UNREADABLE:
            filled.append(photo.pk)
    return filled
