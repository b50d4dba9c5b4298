# Joins the albums and trash branches' migrations so this branch (bulk actions, which uses both) migrates. Only
# needed until the lead renumbers the albums and trash migrations into one line on merge: then delete this file.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0011_albums"),
        ("gallery", "0012_trash_purge_schedule"),
    ]

    operations = []
