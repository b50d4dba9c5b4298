from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import MD5, ExtractDay, ExtractMonth, Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from gallery.name_fold import name_folded_index_key
from gallery.places import place_label
from gallery.text import DESCRIPTION_TEXT, NAME_TEXT, TITLE_TEXT


class Family(models.Model):
    # Not unique: two households may both be "The Smiths", and a name taken must not tell anyone it exists.
    name = models.CharField(max_length=100, validators=[NAME_TEXT])
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="families")
    # ISO 3166 code whose public holidays name the dates of photos without a place (blank: none).
    default_country = models.CharField(max_length=2, blank=True)
    # Moved on after each change to its photos that lists kept a while show (gallery.services.photos_version_bump):
    # the timeline's month counts are cached per version, so a change shows at once in every process.
    photos_version = models.PositiveBigIntegerField(default=0, db_default=0, editable=False)
    # Set when its deletion began (gallery.services.family_delete_start): it has no members any more, nothing shows
    # it, and the worker deletes its photos in batches, then the row.
    deleting_since = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "families"

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """Its name in menus and pickers, "Smiths · admin: alice" when the person has another family of that name (as
        gallery.selectors.family_list annotates it), else the name alone."""
        admins = getattr(self, "admin_names", None)
        if getattr(self, "name_twins", 1) <= 1 or not admins:
            return self.name
        return f"{self.name} · admin{'s' if ', ' in admins else ''}: {admins}"

    def get_absolute_url(self) -> str:
        return reverse("gallery:family_detail", args=[self.pk])


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)
    # When this row last became an admin's (None: a member's). Kept by the database (migration gallery 0053's
    # trigger), whatever the path, a shell's update included: an invitation link counts only while its maker has been
    # an admin since it was made, so a maker demoted and made an admin again does not bring their old links back.
    admin_since = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["family", "user"], name="unique_membership")]
        ordering = ["family", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.family} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class Tag(models.Model):
    """Tags belong to one family, so one family's vocabulary never shows up in another's."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=64, validators=[NAME_TEXT])

    class Meta:
        constraints = [models.UniqueConstraint(name_folded_index_key("name"), "family",
                                               name="unique_tag_per_family_folded")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TagMerge(models.Model):
    """A tag name merged away (tags_merge: "Oma" into "Grandma"). A member's edit of a photo's tags that names it gets
    the tag it went into (followed through that tag's own merges), so that a form drawn before the merge, or a save
    that waited for it, never makes "Oma" again. Goes with the tag it went into; a tag of that name made again (the
    admin) is that tag."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=64)  # as it was spelled
    into = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="merged_names")
    merged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(name_folded_index_key("name"), "family",
                                               name="unique_tag_merge_per_family_folded")]
        ordering = ["family", "name"]
        verbose_name = "tag name merged away"
        verbose_name_plural = "tag names merged away"

    def __str__(self) -> str:
        return f"{self.name} → {self.into}"


def original_upload_path(photo: Photo, filename: str) -> str:
    return f"originals/{photo.family_id}/{photo.sha256[:2]}/{filename}"


def thumbnail_upload_path(photo: Photo, filename: str) -> str:
    return f"thumbnails/{photo.family_id}/{photo.sha256[:2]}/{filename}"


def display_upload_path(photo: Photo, filename: str) -> str:
    return f"displays/{photo.family_id}/{photo.sha256[:2]}/{filename}"


class PhotoQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        """As save() does, each new photo's `taken_day` from its `taken_at` and `taken_tz`."""
        objs = list(objs)
        for photo in objs:
            if photo.taken_day is None and photo.taken_at is not None:
                photo.taken_day = photo.taken_at_local.date()
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        """As save() does, `taken_day` again when `taken_at` or `taken_tz` is among the fields written."""
        objs, fields = list(objs), list(fields)
        if {"taken_at", "taken_tz"} & set(fields):
            for photo in objs:
                photo.taken_day = photo.taken_at_local.date()
            fields = [*fields, "taken_day"] if "taken_day" not in fields else fields
        return super().bulk_update(objs, fields, *args, **kwargs)


class LivePhotoManager(models.Manager.from_queryset(PhotoQuerySet)):
    """Photos that are not in the trash: what every page, list, search, album and selector shows. The default
    manager, so forgetting the trash is impossible; `Photo.all_objects` reaches the trash too (the trash page,
    restore, purge, the duplicate check of uploads, the file-removal queue)."""

    def get_queryset(self):
        return super().get_queryset().filter(trashed_at__isnull=True)


