"""What the README promises about search, checked against what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from search.expansion import expand

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.django_db
def test_the_readme_expansion_example_is_what_the_seeded_synonyms_produce():
    text = " ".join(README.read_text().split())
    example = re.search(r'"crimson ball" → ((?:"[^"]+", )+)…', text)
    assert example, "the README no longer shows the expansion example"
    promised = re.findall(r'"([^"]+)"', example.group(1))
    terms = [term.text for term in expand("crimson ball", family_ids=[])]
    assert terms[0] == "crimson ball"
    assert terms[1 : 1 + len(promised)] == promised


def test_the_readme_sends_a_family_admin_to_the_django_admin_only_with_the_staff_status_it_takes():
    """"A family admin deletes wrong labels there" (the admin's Judgments), and deletes rows of "Photos deleted for
    good" there: a family admin is no staff unless the site administrator makes them one, and the admin answered
    "You are authenticated as sam, but are not authorized to access this page"."""
    text = " ".join(README.read_text().split())
    for where in ("deletes wrong labels there", "deleting a row there"):
        sentence = re.search(rf"[^.]*{where}[^.]*\.", text)
        assert sentence, f"the README no longer says who {where}"
        assert "staff" in sentence.group(0), sentence.group(0)


def test_the_readme_keeps_the_previous_models_embeddings_where_it_tells_of_a_model_switch(settings):
    """"Using a real SigLIP model" said the next sweep deletes a family's embeddings of the previous model once the
    new one covers it, while they are kept MODEL_SWITCH_KEEP_DAYS (30) or until a family admin confirms the switch,
    to compare the two models (QA: after a switch on a fresh clone, they were still there after the sweep)."""
    assert settings.MODEL_SWITCH_KEEP_DAYS > 0  # the default keeps them
    text = " ".join(README.read_text().split())
    switch = re.search(r"Changing `SEARCH_MODEL`[^.]*\.[^.]*\.[^.]*\.", text)
    assert switch, "the README no longer tells what changing SEARCH_MODEL does"
    assert "then deletes the family's embeddings of the previous model" not in switch.group(0), switch.group(0)
    assert "MODEL_SWITCH_KEEP_DAYS" in switch.group(0) and "confirms" in switch.group(0), switch.group(0)
