from __future__ import annotations

import logging
import mimetypes
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from datetime import timezone as dt_timezone
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from gallery.album_services import (
    MAX_DESCRIPTION, MAX_NAME, album_add_photos, album_find_or_create, album_text_clean,
)
from gallery.embedded import Embedded, embedded_merged, read_embedded
from gallery.files import files_remove, photo_file_names
from gallery.filename_dates import FolderDate, date_in_folders, is_a_date_folder
from gallery.images import (NOT_AN_IMAGE, ImageRejected, exif_dates, names_an_image_format, read_limited, sha256_of,
                            too_large)
from gallery.management.backfill import progress_bar
from gallery.management.families import family_from_option
from gallery.models import (Album, DeletedPhoto, Family, Photo, PhotoTag, PhotoXmpSidecar, RemovedAlbumPhoto,
                            SidecarStar)
from gallery.picasa_ini import (PicasaContactsUnreadable, PicasaEntry, PicasaIni, PicasaInis, is_a_picasa_ini,
                                read_picasa_contacts)
from gallery.selectors import AlbumNameKeys, TagKeys
from gallery.services import (FOLDER_REPLACES, EmbeddedChanges, UploadResult, photo_create_from_bytes,
                              photo_folder_date_fill, photo_sidecar_complete, photo_sidecar_description,
                              photo_sidecar_fill, photo_sidecar_star, photo_xmp_sidecar_read, sidecar_may_date,
                              tags_clean)
from gallery.sidecars import (Sidecar, SidecarUnreadable, TakeoutAlbum, is_a_sidecar, is_a_sidecar_file,
                              is_a_year_folder, json_names_forget, read_sidecar, read_takeout_album, sidecar_path)
from gallery.trash_services import photos_trash
from gallery.text import one_line, text_from_file, text_from_os, text_shown_from_os
from gallery.xmp_sidecars import (EXTENSION, XmpSidecar, is_an_xmp_sidecar, read_xmp_sidecar, xmp_names_forget,
                                  xmp_sidecar_path)


logger = logging.getLogger(__name__)
COMMIT_EVERY = 64
CTRL_C = 130  # the exit code of a program stopped by Ctrl-C (128 + SIGINT), as a shell gives it: a script can tell
# Folders that hold no photos of the family's own, besides hidden ones: a Synology share's thumbnail cache
# (several SYNOPHOTO_THUMB_*.jpg per photo), its recycle bin and its snapshots (copies of what is already there).
NOT_PHOTO_FOLDERS = frozenset({"@eaDir", "#recycle", "#snapshot"})
IN_TRASH = "in_trash"  # the file's photo is in the family's trash: left there
DELETED = "deleted"  # the family deleted the file's photo for good: left out (--include-deleted brings it back)
DATED = "dated"  # already there, dated only by a guess: dated now by its Takeout sidecar
FILLED = "filled"  # already there, with its camera's date: given now what its Takeout sidecar says and it lacked
TRASHED = "trashed"  # imported (and counted so), then put in the trash: it was in Google Photos' trash
NOT_A_PHOTO = "not_a_photo"  # no image, and named as something else (a sidecar, a video, notes): counted by kind
XMP_READ = "xmp_read"  # XMP sidecars read (darktable's, digiKam's, Lightroom's, …), with a new photo or one there
XMP_SKIPPED = "xmp_skipped"  # XMP sidecars that could not be read (too large, no XMP, hostile): named in the log
XMP_UNCHANGED = "xmp_unchanged"  # XMP sidecars whose bytes are those read with their photo before: not read again
XMP_GONE = "xmp_gone"  # XMP sidecars read before (below the folder imported) and found no more: what they gave stays
XMP_GAVE = "xmp_gave"  # photos already there that their XMP sidecar changed (it appeared or changed since)
PICASA_GONE = "picasa_gone"  # Picasa files read before (below the folder imported) and found no more
PICASA_GAVE = "picasa_gave"  # photos already there that their Picasa file changed
PICASA_CHANGED = "picasa keywords {}"  # …the tags it added and took off ("added", "removed")
PICASA_CAPTION = "picasa caption {}"  # …the descriptions its captions gave, replaced and took off
XMP_CHANGED = "xmp {} {}"  # …what it changed: ("title", "replaced"), ("keywords", "added"), counted (_xmp_apply)
FOLDER_DATED = "folder_dated"  # imported, dated by the name of a folder it is in (no date in the file nor its name)
FOLDER_REDATED = "folder_redated"  # already there, dated by a guess: dated now by its folder's name
# Files beside photos that the mimetypes table does not know: metadata sidecars, Apple's edit lists, folder databases.
SIDECARS = frozenset({"xmp", "aae", "ini", "db", "nomedia"})
# Videos the mimetypes table does not know: a Pixel's motion photos, "PXL_….MP" (or ".MV") beside "PXL_….MP.jpg" in
# a Google Takeout export; a camcorder's AVCHD clips.
VIDEOS = frozenset({"mp", "mv", "m2ts"})
# Archives the summary says are left unopened (a Takeout part, a folder sent zipped), as the upload page does.
ARCHIVES = frozenset({".zip", ".7z", ".rar", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".zst"})