class Photo(models.Model):
    class OcrStatus(models.TextChoices):
        PENDING = "pending", "Not read yet"
        PROCESSING = "processing", "Being read"
        SKIPPED = "skipped", "Skipped (no text expected)"
        DONE = "done", "Read"
        FAILED = "failed", "Could not be read"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class DateSource(models.TextChoices):
        EXIF = "exif", "EXIF date taken"
        # No EXIF date, but a date taken in the file's XMP (photoshop:DateCreated, exif:DateTimeOriginal: an iPhone
        # screenshot's, one set in digiKam or darktable), or in its XMP sidecar's (an import's): better than a guess,
        # after the file's name, a Takeout sidecar and a folder's name (a sidecar's date may be the file's own guess).
        XMP = "xmp", "Date taken in the XMP metadata"
        # No date in the file but one in its name (a chat app's copy, a phone's screenshot, a scan named by its day):
        # a wall-clock time, as EXIF's is (gallery.filename_dates).
        FILENAME = "filename", "Date in the file name"
        UPLOAD = "upload", "Upload time"
        FILE = "file", "File's modified time"  # import_photos, for a file without a date in it (a scan, a chat's copy)
        SIDECAR = "sidecar", "Google Takeout's record"  # import_photos: the date in the file's Takeout sidecar
        # import_photos: a Takeout sidecar without the date taken (photoTakenTime) still says when the photo was
        # added to Google Photos (creationTime): a better guess than the export's day, and no date taken.
        GOOGLE = "google", "Added to Google Photos"
        MEMBER = "member", "Edited by a member"  # re-reading the file never replaces it
        # import_photos: no date in the file, its name or a Takeout sidecar, but one in the name of a folder it is in
        # (gallery.filename_dates.date_in_folders): the day ("2019-07-14 Beach day", "2019/07/14"), at its noon; the
        # month ("2019-07 Italy"), at noon on the 1st; the year ("2019", "Photos from 2019"), at noon on 1 January.
        FOLDER_DAY = "folder_day", "Day in the folder's name"
        FOLDER_MONTH = "folder_month", "Month in the folder's name"
        FOLDER_YEAR = "folder_year", "Year in the folder's name"

    # Dates that are a guess (nothing said when it was taken): a Takeout sidecar found later dates them (one that
    # has only the day the photo was added to Google Photos dates only those dated by the file or the upload).
    GUESSED_DATES = (DateSource.FILE, DateSource.UPLOAD, DateSource.GOOGLE)
    # Dates the file itself tells (its EXIF, its name): a Takeout sidecar found later leaves them, and gives the photo
    # only what else it lacks (a position, a caption, people).
    DATES_OF_THE_FILE = (DateSource.EXIF, DateSource.FILENAME)
    # Dates a folder's name tells: better than a guess (a file's modified time, its upload), below a Takeout sidecar's.
    FOLDER_DATES = (DateSource.FOLDER_DAY, DateSource.FOLDER_MONTH, DateSource.FOLDER_YEAR)
    # Dates that tell no day (the first of their month or year stands for it): no "on this day", no season or holiday.
    DAYLESS_DATES = (DateSource.FOLDER_MONTH, DateSource.FOLDER_YEAR)

    class FieldSource(models.TextChoices):
        """Who wrote a title or description: nobody (empty, or a title made from the file name), a member, or
        the file's embedded metadata. Embedded metadata only ever fills a field nobody wrote."""

        NONE = "", "Nobody"
        MEMBER = "member", "A member"
        EMBEDDED = "embedded", "The file's metadata"

    class PlaceSource(models.TextChoices):
        NONE = "", "Unknown"
        GPS = "gps", "GPS position"
        EMBEDDED = "embedded", "The file's IPTC/XMP location"
        MEMBER = "member", "Edited by a member"  # re-reading the file or re-geocoding never replaces it

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="photos")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="photos"
    )
    original = models.FileField(upload_to=original_upload_path, max_length=255)
    thumbnail = models.FileField(upload_to=thumbnail_upload_path, max_length=255)
    # What the photo page shows: an upright JPEG within DISPLAY_SIZE² (the original may be a HEIC no browser
    # shows, or 50 MB). Empty for photos stored before renditions existed, until make_renditions or the sweep.
    display = models.FileField(upload_to=display_upload_path, max_length=255, blank=True)
    original_filename = models.CharField(max_length=255)
    title = models.CharField(max_length=255, blank=True, validators=[TITLE_TEXT])
    description = models.TextField(blank=True, validators=[DESCRIPTION_TEXT])
    title_source = models.CharField(max_length=10, choices=FieldSource.choices, blank=True, default="")
    description_source = models.CharField(max_length=10, choices=FieldSource.choices, blank=True, default="")
    tags = models.ManyToManyField(Tag, through="PhotoTag", blank=True, related_name="photos")

    mime_type = models.CharField(max_length=50)
    file_size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    taken_at = models.DateTimeField(db_index=True)
    taken_at_source = models.CharField(max_length=12, choices=DateSource.choices)
    # The local zone it was taken in (gallery.timezones): an IANA name or a fixed offset ("+05:30"); blank = TIME_ZONE.
    taken_tz = models.CharField(max_length=64, blank=True)
    # The day it was taken on where it was taken (taken_at in taken_tz), kept by save(), bulk_create and bulk_update
    # (and taken_days_refresh after a plain UPDATE): what date filters compare, so a photo at 23:30 on the 31st counts
    # on the 31st whatever the server's TIME_ZONE.
    taken_day = models.DateField("day taken (local)", editable=False)
    camera_make = models.CharField(max_length=100, blank=True)
    camera_model = models.CharField(max_length=100, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    # Where the GPS position is, reverse-geocoded offline (gallery.places); blank when unknown.
    place_city = models.CharField(max_length=200, blank=True)
    place_region = models.CharField(max_length=200, blank=True)
    place_country = models.CharField(max_length=100, blank=True)
    place_country_code = models.CharField(max_length=2, blank=True, db_index=True)
    # Whether the position has been looked up (a position at sea has none): fill_places and the sweep skip these.
    place_checked = models.BooleanField(default=False)
    place_source = models.CharField(max_length=10, choices=PlaceSource.choices, blank=True, default="")
    # Whether the file's embedded metadata (XMP, IPTC, EXIF text) has been read: read_embedded and the sweep skip these.
    embedded_checked = models.BooleanField(default=False)
    sha256 = models.CharField(max_length=64)
    # The SHA-256 of the XMP sidecar last read with the photo (import_photos; gallery.xmp_sidecars), "" when none was:
    # whether a sidecar was ever read with it (a read of the file alone then takes no keyword off). Each sidecar's
    # own is kept by its path (PhotoXmpSidecar); a photo imported before those were holds this one alone, whose
    # sidecar a re-run does not read again while it is unchanged.
    xmp_sidecar_sha256 = models.CharField(max_length=64, blank=True, default="", db_default="", editable=False)
    phash = models.CharField(max_length=16, blank=True)
    # The picture's mean colour, "rrggbb" (gallery.images.mean_colour_of): a hash match counts as a near-duplicate
    # only when these agree too. "" for photos stored before it was kept, until the sweep fills it from the thumbnail.
    mean_colour = models.CharField(max_length=6, blank=True, default="", db_default="")
    # Degrees clockwise a member turned the photo, on top of the original's EXIF orientation (0, 90, 180, 270):
    # the thumbnail, the display rendition and the embedding show it turned; the original stays as it was.
    rotation = models.PositiveSmallIntegerField(default=0, db_default=0)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    # Embedding state, driven by the search app's worker.
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    status_reason = models.TextField(blank=True)
    embed_attempts = models.PositiveSmallIntegerField(default=0)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    # Text read in the photo (OCR), driven by the search app's OCR worker: null = not read, "" = nothing found.
    text_in_photo = models.TextField(null=True, blank=True)
    ocr_status = models.CharField(max_length=12, choices=OcrStatus.choices, default=OcrStatus.PENDING)
    ocr_reason = models.TextField(blank=True)
    ocr_attempts = models.PositiveSmallIntegerField(default=0)

    # The model whose embedding last scored this photo against the tag vocabulary (TagSuggestion); blank: not
    # scored yet. The sweep scores photos whose value is not the active model.
    suggestions_model = models.CharField(max_length=255, blank=True)

    # In the trash since (null: not in the trash). A trashed photo is gone from every list and search at once,
    # restorable by its uploader or a family admin for TRASH_DAYS, then deleted for good with its files.
    trashed_at = models.DateTimeField(null=True, blank=True)
    trashed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    objects = LivePhotoManager()
    all_objects = models.Manager.from_queryset(PhotoQuerySet)()

    class Meta:
        default_manager_name = "objects"
        constraints = [models.UniqueConstraint(fields=["family", "sha256"], name="unique_photo_bytes_per_family")]
        indexes = [
            # The trash page and the purge read the (few) trashed photos only.
            models.Index(fields=["family", "-trashed_at"], name="photo_trash",
                         condition=models.Q(trashed_at__isnull=False)),
            models.Index(fields=["family", "-taken_at", "-id"], name="photo_family_timeline"),
            # The timeline's order: each photo's local day, then the instant (gallery.timeline.ORDER).
            models.Index(fields=["family", "-taken_day", "-taken_at", "-id"], name="photo_family_days"),
            # …and across all of a user's families, as taken_at's own index serves the other lists.
            models.Index(fields=["-taken_day", "-taken_at", "-id"], name="photo_days"),
            # "On this day" (gallery.memories): a family's photos of one month and day, whatever the year.
            models.Index(F("family"), ExtractMonth("taken_day"), ExtractDay("taken_day"), name="photo_family_month_day",
                         condition=models.Q(trashed_at__isnull=True)),
            # Counting a family's photos (its pages' family pickers, the API's families) and its photos by status
            # (the family and Index pages), and the ids of its live photos that joins keep (its open suggestions):
            # index-only scans, not a read of the whole table.
            models.Index(fields=["family", "status"], include=["id"], name="photo_live_family",
                         condition=models.Q(trashed_at__isnull=True)),
            # The sweep looks for photos still lacking a display rendition every few minutes: keep that cheap.
            models.Index(fields=["id"], name="photo_lacking_display", condition=models.Q(display="")),
            models.Index(fields=["id"], name="photo_lacking_place",
                         condition=models.Q(place_checked=False, latitude__isnull=False)),
            # The sweep looks for photos whose text is still to be read (or skipped): most are done.
            models.Index(fields=["id"], name="photo_ocr_pending", condition=models.Q(ocr_status="pending")),
            models.Index(fields=["id"], name="photo_embedded_pending", condition=models.Q(embedded_checked=False)),
            # Whether any of a family's photos tells the day it was taken (search.query_notes.family_photo_dates:
            # the note under "summer" in a family of scans): one index entry, not a read of all its photos. Its
            # dates are every DateSource but GUESSED_DATES and DAYLESS_DATES (a test holds them the same).
            models.Index(fields=["family"], name="photo_family_day_told",
                         condition=models.Q(trashed_at__isnull=True) & ~models.Q(taken_at_source__in=[
                             "file", "upload", "google", "folder_month", "folder_year"])),
            # The family's places (the place picker of every photo page, the places API: family_known_places): an
            # index-only scan of its placed photos, not a read of all its photos.
            # With the ids, Explore's counts of cities and countries (and each one's photo) are index-only too.
            models.Index(fields=["family", "place_country", "place_region", "place_city", "place_country_code"],
                         include=["id"], name="photo_family_places",
                         condition=models.Q(trashed_at__isnull=True) & ~models.Q(place_country="", place_city="")),
        ]
        ordering = ["-taken_at", "-id"]

    def __str__(self) -> str:
        return self.title or self.original_filename

    @property
    def has_camera(self) -> bool:
        """Whether the file names the camera that took it (a scan or a screenshot names none)."""
        return bool(self.camera_make or self.camera_model)

    def save(self, *args, **kwargs) -> None:
        """Keeps `taken_day` with `taken_at` and `taken_tz` (a save naming neither leaves it alone)."""
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            update_fields = kwargs["update_fields"] = set(update_fields)
        if update_fields is None or {"taken_at", "taken_tz"} & update_fields:
            self.taken_day = self.taken_at_local.date() if self.taken_at else None
            if update_fields is not None:
                update_fields.add("taken_day")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("gallery:photo_detail", args=[self.pk])

    @property
    def place_label(self) -> str:
        """"Lisbon, Portugal": city, region, country, as far as known, each name once (gallery.places.place_label)."""
        return place_label(self.place_city, self.place_region, self.place_country)

    @cached_property
    def tag_sources(self) -> dict[int, str]:
        """Where each of its tags came from, by tag id (PhotoTag.Source); selectors prefetch the rows."""
        return {link.tag_id: link.source for link in self.phototag_set.all()}

    @cached_property
    def embedded_tag_ids(self) -> set[int]:
        """Its tags that came from the file's embedded metadata."""
        return {tag_id for tag_id, source in self.tag_sources.items() if source == PhotoTag.Source.EMBEDDED}

    @cached_property
    def sidecar_tag_ids(self) -> set[int]:
        """Its tags that came from its Google Takeout sidecar (the people named in Google Photos)."""
        return {tag_id for tag_id, source in self.tag_sources.items() if source == PhotoTag.Source.SIDECAR}

    @property
    def taken_zone(self):
        """The tzinfo of the zone it was taken in (TIME_ZONE when unknown)."""
        from gallery.timezones import zone_info

        return zone_info(self.taken_tz)

    @property
    def taken_zone_assumed(self) -> bool:
        """Whether the camera's date (or its file name's) is read in TIME_ZONE only because neither its offset nor a
        position (nor a member's known place) told the zone (the photo page says so: the time shown is the camera's
        clock, the instant a guess)."""
        return (self.taken_at_source in (*self.DATES_OF_THE_FILE, self.DateSource.XMP) and self.latitude is None
                and self.taken_tz in ("", settings.TIME_ZONE))

    @property
    def taken_at_is_an_instant(self) -> bool:
        """Whether taken_at is a moment the server saw (the upload, the file's modified time) or was told as one (a
        Takeout sidecar's UTC time) rather than a clock's reading where the photo was taken (the camera's, a
        member's): moved to another zone, it stays the moment."""
        return self.taken_at_source in (self.DateSource.UPLOAD, self.DateSource.FILE, self.DateSource.SIDECAR,
                                        self.DateSource.GOOGLE)

    @property
    def taken_at_local(self):
        """When it was taken, in the zone it was taken in."""
        return self.taken_at.astimezone(self.taken_zone)

    def _rendition_url(self, name: str) -> str:
        """A rendition's URL, versioned by the rotation (browsers cache renditions for an hour: a turned photo must
        not show its old picture). A rotation left out of a query's columns is taken as 0 rather than fetched."""
        rotation = self.__dict__.get("rotation", 0)
        url = reverse(name, args=[self.pk])
        return f"{url}?r={rotation}" if rotation else url

    @property
    def thumbnail_url(self) -> str:
        return self._rendition_url("gallery:photo_thumbnail")

    @property
    def display_url(self) -> str:
        return self._rendition_url("gallery:photo_display")

    @property
    def download_url(self) -> str:
        return reverse("gallery:photo_original", args=[self.pk]) + "?download=1"

    @property
    def original_url(self) -> str:
        return reverse("gallery:photo_original", args=[self.pk])


class PhotoTag(models.Model):
    """One tag on one photo, and where it came from: typed by a member, embedded in the file's metadata, a person
    named in Google Photos (a Takeout sidecar's), or an accepted tag suggestion. Lives on the table the plain
    many-to-many used (gallery_photo_tags)."""

    class Source(models.TextChoices):
        MEMBER = "member", "Typed by a member"
        EMBEDDED = "embedded", "From the file"
        SIDECAR = "sidecar", "Named in Google Photos"  # import_photos: the people of the file's Takeout sidecar
        SUGGESTION = "suggestion", "Accepted suggestion"

    # Tags nobody of the family gave: read from what came with the photo (its file, its Takeout sidecar). They fill
    # only the room a photo has left, never come back once a member took them off, and weigh in search as keywords.
    READ = (Source.EMBEDDED, Source.SIDECAR)

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.MEMBER)
    added_at = models.DateTimeField(default=timezone.now)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")

    class Meta:
        db_table = "gallery_photo_tags"
        unique_together = [("photo", "tag")]

    def __str__(self) -> str:
        return f"{self.tag} on photo {self.photo_id} ({self.source})"


