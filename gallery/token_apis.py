"""API tokens over the API: get one with a username and password, list and revoke one's own."""

from __future__ import annotations

import math

from django.contrib.auth import authenticate, get_user_model
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from gallery.api_fields import ParamsSerializer, TextField
from gallery.apis import LOCATION, created
from gallery.signin import client_ip
from gallery.text import NoControlCharacters
from gallery.tokens import LABEL_MAX, api_token_create, api_token_revoke, api_tokens_of


class AddressRateThrottle(ScopedRateThrottle):
    """API_TOKEN_RATE per client address, the one the lockout counts (REMOTE_ADDR, or behind SIGNIN_PROXY_COUNT
    proxies what the outermost one saw). DRF's own reads the whole X-Forwarded-For header, which a client writes."""

    def get_ident(self, request) -> str:
        return client_ip(request) or ""


class TokenObtainInputSerializer(ParamsSerializer):
    username = TextField(max_length=150)
    password = TextField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    label = TextField(max_length=LABEL_MAX, required=False, allow_blank=True, validators=[NoControlCharacters("A label")],
                      help_text="What the token is for (shown in the token list); the client's "
                                            "User-Agent when left out.")

    def validate_username(self, value: str) -> str:
        # As the sign-in page reads it (Django's UsernameField) and accounts are stored: "ａｌｉｃｅ" is alice.
        return get_user_model().normalize_username(value)


class TokenObtainOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The key, shown this once: send it as `Authorization: Token <key>`.")
    id = serializers.IntegerField(help_text="The token's id in GET /api/v1/auth/tokens/ (for revoking it).")
    expires = serializers.DateTimeField(source="expiry", allow_null=True,
                                        help_text="When it stops working unless used before (each use pushes this "
                                                  "back by API_TOKEN_IDLE_DAYS); null: never.")


class TokenOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    created = serializers.DateTimeField()
    last_used = serializers.DateTimeField(allow_null=True)
    expires = serializers.DateTimeField(source="expiry", allow_null=True,
                                        help_text="Ends then unless used before; null: never.")
    current = serializers.SerializerMethodField(help_text="Whether this request was made with this token.")

    def get_current(self, token) -> bool:
        return token.pk == getattr(self.context.get("current"), "pk", None)


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class LockedSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Locked, and for how long.")
    retry_after = serializers.IntegerField(help_text="Seconds until sign-in may be tried again (also Retry-After).")


class TokenObtainApi(APIView):
    """A username and password buy a new token (several per user: one per device or script)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AddressRateThrottle]
    throttle_scope = "api_token"

    @extend_schema(
        request=TokenObtainInputSerializer,
        responses={
            201: TokenObtainOutputSerializer,
            400: OpenApiResponse(DetailSerializer, description="Missing fields, or a wrong username or password."),
            429: OpenApiResponse(LockedSerializer, description="Too many failed sign-ins for this account or "
                                                               "from this address, or too many requests."),
        },
        auth=[],
        parameters=[LOCATION],
        description="201 with the new token; `Location` is its URL in the token list (DELETE it to revoke it).",
    )
    def post(self, request):
        serializer = TokenObtainInputSerializer(data=request.data)
        if not serializer.is_valid():
            # One body for every 400 of this endpoint, as its schema says: what is wrong, in a sentence (a bad label
            # alone is no missing username or password).
            problems = "; ".join(f"{field}: {' '.join(str(m) for m in messages)}"
                                 for field, messages in serializer.errors.items())
            if {"username", "password"} & set(serializer.errors):
                problems = f"Give a username and a password ({problems})."
            return Response({"detail": problems}, status=status.HTTP_400_BAD_REQUEST)
        data = serializer.validated_data
        # The plain Django request, which axes reads and marks: a sign-in refused by the lockout (before this attempt
        # or because of it) is answered by axes' middleware instead, with gallery.signin.lockout_response's 429, as
        # on the sign-in page.
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None:
            return Response({"detail": "Unable to sign in with that username and password."},
                            status=status.HTTP_400_BAD_REQUEST)
        label = data.get("label") or request.META.get("HTTP_USER_AGENT", "")
        token, key = api_token_create(user=user, label=label)
        return created(request, TokenObtainOutputSerializer({"token": key, "id": token.pk, "expiry": token.expiry}).data,
                       view_name="api_token_detail", pk=token.pk)


    def handle_exception(self, exc):
        # Over API_TOKEN_RATE: the body this operation's schema gives every 429 (Locked, as a lockout's), where DRF's
        # own throttle answer carries `detail` alone.
        if isinstance(exc, exceptions.Throttled):
            seconds = max(1, math.ceil(exc.wait or 1))
            return Response({"detail": f"Too many requests from this address: try again in {seconds} second"
                                       f"{'s' if seconds != 1 else ''}.", "retry_after": seconds},
                            status=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(seconds)})
        return super().handle_exception(exc)


class TokenListApi(APIView):
    """The caller's tokens that still work (never their keys)."""

    @extend_schema(responses={200: TokenOutputSerializer(many=True)})
    def get(self, request):
        tokens = api_tokens_of(user=request.user)
        return Response(TokenOutputSerializer(tokens, many=True, context={"current": request.auth}).data)


class TokenDetailApi(APIView):
    @extend_schema(responses={204: None,
                              404: OpenApiResponse(DetailSerializer, description="No such token of yours.")})
    def delete(self, request, token_id: int):
        """Revoke one of the caller's tokens (it stops working at once; revoking the one in use signs it out)."""
        api_token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
