"""The Explore page: where the photos were taken and what they are tagged, to browse without typing."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from gallery.explore import EXPLORE_CARDS, EXPLORE_LISTED, explore
from gallery.forms import TimelineFilterForm
from gallery.selectors import family_list


@require_GET
@login_required
def explore_page(request: HttpRequest) -> HttpResponse:
    """Places, countries and tags of the user's photos (`?family=`: of one family), each a card opening the
    timeline filtered to it (the most photos first; the rest listed by name)."""
    families = list(family_list(user=request.user))
    form = TimelineFilterForm(request.GET)
    family_id = form.filters()["family"]
    problem = ""
    if form.given_twice():  # `family=1&family=2`: said, and what all the families hold shown
        problem = f"{' '.join(form.given_twice().values())} Here is what all your families hold."
    if family_id is not None and family_id not in {family.pk for family in families}:
        family_id, problem = None, "None of your families has that number: here is what all your families hold."
    found = explore(user=request.user, family_id=family_id, families=families)
    timeline = reverse("gallery:timeline")
    keep = (("family", str(family_id)),) if family_id else ()
    sections = []
    for key, title, one, things in (("places", "Places", "place", found.cities),
                                    ("countries", "Countries", "country", found.countries),
                                    ("tags", "Tags", "tag", found.tags)):
        spots = [(spot, f"{timeline}?{urlencode(keep + spot.query)}") for spot in things[:EXPLORE_LISTED]]
        more = len(things) - min(len(things), EXPLORE_CARDS)
        sections.append({"key": key, "title": title, "cards": spots[:EXPLORE_CARDS], "rest": spots[EXPLORE_CARDS:],
                         "total": len(things), "unlisted": len(things) - len(spots),
                         "more": f"{more} more {one if more == 1 else title.lower()}"})
    return render(request, "gallery/explore.html", {
        "families": families, "selected_family": family_id, "sections": sections, "empty": found.empty,
        "problem": problem,
    }, status=400 if form.given_twice() else 200)