class RemovedTag(models.Model):
    """A tag a member took off a photo (its tag list edited, a tag removed from it, the tag deleted): reading the
    file's embedded metadata again never puts it back. A member may still add it again."""

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="+")
    # The tag's key (gallery.name_fold), up to three code points a letter of a name of 64 ("ΐ" folds to three).
    name = models.CharField(max_length=192, help_text="The tag's name, case-folded.")
    removed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["photo", "name"], name="removed_tag_once_per_photo")]

    def __str__(self) -> str:
        return f"{self.name} off photo {self.photo_id}"


class PhotoXmpSidecar(models.Model):
    """An XMP sidecar import_photos read whole with a photo, by its path (a photo may be in several folders, each copy
    with a sidecar of its own): the SHA-256 of its bytes, so that a re-run reads none that did not change, and the
    keywords it gave, which a change in another sidecar of the photo does not take off."""

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="+")
    # Its absolute path as the import named it (not through links; a byte that is no UTF-8 as "\xff")
    path = models.TextField()
    sha256 = models.CharField(max_length=64)
    # Its keywords as read; None when not known (taken over from Photo.xmp_sidecar_sha256 unread: none is taken off
    # while it speaks)
    keywords = models.JSONField(null=True, default=None)
    # The description it gave (an XMP sidecar's dc:description, a Picasa file's caption; "" none), and a Picasa file's
    # albums of the photo (their names): what a change in it is told by (a caption taken off clears the description
    # it wrote; an album gained takes the photo in). None: not known (read before they were kept, 0046).
    description = models.TextField(null=True, default=None)
    albums = models.JSONField(null=True, default=None)
    # A Picasa file's: the names Picasa's contacts.xml gave the faces of the photo its [Contacts2] does not name
    # ({contact id: name}; None none), which a run without contacts.xml keeps on the photo while the faces are there.
    contact_names = models.JSONField(null=True, default=None)
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # (a path may be longer than an index entry can be: unique by its digest)
        constraints = [models.UniqueConstraint(MD5("path"), "photo", name="xmp_sidecar_once_per_photo_path")]

    def __str__(self) -> str:
        return f"{self.path} of photo {self.photo_id}"


