from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from gallery.models import Family
        from gallery.signals import (
            members_joined, members_leaving, photos_added, photos_changed, photos_restored, photos_rotated,
            photos_trashed, tags_merged,
        )
        from search.receivers import (
            on_family_deleted, on_members_joined, on_members_leaving, on_photos_added, on_photos_changed,
            on_photos_restored,
            on_photos_rotated, on_photos_trashed, on_tags_merged,
        )

        photos_added.connect(on_photos_added, dispatch_uid="search.embed_new_photos")
        photos_changed.connect(on_photos_changed, dispatch_uid="search.refresh_documents")
        photos_trashed.connect(on_photos_trashed, dispatch_uid="search.hide_trashed_photos")
        photos_rotated.connect(on_photos_rotated, dispatch_uid="search.reembed_rotated_photos")
        photos_restored.connect(on_photos_restored, dispatch_uid="search.show_restored_photos")
        post_delete.connect(on_family_deleted, sender=Family, dispatch_uid="search.drop_family_indexes")
        members_leaving.connect(on_members_leaving, dispatch_uid="search.leavers_judgments_out")
        members_joined.connect(on_members_joined, dispatch_uid="search.joiners_judgments_in")
        tags_merged.connect(on_tags_merged, dispatch_uid="search.concepts_follow_merges")

        from gallery import photo_lists
        from search.viewer import SearchList

        photo_lists.register(SearchList())  # the photo viewer walks search results in their order

        from gallery import smart_albums
        from search.smart_albums import SmartAlbumSearch

        smart_albums.register(SmartAlbumSearch())  # smart albums' photos are a saved search's results

        from search.ocr_requests import read_text_action_register

        read_text_action_register()  # the selection bar's and bulk API's "Read text"
