# A family being deleted (gallery.services.family_delete_start): the request marks it, takes everyone out of it and
# leaves its photos to the worker, in batches. The mark is what the worker's sweep resumes a deletion a killed worker
# left by, and what uploads, imports and the admin refuse the family for meanwhile (no membership could say it: a
# family the site administrator made may have no members at all). A nullable column: safe while the old version keeps
# serving (which knows no such family, and shows it to nobody: it has no members).
#
# The database's guard that a family keeps an admin (0004) lets a family being deleted lose its members: it is gone
# for them already, and its row goes once its photos have.

from django.db import migrations, models

# The guard's function (0004's): `{live}` leaves out a family being deleted (it may lose its admins), or nothing (before).
_KEEPS_AN_ADMIN = """
CREATE OR REPLACE FUNCTION gallery_family_keeps_an_admin() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM gallery_family WHERE id = OLD.family_id{live} FOR UPDATE;
    IF FOUND AND NOT EXISTS (
        SELECT 1 FROM gallery_membership WHERE family_id = OLD.family_id AND role = 'admin'
    ) THEN
        RAISE EXCEPTION 'family % would be left without an admin', OLD.family_id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'family_keeps_an_admin';
    END IF;
    RETURN NULL;
END
$$;
"""
KEEPS_AN_ADMIN = _KEEPS_AN_ADMIN.replace("{live}", " AND deleting_since IS NULL")
KEEPS_AN_ADMIN_BEFORE = _KEEPS_AN_ADMIN.replace("{live}", "")


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0035_date_from_a_folder_name'),
    ]

    operations = [
        migrations.AddField(
            model_name='family',
            name='deleting_since',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(KEEPS_AN_ADMIN, KEEPS_AN_ADMIN_BEFORE),
    ]
