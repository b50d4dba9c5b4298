from __future__ import annotations

import uuid


from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from pgvector.django import VectorField

from gallery.models import Family, Photo
from gallery.name_fold import name_folded_index_key
from gallery.places import place_label
from gallery.text import EachNoControlCharacters, NoControlCharacters
from search.query_parser import tokenize


class PhotoEmbedding(models.Model):
    """One unit-length SigLIP image embedding per photo and model.

    The column has no fixed dimension so models of different sizes can live side by side while a
    model switch re-embeds. Each (model, family) pair gets its own partial HNSW index on
    `vector::vector(dim)` (see search.vector_index): pgvector's advice for mixed dimensions and for
    tenants, since a search only ever looks inside the user's families. Hence the photo's family is
    copied here (photos never change family).
    """

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="embeddings")
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="+")
    model_name = models.CharField(max_length=255)
    vector = VectorField()
    created_at = models.DateTimeField(auto_now_add=True)
    # The photo is in the trash: copied here (as `family` is) so the walk skips it without reading the photo table;
    # set and cleared by the trash and restore hooks (search.receivers).
    trashed = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["photo", "model_name"], name="one_embedding_per_photo_model")]
        indexes = [models.Index(fields=["model_name", "photo"], name="embedding_model_photo"),
                   # How much of a family a model covers (the Index page, every 2 s while it works): index only.
                   models.Index(fields=["family", "model_name"], name="embedding_family_model")]

    def __str__(self) -> str:
        return f"{self.model_name} embedding of photo {self.photo_id}"


class EmbeddingModel(models.Model):
    """What we know about a model: its size and calibration once loaded, or why it could not be loaded.

    Written by whichever process tries to load the model, read by every page for the banner, so a
    missing model is recorded once rather than as one failure per photo."""

    name = models.CharField(max_length=255, unique=True)
    dim = models.PositiveIntegerField(null=True, blank=True)
    calibration_scale = models.FloatField(null=True, blank=True, help_text="a = exp(logit_scale) of the checkpoint")
    calibration_bias = models.FloatField(null=True, blank=True, help_text="b = logit_bias of the checkpoint")
    available = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    checked_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class IndexedFamily(Family):
    """Admin view of a family's indexing progress."""

    class Meta:
        proxy = True
        verbose_name = "indexing status"
        verbose_name_plural = "indexing status"


class IndexedPhoto(Photo):
    """Admin view of photos by embedding state, with retry."""

    class Meta:
        proxy = True
        verbose_name = "photo embedding state"
        verbose_name_plural = "photo embedding states"