class Command(BaseCommand):
    help = (
        "Import every image below DIR into a family. Duplicates (same bytes already in the family) and "
        "unreadable files are skipped, so the command can be re-run to resume an interrupted import. A file whose "
        "photo the family moved to the trash is left there (restore it from the family's trash page), and one "
        "whose photo it deleted for good is left out (--include-deleted imports it again). A Google Takeout "
        "export's JSON sidecars give their photos the date, place, caption and people the files lack; XMP "
        "sidecars (IMG_0001.jpg.xmp, IMG_0001.xmp: darktable, digiKam, Lightroom, Capture One) their keywords, "
        "title, description and place; a Picasa library's .picasa.ini files the people, keywords, stars, albums and "
        "captions Picasa kept there."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument("--family", required=True, help="the family (name or id)")
        parser.add_argument("--user", required=True, help="username recorded as the uploader")
        parser.add_argument("--tag", action="append", default=[], help="tag every imported photo (repeatable)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
        parser.add_argument("--include-deleted", action="store_true",
                            help="import again the files whose photos the family deleted for good")
        parser.add_argument("--album", help="put every photo of the folder in this album of the family (made if "
                                            "it has none of that name)")
        parser.add_argument("--album-per-folder", action="store_true",
                            help="put the photos of each folder in an album named as the folder (made if the "
                                 "family has none of that name); the folder given itself makes none, nor do a "
                                 "Google Photos export's year folders (\"Photos from 2019\")")
        parser.add_argument("--picasa-contacts", metavar="FILE",
                            help="Picasa's own contacts.xml (%%LOCALAPPDATA%%\\Google\\Picasa2\\contacts\\"
                                 "contacts.xml): the names of the faces a folder's .picasa.ini does not name (older "
                                 "versions kept them there alone); a file that can't be read is said, and left out")

    def handle(self, *args, directory, family, user, tag, no_progress, include_deleted, album, album_per_folder,
               picasa_contacts=None, **options):
        json_names_forget()  # (folders listed by an earlier import in this process may have changed)
        xmp_names_forget()
        if not directory:  # (pathlib reads "" as ".": an unset "$PHOTOS" imported the folder the command ran in)
            raise CommandError("No folder given: the folder to import is an empty argument (an unset variable?).")
        root = Path(directory).expanduser()
        if not root.is_dir():
            raise CommandError(f"Not a directory: {root}")
        storage = Path(settings.MEDIA_ROOT).resolve()
        if root.resolve() == storage or storage in root.resolve().parents:
            raise CommandError(f"{root} is the gallery's own photo storage (MEDIA_ROOT): its files are the photos "
                               "stored already, with their thumbnails.")
        app = Path(settings.BASE_DIR).resolve()
        if root.resolve() == app or app in root.resolve().parents:
            where = "is" if root.resolve() == app else "is inside"
            raise CommandError(f"{root} {where} the app's own folder (BASE_DIR), {app}: its pictures are the app's "
                               "icons and test pictures, not a family's photos.")
        family_obj = family_from_option(family)
        uploader = get_user_model().objects.filter(username=user).first()
        if uploader is None:
            raise CommandError(f"No user “{user}”.")
        if not family_obj.memberships.filter(user=uploader).exists():
            raise CommandError(f"{uploader} is not a member of {family_obj}.")
        self._tag_keys = TagKeys()  # (the keys of tag names read in this run: each read once)
        try:
            tag = tags_clean(tag, tag_keys=self._tag_keys)  # refused now, not once per file
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

        try:  # (listing a NAS share of 100,000 files takes a while: Ctrl-C may come now)
            files, linked = _walk(root, left_out=[parts for parts, _ in self._left_out_below(root)])
            self._albums = _Albums(files, family_obj, uploader, root=root, every=album, per_folder=album_per_folder)
            # (The folders around it by their absolute path, ".." taken lexically, not through symlinks: the names as
            # the user sees them, for _folder_date.)
            self._root, self._around, self._folder_dates = root, Path(os.path.abspath(root)).parts[1:], {}
            known, trashed, undated, lacking, deleted = _family_hashes(family_obj, include_deleted=include_deleted)
            self._folder_datable = _folder_datable(family_obj)
            self._xmp_read_before, self._xmp_rows = _xmp_read_before(family_obj)
            self._xmp_found: set[str] = set()  # the XMP sidecars found beside photos in this run (_xmp_key)
            # (A Picasa file speaks of the photos of its folder: found beside each photo, by the photo's hash; and
            # the files beside a photo that could not be read, which may be any of theirs: _still_found)
            self._picasa_found: set[tuple[str, str]] = set()
            self._picasa_unsure: set[str] = set()
            self._xmp_changed: set[int] = set()  # the photos their XMP sidecars changed in this run (counted once)
            self._takeout_read, self._takeout_unreadable = set(), set()  # Takeout sidecars (paths), for the summary
            self._picasa = _Picasa(family_obj, uploader, contacts=self._picasa_contacts(picasa_contacts))
        except KeyboardInterrupt:
            raise CommandError("Interrupted while listing the files: nothing was imported. Run the same command "
                               "again to import them.", returncode=CTRL_C) from None
        counts: Counter[str] = Counter()
        problems: list[tuple[Path, str]] = []
        left_out: list[Path] = []  # files that are no photos (some may be the sidecars of others)
        sidecars: set[Path] = set()  # Takeout and XMP sidecars found beside photos
        # Commit every COMMIT_EVERY files: progress survives an interruption, and each commit hands
        # its new photos to the embedding queue in one go rather than one task per photo.
        # (file, why, the family's refusal) when storage refused a photo (full or read-only), or the family did
        # (deleted, or the member removed from it, meanwhile): so would they every next one
        stopped = None
        try:
            with progress_bar(self, len(files), no_progress=no_progress, unit="file", dynamic_ncols=True) as bar:
                for start in range(0, len(files), COMMIT_EVERY):
                    batch, batch_problems, batch_left_out, batch_sidecars, stopped = self._import_batch(
                        files[start:start + COMMIT_EVERY], family_obj, uploader, tag,
                        (known, trashed, deleted, undated, lacking), bar)
                    counts.update(batch)  # counted once committed
                    problems.extend(batch_problems)
                    left_out.extend(batch_left_out)
                    sidecars.update(batch_sidecars)
                    if stopped:
                        break
            if not stopped:  # (every file was looked at: a sidecar not found is gone)
                gone = self._xmp_forget_gone(root, family_obj)
                counts[XMP_GONE] = sum(1 for _, key in gone if not is_a_picasa_ini(key))
                # (a Picasa file still there that no longer speaks of a photo, moved to another folder: not gone)
                counts[PICASA_GONE] = len({key for _, key in gone
                                           if is_a_picasa_ini(key) and key not in self._xmp_found})
        except KeyboardInterrupt:
            self._report(root, linked, problems, counts, len(files), family_obj, left_out, sidecars)
            raise CommandError(
                f"Interrupted: what is counted above was kept; the files read since (at most {COMMIT_EVERY}) were "
                "not. Run the same command again to go on: the files already imported are skipped.",
                returncode=CTRL_C) from None
        self._report(root, linked, problems, counts, len(files), family_obj, left_out, sidecars)
        if stopped:
            path, reason, family_refused = stopped
            then = ("Nothing more is imported: the files after it were not read." if family_refused else
                    "Run the same command again to go on: the files already imported are skipped.")
            raise CommandError(text_shown_from_os(f"Stopped at {path.relative_to(root)}: {reason} {then}"))

    def _import_batch(self, paths: list[Path], family: Family, uploader, tags: list[str],
                      hashes: tuple[dict[str, int], set[str], set[str], set[str], dict], bar):
        """Import these files in one transaction: what they counted, their problems, the files that are no photos,
        the Takeout sidecars found, and (file, why, whether the family refused it) if storage refused to write a photo
        (it is full or read-only), or the family did (deleted, or the member removed from it, meanwhile): the files
        before it are committed, the rest not tried. When it is rolled back (Ctrl-C), the files stored
        for its new photos are removed too: no row points at them."""
        counts: Counter[str] = Counter()
        problems: list[tuple[Path, str]] = []
        left_out: list[Path] = []
        sidecars: set[Path] = set()
        stored: list[Photo] = []
        stopped = None
        try:
            with transaction.atomic():
                for path in paths:
                    bar.set_postfix_str(text_shown_from_os(path.name)[-30:], refresh=False)
                    result = self._import_one(path, family, uploader, tags, *hashes, sidecars=sidecars,
                                              counts=counts)
                    if result.storage_failed or result.family_refused:
                        stopped = (path, result.reason, result.family_refused)
                        break
                    if _no_photo(path, result):  # counted by kind (the extension) in the report, not named one by one
                        left_out.append(path)
                    else:
                        counts[result.outcome] += 1
                        if result.outcome == UploadResult.REJECTED:
                            problems.append((path, result.reason))
                        elif result.outcome == UploadResult.SAVED:
                            stored.append(result.photo)
                            counts[TRASHED] += result.photo.trashed_at is not None
                    bar.update(1)
                self._albums.flush()  # the batch's photos into their albums, one call per album
        except BaseException:
            for photo in stored:
                files_remove(names=photo_file_names(photo))
            raise
        return counts, problems, left_out, sidecars, stopped

    def _picasa_contacts(self, path: str | None) -> dict[str, str]:
        """The names of Picasa's contacts.xml given with --picasa-contacts ({} without); one that can't be read is said
        in one line, and the import goes on without it."""
        if path is None:
            return {}
        try:
            return read_picasa_contacts(Path(path).expanduser())
        except PicasaContactsUnreadable as exc:
            self.stderr.write(text_shown_from_os(f"--picasa-contacts {path}: not read ({exc}); the import goes on "
                                                 "without it: faces are named by each folder's .picasa.ini alone"))
            return {}

    @staticmethod
    def _left_out_below(root: Path) -> list[tuple[tuple[str, ...], str]]:
        """The folders inside `root` the walk leaves out, as the parts of their path from `root`, each with what the
        summary calls it: `import_photos ~` where the application lives would import every family's stored photos and
        their renditions (MEDIA_ROOT), and the app's own icons and test fixture pictures (BASE_DIR)."""
        top = root.resolve()
        folders = ((Path(settings.MEDIA_ROOT).resolve(), "the gallery's own photo storage (MEDIA_ROOT)"),
                   (Path(settings.BASE_DIR).resolve(), "the app's own folder (BASE_DIR: its icons and test pictures)"))
        return [(folder.relative_to(top).parts, what) for folder, what in folders
                if folder != top and folder.is_relative_to(top) and folder.is_dir()]

    def _report(self, root: Path, linked: list[Path], problems: list[tuple[Path, str]], counts: Counter[str],
                total: int, family: Family, left_out: list[Path], sidecars: set[Path]) -> None:
        not_photos = [path for path in left_out if path not in sidecars and path not in self._albums.files]
        counts = counts + Counter({NOT_A_PHOTO: len(not_photos)})
        for path in linked:
            self.stdout.write(text_shown_from_os(f"not followed: {path.relative_to(root)} is a link to a folder; "
                                                 f"import {path.resolve()} on its own"))
        for parts, what in self._left_out_below(root):
            self.stdout.write(text_shown_from_os(f"left out: {Path(*parts)}, {what}"))
        for path, reason in problems:
            self.stdout.write(text_shown_from_os(f"skipped {path.relative_to(root)}: {reason}"))
        kinds = sorted(Counter(path.suffix.lower() or "(no extension)" for path in not_photos).items())
        if kinds:
            self.stdout.write(text_shown_from_os("not photos, left out: "
                                                 + ", ".join(f"{n} {kind}" for kind, n in kinds)))
        archives = sorted(str(path.relative_to(root)) for path in not_photos if path.suffix.lower() in ARCHIVES)
        if archives:
            self.stdout.write(text_shown_from_os(
                f"Archives are not opened: {len(archives)} ({', '.join(archives[:10])}"
                f"{', …' if len(archives) > 10 else ''}). Unpack them into the folder, then import it again: the "
                "photos already imported are recognised and left as they are."))
        read, unreadable = self._takeout_read, sorted(self._takeout_unreadable - self._takeout_read)
        if read or unreadable:
            named = ", ".join(str(path.relative_to(root)) for path in unreadable[:10]) + (
                ", …" if len(unreadable) > 10 else "")
            whose = "its photo was imported without it" if len(unreadable) == 1 else \
                "their photos were imported without them"
            self.stdout.write(text_shown_from_os(
                f"Google Takeout sidecars: {len(read)}, beside their photos (what a new photo's file lacks is read "
                "from its sidecar: date, place, caption, people)"
                + (f"; {len(unreadable)} could not be read ({named}: {whose}, the log says why)" if unreadable
                   else "")))
        if counts[XMP_READ] or counts[XMP_SKIPPED]:
            self.stdout.write(
                f"XMP sidecars read: {counts[XMP_READ]} (their keywords, title, description, place, position and "
                "date, before the file's own metadata, after the camera's GPS and date; never over a member's edit)"
                + (f"; {counts[XMP_SKIPPED]} could not be read (skipped, "
                   f"{'its photo' if counts[XMP_SKIPPED] == 1 else 'their photos'} imported: the log says why)"
                   if counts[XMP_SKIPPED] else "")
                + _xmp_note(counts))
        if counts[XMP_UNCHANGED]:
            self.stdout.write(f"XMP sidecars unchanged since they were last read: {counts[XMP_UNCHANGED]} (not read "
                              "again)")
        if counts[XMP_GONE]:
            self.stdout.write(f"XMP sidecars gone since they were last read: {counts[XMP_GONE]} (what they gave stays "
                              "on their photos: take a tag off on the photo's page)")
        for line in self._picasa.summary(counts):
            self.stdout.write(line)
        if counts[FOLDER_DATED]:
            self.stdout.write(f"Dated by the name of their folder: {counts[FOLDER_DATED]} (no date in the file nor in "
                              "its name: \"2019-07-14 Beach day\" gives the day, \"2019-07 Italy\" the month, \"2019\" "
                              "the year, as the photo page says)")
        others = {sidecar_path(path) for path in not_photos if path.suffix.lower() != ".json"}  # (a video's)
        alone = [path for path in not_photos
                 if path.suffix.lower() == ".json" and path not in others and is_a_sidecar_file(path)]
        if alone:
            self.stdout.write(f"Google Takeout sidecars with no photo beside them: {len(alone)} (its photo is perhaps "
                              "in another part of the export: unzip every part into one folder and import that; "
                              "photos already imported without their sidecar are given what it says then)")
        if self._albums.year_folders:
            self.stdout.write(text_from_os("Google Photos' year folders make no album (its folders by date, not "
                                           "albums): " + ", ".join(self._albums.year_folders)))
        if self._albums.date_folders:
            self.stdout.write(text_from_os("Folders named by a date alone make no album (the timeline shows their "
                                           "photos by date): " + ", ".join(self._albums.date_folders)))
        if self._albums.filled:
            self.stdout.write(text_shown_from_os("Albums: " + ", ".join(
                f"{name} ({added} photo{'' if added == 1 else 's'} put in)"
                for name, added in self._albums.filled.items())))
        self.stdout.write(self.style.SUCCESS(
            f"Imported {counts[UploadResult.SAVED]}"
            + (f" ({counts[TRASHED]} into the trash, as {'it was' if counts[TRASHED] == 1 else 'they were'} in Google "
               "Photos' trash)" if counts[TRASHED] else "") + ", already there "
            f"{counts[UploadResult.DUPLICATE] + counts[DATED] + counts[FILLED] + counts[FOLDER_REDATED]}"
            + _sidecar_note(counts) + ", "
            + (f"in the trash {counts[IN_TRASH]} (left there), " if counts[IN_TRASH] else "")
            + (f"deleted for good before {counts[DELETED]} (left out: --include-deleted imports them again), "
               if counts[DELETED] else "")
            + (f"restored from the trash {counts[UploadResult.RESTORED]}, " if counts[UploadResult.RESTORED] else "") +
            f"unreadable {counts[UploadResult.REJECTED]}"
            + (f", not photos {counts[NOT_A_PHOTO]}" if counts[NOT_A_PHOTO] else "") +
            f" (of {total} file{'' if total == 1 else 's'}) into {family}."
        ))

    def _xmp_before(self, digest: str, key: str) -> str:
        """The SHA-256 of the sidecar at `key` when it was read with the photo of file hash `digest`; for a photo whose
        sidecars were never kept by path (imported before they were), the one its sidecar had."""
        by_path = self._xmp_rows.get(digest, {})
        return by_path[key].sha256 if key in by_path else "" if by_path else self._xmp_read_before.get(digest, "")

    def _xmp_remember(self, photo_id: int, digest: str, key: str, sidecar: XmpSidecar, *,
                      description: str | None = None, albums: tuple[str, ...] | None = None,
                      contact_names: dict[str, str] | None = None) -> None:
        """Remember the sidecar at `key` just read with the photo `photo_id` (file hash `digest`), or found unchanged,
        when it was read whole: the next import reads it again only if it changed, a change in another sidecar of
        the photo takes off none of its keywords, and a change in its description (a Picasa file's: its caption,
        `description`) and a Picasa file's `albums` of the photo is told from what it said now; the names Picasa's
        contacts.xml gave a Picasa file's faces (`contact_names`) stay while those faces are there
        (PicasaEntry.naming)."""
        kept = self._xmp_rows.get(digest, {}).get(key)
        if not sidecar.sha256 or kept is not None and kept.sha256 == sidecar.sha256:
            return
        embedded = sidecar.embedded  # (not known when unread, or when a keyword block was skipped)
        keywords = list(embedded.keywords) if embedded is not None and embedded.keywords_complete else None
        if description is None and embedded is not None:
            description = embedded.description
        read = _SidecarRead(sidecar.sha256, keywords, description, list(albums) if albums is not None else None,
                            contact_names or None)
        PhotoXmpSidecar.objects.update_or_create(photo_id=photo_id, path=key, defaults={
            "sha256": read.sha256, "keywords": read.keywords, "description": read.description, "albums": read.albums,
            "contact_names": read.contact_names, "read_at": timezone.now()})
        self._xmp_rows.setdefault(digest, {})[key] = read
        # (Photo.xmp_sidecar_sha256 still decides, beside the per-path rows: a read of the stored file alone takes no
        # keyword off a photo whose sidecar was ever read, one since deleted too, whose row _xmp_forget_gone drops;
        # and a photo without rows, imported before them, is told unchanged by it: _xmp_before.)
        if self._xmp_read_before.get(digest) != sidecar.sha256:
            Photo.all_objects.filter(pk=photo_id).update(xmp_sidecar_sha256=sidecar.sha256)
            self._xmp_read_before[digest] = sidecar.sha256

    def _xmp_forget_gone(self, root: Path, family: Family) -> list[tuple[str, str]]:
        """Forget the XMP sidecars read before below `root` that this run found no more (deleted, or their copy of the
        photo removed), and the Picasa files found no more beside their photo (deleted, or the photo moved to another
        folder): what they gave stays on their photos (a deleted sidecar is no statement about keywords: darktable's
        reset deletes it, and both darktable and digiKam keep the keywords in their own database), and no longer
        keeps a keyword that another sidecar of the photo drops. Each (photo's hash, path) forgotten."""
        below = _xmp_key(root).rstrip(os.sep) + os.sep
        gone = [(digest, key) for digest, paths in self._xmp_rows.items() for key in paths
                if key.startswith(below) and not self._still_found(digest, key)]
        if not gone:
            return []
        by_path: dict[str, list[str]] = {}
        for digest, key in gone:
            by_path.setdefault(key, []).append(digest)
        rows = PhotoXmpSidecar.objects.filter(photo__family=family)
        rows.filter(path__in=[key for key in by_path if not is_a_picasa_ini(key)]).delete()
        for key, digests in by_path.items():  # (one query a Picasa file: a folder's photos moved together)
            if is_a_picasa_ini(key):
                rows.filter(path=key, photo__sha256__in=digests).delete()
        for digest, key in gone:
            del self._xmp_rows[digest][key]
        return gone

    def _still_found(self, digest: str, key: str) -> bool:
        """Whether this run found the sidecar kept by `key` for the photo of hash `digest`: an XMP sidecar where it was;
        a Picasa file beside that photo, or beside a photo that could not be read now (which may be it)."""
        if not is_a_picasa_ini(key):
            return key in self._xmp_found
        return (digest, key) in self._picasa_found or key in self._picasa_unsure

    def _xmp_apply(self, photo_id: int, data: bytes, sidecar: Embedded, counts: Counter[str], *, key: str,
                   digest: str) -> None:
        """Give the photo `photo_id` (already there, its file's bytes `data`, hash `digest`) what its XMP sidecar at
        `key` says now, counting what that changed. A tag from the file that neither gives any more leaves the photo,
        except one another sidecar of the photo gave when it was read (the same file in two folders, each with its
        own); a description the sidecar no longer gives leaves it when it is the one the sidecar wrote."""
        changes = photo_xmp_sidecar_read(photo_id=photo_id, data=data, sidecar=sidecar,
                                         also_given=_xmp_given_elsewhere(photo_id, key),
                                         description_before=self._description_before(digest, key),
                                         tag_keys=self._tag_keys)
        counts[XMP_GAVE] += bool(changes) and photo_id not in self._xmp_changed  # (two copies' sidecars: one photo)
        if changes:
            self._xmp_changed.add(photo_id)
        counts.update(XMP_CHANGED.format(what, how) for what, how in changes.fields)
        counts[XMP_CHANGED.format("keywords", "added")] += changes.keywords_added
        counts[XMP_CHANGED.format("keywords", "removed")] += changes.keywords_removed

    def _picasa_read(self, picasa: PicasaIni, path: Path, photo_id: int, digest: str, data: bytes,
                     counts: Counter[str], *, given: bool = False) -> None:
        """Give the photo `photo_id` (its file at `path`, its bytes `data`) what its folder's Picasa file says of it,
        when the file changed since it was read with the photo (gallery.picasa_ini): its people and keywords as tags
        from the file (`given`: with the new photo already), the tags from the file that neither it, the photo's file
        nor another sidecar of it gives any more taken off, its star the importing member's heart; and remember the
        file, as an XMP sidecar of the photo, by its path and fingerprint (_xmp_remember). The photo is read again
        only when what the file says of it changed (a star given to another photo of the folder changes the file, not
        what it says of this one, nor takes off what a sidecar deleted since gave it). The star is read whether the
        file changed or not (another member's import of the folder: their heart), once per member and photo. The
        photo goes into the family's albums of the names of its Picasa albums (_Albums.put_named: on its first reading,
        and those its file's list gained since), and its caption fills the description nobody wrote (neither its file,
        nor its XMP sidecar, nor a member), or replaces or takes off the one the file wrote, changed or taken off there
        (_picasa_caption)."""
        key = _xmp_key(picasa.path)
        changed = not picasa.unreadable and self._xmp_before(digest, key) != picasa.sha256
        self._picasa.count(picasa, changed=changed)  # (one that can't be read takes nothing off)
        if not changed:  # (its star alone, for a member whose import has not read it)
            if self._picasa.may_star(picasa, photo_id) and picasa.starred(path.name):
                self._picasa.star(picasa, photo_id)
            return
        entry = picasa.entry(path.name)
        said = (entry or PicasaEntry()).naming(self._picasa_contact_names(digest, key))
        if said.starred:
            self._picasa.star(picasa, photo_id)
        before = self._said_before(digest, key).description
        self._albums.put_named(said.albums, photo_id=photo_id, stored=given, first=self._picasa_first(picasa, digest),
                               gained=self._picasa_albums_gained(digest, key, said.albums))
        caption = self._picasa_caption(photo_id, said.caption, before, new=given, digest=digest, key=key, data=data)
        changes = EmbeddedChanges()
        keywords_before = self._picasa_keywords_before(digest, key, said.keywords)
        if not given and (keywords_before is None or not self._same_names(keywords_before, said.keywords)):
            changes = photo_xmp_sidecar_read(photo_id=photo_id, data=data, sidecar=said.embedded(),
                                             also_given=_xmp_given_elsewhere(photo_id, key), keywords_only=True,
                                             tag_keys=self._tag_keys)
        if not given:
            counts[PICASA_GAVE] += bool(changes.keywords_added or changes.keywords_removed or caption)
            counts[PICASA_CHANGED.format("added")] += changes.keywords_added
            counts[PICASA_CHANGED.format("removed")] += changes.keywords_removed
            counts[PICASA_CAPTION.format(caption)] += bool(caption)
        self._xmp_remember(photo_id, digest, key, XmpSidecar(said.embedded(), picasa.sha256),
                           description=said.caption, albums=said.albums, contact_names=said.contact_names)

    def _said_before(self, digest: str, key: str) -> _SidecarRead:
        """What the sidecar (an XMP sidecar, a Picasa file) at `key` said of the photo of hash `digest` when last read
        with it (_SidecarRead; NOT_READ when it was never read with the photo)."""
        return self._xmp_rows.get(digest, {}).get(key, NOT_READ)

    def _picasa_caption(self, photo_id: int, caption: str, before: str | None, *, new: bool, digest: str, key: str,
                        data: bytes) -> str:
        """Give the photo `photo_id` (file hash `digest`, bytes `data`) the caption its Picasa file at `key` says now
        (`before`: what it said when last read with the photo; None: not known): the description nobody wrote, or the
        one the file wrote, changed or taken off there (services.photo_sidecar_description), unless the photo's own
        file or another sidecar of it still gives it (the file read again for that alone). A caption the file said
        already changes nothing (no query: a star given to one photo changes its folder's file); one not known before
        only fills a description nobody wrote (may_describe: one read of the family's photos for a run). How the
        description changed, or ""."""
        if caption == before or not caption and not before:
            return ""
        if not caption and (self._given_elsewhere(before, digest, key)
                            or read_embedded(data, label=f"photo {photo_id}").description == before):
            return ""
        if not before:
            if not self._picasa.may_describe(photo_id, new=new):
                return ""
            before = ""
        return photo_sidecar_description(photo_id=photo_id, description=caption, before=before)

    def _description_before(self, digest: str, key: str) -> str:
        """The description the XMP sidecar at `key` gave the photo of hash `digest` when last read with it, which it
        takes off when it gives none now (services.photo_xmp_sidecar_read: the photo's own file merged in there); ""
        when it gave none, that is not known, or another sidecar of the photo gave the same (it still gives it)."""
        before = self._said_before(digest, key).description or ""
        return "" if self._given_elsewhere(before, digest, key) else before

    def _given_elsewhere(self, description: str, digest: str, key: str) -> bool:
        """Whether a sidecar of the photo of hash `digest` other than the one at `key` (an XMP sidecar, a Picasa file,
        of this copy or another still there) gave it `description` when last read with it."""
        return bool(description) and any(
            read.description == description and _xmp_another_there(path, key)
            for path, read in self._xmp_rows.get(digest, {}).items() if path != key)

    def _picasa_contact_names(self, digest: str, key: str) -> dict[str, str]:
        """The names Picasa's contacts.xml gave the faces of the photo of hash `digest` when its Picasa files were
        last read with it, the file at `key` first (a contact id is Picasa's, whichever folder's file names it)."""
        kept = self._xmp_rows.get(digest, {})
        names: dict[str, str] = {}
        for path in sorted(kept, key=lambda path: path == key):  # (the file at `key` last: its names win)
            if is_a_picasa_ini(path):
                names |= kept[path].contact_names or {}
        return names

    def _picasa_albums_gained(self, digest: str, key: str, albums: tuple[str, ...]) -> tuple[str, ...]:
        """The Picasa albums of the photo of hash `digest` (`albums`, its file's at `key` now) that the Picasa files
        read with it before did not list: at `key`, what that file listed; at a path new to the photo (the library
        copied, another member's copy), what its other Picasa files listed. None of them when one of those is not
        known (read before albums were kept: a member may have taken the photo out of one since, which was not kept
        either)."""
        kept = {path: read.albums for path, read in self._xmp_rows.get(digest, {}).items() if is_a_picasa_ini(path)}
        listed = [kept[key]] if key in kept else list(kept.values())
        if any(names is None for names in listed):
            return ()
        keys = self._albums.name_keys  # (as the gallery tells album names apart: _Albums.put_named)
        before = set(keys.of(_album_name(name) for names in listed for name in names))
        return tuple(name for name, key in zip(albums, keys.of(_album_name(name) for name in albums))
                     if key not in before)

    def _picasa_first(self, picasa: PicasaIni, digest: str) -> bool:
        """Whether no Picasa file was ever read with the photo of hash `digest` for its albums: at any path (the
        library copied elsewhere, another member's copy, a disk remounted put back no photo a member took out; rows
        of files gone are forgotten at the run's end), by a reader that read albums (this very file read by one that
        did not is no reading of them)."""
        return not any(is_a_picasa_ini(path) and read.sha256 != picasa.sha256_without_albums
                       for path, read in self._xmp_rows.get(digest, {}).items())

    def _picasa_keywords_before(self, digest: str, key: str, keywords: tuple[str, ...]) -> list[str] | None:
        """The keywords the Picasa file at `key` gave the photo of hash `digest` when read with it (None: not known;
        []: it was not, or said none). A file at a new path (the library copied, a disk remounted, another member's
        copy) that says what another Picasa file read with the photo said gave them as well: the photo has them, and
        is not read again (exiv2) for them."""
        kept = self._xmp_rows.get(digest, {})
        if key in kept:
            return kept[key].keywords
        return next((list(read.keywords) for path, read in kept.items() if is_a_picasa_ini(path)
                     and read.keywords is not None and self._same_names(read.keywords, keywords)), [])

    def _same_names(self, names: Iterable[str], others: Iterable[str]) -> bool:
        """Whether two lists of names read from files give the same tags: compared by their keys, as their tags are
        told apart (the run's TagKeys; a file listing "Beach,beach", kept as "Beach" by the reader before, says what
        it said)."""
        return set(self._tag_keys.of(names)) == set(self._tag_keys.of(others))

    def _folder_date(self, path: Path) -> FolderDate | None:
        """The date the names of the folders the file at `path` is in tell, once per folder. The folder imported and
        those around it are among them, however it was named: "import '2019-07-14 Beach day'", "import ." from inside
        it, "import 2019/07" (the "2019" tells the year of "07"); the innermost that tells a date speaks."""
        folder = path.parent
        if folder not in self._folder_dates:
            parts = [*self._around, *folder.relative_to(self._root).parts]
            self._folder_dates[folder] = date_in_folders([text_from_os(part) for part in parts],
                                                         year_folder=is_a_year_folder)
        return self._folder_dates[folder]

    def _import_one(self, path: Path, family: Family, uploader, tags: list[str], known: dict[str, int],
                    trashed: set[str], deleted: set[str], undated: set[str], lacking: dict[str, _Lacks], *,
                    sidecars: set[Path], counts: Counter[str]) -> UploadResult:
        """`known`, `trashed`, `deleted`: the hashes of the family's photos, of those in its trash and of those it
        deleted for good; `undated`: of those dated by a guess or a name's day (which a sidecar found now dates);
        `lacking`: of those with their file's date, what each lacks that a sidecar found now may give. `sidecars`: the
        Takeout and XMP sidecars found beside photos, to which this file's are added; `counts`: the batch's, where
        the XMP sidecars read (and what they gave photos already there) are counted."""
        name = path.name
        may_be_a_photo = _may_be_a_photo(path)
        xmp_found = xmp_sidecar_path(path) if may_be_a_photo else None
        xmp_key = _xmp_key(xmp_found) if xmp_found is not None else ""
        if xmp_found is not None:  # (not gone, whatever becomes of its photo: one that can't be read now)
            self._xmp_found.add(xmp_key)
        picasa = self._picasa.beside(path, found=self._xmp_found, sidecars=sidecars) if may_be_a_photo else None
        data = None
        try:
            stat = path.stat()
            if stat.st_size > settings.UPLOAD_MAX_BYTES:  # (a phone's videos: not read 50 MB to be refused)
                return UploadResult(name, UploadResult.REJECTED, reason=too_large(settings.UPLOAD_MAX_BYTES))
            with path.open("rb") as stream:
                data = read_limited(stream)
        except FileNotFoundError as exc:
            if path.is_symlink():
                return UploadResult(name, UploadResult.REJECTED,
                                    reason=f"it is a link to {path.readlink()}, which is missing")
            return UploadResult(name, UploadResult.REJECTED, reason=str(exc))
        except (OSError, ImageRejected) as exc:
            return UploadResult(name, UploadResult.REJECTED, reason=str(exc))
        finally:  # (a photo that can't be read now, whichever it is: its folder's Picasa file forgets none of its own)
            if picasa is not None and data is None:
                self._picasa_unsure.add(_xmp_key(picasa.path))
        if _is_a_sidecar_itself(path, data):  # (read beside its photo; a library has one beside each photo)
            return UploadResult(name, UploadResult.REJECTED, reason=NOT_AN_IMAGE)
        found = sidecar_path(path) if may_be_a_photo else None
        if found is not None:  # a Takeout sidecar: not a file left out, whatever becomes of its photo
            sidecars.add(found)
        if xmp_found is not None:  # (the same)
            sidecars.add(xmp_found)
        # Resume cheaply: files already imported are recognised by hash without decoding them again.
        digest = sha256_of(data)
        if picasa is not None:  # (its Picasa file speaks of it, whatever becomes of it: not gone)
            self._picasa_found.add((digest, _xmp_key(picasa.path)))
        if digest in known:
            self._albums.put(path, photo_id=known[digest], stored=False)
            result = _already_there(name, data, digest, family, uploader, known, undated, lacking,
                                    sidecar=self._takeout_sidecar(found))
            # (only a photo whose date its folder may change: not one the folder's day, month or year holds)
            if result.outcome == UploadResult.DUPLICATE and (day := self._folder_datable.get(digest)) is not None \
                    and (folder_date := self._folder_date(path)) is not None and not folder_date.holds(day) \
                    and photo_folder_date_fill(photo_id=known[digest], folder_date=folder_date,
                                               date_of_change=digest in lacking and lacking[digest].exif
                                               and exif_dates(data)[3]):
                del self._folder_datable[digest]
                result = UploadResult(name, FOLDER_REDATED)
            if xmp_found is not None:  # (appeared, or changed, since the photo was stored: what it adds)
                xmp_sidecar = read_xmp_sidecar(xmp_found, read_before=self._xmp_before(digest, xmp_key))
                counts[_xmp_read(xmp_sidecar)] += 1
                if xmp_sidecar.embedded is not None:
                    self._xmp_apply(known[digest], data, xmp_sidecar.embedded, counts, key=xmp_key, digest=digest)
                self._xmp_remember(known[digest], digest, xmp_key, xmp_sidecar)
            if picasa is not None:  # (appeared, or changed, since: the people and keywords it gives now)
                self._picasa_read(picasa, path, known[digest], digest, data, counts)
            return result
        if digest in trashed:
            return UploadResult(name, IN_TRASH)
        if digest in deleted:
            return UploadResult(name, DELETED)
        # A file that tells no date (a scan, a chat app's copy) is dated by its name's, else its Takeout sidecar's,
        # else by its modified time, not the import's.
        sidecar = self._takeout_sidecar(found)
        xmp_sidecar = read_xmp_sidecar(xmp_found) if xmp_found is not None else None
        result = photo_create_from_bytes(family=family, uploaded_by=uploader, data=data, filename=name, tags=tags,
                                         modified_at=_modified(stat), sidecar=sidecar,
                                         xmp_sidecar=self._picasa.with_entry(
                                             xmp_sidecar.embedded if xmp_sidecar is not None else None, picasa, path),
                                         folder_date=self._folder_date(path), tag_keys=self._tag_keys)
        if result.outcome == UploadResult.SAVED and result.photo.taken_at_source in Photo.FOLDER_DATES:
            counts[FOLDER_DATED] += 1
        if xmp_sidecar is not None and result.photo is not None:
            counts[_xmp_read(xmp_sidecar)] += 1
            if result.outcome != UploadResult.SAVED:  # (stored by another import meanwhile: given what it adds)
                self._xmp_apply(result.photo.pk, data, xmp_sidecar.embedded, counts, key=xmp_key,
                                digest=digest)
            self._xmp_remember(result.photo.pk, digest, xmp_key, xmp_sidecar)
        if picasa is not None and result.photo is not None:  # (given with it; or stored by another import meanwhile)
            self._picasa_read(picasa, path, result.photo.pk, digest, data, counts,
                              given=result.outcome == UploadResult.SAVED)
        if result.photo is not None:
            photo = result.photo
            if sidecar is not None and sidecar.trashed and result.outcome == UploadResult.SAVED:
                # In Google Photos' trash when exported: in ours, restorable for TRASH_DAYS, as it was there. A
                # re-run (or a copy further on) leaves it there, as any photo in the trash.
                try:
                    photos_trash(user=uploader, photo_ids=[photo.pk])
                except PermissionDenied as exc:  # removed from the family since the photo was stored: stop here
                    return UploadResult(name, result.outcome, photo, str(exc), family_refused=True)
                photo.trashed_at = timezone.now()
                trashed.add(photo.sha256)
                return result
            self._albums.put(path, photo_id=photo.pk, stored=result.outcome == UploadResult.SAVED)
            known[photo.sha256] = photo.pk
            if photo.taken_at_source in FOLDER_MAY_REDATE and photo.taken_at is not None:  # (a copy further on)
                self._folder_datable[photo.sha256] = photo.taken_at_local.date()
            if sidecar_may_date(photo.taken_at_source, photo.original_filename):  # (a copy further on may have
                undated.add(photo.sha256)                                          # its sidecar)
            # (a copy further on may have a sidecar, or another: two members' exports unzipped side by side)
            lacking[photo.sha256] = _Lacks(photo.latitude, photo.place_source, photo.description_source,
                                           bool(sidecar and sidecar.people),
                                           exif=photo.taken_at_source == Photo.DateSource.EXIF)
        return result


    def _takeout_sidecar(self, found: Path | None) -> Sidecar | None:
        """What the Takeout sidecar found beside a photo says (None when none was found, it holds nothing, or it can't
        be read), its path counted for the summary as read or unreadable."""
        if found is None:
            return None
        try:
            sidecar = read_sidecar(found)
        except SidecarUnreadable:  # (logged with its reason)
            self._takeout_unreadable.add(found)
            return None
        self._takeout_read.add(found)
        return sidecar


def _walk(root: Path, *, left_out: list[tuple[str, ...]] = ()) -> tuple[list[Path], list[Path]]:
    """The files below `root` to import, in name order, and the links to folders the walk did not go into (a link back
    up would never end: named in the summary, not passed over). Hidden folders, a NAS's own, the gallery's own photo
    storage and the app's own folder (`left_out`: their paths' parts from `root`) are left out, and not listed: a NAS
    share's thumbnail caches hold five files a photo, an app's .venv thousands. A link to a missing file (a drive not
    mounted) is among the files, to be named among the skipped. (os.walk, which can leave a folder unread; pathlib's
    rglob lists everything first.)"""
    files, linked, skipped = [], [], set(left_out)
    for folder, folders, names in os.walk(root):  # (not into links to folders: followlinks is off)
        here, parts = Path(folder), Path(folder).relative_to(root).parts
        kept = [name for name in folders if not _left_out(name) and (*parts, name) not in skipped]
        linked += [here / name for name in kept if (here / name).is_symlink()]
        folders[:] = [name for name in kept if not (here / name).is_symlink()]
        files += [path for path in (here / name for name in names if not _left_out(name))
                  if path.is_file() or (path.is_symlink() and not path.exists())]
    return sorted(files), sorted(linked)


def _left_out(name: str) -> bool:
    return name.startswith(".") or name in NOT_PHOTO_FOLDERS


# The dates a folder's name may replace on a photo already there (services.photo_folder_date_fill): a guess, the XMP
# metadata's, and EXIF DateTime alone (a scanner's: its file is read to tell).
FOLDER_MAY_REDATE = (*FOLDER_REPLACES, Photo.DateSource.EXIF)


def _folder_datable(family: Family) -> dict[str, date]:
    """The family's photos (by hash) whose date a folder's name may replace, each with its day: a re-run calls
    photo_folder_date_fill (which locks the photo, and reads an EXIF photo's file) for no other, nor for one whose
    day is in the folder's (digiKam's 2019/07/14 layout of camera photos: nothing to do)."""
    return dict(Photo.objects.filter(family=family, taken_at_source__in=FOLDER_MAY_REDATE, taken_day__isnull=False)
                .values_list("sha256", "taken_day"))


@dataclass(frozen=True)
class _SidecarRead:
    """What a sidecar (an XMP sidecar, a Picasa file) said of a photo when last read with it (PhotoXmpSidecar): the
    fingerprint of its bytes, its keywords, its description ("" none) and a Picasa file's albums of the photo; each
    None when not known (read before it was kept)."""

    sha256: str
    keywords: list[str] | None
    description: str | None
    albums: list[str] | None
    contact_names: dict[str, str] | None  # (a Picasa file's: the names contacts.xml gave the photo's faces)


NOT_READ = _SidecarRead("", [], "", [], None)  # (a sidecar never read with the photo: it said nothing of it)


def _xmp_read_before(family: Family) -> tuple[dict[str, str], dict[str, dict[str, _SidecarRead]]]:
    """The XMP sidecars read with the family's photos (by the photo's hash): the SHA-256 of the last one read with
    each, and what each one said by its path (_xmp_key)."""
    rows: dict[str, dict[str, _SidecarRead]] = {}
    for digest, key, *read in PhotoXmpSidecar.objects.filter(photo__family=family).values_list(
            "photo__sha256", "path", "sha256", "keywords", "description", "albums", "contact_names"):
        rows.setdefault(digest, {})[key] = _SidecarRead(*read)
    return dict(Photo.all_objects.filter(family=family).exclude(xmp_sidecar_sha256="")
                .values_list("sha256", "xmp_sidecar_sha256")), rows


def _xmp_key(path: Path) -> str:
    """The path an XMP sidecar is kept by (PhotoXmpSidecar.path): absolute, as named (".." taken lexically, not
    through links), a byte that is no UTF-8 as "\\xff" (PostgreSQL takes no lone surrogate)."""
    return os.fsencode(os.path.abspath(path)).decode("utf-8", "backslashreplace")


def _xmp_another_there(key: str, this: str) -> bool:
    """Whether the sidecar kept by `key` is still where it was read, and is not the one at `this` under another name
    (a link, another mount of the share). A path that was no UTF-8 is taken to be another, still there."""
    if "\\x" in key:
        return True
    if not os.path.isfile(key):
        return False
    try:
        return "\\x" in this or not os.path.samefile(key, this)
    except OSError:  # (the one just read is gone meanwhile)
        return True


def _xmp_given_elsewhere(photo_id: int, key: str) -> tuple[str, ...] | None:
    """The keywords the photo's other XMP sidecars (those still there) gave when they were read, which a change in the
    one at `key` takes off none of; None when one of them is not known (kept from before sidecars were by path, or
    read without a keyword block)."""
    given: list[str] = []
    for path, keywords in PhotoXmpSidecar.objects.filter(photo_id=photo_id).exclude(path=key).values_list(
            "path", "keywords"):
        if not _xmp_another_there(path, key):  # (its copy moved or removed: it speaks no more)
            continue
        if keywords is None:
            return None
        given.extend(keywords)
    return tuple(given)


def _family_hashes(family: Family, *, include_deleted: bool) -> tuple[dict[str, int], set[str], set[str], dict,
                                                                    set[str]]:
    """What the import needs to know of the family's photos, by hash (one read of them): each photo's id (`known`),
    those in its trash (a re-run must not undo the family's deletions: left there, not restored as an upload would),
    those a sidecar found now may date (`undated`), what each photo with its file's date lacks that a sidecar may
    give (`lacking`: any not dated by a member, as another member's export of the photo may hold their own caption,
    people and position), and those it deleted for good (a nightly import of a phone's folder would undo every deletion;
    empty with `include_deleted`)."""
    known, trashed, undated, lacking = {}, set(), set(), {}
    for pk, sha256, trashed_at, source, filename, *lacks in Photo.all_objects.filter(family=family).annotate(
            people=Exists(PhotoTag.objects.filter(photo=OuterRef("pk"), source=PhotoTag.Source.SIDECAR))
    ).values_list("pk", "sha256", "trashed_at", "taken_at_source", "original_filename", "latitude",
                  "place_source", "description_source", "people"):
        if trashed_at:
            trashed.add(sha256)
            continue
        known[sha256] = pk
        if sidecar_may_date(source, filename):  # a sidecar found now dates them
            undated.add(sha256)
        if source != Photo.DateSource.MEMBER:  # …and gives a dated photo what it lacks (one dated by another
            lacking[sha256] = _Lacks(*lacks, exif=source == Photo.DateSource.EXIF)  # member's sidecar too)
    deleted = set() if include_deleted else set(
        DeletedPhoto.objects.filter(family=family).values_list("sha256", flat=True))
    return known, trashed, undated, lacking, deleted


def _already_there(name: str, data: bytes, digest: str, family: Family, uploader, known: dict[str, int],
                   undated: set[str], lacking: dict[str, _Lacks], *, sidecar: Sidecar | None) -> UploadResult:
    """A file whose photo the family has (`known[digest]`): what its Takeout sidecar (if any) gives it now: the star,
    when this member's import reads it first; the date, when the photo's is a guess or a name's day (`undated`) or a
    scanner's date of change; else what it lacks (`lacking`). Counted as dated, given, or already there."""
    if sidecar is None:
        return UploadResult(name, UploadResult.DUPLICATE)
    # Its star, whenever this member's import reads it first (another part of the export, their own export).
    photo_sidecar_star(photo_id=known[digest], sidecar=sidecar, importer=uploader)
    if digest in undated and photo_sidecar_fill(family=family, sha256=digest, sidecar=sidecar) is not None:
        undated.discard(digest)
        return UploadResult(name, DATED)
    # A date of change alone (EXIF DateTime: the day a scanner or an editor wrote the file) gives way to the
    # sidecar's date taken, as it does when the two are imported together.
    if digest in lacking and sidecar.taken_at is not None and lacking[digest].exif and exif_dates(data)[3] \
            and photo_sidecar_fill(family=family, sha256=digest, sidecar=sidecar,
                                   date_of_change=True) is not None:
        del lacking[digest]
        return UploadResult(name, DATED)
    if digest in lacking and lacking[digest].given_by(sidecar) \
            and photo_sidecar_complete(family=family, sha256=digest, sidecar=sidecar) is not None:
        del lacking[digest]
        return UploadResult(name, FILLED)
    return UploadResult(name, UploadResult.DUPLICATE)


class _Albums:
    """The albums an import puts its photos in: `--album`'s for every photo; each folder's, named as the folder, with
    `--album-per-folder`; the Google Photos albums of a Takeout export (folders with an album's own JSON:
    gallery.sidecars.read_takeout_album), named and described as there; and Picasa's albums, named in each folder's
    .picasa.ini (put_named). Each is the family's album of that name, made by the importing member when the family has
    none. A photo already in the family goes in only when this run made the album (or, for a Picasa album, when its
    Picasa file is read with it for the first time): a re-run (a nightly import) does not put back what a member took
    out of an album."""

    def __init__(self, files: list[Path], family: Family, uploader, *, root: Path, every: str | None = None,
                 per_folder: bool = False) -> None:
        self.every = TakeoutAlbum(title=one_line(every), description="") if every is not None else None
        if self.every is not None:  # (a name no album may have: refused before any file is read)
            try:
                album_text_clean(self.every.title, "")
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
        read = {path: album for path in files if path.suffix.lower() == ".json"
                and (album := read_takeout_album(path)) is not None}
        self.files = set(read)  # (the albums' own JSON files: no files left out)
        self.by_folder = {path.parent: album for path, album in read.items() if not album.year}
        self.year_folders: list[str] = []  # Google Photos' folders by date that --album-per-folder made no album of
        self.date_folders: list[str] = []  # folders named by a date alone ("2019/08"): no album either
        if per_folder:
            for folder in {path.parent for path in files} - {root} - set(self.by_folder):
                # (named as text read from files is: a Mac's decomposed "u" + U+0308 is the "ü" of the family's album)
                name = one_line(text_from_file(text_from_os(folder.name)))
                if is_a_year_folder(name):  # ("Photos from 2019": the export's folder of that year's photos)
                    self.year_folders.append(name)
                elif is_a_date_folder(name):  # ("2019/08": every year's August would be one album "08")
                    self.date_folders.append(name)
                else:
                    self.by_folder[folder] = TakeoutAlbum(title=name, description="")
            self.year_folders.sort()
            self.date_folders = sorted(set(self.date_folders))
        self.family, self.uploader, self.root = family, uploader, root
        self.albums: dict[Path | str | None, Album | None] = {}  # (by folder; Picasa's by "picasa:" + name's key)
        self.name_keys = AlbumNameKeys()  # (Picasa's album names as album_find_or_create tells them apart)
        self.made: set[int] = set()  # the albums this run made
        self.new: set[int] = set()  # the photos this run stored (an album's copy of one is the same photo)
        self.pending: dict[int, list[int]] = {}  # photo ids to put in each album (by id) when the batch ends
        self.unless_taken_out: set[tuple[int, int]] = set()  # (album id, photo id) pending unless a member took it out
        self.filled: Counter[str] = Counter()  # photos put in each album by this import

    def put(self, path: Path, *, photo_id: int, stored: bool) -> None:
        """Queue the photo of the file at `path` (just `stored`, or already there) for its albums."""
        if stored:
            self.new.add(photo_id)
        for album in dict.fromkeys((self._album(None, self.every),
                                    self._album(path.parent, self.by_folder.get(path.parent)))):
            self._queue(album, photo_id)

    def put_named(self, names: tuple[str, ...], *, photo_id: int, stored: bool, first: bool,
                  gained: tuple[str, ...] = ()) -> None:
        """Queue the photo `photo_id` (just `stored`, or already there) for the albums of these names (a Picasa file's:
        gallery.picasa_ini), when the album is made by this run, the photo is new, a Picasa file is read with it for
        the first time (`first`: none was, at any path, since the photo was imported), or the file's list `gained` the
        album since it was read with the photo (added to it in Picasa); not when a member took the photo out of the
        album (RemovedAlbumPhoto, looked up when the batch ends), nor for an album listed before, which a member may
        have taken the photo out of before that was kept."""
        if stored:
            self.new.add(photo_id)
        gained_keys = set(self.name_keys.of(_album_name(name) for name in gained))
        named: dict[str, str] = {}  # (each album once, by its name's key: the first spelling names one made)
        for key, name in zip(self.name_keys.of(_album_name(name) for name in names), names):
            named.setdefault(key, name)
        for key, name in named.items():
            self._queue(self._album(f"picasa:{key}", TakeoutAlbum(title=name, description="")), photo_id,
                        also=first or key in gained_keys)

    def _queue(self, album: Album | None, photo_id: int, *, also: bool = False) -> None:
        """Queue the photo for the album (None: no album) when the photo is new to the family, the album was made by
        this run, or `also` (put_named's first reading, or an album gained), unless a member took it out (flush);
        else not: a member may have taken the photo out of it."""
        if album is None:
            return
        if photo_id in self.new or album.pk in self.made:
            self.pending.setdefault(album.pk, []).append(photo_id)
        elif also:
            self.pending.setdefault(album.pk, []).append(photo_id)
            self.unless_taken_out.add((album.pk, photo_id))

    def flush(self) -> None:
        """Put the queued photos in their albums (in the batch's transaction: counted once they are in), but those a
        member took out of them (one query a batch, when a photo already there was queued for an album it was not
        put in by this run)."""
        albums = {album.pk: album for album in self.albums.values() if album is not None}
        if self.unless_taken_out:
            taken_out = set(RemovedAlbumPhoto.objects.filter(
                album_id__in={pk for pk, _ in self.unless_taken_out},
                photo_id__in={photo_id for _, photo_id in self.unless_taken_out}).values_list("album_id", "photo_id"))
            self.pending = {pk: [photo_id for photo_id in photo_ids if (pk, photo_id) not in taken_out]
                            for pk, photo_ids in self.pending.items()}
            self.unless_taken_out = set()
        for pk, photo_ids in self.pending.items():
            try:
                outcomes = album_add_photos(user=self.uploader, album=albums[pk], photo_ids=photo_ids)
            except (ValidationError, PermissionDenied, Album.DoesNotExist) as exc:  # (gone meanwhile; the member left)
                logger.warning("photos not put in album %r: %s", albums[pk].name, exc)
                continue
            self.filled[albums[pk].name] += sum(1 for outcome in outcomes if outcome.ok and not outcome.reason)
        self.pending = {}

    def _album(self, key: Path | str | None, found: TakeoutAlbum | None) -> Album | None:
        if found is None:
            return None
        if key not in self.albums:
            self.albums[key] = self._find_or_make(found, folder=key if isinstance(key, Path) else None)
        return self.albums[key]

    def _find_or_make(self, found: TakeoutAlbum, *, folder: Path | None) -> Album | None:
        name = _album_name(found.title)
        try:
            album, made = album_find_or_create(user=self.uploader, family=self.family, name=name,
                                               description=found.description[:MAX_DESCRIPTION])
        except ValidationError as exc:  # (a name or description no album may have, a smart album's: photos imported)
            if folder is None:
                logger.warning("album %r not made: %s", name, " ".join(exc.messages))
            else:  # (which folder: its name may be the cause, spaces or invisible marks alone)
                logger.warning("no album made for the folder %r (its photos are imported): %s",
                               text_from_os(str(folder.relative_to(self.root))), " ".join(exc.messages))
            return None
        if made:
            self.made.add(album.pk)
        return album


def _album_name(title: str) -> str:
    """The name of the album a title (a folder's, a Google Photos or Picasa album's) finds or makes."""
    return title[:MAX_NAME].strip()


@dataclass(frozen=True)
class _Lacks:
    """What a photo the family has (its date not a member's) may lack that a Takeout sidecar gives (read when the
    import starts): one with its file's date (its camera's, its name's) imported without its sidecar, or one dated by
    another member's export of it."""

    latitude: float | None
    place_source: str
    description_source: str
    people: bool  # it has people named in Google Photos
    exif: bool = False  # dated by its EXIF (a date of change alone gives way to a sidecar's date taken)

    def given_by(self, sidecar: Sidecar) -> bool:
        """Whether the sidecar has something the photo lacks (so that a re-run locks no photo for nothing)."""
        return bool((sidecar.latitude is not None and self.latitude is None
                     and self.place_source != Photo.PlaceSource.MEMBER)
                    or (sidecar.description and self.description_source == Photo.FieldSource.NONE)
                    or (sidecar.people and not self.people))


def _sidecar_note(counts: Counter[str]) -> str:
    """What the Takeout sidecars found now gave photos already there: " (3 dated now by their Takeout sidecars)"."""
    notes = []
    if counts[FOLDER_REDATED]:
        notes.append(f"{counts[FOLDER_REDATED]} dated now by the name of "
                     f"{'its' if counts[FOLDER_REDATED] == 1 else 'their'} folder")
    if counts[DATED]:
        notes.append(f"{counts[DATED]} dated now by "
                     f"{'its Takeout sidecar' if counts[DATED] == 1 else 'their Takeout sidecars'}")
    if counts[FILLED]:
        notes.append(f"{counts[FILLED]} given {'its' if counts[FILLED] == 1 else 'their'} people, caption or place by "
                     f"{'its Takeout sidecar' if counts[FILLED] == 1 else 'their Takeout sidecars'}")
    return f" ({', '.join(notes)})" if notes else ""


def _xmp_note(counts: Counter[str]) -> str:
    """What the XMP sidecars read changed on photos already there, counted: "; 2 photos were already there and changed
    by their sidecars: 1 title replaced, 1 place given, 3 keywords added, 1 keyword removed (…)"."""
    photos = counts[XMP_GAVE]
    if not photos:
        return ""
    parts = [f"{n} {what}{'' if n == 1 else 's'} {how}" for what in ("title", "description", "place", "date")
             for how in ("replaced", "given", "removed") if (n := counts[XMP_CHANGED.format(what, how)])]
    for how in ("added", "removed"):
        if n := counts[XMP_CHANGED.format("keywords", how)]:
            parts.append(f"{n} keyword{'' if n == 1 else 's'} {how}")
    if counts[XMP_CHANGED.format("keywords", "removed")]:
        parts[-1] += " (in neither the sidecar nor the file any more: never a member's tag)"
    return (f"; {photos} photo{' was' if photos == 1 else 's were'} already there and changed by "
            f"{'its sidecar' if photos == 1 else 'their sidecars'}" + (": " + ", ".join(parts) if parts else ""))


def _xmp_read(sidecar: XmpSidecar) -> str:
    """How an XMP sidecar counts: read, skipped when it could not be (nothing read, a problem logged), or unchanged
    since it was read with its photo (not read again)."""
    return XMP_UNCHANGED if sidecar.embedded is None else XMP_SKIPPED if sidecar.unreadable else XMP_READ


def _modified(stat) -> datetime | None:
    """A file's modified time, None when it can't be one (zero, or in the future: a clock that was wrong)."""
    try:
        when = datetime.fromtimestamp(stat.st_mtime, tz=dt_timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return when if datetime(1971, 1, 1, tzinfo=dt_timezone.utc) < when <= timezone.now() else None


def _may_be_a_photo(path: Path) -> bool:
    """Whether the file's name lets it be a photo (whose Takeout sidecar is looked for): named as an image, or as
    nothing we know: no extension ("IMG_1234", sidecar "IMG_1234.json"), or none after its last dot ("03.03.13 - 1")."""
    extension = path.suffix[1:].lower()
    return names_an_image_format(extension) or (extension not in SIDECARS and extension not in VIDEOS
                                                and mimetypes.guess_type(f"x.{extension}")[0] is None)


def _is_a_sidecar_itself(path: Path, data: bytes) -> bool:
    """Whether the file is a sidecar as both its name and its bytes say: an XMP packet named .xmp, a Takeout record
    named .json, or a file so named that holds nothing (a write cut short: no photo either; beside a photo, its sidecar
    that could not be read). No image to look for in it (a decode and the upload's checks of the family and the
    uploader, per sidecar): it is left out as one, without them. (A photo renamed .xmp or .json is still tried as
    one.)"""
    extension = path.suffix.lower()
    if extension in (EXTENSION, ".json") and not data:
        return True
    return (extension == EXTENSION and is_an_xmp_sidecar(data)) or (extension == ".json" and is_a_sidecar(data))


def _no_photo(path: Path, result: UploadResult) -> bool:
    """A file that holds no image (or one too large to look at: a long video) and whose name says it is something
    else: a sidecar (.json, .xmp), a video, notes. A file named as an image that is none, a damaged one, or one of
    a kind we can't tell (a camera's raw format: .arw, .dng, …) is a problem to name."""
    if result.outcome != UploadResult.REJECTED or result.reason not in (NOT_AN_IMAGE,
                                                                         too_large(settings.UPLOAD_MAX_BYTES)):
        return False
    return not _may_be_a_photo(path)


class _Picasa:
    """The Picasa files beside an import's photos (gallery.picasa_ini), and what became of them, for the summary."""

    def __init__(self, family: Family, uploader, *, contacts: dict[str, str] | None = None) -> None:
        self.inis = PicasaInis(contacts=contacts)
        self.read: set[Path] = set()  # read in this run (changed since they were read with a photo)
        self.unchanged: set[Path] = set()  # found as read before with their photos (not read again)
        self.unreadable: set[Path] = set()
        self.family, self.uploader = family, uploader
        # The photos whose star (Picasa's, or a Takeout sidecar's) this member's imports have read: read once
        # (SidecarStar), and looked for in no file again.
        self.starred = set(SidecarStar.objects.filter(user=uploader, photo__family=family)
                           .values_list("photo_id", flat=True))
        self._undescribed: set[int] | None = None  # the photos without a description (may_describe)

    def beside(self, path: Path, *, found: set[str], sidecars: set[Path]) -> PicasaIni | None:
        """The Picasa file of the folder of the photo at `path` (None when none), noted as found (the file is not gone)
        and as a sidecar (a `Picasa.ini`, which the walk lists, is no file left out)."""
        picasa = self.inis.beside(path)
        if picasa is not None:
            found.add(_xmp_key(picasa.path))
            sidecars.add(picasa.path)
        return picasa

    def with_entry(self, xmp: Embedded | None, picasa: PicasaIni | None, path: Path) -> Embedded | None:
        """What a new photo's XMP sidecar says (`xmp`), with the people and keywords its Picasa file gives it."""
        entry = picasa.entry(path.name) if picasa is not None and not picasa.unreadable else None
        if entry is None or not entry.keywords:
            return xmp
        return entry.embedded() if xmp is None else embedded_merged(file=entry.embedded(), sidecar=xmp)

    def may_describe(self, photo_id: int, *, new: bool) -> bool:
        """Whether a caption its file did not say before may be the photo's description: it is `new`, or had no
        description from anyone when this run first asked (none is looked at for a caption the file said already:
        _picasa_caption), and was not asked for since. (Read once, when such a caption is first found: a run without
        them costs nothing.)"""
        if new:
            return True
        if self._undescribed is None:
            self._undescribed = set(Photo.objects.filter(family=self.family, description_source=Photo.FieldSource.NONE)
                                    .values_list("pk", flat=True))
        if photo_id not in self._undescribed:
            return False
        self._undescribed.discard(photo_id)
        return True

    def count(self, picasa: PicasaIni, *, changed: bool) -> None:
        (self.unreadable if picasa.unreadable else self.read if changed else self.unchanged).add(picasa.path)

    def may_star(self, picasa: PicasaIni, photo_id: int) -> bool:
        """Whether the Picasa file may star the photo for the member importing (an unchanged file is parsed for
        it only then)."""
        return picasa.may_star and photo_id not in self.starred

    def star(self, picasa: PicasaIni, photo_id: int) -> None:
        """A photo starred in Picasa, the importing member's favourite: once for each member and photo (a heart taken
        off stays off), whichever import of theirs reads it first (services.photo_sidecar_star)."""
        if photo_id not in self.starred:
            photo_sidecar_star(photo_id=photo_id, sidecar=Sidecar(path=picasa.path, favourite=True),
                               importer=self.uploader)
            self.starred.add(photo_id)

    def summary(self, counts: Counter[str]) -> list[str]:
        lines = []
        if self.read:
            photos, added, removed = (counts[PICASA_GAVE], counts[PICASA_CHANGED.format("added")],
                                      counts[PICASA_CHANGED.format("removed")])
            changed = [f"{n} keyword{'' if n == 1 else 's'} {how}" for n, how in ((added, "added"),
                                                                                    (removed, "removed")) if n]
            if removed:
                changed[-1] += " (given there no more: never a member's tag)"
            changed += [f"{n} caption{'' if n == 1 else 's'} {how}" for how in ("given", "replaced", "removed")
                        if (n := counts[PICASA_CAPTION.format(how)])]
            lines.append(
                f"Picasa files read: {len(self.read)} (.picasa.ini: the people named in Picasa and its keywords, as "
                "tags from the file; a photo starred there, a favourite of the member importing; Picasa's albums, "
                "the family's albums of their names; a caption, the photo's description while nobody edits it)"
                + (f"; {photos} photo{' was' if photos == 1 else 's were'} already there and changed by "
                   f"{'its Picasa file' if photos == 1 else 'their Picasa files'}: " + ", ".join(changed)
                   if photos else ""))
        if self.inis.contacts:
            lines.append(f"Picasa contacts: {len(self.inis.contacts)} (contacts.xml: the names of the faces a folder's "
                         ".picasa.ini does not name)")
        if unchanged := self.unchanged - self.read:
            lines.append(f"Picasa files unchanged since they were last read: {len(unchanged)} (not read again)")
        if counts[PICASA_GONE]:
            lines.append(f"Picasa files gone since they were last read: {counts[PICASA_GONE]} (what they gave stays on "
                         "their photos: take a tag off on the photo's page)")
        if self.unreadable:
            lines.append(f"Picasa files that could not be read: {len(self.unreadable)} (skipped, their photos "
                         "imported: the log says why)")
        return lines
