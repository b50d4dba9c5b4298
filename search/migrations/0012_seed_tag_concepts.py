"""Seed the global tag-suggestion vocabulary from the global synonym concepts (search.Synonym, seeded by 0004):
each term is a tag name, asked of the image model through a prompt where the bare word is ambiguous or not
something a camera sees. Editable in the admin afterwards."""

from django.db import migrations

# Terms of the synonym table that make poor suggested tags: not visible in a photo ("holiday", "family" as a
# relationship), or a colour of the whole picture rather than a thing in it ("black", "white", "dark" scenes).
SKIP = {"holiday", "family", "friends", "zoo", "black", "white", "grey", "brown"}

# Where the tag name alone is a poor question for the model, what to ask instead (the prompt templates wrap it,
# e.g. "a photo of {}.").
PROMPTS = {
    "person": "a person",
    "child": "a child",
    "baby": "a baby",
    "mother": "a mother with her child",
    "father": "a father with his child",
    "grandmother": "a grandmother",
    "grandfather": "a grandfather",
    "selfie": "a selfie",
    "smile": "a smiling person",
    "crowd": "a crowd of people",
    "sunny": "a sunny day",
    "cloudy": "a cloudy sky",
    "night": "a night scene",
    "rain": "rain",
    "fog": "fog",
    "storm": "a storm",
    "winter": "a winter scene",
    "spring": "spring blossom",
    "summer": "a summer day",
    "autumn": "autumn leaves",
    "sport": "people playing sport",
    "party": "a party",
    "food": "food on a plate",
    "house": "a house",
    "city": "a city street",
    "living room": "a living room",
    "countryside": "the countryside",
    "camping": "a tent at a campsite",
    "pool": "a swimming pool",
    "toy": "toys",
    "book": "a book",
    "gift": "a wrapped gift",
}


def seed(apps, schema_editor):
    Synonym = apps.get_model("search", "Synonym")
    TagConcept = apps.get_model("search", "TagConcept")
    terms = sorted({" ".join(term.split()).lower() for term in Synonym.objects.filter(family=None)
                    .values_list("term", flat=True)} - SKIP)
    existing = {name.lower() for name in TagConcept.objects.filter(family=None).values_list("name", flat=True)}
    TagConcept.objects.bulk_create([TagConcept(family=None, name=term[:64], prompt=PROMPTS.get(term, ""))
                                    for term in terms if term and term not in existing])


def unseed(apps, schema_editor):
    apps.get_model("search", "TagConcept").objects.filter(family=None).delete()


class Migration(migrations.Migration):
    dependencies = [("search", "0011_tag_concept")]

    operations = [migrations.RunPython(seed, unseed)]