class Synonym(models.Model):
    """A term and its related terms, used to expand queries. Global (no family) or one family's own.

    Matching is two-way: a query containing any word of the group is expanded with the others."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, null=True, blank=True, related_name="synonyms",
                               help_text="Empty for an entry every family uses.")
    # Shown on the search page ("also searched as"): the rule of every name (gallery.text), for what a shell or any
    # form built on the model saves too (the admin's form says it first, in the same words).
    term = models.CharField(max_length=100, validators=[NoControlCharacters("A term")])
    related = models.JSONField(default=list, help_text="Related terms, most similar first.",
                               validators=[EachNoControlCharacters("A related term")])
    # Every process keeps the groups it built until an entry in scope changes (search.expansion).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # One entry a term by the fold of tag names (search reads terms folded: a "Dog" beside "dog" would be
            # one term's second entry), as the admin's form checks (search migration 0034).
            models.UniqueConstraint(name_folded_index_key("term"), condition=models.Q(family=None),
                                    name="unique_global_synonym"),
            models.UniqueConstraint(name_folded_index_key("term"), "family", name="unique_family_synonym"),
        ]
        ordering = ["term"]

    def __str__(self) -> str:
        return f"{self.term} → {', '.join(self.related)}"


class TagConcept(models.Model):
    """One concept of the tag-suggestion vocabulary: global (no family) or one family's own.

    Every photo's stored embedding is scored against the vocabulary (search.suggestions); a concept whose calibrated
    probability reaches TAG_SUGGESTION_THRESHOLD becomes a suggested tag of that name. A family's entry replaces the
    global entry of the same name for that family (unticking `enabled` there turns the global one off for it)."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, null=True, blank=True, related_name="tag_concepts",
                               help_text="Empty for a concept every family uses.")
    name = models.CharField(max_length=64, help_text="The tag it suggests, as members should see it.",
                            validators=[NoControlCharacters("A tag name")])  # it becomes a tag: a tag name's rule
    prompt = models.CharField(max_length=200, blank=True, validators=[NoControlCharacters("A prompt")],
                              help_text="What the image model is asked about (through the search prompt templates, "
                                        "e.g. “a photo of {}.”); empty: the tag name.")
    enabled = models.BooleanField(default=True)
    # Set by a tag merge (search.suggestions.vocabulary_tags_merged) on the family's entry of a name it merged away:
    # ticked on again, the entry suggests the name kept, so the merged tag does not come back through a suggestion.
    merged_into = models.CharField(
        max_length=64, blank=True, default="", db_default="", validators=[NoControlCharacters("A tag name")],
        help_text="The family merged this tag into that one: ticked, this concept suggests that name instead of its "
                  "own. Empty it to have the concept suggest its own name again.")
    # Whether that merge unticked it (it, or the shared concept it keeps off, was ticked): a merge undone, or a later
    # merge into its name (the tag exists again), ticks on again only what the merge unticked, never an entry the
    # family admin had turned off. Read only while `merged_into` is set.
    merge_unticked = models.BooleanField(default=False, db_default=False, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # A name once, by the fold of tag names (gallery.name_fold), which its suggestions become.
            models.UniqueConstraint(name_folded_index_key("name"), condition=models.Q(family=None),
                                    name="unique_global_tag_concept"),
            models.UniqueConstraint(name_folded_index_key("name"), "family", name="unique_family_tag_concept"),
            # (a merge is of one family's tags: a shared concept is turned off for the family by an entry of its own)
            models.CheckConstraint(condition=models.Q(merged_into="") | models.Q(family__isnull=False),
                                   name="merged_tag_concept_of_a_family"),
        ]
        ordering = ["name"]
        verbose_name = "suggested-tag concept"

    def __str__(self) -> str:
        return self.name

    @property
    def text(self) -> str:
        return self.prompt or self.name

    @property
    def suggests(self) -> str:
        """The tag name its suggestions carry: the name its own name was merged into, else its own."""
        return self.merged_into or self.name


class SearchPreferences(models.Model):
    class Sort(models.TextChoices):
        RELEVANCE = "relevance", "Relevance"
        DATE = "date", "Date taken (newest first)"

    DEFAULT_SEMANTIC_WEIGHT = 0.6
    DEFAULT_METADATA_WEIGHT = 0.4
    DEFAULT_MIN_SCORE = 0.05

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="search_preferences")
    semantic_weight = models.FloatField(default=DEFAULT_SEMANTIC_WEIGHT)
    metadata_weight = models.FloatField(default=DEFAULT_METADATA_WEIGHT)
    min_score = models.FloatField(default=DEFAULT_MIN_SCORE)
    expansion_enabled = models.BooleanField(default=True)
    default_sort = models.CharField(max_length=10, choices=Sort.choices, default=Sort.RELEVANCE)

    class Meta:
        verbose_name_plural = "search preferences"

    def __str__(self) -> str:
        return f"search preferences of {self.user}"


class TextEmbedding(models.Model):
    """Cache of expanded-term text embeddings, shared by every process: a repeated query costs no model call."""

    model_name = models.CharField(max_length=255)
    key = models.CharField(max_length=64, help_text="sha256 of the prompt templates and the term")
    text = models.TextField()
    vector = VectorField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model_name", "key"], name="unique_text_embedding")]


