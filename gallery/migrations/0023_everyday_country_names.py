"""Photos store a country's name as people say it (gallery.places.EVERYDAY_COUNTRY_NAMES): rename what GeoNames'
formal names left stored ("Korea, Republic of" → "South Korea"). Only names the geocoder wrote are touched; a name
a file gave in its own words stays."""

from django.db import migrations

# Frozen here: ISO code → (the list's formal name, the everyday name), as they were when this migration was written.
RENAMED = {
    "KR": ("Korea, Republic of", "South Korea"), "KP": ("Korea, Democratic People's Republic of", "North Korea"),
    "RU": ("Russian Federation", "Russia"), "IR": ("Iran, Islamic Republic of", "Iran"),
    "SY": ("Syrian Arab Republic", "Syria"), "LA": ("Lao People's Democratic Republic", "Laos"),
    "MD": ("Moldova, Republic of", "Moldova"), "TZ": ("Tanzania, United Republic of", "Tanzania"),
    "VA": ("Holy See (Vatican City State)", "Vatican City"), "FM": ("Micronesia, Federated States of", "Micronesia"),
    "CD": ("Congo, The Democratic Republic of the", "DR Congo"), "LY": ("Libyan Arab Jamahiriya", "Libya"),
    "FK": ("Falkland Islands (Malvinas)", "Falkland Islands"), "VG": ("Virgin Islands, British", "British Virgin Islands"),
    "VI": ("Virgin Islands, U.S.", "US Virgin Islands"), "CI": ("Cote d'Ivoire", "Côte d'Ivoire"),
    "BN": ("Brunei Darussalam", "Brunei"), "MK": ("Macedonia", "North Macedonia"),
}


def rename(apps, schema_editor, *, back=False):
    Photo = apps.get_model("gallery", "Photo")
    for code, (formal, everyday) in RENAMED.items():
        old, new = (everyday, formal) if back else (formal, everyday)
        Photo._base_manager.filter(place_country_code=code, place_country=old).update(place_country=new)


class Migration(migrations.Migration):

    dependencies = [
        ("gallery", "0022_removed_tags"),
    ]

    operations = [
        migrations.RunPython(rename, lambda apps, schema_editor: rename(apps, schema_editor, back=True)),
    ]