class RemovedAlbumPhoto(models.Model):
    """A photo a member took out of an album (album_remove_photos): an import that reads the photo into that album
    again (a Picasa album it joined since) leaves it out. A member may still put it back."""

    # (no index of its own: the unique (album, photo) constraint's serves a look-up by album)
    album = models.ForeignKey("Album", on_delete=models.CASCADE, related_name="+", db_index=False)
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="+")
    removed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["album", "photo"], name="removed_album_photo_once")]

    def __str__(self) -> str:
        return f"photo {self.photo_id} out of album {self.album_id}"


class Favourite(models.Model):
    """A photo one member marked with a heart: favourites are each member's own, never shared."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites")
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "photo"], name="one_favourite_per_user_photo")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} ♥ photo {self.photo_id}"


class SidecarStar(models.Model):
    """A photo starred in Google Photos that a member's import made their favourite (the star in its Takeout sidecar:
    gallery.services.photo_sidecar_star). Made once per member and photo, whichever run reads the star first: a re-run
    of the same import never puts back a heart the member took off, while another member's import of their own export
    gives them theirs."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "photo"], name="one_sidecar_star_per_user_photo")]

    def __str__(self) -> str:
        return f"{self.user} ★ photo {self.photo_id}"


class TagSuggestion(models.Model):
    """A tag the image model thinks fits a photo: one concept of the tag vocabulary (search.TagConcept) whose
    calibrated probability sigmoid(a·cos + b) against the photo's stored embedding reached
    TAG_SUGGESTION_THRESHOLD. Written by the search app's scoring, decided by members.

    Open ones are shown on the photo page and searched at a lower weight than tags. Accepting one makes an ordinary
    tag (source "suggestion"); accepted and dismissed ones stay as a record, so a recompute never offers them again."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="tag_suggestions")
    name = models.CharField(max_length=64, help_text="The tag it suggests.")
    probability = models.FloatField(help_text="The model's calibrated probability that the concept is in the photo.")
    model_name = models.CharField(max_length=255, help_text="The model whose embedding was scored.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(Lower("name"), "photo", name="one_suggestion_per_photo_tag_ci")]
        indexes = [models.Index(fields=["photo", "state"], name="tagsuggestion_photo_state"),
                   models.Index(fields=["state", "-probability"], name="tagsuggestion_open_by_p",
                                condition=models.Q(state="open"))]
        ordering = ["-probability", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.probability:.0%}) on photo {self.photo_id}"


class DeletedPhoto(models.Model):
    """The bytes of a photo its family deleted for good (from the trash, by the trash's purge, in the admin): a re-run
    of `import_photos` over the folder the photo came from leaves the file out instead of bringing it back. An
    upload from the page or the API (someone choosing that very file) stores it again, and this is forgotten."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="+")
    sha256 = models.CharField(max_length=64)
    deleted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["family", "sha256"], name="deleted_photo_once_per_family")]
        verbose_name = "photo deleted for good"
        verbose_name_plural = "photos deleted for good"

    def __str__(self) -> str:
        return f"{self.sha256[:12]}… deleted from {self.family} on {self.deleted_at:%Y-%m-%d}"