class PhotoDocument(models.Model):
    """A photo's metadata as one full-text document per field (search.metadata.FIELDS, in that order), all of them
    together in `document` (what the GIN index finds candidates with), and its plain words for trigram typo
    matching. Kept current from the gallery's hooks; rebuilt by the sweep when the layout changes (`version`)."""

    photo = models.OneToOneField(Photo, on_delete=models.CASCADE, primary_key=True, related_name="search_document")
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="+",
                               help_text="The photo's family, so a search reads only its own families' documents.")
    document = SearchVectorField()
    fields = ArrayField(SearchVectorField(), null=True,
                        help_text="One document per field, in the order of search.metadata.FIELDS.")
    version = models.PositiveSmallIntegerField(default=0, help_text="search.metadata.DOCUMENT_VERSION when built.")
    words = models.TextField(help_text="The plain words of the document, for the family's vocabulary.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [GinIndex(fields=["document"], name="photodocument_fts")]


class SearchWord(models.Model):
    """A word found in the metadata of some photo of a family: the vocabulary that typo matching corrects
    query words to, by trigram similarity (search.metadata)."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="+")
    word = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["family", "word"], name="unique_family_word")]
        indexes = [GinIndex(fields=["word"], opclasses=["gin_trgm_ops"], name="searchword_trgm")]

    def __str__(self) -> str:
        return self.word


class WorkLease(models.Model):
    """A worker's hold on one piece of work (embedding photo 42, reading its text, ...), valid until
    `expires_at` unless its holder renews it.

    The holder is one task run (`host:pid:random`); it renews its leases from a heartbeat while it works
    and deletes them when done. A worker that dies stops renewing, so its work becomes claimable again
    within a lease's length, while work held by live workers (on this machine or any other) is never
    taken from them however long it runs. Times are the database's clock, shared by every machine."""

    kind = models.CharField(max_length=32, help_text="What the work is, e.g. 'embed'.")
    object_id = models.BigIntegerField(help_text="The id of the row the work is about (a photo, for 'embed').")
    owner = models.CharField(max_length=255, help_text="The task run holding it: host:pid:random.")
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="one_lease_per_work_item")]
        indexes = [models.Index(fields=["owner"], name="worklease_owner")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} held by {self.owner} until {self.expires_at}"


class WorkerHeartbeat(models.Model):
    """A running task worker (`manage.py worker` / `ocr_worker`) saying it is alive: its main process writes this row
    every WORKER_HEARTBEAT_SECONDS while its django-q2 cluster runs, and deletes it when the cluster stops. A row
    not renewed for three beats is a worker that died without saying so. This is what `/health/` reads: django-q2's
    own cluster status lives in the cache, which is per process unless a shared cache is set up. Times are the
    database's clock, shared by every machine."""

    cluster = models.CharField(max_length=100, help_text="The django-q2 cluster (queue) it takes tasks from.")
    host = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "pid"], name="one_heartbeat_per_process")]
        indexes = [models.Index(fields=["cluster", "seen_at"], name="heartbeat_cluster_seen")]

    def __str__(self) -> str:
        return f"{self.cluster} worker {self.host}:{self.pid}, last seen {self.seen_at}"


class FamilyPlace(models.Model):
    """A place (city, region, country as geocoded) where at least one photo of the family was taken: what the
    query parser recognises as a place in that family's searches ("lisbon" → a Lisbon chip). A country alone (no city
    nor region) is listed too, as no chip: whether a family has any placed photo, whose words name its own country's
    holidays, is whether its list is empty (search.family_places.PLACED). Kept from the
    gallery's photo hooks (search.services.family_places_add); a place whose last photo went stays listed (a
    chip that filters to nothing) until the sweep rebuilds its family's list (`family_places_prune`)."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="+")
    city = models.CharField(max_length=200, blank=True)
    region = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=100, blank=True)
    country_code = models.CharField(max_length=2, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["family", "city", "region", "country_code"],
                                               name="unique_family_place")]
        # A family's highest id versions its list for the per-process cache (search.understanding.family_places).
        indexes = [models.Index(fields=["family", "id"], name="familyplace_family_id")]

    def __str__(self) -> str:
        return place_label(self.city, self.region, self.country)


# What a query may end with as a sentence does, which searches nothing ("red circle." is "red circle").
SENTENCE_END = ".!?…,;: "


def judgment_query(query: str) -> str:
    """A query as judgments store and match it: as the query parser reads its words (search.query_parser.tokenize:
    control characters as spaces, so no escape code goes on to the administrator's terminal through photo_report and
    evaluate; a phone's curled quotes straight; composed), whitespace collapsed, case folded ("Red  Square" = "red
    square"), without the punctuation it ends with as a sentence does (SENTENCE_END: one search's verdicts are one
    judged query, which a fit never holds out and trains on at once), as long as the engine reads
    (search.engine.MAX_QUERY_CHARS). (A search migration reads the queries stored before a change of this again.)"""
    read = " ".join(tokenize(query)).casefold()[:300].strip()
    return read.rstrip(SENTENCE_END) or read


class Judgment(models.Model):
    """A member's verdict that a photo is (or is not) a right result for a query, with every score component the
    search gave that photo for the query at that moment (search.engine.Explanation.as_dict()): the labelled data
    that calibrations, weights and quality figures are fitted and measured from. Per user and family; one verdict
    per (user, photo, query), the query normalised by `judgment_query`."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="judgments")
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="judgments")
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="judgments")
    query = models.CharField(max_length=300, help_text="Normalised: whitespace collapsed, case folded.")
    relevant = models.BooleanField(help_text="Right (true) or wrong (false) for the query.")
    model_name = models.CharField(max_length=255, blank=True,
                                  help_text="The image model that scored the photo; blank when none did.")
    components = models.JSONField(default=dict, help_text="The result's score components when judged (explain).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "photo", "query"], name="one_judgment_per_user_photo_query")]
        indexes = [models.Index(fields=["family", "query"], name="judgment_family_query"),
                   models.Index(fields=["user", "-updated_at"], name="judgment_user_recent"),
                   # The admin's list, newest first, a page at a time (it sorted every judgment for each page).
                   models.Index(fields=["-updated_at", "-id"], name="judgment_recent")]
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} judged photo {self.photo_id} {'right' if self.relevant else 'wrong'} for “{self.query}”"


