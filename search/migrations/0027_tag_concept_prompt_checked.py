# A suggestion concept's prompt follows typed text's rule at model level (gallery.text.NoControlCharacters, as the
# concept's name does), where it was a line of the admin's form: any form over the model checks it. A prompt stored
# before with what the rule refuses (it could not be saved again in the admin, refused for a code nobody sees) is
# cleaned as search 0026 cleaned names: a control character is a space, overrides and unclosed direction codes go
# (gallery 0044's step), the whitespace is collapsed; marked changed, so its suggestions are scored again.

import importlib
import unicodedata

from django.db import migrations, models
from django.utils import timezone

import gallery.text

GALLERY_0044 = importlib.import_module("gallery.migrations.0044_direction_codes_stored_before")


def _prompt_cleaned(prompt: str) -> str:
    spaced = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in prompt)
    return " ".join(GALLERY_0044.without_loose_codes(spaced).split())


def prompts_cleaned(apps, schema_editor):
    TagConcept = apps.get_model("search", "TagConcept")
    now = timezone.now()
    for concept in TagConcept.objects.exclude(prompt="").order_by("pk").iterator():
        if (prompt := _prompt_cleaned(concept.prompt)) != concept.prompt:
            TagConcept.objects.filter(pk=concept.pk).update(prompt=prompt, updated_at=now)


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0026_direction_codes_stored_before"),
    ]

    operations = [
        migrations.AlterField(
            model_name="tagconcept",
            name="prompt",
            field=models.CharField(blank=True, help_text="What the image model is asked about (through the search "
                                   "prompt templates, e.g. “a photo of {}.”); empty: the tag name.", max_length=200,
                                   validators=[gallery.text.NoControlCharacters("A prompt")]),
        ),
        migrations.RunPython(prompts_cleaned, migrations.RunPython.noop),
    ]
