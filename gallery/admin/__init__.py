"""The gallery's Django admin, one module per group of models; importing the package registers them all.

Who sees what: gallery.admin_scope (FamilyScopedAdmin)."""

from gallery.admin.records import ReadOnlyModelAdmin  # noqa: F401 (search's admin builds on it)
from gallery.admin import users  # noqa: F401
from gallery.admin.families import MembershipFormSet  # noqa: F401
from gallery.admin.tags import TagAdmin  # noqa: F401
from gallery.admin import photos  # noqa: F401
from gallery.admin import albums  # noqa: F401
