from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "gallery"
    verbose_name = "Gallery"

    def ready(self) -> None:
        from gallery import checks, photo_lists  # noqa: F401 - checks registers itself
        from django.contrib.auth.signals import user_logged_in

        from gallery.signin import forget_own_failures

        user_logged_in.connect(forget_own_failures, dispatch_uid="gallery.signin.forget_own_failures")
        from gallery.services import on_photos_changed
        from gallery.signals import photos_added, photos_changed, photos_restored, photos_trashed

        # Lists the gallery keeps a while per version of a family's photos (the timeline's months) follow each change.
        for signal in (photos_added, photos_changed, photos_trashed, photos_restored):
            signal.connect(on_photos_changed, dispatch_uid=f"gallery.photos_version.{id(signal)}")
        from gallery.timeline import TimelineList

        photo_lists.register(TimelineList())  # the viewer's default list; search registers its results itself

        from gallery.album_selectors import AlbumList

        photo_lists.register(AlbumList())  # the viewer walks an album in its order

        # pillow-heif teaches Pillow to decode HEIC/HEIF (iPhone photos).
        from pillow_heif import register_heif_opener

        register_heif_opener()

        # gallery.images checks each format's own pixel limit before decoding anything; Pillow's global
        # guard (which refuses outright at twice this) only has to stay above those limits.
        from django.conf import settings
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = max(settings.UPLOAD_MAX_PIXELS, settings.UPLOAD_MAX_PIXELS_JPEG)
