"""Seed the global synonym table with everyday photo concepts (editable in the admin afterwards)."""

from django.db import migrations

SEED = {
    # people
    "person": ["people", "human", "man", "woman"],
    "baby": ["infant", "newborn", "toddler"],
    "child": ["kid", "children", "kids", "boy", "girl"],
    "family": ["relatives", "parents", "siblings"],
    "mother": ["mom", "mum", "mommy"],
    "father": ["dad", "daddy"],
    "grandmother": ["grandma", "granny", "nana"],
    "grandfather": ["grandpa", "granddad"],
    "friends": ["buddies", "pals", "group"],
    "selfie": ["self portrait", "portrait"],
    "smile": ["smiling", "laughing", "happy"],
    "crowd": ["people", "audience", "gathering"],
    # pets and animals
    "dog": ["puppy", "canine", "pet", "hound"],
    "cat": ["kitten", "kitty", "feline", "pet"],
    "horse": ["pony", "foal", "stallion"],
    "bird": ["seagull", "pigeon", "parrot", "duck"],
    "fish": ["goldfish", "trout", "salmon"],
    "rabbit": ["bunny", "hare"],
    "hamster": ["guinea pig", "gerbil"],
    "cow": ["cattle", "calf", "bull"],
    "sheep": ["lamb", "flock"],
    "pig": ["piglet", "hog"],
    "chicken": ["hen", "rooster", "chick"],
    "butterfly": ["moth", "insect"],
    "bear": ["teddy bear", "grizzly"],
    "deer": ["fawn", "stag", "elk"],
    "elephant": ["elephants", "trunk"],
    "lion": ["big cat", "tiger"],
    "zoo": ["animals", "safari", "wildlife"],
    # places
    "beach": ["seaside", "shore", "coast", "sand"],
    "sea": ["ocean", "waves", "water"],
    "lake": ["pond", "water", "reservoir"],
    "river": ["stream", "creek"],
    "mountain": ["mountains", "hills", "peak", "alps"],
    "forest": ["woods", "trees", "woodland"],
    "park": ["playground", "garden", "lawn"],
    "garden": ["backyard", "yard", "flowers"],
    "city": ["town", "street", "downtown", "buildings"],
    "house": ["home", "building"],
    "kitchen": ["cooking", "stove"],
    "living room": ["lounge", "sofa", "couch"],
    "bedroom": ["bed"],
    "school": ["classroom", "class"],
    "church": ["chapel", "cathedral"],
    "castle": ["palace", "fortress"],
    "bridge": ["viaduct"],
    "desert": ["dunes", "sand"],
    "island": ["islet", "tropical"],
    "countryside": ["farm", "fields", "rural"],
    "pool": ["swimming pool", "swimming"],
    "camping": ["tent", "campfire", "campsite"],
    "airport": ["plane", "terminal"],
    "museum": ["gallery", "exhibition"],
    "restaurant": ["cafe", "dinner", "diner"],
    # weather, light and time of day
    "sunset": ["dusk", "evening", "golden hour", "sundown"],
    "sunrise": ["dawn", "morning", "daybreak"],
    "night": ["dark", "evening", "stars"],
    "snow": ["snowy", "snowfall", "winter"],
    "rain": ["rainy", "wet", "umbrella"],
    "sunny": ["sunshine", "bright", "clear sky"],
    "cloudy": ["clouds", "overcast", "grey sky"],
    "fog": ["mist", "foggy", "haze"],
    "storm": ["thunderstorm", "lightning"],
    "rainbow": ["colourful sky"],
    # seasons
    "winter": ["snow", "cold", "christmas"],
    "spring": ["blossom", "springtime", "flowers"],
    "summer": ["summertime", "holiday", "sunny"],
    "autumn": ["fall", "leaves", "foliage"],
    # events
    "birthday": ["birthday party", "cake", "candles", "party"],
    "wedding": ["bride", "groom", "marriage", "ceremony"],
    "christmas": ["xmas", "christmas tree", "santa"],
    "halloween": ["costume", "pumpkin", "trick or treat"],
    "easter": ["easter eggs", "egg hunt"],
    "graduation": ["diploma", "cap and gown"],
    "party": ["celebration", "festivities"],
    "holiday": ["vacation", "trip", "travel"],
    "concert": ["gig", "music", "stage"],
    "picnic": ["outdoor meal", "blanket"],
    "sport": ["game", "match", "football", "soccer"],
    "hiking": ["hike", "trail", "walk"],
    "skiing": ["ski", "slope", "snowboard"],
    "fireworks": ["new year", "celebration"],
    # food
    "food": ["meal", "dish", "dinner", "lunch"],
    "cake": ["dessert", "pastry", "birthday cake"],
    "pizza": ["slice"],
    "breakfast": ["pancakes", "cereal", "morning meal"],
    "fruit": ["apple", "banana", "berries"],
    "ice cream": ["gelato", "dessert"],
    "barbecue": ["bbq", "grill", "cookout"],
    "coffee": ["espresso", "cappuccino", "latte"],
    "wine": ["drinks", "glass"],
    # vehicles
    "car": ["automobile", "vehicle", "auto"],
    "bicycle": ["bike", "cycling"],
    "boat": ["ship", "sailboat", "ferry", "yacht"],
    "train": ["railway", "locomotive"],
    "airplane": ["plane", "aircraft", "jet"],
    "bus": ["coach"],
    "motorcycle": ["motorbike", "scooter"],
    "tractor": ["farm vehicle"],
    # things
    "flower": ["flowers", "blossom", "bouquet", "rose"],
    "tree": ["trees", "oak", "pine"],
    "toy": ["toys", "lego", "doll"],
    "book": ["books", "reading"],
    "ball": ["football", "soccer ball"],
    "gift": ["present", "presents"],
    "balloon": ["balloons"],
    # colours
    "red": ["crimson", "scarlet", "ruby", "maroon"],
    "blue": ["navy", "azure", "cobalt", "turquoise"],
    "green": ["emerald", "olive", "lime"],
    "yellow": ["golden", "lemon", "mustard"],
    "orange": ["amber", "tangerine"],
    "purple": ["violet", "lilac", "lavender", "magenta"],
    "pink": ["rose", "salmon"],
    "black": ["dark", "ebony"],
    "white": ["ivory", "snow white", "cream"],
    "brown": ["chocolate", "tan", "beige"],
    "grey": ["gray", "silver"],
}


def seed(apps, schema_editor):
    Synonym = apps.get_model("search", "Synonym")
    for term, related in SEED.items():
        Synonym.objects.update_or_create(family=None, term=term, defaults={"related": related})


def unseed(apps, schema_editor):
    apps.get_model("search", "Synonym").objects.filter(family=None, term__in=list(SEED)).delete()


class Migration(migrations.Migration):
    dependencies = [("search", "0003_search_models")]

    operations = [migrations.RunPython(seed, unseed)]