class ModelSwitch(models.Model):
    """A family's move from a previous model to the active one, recorded when the active model first covers every
    photo of the family. From then on search uses the active model, but the previous model's embeddings are kept
    (so the two can be compared on the family's judgments: `manage.py evaluate --compare`) until a family admin
    confirms the switch or MODEL_SWITCH_KEEP_DAYS pass; then the sweep deletes them and their index."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="+")
    previous_model = models.CharField(max_length=255)
    model_name = models.CharField(max_length=255, help_text="The model switched to.")
    covered_at = models.DateTimeField(help_text="When the model switched to covered the family.")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    removed_at = models.DateTimeField(null=True, blank=True, help_text="When the previous model's embeddings went.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["family", "previous_model", "model_name"],
                                               name="unique_model_switch")]

    def __str__(self) -> str:
        return f"{self.family}: {self.previous_model} → {self.model_name}"


class SearchCalibration(models.Model):
    """One fit of a family's search calibration from its judgments (search.quality): the semantic (a', b') on the
    cosine, the metadata calibration per kind of match, the weights it suggests, and the held-out figures before
    and after (cross-validated by query). `applied` when it beat the calibration in force on held-out log-loss;
    search uses the family's latest applied fit for its model, so rolling one back (applied = False) brings back
    the one before."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="search_calibrations")
    model_name = models.CharField(max_length=255)
    semantic_scale = models.FloatField(help_text="a' (the model's own a = exp(logit_scale) before fitting)")
    semantic_bias = models.FloatField(help_text="b' (the model's own b = logit_bias before fitting)")
    metadata = models.JSONField(default=dict, help_text="search.calibration.MetaCalibration.as_dict()")
    suggested_semantic_weight = models.FloatField(null=True, blank=True)
    suggested_metadata_weight = models.FloatField(null=True, blank=True)
    judgments = models.PositiveIntegerField(default=0)
    judged_queries = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, help_text="held-out figures before and after, reliability bins")
    applied = models.BooleanField(default=False)
    # Ids, not a relation: an account deleted since stays named here, as a judge who is no longer a member.
    judges = ArrayField(models.BigIntegerField(), null=True, blank=True,
                        help_text="The users whose judgments it was made from (null: fitted before this was kept).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["family", "model_name", "-created_at"], name="calibration_family_latest")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"calibration of {self.family} for {self.model_name} ({'applied' if self.applied else 'not applied'})"

    @property
    def calibration(self):
        from search.calibration import Calibration, MetaCalibration

        return Calibration(semantic=(self.semantic_scale, self.semantic_bias),
                           meta=MetaCalibration.from_dict(self.metadata), id=self.pk)

    @property
    def suggested_weights(self) -> tuple[float, float] | None:
        if self.suggested_semantic_weight is None or self.suggested_metadata_weight is None:
            return None
        return self.suggested_semantic_weight, self.suggested_metadata_weight


class DuplicatePair(models.Model):
    """Two photos of a family that look like the same picture, and why: their perceptual hashes differ by at most
    DUPLICATE_HASH_DISTANCE of 64 bits (`hash_distance`) while their mean colours differ by at most
    DUPLICATE_COLOUR_DISTANCE in each channel (`colour_distance`; None when one has none yet: the hash alone then),
    and/or their image embeddings' cosine is at least
    DUPLICATE_COSINE (`cosine`, with the model that said so). Found by the worker after each photo is embedded
    (search.duplicate_finder.duplicates_find), so the review page only reads a family's few pairs.
    `photo_a` < `photo_b`.
    A pair stays while one of them is in the trash (hidden), so a restore brings it back."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="+")
    photo_a = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="+")
    photo_b = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="+")
    hash_distance = models.PositiveSmallIntegerField(null=True, blank=True)
    colour_distance = models.PositiveSmallIntegerField(null=True, blank=True)
    cosine = models.FloatField(null=True, blank=True)
    model_name = models.CharField(max_length=255, blank=True)
    found_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["photo_a", "photo_b"], name="one_duplicate_pair"),
            models.CheckConstraint(condition=models.Q(photo_a__lt=models.F("photo_b")), name="duplicate_pair_ordered"),
        ]
        indexes = [models.Index(fields=["family"], name="duplicatepair_family"),
                   models.Index(fields=["photo_b"], name="duplicatepair_photo_b")]

    def __str__(self) -> str:
        return f"photos {self.photo_a_id} and {self.photo_b_id}"


class DuplicateDismissal(models.Model):
    """Two photos a member said are not duplicates ("Not duplicates: keep all" on a group): their pair is no longer
    grouped, even when the worker finds it again (a rotation re-embeds a photo and replaces its DuplicatePair rows).
    `photo_a` < `photo_b`. The rows one "keep all" stored share its `action`: every two photos of one action stay
    apart (search.duplicates), photos of two actions that share a photo do not. Deleting one row shows its stored
    pair again; the admin's "Undo these keep-alls" deletes every row of an action, which undoes it."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="+")
    photo_a = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="+")
    photo_b = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="+")
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    dismissed_at = models.DateTimeField(auto_now_add=True)
    action = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["photo_a", "photo_b"], name="one_duplicate_dismissal"),
            models.CheckConstraint(condition=models.Q(photo_a__lt=models.F("photo_b")),
                                   name="duplicate_dismissal_ordered"),
        ]
        indexes = [models.Index(fields=["family"], name="duplicatedismissal_family"),
                   models.Index(fields=["photo_b"], name="duplicatedismissal_photo_b"),
                   models.Index(fields=["action"], name="duplicatedismissal_action")]

    def __str__(self) -> str:
        return f"photos {self.photo_a_id} and {self.photo_b_id}: not duplicates"