class FileRemoval(models.Model):
    """A stored file whose row is gone for good, waiting to be deleted from storage.

    Rows are written in the transaction that deletes the row owning the file, so a committed deletion never
    forgets its files; `gallery.services.file_removals_process` deletes them and retries what storage refused."""

    storage_name = models.CharField(max_length=255, help_text="name in the default storage")
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.storage_name


class Invite(models.Model):
    """A one-time link that lets someone join a family: a new account (they pick the username and password)
    or the account they are signed in with. Only the SHA-256 of the link's token is stored: the link itself is
    shown once, to the admin who made it."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        USED = "used", "Used"
        REVOKED = "revoked", "Withdrawn"  # (the word of the "Withdraw" buttons, for every link a family makes)
        EXPIRED = "expired", "Expired"

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="invites")
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    note = models.CharField(max_length=100, blank=True, help_text="Who the link is for, to tell links apart.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Invite to {self.family} ({self.get_role_display().lower()}){f' for {self.note}' if self.note else ''}"

    def state(self, now=None) -> str:
        """Withdrawn also when its maker no longer vouches for it (gallery.account_selectors.invites_with_maker_vouching):
        a link whose maker is no longer an admin of its family who can sign in lets no one in (invite_problem). A link
        read without that annotation is a mistake said at once, rather than one read as vouched for (as
        AlbumShare.state)."""
        if not hasattr(self, "maker_vouches"):
            raise AttributeError("Invite.state() needs the link read with "
                                 "gallery.account_selectors.invites_with_maker_vouching().")
        if self.used_at:
            return self.State.USED
        if self.revoked_at or not self.maker_vouches:
            return self.State.REVOKED
        if self.expires_at <= (now or timezone.now()):
            return self.State.EXPIRED
        return self.State.PENDING

    @property
    def state_label(self) -> str:
        return self.State(self.state()).label


class DeletedFamilyInvite(models.Model):
    """An invitation link that was open when its family was deleted, kept by its token's hash alone (as Invite keeps
    it; the Invite row goes with the family): the link page can say the family was deleted, rather than that the link
    is not valid, without anything that opens it being stored."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    deleted_at = models.DateTimeField(auto_now_add=True)


