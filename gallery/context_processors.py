from gallery.selectors import family_list


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_families": family_list(user=user)}
