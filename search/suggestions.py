"""Tag suggestions: scoring photos' stored embeddings against the tag vocabulary (search.TagConcept) with the model's
own calibration, p = sigmoid(a·cos + b), and keeping the gallery's TagSuggestion rows current.

When: right after photos are embedded (search.services._after_embedding: one matrix product per batch, no new
image forward pass; each concept's text embedding comes from the shared cache of query terms), in the background
when the vocabulary changes (admin) or a family's search model changes (search.services.previous_models_prune), from
`manage.py suggest_tags`, and in the periodic sweep for photos the active model has not scored yet.

Photos are scored with the active model's embedding. During a model switch a re-embedded photo is scored by the
new model at once; the sweep and the family's switch catch the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from gallery.models import Membership, Photo
from gallery.name_fold import NameFolded
from gallery.selectors import names_folded, photos_worked_on, same_name
from gallery.signals import VocabularyRefused
from gallery.suggestions import photos_suggestions_replace
from search.embedder import Embedder, ModelUnavailable, get_embedder
from search.models import PhotoEmbedding, TagConcept
from search.text_embeddings import term_vectors
from vision.concepts import concept_probabilities, concepts_above, likeliest_of_each_group

logger = logging.getLogger(__name__)

RECOMPUTE_CHUNK = 1000  # photos scored (and written) per transaction by a recompute


@dataclass(frozen=True)
class Concept:
    name: str
    text: str  # what the model is asked: the prompt, else the name


def vocabularies(family_ids: Sequence[int]) -> dict[int, list[Concept]]:
    """Each family's vocabulary: the global concepts, where the family has its own entry of the same name (any
    case) that entry instead, without the disabled ones. An entry of a name the family merged away suggests the name
    kept (TagConcept.suggests): two concepts may suggest one name."""
    rows = list(TagConcept.objects.filter(Q(family=None) | Q(family_id__in=list(family_ids))).order_by("pk"))
    shared = {row.name.lower(): row for row in rows if row.family_id is None}
    out = {}
    for family_id in family_ids:
        entries = dict(shared)
        entries.update({row.name.lower(): row for row in rows if row.family_id == family_id})
        out[family_id] = [Concept(row.suggests, row.text) for row in entries.values() if row.enabled]
    return out


@transaction.atomic
def vocabulary_tags_merged(*, family_id: int, names: Sequence[str], into: str, user=None) -> int:
    """The family merged its tags `names` into `into` (gallery.services.tags_merge), or renamed one (tag_renamed: one
    name merged into a new one): no concept of its vocabulary suggests a merged name any more, so that neither a
    re-score nor a member accepting a suggestion brings one back, whether the concept is the family's own or global.

    Where its vocabulary has no concept of `into` (neither an entry of its own, ticked or not, nor a ticked global
    one), the first merged concept in it (the family's own before global ones, each by pk) gives it one: a family
    concept `into` asking the model what that one asked (its prompt, else its name). Then each merged name's entries
    go: a global one, ticked or not (a superuser may tick it on later), is turned off for the family by an unticked
    entry of its own (as the concepts admin turns one off; global concepts are every family's, not this family's to
    change); an own one is unticked where a global one of its name exists (gone, that one would come back), or was
    unticked already, deleted otherwise. Each entry kept says the name it was merged into (`merged_into`): ticked on
    again by a family admin it suggests that name, not the merged one. Entries merged into a merged name earlier
    ("pup" into "puppy", now "puppy" into "dog") say the name kept now; an entry of `into` itself left by an earlier
    merge (the merge undone, or the tag made again since) is that name's concept again, ticked on where that merge
    had unticked it, so that it neither keeps the family without a concept of `into` nor ticks on what the family
    admin had turned off.
    Returns how many concepts of its vocabulary changed; the family's photos are scored again once it commits.

    The vocabulary is the family admins' to change (the concepts admin): a merge or rename moving it (a merged name
    has a concept, the family's or a global one, or an entry merged into it earlier, or the name kept has an entry an
    earlier merge left) by a `user` who is neither an admin of the family nor a superuser is refused
    (VocabularyRefused), before anything changed; one moving none of it is any member's. `user` None: a script."""
    into_key = names_folded([into])[0]
    keys = set(names_folded(names)) - {into_key}  # (a rename in letter case alone is the same concept)
    if not keys:
        return 0
    concepts = TagConcept.objects.annotate(key=NameFolded("name")).filter(key__in=[*keys, into_key])
    shared = {concept.key: concept for concept in concepts.filter(family=None)}
    own = {concept.key: concept for concept in concepts.filter(family_id=family_id).select_for_update().order_by("pk")}
    if user is not None and not user.is_superuser and not Membership.objects.filter(
            user=user, family_id=family_id, role=Membership.Role.ADMIN).exists() and (
            keys & (own.keys() | shared.keys()) or (into_key in own and own[into_key].merged_into)
            or TagConcept.objects.filter(family_id=family_id).annotate(into_key=NameFolded("merged_into"))
            .filter(into_key__in=keys).exists()):
        raise VocabularyRefused("Only the family’s admins rename or merge a tag that has a suggestion concept: it "
                                "moves the family’s suggestion vocabulary too. Nothing was changed.")
    changed = _merged_back(own.get(into_key)) + _merges_followed(family_id=family_id, keys=keys, into=into)
    has_into = into_key in own or (into_key in shared and shared[into_key].enabled)
    asking = sorted((concept for key in keys if (concept := own.get(key) or shared.get(key)) and concept.enabled),
                    key=lambda concept: (concept.family_id is None, concept.pk))
    if asking and not has_into:
        _family_entry(family_id=family_id, name=into, prompt=asking[0].text)
    for key in sorted(keys & (own.keys() | shared.keys())):
        _merged_entry_off(family_id=family_id, entry=own.get(key), shared=shared.get(key), into=into)
    changed += len(asking)
    if changed:
        suggestions_recompute_enqueue(family_id=family_id)
    return changed


