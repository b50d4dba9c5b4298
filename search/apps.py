from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from gallery.signals import photos_added, photos_changed
        from search.receivers import on_photos_added, on_photos_changed

        photos_added.connect(on_photos_added, dispatch_uid="search.embed_new_photos")
        photos_changed.connect(on_photos_changed, dispatch_uid="search.refresh_documents")
