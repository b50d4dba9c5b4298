"""Tag names hold no comma any more (gallery.text.tag_name_clean): the pages type tags comma-separated, so a name
with one, set through the API before, split in two the next time its photo was saved from its page. Each such tag
is renamed with its commas as spaces ("Smith, John" becomes "Smith John"); where the family already has a tag of
that name, its photos move to that tag (a photo carrying both keeps one) and the old tag goes."""

from django.db import migrations
from django.db.models import Value
from django.db.models.functions import Lower


def rename_tags_with_commas(apps, schema_editor):
    Tag = apps.get_model("gallery", "Tag")
    PhotoTag = apps.get_model("gallery", "PhotoTag")
    for tag in Tag.objects.filter(name__contains=",").order_by("pk"):
        name = " ".join(tag.name.replace(",", " ").split())[:64] or "untitled"
        same = (Tag.objects.filter(family_id=tag.family_id).exclude(pk=tag.pk).annotate(key=Lower("name"))
                .filter(key=Lower(Value(name))).first())
        if same is None:
            tag.name = name
            tag.save(update_fields=["name"])
            continue
        have = set(PhotoTag.objects.filter(tag=same).values_list("photo_id", flat=True))
        PhotoTag.objects.filter(tag=tag).exclude(photo_id__in=have).update(tag=same)
        tag.delete()


class Migration(migrations.Migration):

    dependencies = [
        ("gallery", "0019_text_validators"),
    ]

    operations = [
        migrations.RunPython(rename_tags_with_commas, migrations.RunPython.noop),
    ]
