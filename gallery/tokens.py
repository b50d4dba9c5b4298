"""API tokens (django-rest-knox, model gallery.ApiToken): made by POST /api/v1/auth/token/, listed and revoked by
their owner (API and the account's token page), ended by API_TOKEN_IDLE_DAYS without use.

knox does the hard parts (random keys, only a hash at rest, constant-time compare, expiry pushed back on use);
here: remembering when a token was last used, and the owner's reads and writes."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.settings import knox_settings
from rest_framework import exceptions

from gallery.models import ApiToken
from gallery.text import one_line, without_controls, without_loose_direction_codes

LABEL_MAX = ApiToken._meta.get_field("label").max_length


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's `Authorization: Token <key>`, also noting when each token was last used (at most once a minute, as
    knox writes the pushed-back expiry)."""

    def authenticate_credentials(self, token: bytes):
        # A key is hex. knox decodes whatever came as UTF-8, and a header byte that is none was a 500.
        if not token.isascii():
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(token)

    def validate_user(self, auth_token: ApiToken):
        user, token = super().validate_user(auth_token)
        now = timezone.now()
        if token.last_used is None or (now - token.last_used).total_seconds() > knox_settings.MIN_REFRESH_INTERVAL:
            token.last_used = now
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        return user, token


class TokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI schema's name for it: the same "tokenAuth" as DRF's token, which clients were generated from."""

    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": 'Token-based authentication with required prefix "Token"'}


@transaction.atomic
def api_token_create(*, user: AbstractBaseUser, label: str = "") -> tuple[ApiToken, str]:
    """A new token for `user`: the row, and the key (shown this once; only its hash is kept).

    Beyond API_TOKEN_MAX tokens the user's least recently used ones are revoked: a script written for the old
    one-token-per-user API asks for a token on every run, and must not pile up thousands of them (knox also
    walks all of a user's tokens on each request)."""
    # (a label is typed, checked as typed text is (token_apis), or is the client's User-Agent, which nobody typed: shown
    # in a list, one line, without control characters nor the direction codes that turn it around. Those are read
    # after the cut to LABEL_MAX: an isolate closed past it is one left open in the label)
    label = one_line(without_controls(label or ""))[:LABEL_MAX]
    label = one_line(without_loose_direction_codes(label))
    token, key = ApiToken.objects.create(user=user, label=label)
    keep = (ApiToken.objects.filter(user=user)
            .order_by(Coalesce("last_used", "created").desc(), "-id")[:settings.API_TOKEN_MAX].values("pk"))
    ApiToken.objects.filter(user=user).exclude(pk__in=keep).delete()
    return token, key


def api_tokens_of(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    """The user's tokens that still work, newest first."""
    now = timezone.now()
    tokens = ApiToken.objects.filter(user=user)
    return tokens.exclude(expiry__lte=now).order_by("-created", "-id")


@transaction.atomic
def api_token_revoke(*, user: AbstractBaseUser, token_id: int) -> None:
    """Delete one of the user's own tokens. Another user's id, or one that is gone, is the same 404."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise Http404("No such token.")


def api_tokens_revoke_all(*, user: AbstractBaseUser) -> int:
    """Every token of the user stops working (their password changed)."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    return deleted
