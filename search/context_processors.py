from django.conf import settings

from search.models import EmbeddingModel


def model_banner(request):
    """Every page says plainly when semantic search is off, and why (recorded by whoever tried to load it)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    state = EmbeddingModel.objects.filter(name=settings.SEARCH_MODEL, available=False).first()
    return {"model_unavailable": state}
