"""The gallery's one outward hook. The search app listens; the gallery never imports search."""

from django.dispatch import Signal

# Sent by gallery services inside the transaction that created the photos, with `photo_ids`.
# Receivers that start background work should defer it with transaction.on_commit.
photos_added = Signal()

# Sent by gallery services when photos' title, description, tags, file name or open tag suggestions changed,
# with `photo_ids`.
photos_changed = Signal()
