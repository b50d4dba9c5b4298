# Two things about invitation links whose standing changed under them:
#
# - DeletedFamilyInvite: deleting a family (gallery.services.family_delete_start) keeps the SHA-256 of each of its open
#   links' tokens (the Invite rows go with the family), so the link page says the family was deleted rather than that
#   the link is not valid. Only the hash, as Invite stores it: nothing kept here opens anything.
# - An admin's open links are withdrawn when they stop administering the family (removed, stepped down, deleted since
#   bcd66ac and d20e9d3; made inactive since this change), but the links made before each of those were not: such a
#   link still worked, vouched for by someone who no longer could. Each open link (not used, withdrawn nor expired)
#   whose maker is not an admin of its family who can sign in (or whose account is gone) is withdrawn now, as the
#   services would have done. Backwards: the table goes; the links stay withdrawn (nothing tells them from others).

from django.db import migrations, models
from django.db.models import Exists, OuterRef
from django.db.models.functions import Now


def links_no_admin_vouches_for_withdrawn(apps, schema_editor):
    Invite = apps.get_model("gallery", "Invite")
    Membership = apps.get_model("gallery", "Membership")
    vouched = Membership.objects.filter(family_id=OuterRef("family_id"), user_id=OuterRef("created_by_id"),
                                        role="admin", user__is_active=True)
    (Invite.objects.filter(used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=Now())
     .exclude(Exists(vouched)).update(revoked_at=Now()))


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0048_admin_who_can_sign_in'),
    ]

    operations = [
        migrations.CreateModel(
            name='DeletedFamilyInvite',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token_hash', models.CharField(editable=False, max_length=64, unique=True)),
                ('deleted_at', models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.RunPython(links_no_admin_vouches_for_withdrawn, migrations.RunPython.noop),
    ]
