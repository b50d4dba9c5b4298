"""The removal queue for stored files (FileRemoval), and the database's guard that a family keeps an admin.

The guard is a deferred constraint trigger: at commit, every family that lost an admin row must still have
one (unless the family itself is gone). The services and the admin refuse first with a plain message; this
is the net under every other path. It locks the family row as the services do, so two transactions
demoting the two last admins can't both pass."""

from django.db import migrations, models

KEEPS_AN_ADMIN = """
CREATE FUNCTION gallery_family_keeps_an_admin() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM gallery_family WHERE id = OLD.family_id FOR UPDATE;
    IF FOUND AND NOT EXISTS (
        SELECT 1 FROM gallery_membership WHERE family_id = OLD.family_id AND role = 'admin'
    ) THEN
        RAISE EXCEPTION 'family % would be left without an admin', OLD.family_id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'family_keeps_an_admin';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER family_keeps_an_admin
    AFTER UPDATE OR DELETE ON gallery_membership
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.role = 'admin')
    EXECUTE FUNCTION gallery_family_keeps_an_admin();
"""

DROP_KEEPS_AN_ADMIN = """
DROP TRIGGER IF EXISTS family_keeps_an_admin ON gallery_membership;
DROP FUNCTION IF EXISTS gallery_family_keeps_an_admin();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0003_photo_display'),
    ]

    operations = [
        migrations.CreateModel(
            name='FileRemoval',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('storage_name', models.CharField(help_text='name in the default storage', max_length=255)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('last_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('last_error', models.TextField(blank=True)),
            ],
            options={
                'ordering': ['pk'],
            },
        ),
        migrations.RunSQL(KEEPS_AN_ADMIN, DROP_KEEPS_AN_ADMIN),
    ]