class Album(models.Model):
    """A family's album: a named, ordered set of its photos (AlbumPhoto), or a smart album whose photos are a saved
    search's results in the family, current whenever it is looked at. The search itself lives in the search app
    (gallery.albums' registry): the gallery only keeps its saved parameters, as JSON it never interprets."""

    class Kind(models.TextChoices):
        MANUAL = "manual", "Album"
        SMART = "smart", "Smart album"

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="albums")
    name = models.CharField(max_length=100, validators=[NAME_TEXT])
    description = models.TextField(blank=True, validators=[DESCRIPTION_TEXT])
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MANUAL)
    # Smart albums: the search's saved parameters (query, filters, minimum score, the owner's weights at save time
    # or none: the owner's weights when it is looked at). Empty for plain albums.
    search = models.JSONField(default=dict, blank=True)
    # The photo its tile shows; null: its first photo.
    cover = models.ForeignKey(Photo, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    photos = models.ManyToManyField(Photo, through="AlbumPhoto", related_name="albums", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="albums_created")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = [Lower("name"), "pk"]
        indexes = [models.Index(fields=["family", "-updated_at"], name="album_family_recent")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("gallery:album_detail", args=[self.pk])

    @property
    def is_smart(self) -> bool:
        return self.kind == self.Kind.SMART


class AlbumPhoto(models.Model):
    """One photo in one album, at a position (ascending; ties broken by id). A photo may be in several albums."""

    album = models.ForeignKey(Album, on_delete=models.CASCADE, related_name="entries")
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="album_entries")
    position = models.PositiveIntegerField()
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["album", "photo"], name="unique_album_photo")]
        indexes = [models.Index(fields=["album", "position", "id"], name="albumphoto_order")]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"photo {self.photo_id} in album {self.album_id} at {self.position}"


