"""The gallery's one outward hook. The search app listens; the gallery never imports search."""

from django.core.exceptions import ValidationError
from django.dispatch import Signal

# Sent by gallery services inside the transaction that created the photos, with `photo_ids`.
# Receivers that start background work should defer it with transaction.on_commit.
photos_added = Signal()

# Sent by gallery services when photos' title, description, tags, file name or open tag suggestions changed,
# with `photo_ids`.
photos_changed = Signal()

# Sent by the trash services inside the transaction that moved photos to the trash (`photo_ids`): they must be gone
# from every search at once. The rows stay (restorable); their search data may stay too, marked or dropped.
photos_trashed = Signal()

# Sent inside the transaction that took photos out of the trash (restore, or a re-upload of the same bytes).
photos_restored = Signal()

# Sent inside the transaction that turned photos (a member's rotation): their renditions are new, and whatever was
# computed from the picture (the embedding, its near-duplicates, tag suggestions) is to be computed again.
photos_rotated = Signal()

# Sent inside the transaction that takes people out of a family (removed, leaving, their account deleted, taken out in
# the admin), before their memberships go, with `family_id` and `user_ids`: only from gallery.services.memberships_end.
members_leaving = Signal()

# Sent inside the transaction that puts people in a family (an invitation, the admin; back, or for the first time),
# once their memberships exist, with `family_id` and `user_ids`: from gallery.services.memberships_begun.
members_joined = Signal()

# Sent inside the transaction of a tag merge (gallery.services.tags_merge) or rename (tag_renamed: one name merged into
# a new one), with `family_id`, `names` (the family's tag names merged away, none of them `into` in another letter case)
# and `into` (the name kept), and `user` (who merges or renames; None for a script): what else the family keeps by a tag's
# name, outside the gallery (the tag-suggestion vocabulary), follows the merge. A receiver refuses one `user` may not
# make by raising VocabularyRefused (the whole merge or rename is rolled back).
tags_merged = Signal()


class VocabularyRefused(ValidationError):
    """A tag merge or rename would move what only the family's admins change (its tag-suggestion vocabulary), and
    the member making it is not one of them: nothing is merged or renamed."""
