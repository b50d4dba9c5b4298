# The database's guard that a family keeps an admin (0004, 0036) counted any admin row. Since an account made inactive
# can't sign in, the services and the Django admin hold a finer rule (gallery.services.admin_kept): while anyone who can
# sign in is in a family, one of them must be an admin; a family nobody in it can sign in to waits for them, kept by
# any admin row; one with no admin row is ended by its deletion only. The guard now holds that rule too, so it still
# holds when code has a bug, and it is asked whenever the rule can break:
#
# - an admin row goes, is demoted, or is given to someone else or another family (as before): the whole rule;
# - someone joins (a new row, a member's row given to another person or moved to another family): the rule, but for
#   a family with no admin row at all yet, which is being filled (its admin row comes in the same transaction or the
#   next statement, as create_family, the tests' fixtures and scripts do; the Django admin's table and the services
#   refuse a family given members with no admin);
# - an account is made inactive, or active again (auth_user.is_active): the whole rule, for each family it is in.
#
# Each check locks the family's row first, as the services do (family_lock), and leaves out a family being deleted
# (0036). A family that broke the rule before this migration is not checked until one of these changes happens to it,
# and the changes that mend it (an admin made active, a member made inactive or an admin) all pass.

from django.db import migrations

KEEPS_AN_ADMIN = """
CREATE OR REPLACE FUNCTION gallery_family_admin_check(family bigint, filling boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    admins integer;
    signing_in integer;
    admins_signing_in integer;
BEGIN
    PERFORM 1 FROM gallery_family WHERE id = family AND deleting_since IS NULL FOR UPDATE;
    IF NOT FOUND THEN  -- gone, or being deleted
        RETURN;
    END IF;
    SELECT count(*) FILTER (WHERE m.role = 'admin'), count(*) FILTER (WHERE u.is_active),
           count(*) FILTER (WHERE m.role = 'admin' AND u.is_active)
      INTO admins, signing_in, admins_signing_in
      FROM gallery_membership m JOIN auth_user u ON u.id = m.user_id
     WHERE m.family_id = family;
    IF (admins = 0 AND NOT filling) OR (signing_in > 0 AND admins_signing_in = 0 AND (admins > 0 OR NOT filling)) THEN
        RAISE EXCEPTION 'family % would be left without an admin who can sign in', family
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'family_keeps_an_admin';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION gallery_family_keeps_an_admin() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN  -- the family the row was in: an admin row going is the whole rule, a member's a joining
        PERFORM gallery_family_admin_check(OLD.family_id, OLD.role <> 'admin');
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.family_id <> OLD.family_id) THEN
        PERFORM gallery_family_admin_check(NEW.family_id, true);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION gallery_family_keeps_an_admin_signing_in() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    family bigint;
BEGIN
    -- A member going inactive can't break the rule (nor mend a family that breaks it already): only an account made
    -- active again, or an admin made inactive, is checked.
    FOR family IN SELECT DISTINCT family_id FROM gallery_membership
                  WHERE user_id = NEW.id AND (NEW.is_active OR role = 'admin') ORDER BY family_id LOOP
        PERFORM gallery_family_admin_check(family, false);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER family_keeps_an_admin_joining
    AFTER INSERT ON gallery_membership
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    EXECUTE FUNCTION gallery_family_keeps_an_admin();
CREATE CONSTRAINT TRIGGER family_keeps_an_admin_moving
    AFTER UPDATE ON gallery_membership
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.role <> 'admin' AND (NEW.user_id <> OLD.user_id OR NEW.family_id <> OLD.family_id))
    EXECUTE FUNCTION gallery_family_keeps_an_admin();
CREATE CONSTRAINT TRIGGER family_keeps_an_admin_signing_in
    AFTER UPDATE OF is_active ON auth_user
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.is_active IS DISTINCT FROM OLD.is_active)
    EXECUTE FUNCTION gallery_family_keeps_an_admin_signing_in();
"""

# 0036's function, as it was.
KEEPS_AN_ADMIN_0036 = """
CREATE OR REPLACE FUNCTION gallery_family_keeps_an_admin() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM gallery_family WHERE id = OLD.family_id AND deleting_since IS NULL FOR UPDATE;
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

KEEPS_AN_ADMIN_BEFORE = """
DROP TRIGGER IF EXISTS family_keeps_an_admin_signing_in ON auth_user;
DROP TRIGGER IF EXISTS family_keeps_an_admin_moving ON gallery_membership;
DROP TRIGGER IF EXISTS family_keeps_an_admin_joining ON gallery_membership;
DROP FUNCTION IF EXISTS gallery_family_keeps_an_admin_signing_in();
""" + KEEPS_AN_ADMIN_0036 + """
DROP FUNCTION IF EXISTS gallery_family_admin_check(bigint, boolean);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("gallery", "0047_tag_removals_by_the_databases_key"),
    ]

    operations = [
        migrations.RunSQL(KEEPS_AN_ADMIN, KEEPS_AN_ADMIN_BEFORE),
    ]
