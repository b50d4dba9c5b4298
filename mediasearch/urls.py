from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from gallery.forms import SignInForm
from gallery.views import shared
from gallery.views.accounts import (
    CheckedPasswordChangeView, SignOutView, api_token_revoke_view, api_tokens_page, invite_open,
)
from gallery.views.setup import first_run
from mediasearch.health import health
from mediasearch.views import SchemaView

api_v1 = [
    path("", include("gallery.api_urls")),
    path("", include("search.api_urls")),
    path("schema/", SchemaView.as_view(), name="schema"),
]

# A database out of reach answers 503 with Retry-After, not 500; the 400 and 500 pages are drawn without the database
# (mediasearch/views.py).
handler500 = "mediasearch.views.server_error"
handler400 = "mediasearch.views.bad_request"
handler404 = "mediasearch.views.page_not_found"

urlpatterns = [
    # For load balancers and orchestrators: no sign-in, no session, no first-run redirect (gallery.middleware).
    path("health/", health, name="health"),
    path("setup/", first_run, name="setup"),
    # Someone already signed in (a bookmark of this page, the back button) goes on to where the link leads.
    path("accounts/login/",
         auth_views.LoginView.as_view(authentication_form=SignInForm, redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", SignOutView.as_view(), name="logout"),
    path("accounts/password/", CheckedPasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/",
         auth_views.PasswordChangeDoneView.as_view(template_name="accounts/password_change_done.html"),
         name="password_change_done"),
    path("accounts/tokens/", api_tokens_page, name="api_tokens_page"),
    path("accounts/tokens/<int:token_id>/revoke/", api_token_revoke_view, name="api_token_revoke"),
    # Outside the gallery's sign-in wall: the invitee may have no account yet.
    path("invite/<str:token>/", invite_open, name="invite"),
    # A shared album: for anyone holding the link; every one of these URLs checks it.
    path("shared/<str:token>/", shared.shared_album, name="shared_album"),
    path("shared/<str:token>/download/", shared.shared_download, name="shared_download"),
    path("shared/<str:token>/photos/<int:photo_id>/", shared.shared_photo, name="shared_photo"),
    path("shared/<str:token>/photos/<int:photo_id>/thumbnail/", shared.shared_thumbnail, name="shared_thumbnail"),
    path("shared/<str:token>/photos/<int:photo_id>/display/", shared.shared_display, name="shared_display"),
    path("shared/<str:token>/photos/<int:photo_id>/original/", shared.shared_original, name="shared_original"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("", include("search.urls")),
    path("", include("gallery.urls")),
]