def _merged_back(entry: TagConcept | None) -> int:
    """The family's entry of the name kept, if an earlier merge left it (its tag merged away, say into "puppy"): the
    tag exists again (merged back now, "puppy" into "dog", or made again since), so the entry is the name's concept
    again, no longer marked, and ticked on if that merge had unticked it (one the family admin had turned off stays
    off). Counted as a concept of the name kept as it stood, it kept the merged concepts from giving the family one,
    and the family had none. 1 if what it suggests changed."""
    if entry is None or not entry.merged_into:
        return 0
    entry.enabled = entry.enabled or entry.merge_unticked
    entry.merged_into, entry.merge_unticked = "", False
    entry.save(update_fields=["merged_into", "merge_unticked", "enabled", "updated_at"])
    return int(entry.enabled)  # (ticked on, or it suggested the name it was merged into)


def _merges_followed(*, family_id: int, keys: set[str], into: str) -> int:
    """The family's entries merged earlier into one of the names merged now say the name kept now. Returns how many
    of them are ticked (their suggestions change)."""
    earlier = TagConcept.objects.filter(family_id=family_id).annotate(into_key=NameFolded("merged_into")).filter(
        into_key__in=keys)
    ticked = earlier.filter(enabled=True).count()
    earlier.update(merged_into=into)
    return ticked


def _merged_entry_off(*, family_id: int, entry: TagConcept | None, shared: TagConcept | None, into: str) -> None:
    """A merged name's concept no longer suggests it to the family: its own entry (locked) deleted where nothing is
    left to keep off and it was ticked, else unticked and marked merged into `into`; a global one turned off by an
    entry of the family's own, so marked. Each remembers whether this merge unticked it (`merge_unticked`: it, or the
    shared concept, was ticked; an entry an earlier merge had unticked stays so marked), for a merge undone."""
    if entry is not None and shared is None and entry.enabled:
        entry.delete()
        return
    if entry is None:
        # (asking what the shared one asked: ticked on again, it is that concept suggesting the name kept)
        entry = _family_entry(family_id=family_id, name=shared.name, prompt=shared.prompt, enabled=False)
        unticked = entry.enabled or shared.enabled  # (ticked: a family admin's entry, made as the merge ran)
    else:
        unticked = entry.enabled or (bool(entry.merged_into) and entry.merge_unticked)
    entry.enabled, entry.merged_into, entry.merge_unticked = False, into, unticked
    entry.save(update_fields=["enabled", "merged_into", "merge_unticked", "updated_at"])


def _family_entry(*, family_id: int, name: str, prompt: str = "", enabled: bool = True) -> TagConcept:
    """The family's own concept of `name` (locked), made as given where it has none. One another transaction made
    meanwhile (a family admin adding it in the concepts admin as the merge runs) is waited for and taken as it is:
    INSERT ... ON CONFLICT DO NOTHING, where a plain insert raised IntegrityError once that one committed."""
    TagConcept.objects.bulk_create([TagConcept(family_id=family_id, name=name, prompt=prompt, enabled=enabled)],
                                   ignore_conflicts=True)
    return TagConcept.objects.filter(same_name("name", name), family_id=family_id).select_for_update().get()


def photos_suggest(photo_ids: Sequence[int], *, embedder: Embedder | None = None) -> int:
    """Score these photos (those with an embedding of the active model) against their families' vocabularies and
    store what reaches TAG_SUGGESTION_THRESHOLD. Returns how many photos were scored."""
    if not settings.TAG_SUGGESTIONS_ENABLED or not photo_ids:
        return 0
    embedder = embedder or get_embedder()
    rows = list(PhotoEmbedding.objects.filter(photo_id__in=list(photo_ids), model_name=embedder.model_name)
                .values_list("photo_id", "family_id", "vector"))
    if not rows:
        return 0
    found = _score(embedder, rows)
    photos_suggestions_replace(found=found, model_name=embedder.model_name)
    return len(found)


