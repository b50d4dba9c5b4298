from django.apps import AppConfig


class MediasearchConfig(AppConfig):
    """The project package is an app only so that it can carry project-wide commands (`serve`)."""

    name = "mediasearch"
    verbose_name = "MediaSearch"

    def ready(self) -> None:
        from mediasearch import checks  # noqa: F401 - registers itself