class AlbumShareQuerySet(models.QuerySet):
    def with_maker_vouching(self) -> AlbumShareQuerySet:
        """The links annotated `maker_vouches`, which AlbumShare.state needs (in the same query): their maker is in the
        album's family, can sign in, and has been in it since before the link was made. The one rule of every read of
        a link, as invites_with_maker_vouching is for invitation links. The withdrawals as a maker leaves
        (shares_withdraw_made_by) make it lasting, but do not run from a shell (an account made inactive, a membership
        deleted); a link made before its maker left then stays ended when they come back (a membership of later)."""
        return self.annotate(maker_vouches=Exists(Membership.objects.filter(
            family_id=OuterRef("album__family_id"), user_id=OuterRef("created_by_id"), user__is_active=True,
            joined_at__lte=OuterRef("created_at"))))

    def working(self, now=None) -> AlbumShareQuerySet:
        """The links that work now, by AlbumShare.state's rule (not withdrawn, not expired, their maker vouching): the
        one rule of the admin's "working" filter and of the counts of working links."""
        return self._vouching().filter(self._working_q(now))

    def ended(self, now=None) -> AlbumShareQuerySet:
        """Every other link: withdrawn, expired, or ended with its maker."""
        return self._vouching().exclude(self._working_q(now))

    def _vouching(self) -> AlbumShareQuerySet:
        # (annotated once: the admin's list carries it already)
        return self if "maker_vouches" in self.query.annotations else self.with_maker_vouching()

    @staticmethod
    def _working_q(now) -> models.Q:
        return models.Q(revoked_at__isnull=True, expires_at__gt=now or timezone.now(), maker_vouches=True)


