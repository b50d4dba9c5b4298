from django.conf import settings

from gallery.selectors import family_list


def navigation(request):
    # How long the viewer's slideshow shows each photo (static/js/viewer.js reads it from the viewer): share links'
    # visitors have the slideshow too.
    context = {"slideshow_seconds": settings.SLIDESHOW_SECONDS}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    return {**context, "nav_families": family_list(user=user)}