class TextReading(models.Model):
    """One reading of a photo's text by the OCR worker and how long it took (decoding included), a failed one too.
    The estimates shown before text is read in bulk come from the latest that worked (search.read_estimates: one
    that failed at once, its file missing, costs next to nothing, and a few dozen of them would make hours of
    reading look like seconds), and the readers serve the family read longest ago first, whether its reading worked
    or not (search.ocr._next_to_read). A log, not a photo's state: plain ids that outlive the photo or family, the
    newest READINGS_KEPT kept."""

    photo_id = models.BigIntegerField()
    family_id = models.BigIntegerField()
    seconds = models.FloatField()
    succeeded = models.BooleanField(default=True)  # False: the reading failed (the photo is retried, or failed)
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["-read_at"], name="textreading_latest"),
                   models.Index(fields=["family_id", "-read_at"], name="textreading_family_latest")]

    def __str__(self) -> str:
        return f"photo {self.photo_id}: {self.seconds:.2f} s"


class DuplicateFindPending(models.Model):
    """A photo whose near-duplicates are to be looked for (again): restored from the trash (the finder's embedding
    walk left it out while it was there) or given its mean colour by the sweep. Stored with the change, in its
    transaction, so a find the broker never queued (Redis not answering at that moment) is done by the periodic
    sweep; search.duplicate_finder.duplicates_find deletes the rows of the photos it looked at."""

    photo = models.OneToOneField(Photo, on_delete=models.CASCADE, primary_key=True, related_name="+")
    since = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"photo {self.photo_id}"