def _score(embedder: Embedder, rows: list[tuple[int, int, object]]) -> dict[int, dict[str, float]]:
    """{photo id: {tag name: probability}} for the embeddings in `rows` (photo id, family id, vector). Of concepts
    suggesting one name (any letter case: as tags are told apart) a photo gets the likelier, in one place of
    TAG_SUGGESTION_LIMIT."""
    family_ids = sorted({family_id for _, family_id, _ in rows})
    vocabulary = vocabularies(family_ids)
    columns = sorted({concept for concepts in vocabulary.values() for concept in concepts},
                     key=lambda c: (c.name, c.text))
    if not columns:
        return {photo_id: {} for photo_id, _, _ in rows}
    index = {concept: j for j, concept in enumerate(columns)}
    family_mask = {family_id: np.zeros(len(columns), dtype=bool) for family_id in family_ids}
    for family_id, concepts in vocabulary.items():
        family_mask[family_id][[index[c] for c in concepts]] = True
    concept_vectors, _ = term_vectors(embedder, [concept.text for concept in columns])
    images = np.stack([np.asarray(vector, dtype=np.float32) for _, _, vector in rows])
    scale, bias = embedder.calibration
    probabilities = concept_probabilities(images, concept_vectors, scale=scale, bias=bias)  # one matrix product
    allowed = np.stack([family_mask[family_id] for _, family_id, _ in rows])
    by_name, winners = likeliest_of_each_group(probabilities, name_groups([c.name for c in columns]),
                                               allowed=allowed)
    best = concepts_above(by_name, allowed=by_name >= 0, threshold=settings.TAG_SUGGESTION_THRESHOLD,
                          limit=settings.TAG_SUGGESTION_LIMIT)
    return {photo_id: {columns[winners[i, suggestion.concept]].name: round(suggestion.probability, 4)
                       for suggestion in suggestions}
            for i, ((photo_id, _, _), suggestions) in enumerate(zip(rows, best))}


def name_groups(names: Sequence[str]) -> np.ndarray:
    """The group of each name: names that are one tag name (case-folded, as the unique index of tags reads
    them) share one, numbered from 0 in order of first appearance (vision.concepts.likeliest_of_each_group). One
    query."""
    numbers: dict[str, int] = {}
    return np.array([numbers.setdefault(key, len(numbers)) for key in names_folded(names)], dtype=np.intp)


def suggest_after_embedding(photo_ids: Sequence[int]) -> int:
    """The hook after embedding: the photos' embeddings are committed, score them now (cheap)."""
    try:
        return photos_suggest(photo_ids)
    except ModelUnavailable:
        return 0  # the sweep scores them once the model is back


# --- recomputing ---------------------------------------------------------------------------------


def suggestions_recompute(*, family_id: int | None = None, progress=None) -> int:
    """Score every embedded photo again (of one family, or all), RECOMPUTE_CHUNK photos per transaction, e.g. after
    the vocabulary changed. `progress(n)` is called after each chunk. Returns how many photos were scored."""
    if not settings.TAG_SUGGESTIONS_ENABLED:
        return 0
    embedder = get_embedder()
    photos = photos_worked_on(PhotoEmbedding.objects.filter(model_name=embedder.model_name))
    if family_id is not None:
        photos = photos.filter(family_id=family_id)
    ids = list(photos.order_by("photo_id").values_list("photo_id", flat=True))
    scored = 0
    for start in range(0, len(ids), RECOMPUTE_CHUNK):
        chunk = ids[start:start + RECOMPUTE_CHUNK]
        scored += photos_suggest(chunk, embedder=embedder)
        if progress is not None:
            progress(len(chunk))
    return scored


def suggestions_recompute_enqueue(*, family_id: int | None = None) -> None:
    """Queue a background recompute (of one family, or of all for a global change) once the current transaction
    commits. The task is cheap (no image model run): it goes on the main queue, between embedding tasks."""
    from mediasearch.task_queue import enqueue

    transaction.on_commit(lambda: enqueue("search.tasks.suggestions_recompute_task", family_id, group="suggest",
                                             q_options={"timeout": settings.Q_CLUSTER["timeout"]}))


def suggestions_missing(*, limit: int | None = None) -> int:
    """The sweep's share: embedded photos the active model has not scored yet (the hook after embedding failed,
    the model was missing, photos embedded before suggestions existed), up to EMBED_SWEEP_LIMIT of them."""
    if not settings.TAG_SUGGESTIONS_ENABLED:
        return 0
    model = settings.SEARCH_MODEL
    limit = settings.EMBED_SWEEP_LIMIT if limit is None else limit
    waiting = list(photos_worked_on().filter(status=Photo.Status.READY, embeddings__model_name=model)
                   .exclude(suggestions_model=model).order_by("pk").values_list("pk", flat=True)[:limit])
    scored = 0
    for start in range(0, len(waiting), RECOMPUTE_CHUNK):
        scored += photos_suggest(waiting[start:start + RECOMPUTE_CHUNK])
    return scored
