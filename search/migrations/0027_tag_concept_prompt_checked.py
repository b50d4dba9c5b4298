# A suggestion concept's prompt follows typed text's rule at model level (gallery.text.NoControlCharacters, as the
# concept's name does), where it was a line of the admin's form: any form over the model checks it. The validator only:
# nothing changes in the database.

from django.db import migrations, models

import gallery.text


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
    ]
