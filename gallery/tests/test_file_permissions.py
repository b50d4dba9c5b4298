"""Media files and their folders are readable by the service user only, whichever code path writes them."""

from __future__ import annotations

import stat
from pathlib import Path

from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from gallery.models import Photo
from tests import images


def _media_root() -> Path:
    return Path(django_settings.STORAGES["default"]["OPTIONS"]["location"])


def _modes(root: Path) -> dict[str, int]:
    return {str(path.relative_to(root)): stat.S_IMODE(path.stat().st_mode) for path in [root, *root.rglob("*")]}


def test_an_upload_and_its_renditions_are_private_and_so_are_their_folders(client_for, alice, family):
    response = client_for(alice).post(reverse("gallery:upload"), {
        "family": family.pk, "files": [SimpleUploadedFile("a.jpg", images.jpeg()),
                                       SimpleUploadedFile("b.heic", images.image_bytes("HEIF", colour=(9, 200, 9)))]})
    assert response.status_code == 200
    photos = list(Photo.objects.all())
    assert len(photos) == 2 and all(photo.display for photo in photos)

    modes = _modes(_media_root())
    for photo in photos:
        for field in (photo.original, photo.thumbnail, photo.display):
            assert modes[field.name] == 0o600, (field.name, oct(modes[field.name]))
    assert {oct(mode) for name, mode in modes.items() if (_media_root() / name).is_dir()} == {"0o700"}
    assert {oct(mode) for name, mode in modes.items() if (_media_root() / name).is_file()} == {"0o600"}


def test_renditions_made_later_by_the_command_are_private_too(client_for, alice, family):
    client_for(alice).post(reverse("gallery:upload"), {"family": family.pk,
                                                       "files": [SimpleUploadedFile("a.jpg", images.jpeg())]})
    photo = Photo.objects.get()
    photo.display.delete(save=True)  # as for photos stored before renditions existed

    call_command("make_renditions", "--no-progress")

    photo.refresh_from_db()
    assert stat.S_IMODE((_media_root() / photo.display.name).stat().st_mode) == 0o600
