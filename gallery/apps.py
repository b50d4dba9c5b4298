from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "gallery"
    verbose_name = "Gallery"

    def ready(self) -> None:
        # pillow-heif teaches Pillow to decode HEIC/HEIF (iPhone photos).
        from pillow_heif import register_heif_opener

        register_heif_opener()
