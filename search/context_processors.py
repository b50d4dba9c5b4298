from django.conf import settings

from search.models import EmbeddingModel


def model_banner(request):
    """Every page says plainly when semantic search is off, and why (recorded by whoever tried to load it).

    During a model switch the user's families may all still be searched with the previous model although the new
    one can't load: search is not off then, and members are told nothing alarming; a superuser (who can fix it) is
    told the new model can't load (`model_fallback`)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    state = EmbeddingModel.objects.filter(name=settings.SEARCH_MODEL, available=False).first()
    if state is None:
        return {"model_unavailable": None}
    from search.selectors import models_searched

    searched = models_searched(user=request.user)
    return {"model_unavailable": state, "model_fallback": bool(searched) and state.name not in searched}