class AlbumShare(models.Model):
    """A link that shows one album to people outside the family: read-only, expiring, revocable, optionally behind
    a password (hashed as account passwords are), with or without the originals to download. Only the SHA-256 of
    the link's token is stored: the link is shown once, to whoever made it."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Withdrawn"  # (the word of the "Withdraw" buttons, for every link a family makes)
        EXPIRED = "expired", "Expired"

    album = models.ForeignKey(Album, on_delete=models.CASCADE, related_name="shares")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    note = models.CharField(max_length=100, blank=True, help_text="Who the link is for, to tell links apart.")
    password_hash = models.CharField(max_length=128, blank=True, editable=False)
    allow_download = models.BooleanField(default=False, help_text="Visitors may download the originals.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = AlbumShareQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "album share link"  # (the pages' words, the Django admin's too)

    def __str__(self) -> str:
        return f"Share of {self.album}{f' for {self.note}' if self.note else ''}"

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    def state(self, now=None) -> str:
        """Withdrawn also when its maker no longer vouches for it (AlbumShare.objects.with_maker_vouching): a link
        whose maker is no longer in the album's family, or can no longer sign in, shows nothing. A link read without
        that annotation is a mistake said at once, rather than one read as working."""
        if not hasattr(self, "maker_vouches"):
            raise AttributeError("AlbumShare.state() needs the link read with AlbumShare.objects.with_maker_vouching().")
        if self.revoked_at or not self.maker_vouches:
            return self.State.REVOKED
        if self.expires_at <= (now or timezone.now()):
            return self.State.EXPIRED
        return self.State.ACTIVE

    # A link ended only because its maker no longer vouches for it, on every page that lists links (the album's
    # share page, the Django admin): "Withdrawn" as the rest, saying why, since "Withdraw for good" is still offered.
    ENDED_WITH_ITS_MAKER_LABEL = "Withdrawn (its maker is no longer in the family, or can't sign in)"

    @property
    def state_label(self) -> str:
        return self.ENDED_WITH_ITS_MAKER_LABEL if self.ended_by_its_maker else self.State(self.state()).label

    @property
    def ended_by_its_maker(self) -> bool:
        """Not withdrawn nor expired, only ended while its maker no longer vouches for it: a family admin or the
        album's creator may still withdraw it for good (should the maker ever vouch again)."""
        return (self.state() == self.State.REVOKED and self.revoked_at is None
                and self.expires_at > timezone.now())


from knox.models import AbstractAuthToken  # noqa: E402 (beside the one model that uses it)


class ApiToken(AbstractAuthToken):
    """An API token (django-rest-knox's model, KNOX_TOKEN_MODEL): only a SHA-512 of its key is kept (`digest`),
    with the key's first 15 characters (`token_key`) to find it. Knox makes `digest` the primary key; a plain id
    is ours so that its owner can name it (list, revoke) without any part of the secret. `expiry` moves forward
    on each use (API_TOKEN_IDLE_DAYS), so it is the idle time that ends a token."""

    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=128, unique=True, editable=False)
    label = models.CharField(max_length=200, blank=True, help_text="What the token is for, or the client that asked.")
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"API token {self.pk} of {self.user}{f' ({self.label})' if self.label else ''}"
