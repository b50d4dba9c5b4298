"""Sign-in lockout: what django-axes needs from us (settings AXES_*), for the sign-in page and the API token alike.

axes counts failures per account and per address and refuses sign-ins over the limit; here we only say who the
client is (its address behind N proxies) and how a refusal reads: the sign-in page with its message, or JSON with
`detail` for the API, both 429 with Retry-After, and both saying for how long."""

from __future__ import annotations

import ipaddress
import logging
import math
from datetime import datetime

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from gallery.text import is_api

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind SIGNIN_PROXY_COUNT proxies the address the outermost of them
    saw (X-Forwarded-For read from the right, so a client can't choose its address by sending the header). An entry
    that is no address ("unknown", one with a port, an obfuscated name) names no client: the proxy's address counts
    (axes can only record an address)."""
    proxies = settings.SIGNIN_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies and _is_address(forwarded[-proxies]):
            return forwarded[-proxies]
    elif not _proxy_warned and request.META.get("HTTP_X_FORWARDED_FOR"):
        _proxy_warn(request.META.get("REMOTE_ADDR") or "")
    return request.META.get("REMOTE_ADDR")


_proxy_warned = False  # (once a process)


def _proxy_warn(remote: str) -> None:
    """Behind a proxy with SIGNIN_PROXY_COUNT left at 0, every client is the proxy's address and shares its lockout:
    said once, when a request is forwarded by a proxy on this machine or network (from the internet, X-Forwarded-For
    is whatever the client sent, and says nothing)."""
    global _proxy_warned
    try:
        nearby = ipaddress.ip_address(remote).is_private
    except ValueError:
        return
    if nearby:
        _proxy_warned = True
        logger.warning("A request came through a proxy (X-Forwarded-For, from %s) but SIGNIN_PROXY_COUNT is 0: every "
                       "client is counted as that proxy's address, so a few wrong passwords anywhere lock everyone "
                       "out. Set SIGNIN_PROXY_COUNT to the number of proxies in front of the app (README, "
                       "Configuration).", remote)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def lockout_ends(*, username: str | None, ip_address: str | None) -> datetime:
    """When the lockout of this account or address ends, counted as axes counts: each record of failures (per
    account, address and browser) counts whole until its last failure is AXES_COOLOFF_TIME old, and the account, or
    the address, is locked while its records' failures reach AXES_FAILURE_LIMIT. So a lock ends when enough of its
    oldest records have expired; a sign-in waits for the later of the two locks (now when neither is locked)."""
    from axes.models import AccessAttempt

    now = timezone.now()
    ends = []
    for matching in ([Q(username=username)] if username else []) + ([Q(ip_address=ip_address)] if ip_address else []):
        records = AccessAttempt.objects.filter(matching, attempt_time__gte=now - settings.AXES_COOLOFF_TIME)
        counted = list(records.order_by("attempt_time").values_list("attempt_time", "failures_since_start"))
        failures = sum(count for _, count in counted)
        for last_failure, count in counted:  # the oldest expire first
            if failures < settings.AXES_FAILURE_LIMIT:
                break
            failures -= count
            if failures < settings.AXES_FAILURE_LIMIT:
                ends.append(last_failure + settings.AXES_COOLOFF_TIME)
    return max(ends, default=now)


def lockout_message(*, username: str | None, ip_address: str | None) -> tuple[str, int]:
    """The sentence a locked-out client reads, and the seconds until it may try again."""
    seconds = max(1, math.ceil((lockout_ends(username=username, ip_address=ip_address) - timezone.now())
                               .total_seconds()))
    minutes = math.ceil(seconds / 60)
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
    return (f"Too many failed sign-ins for this account or from this address: signing in is locked for {wait}. "
            "Try again then, or ask the site's administrator to unlock it."), seconds


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the answer to a sign-in refused because of the lockout."""
    username = (credentials or {}).get("username") or request.POST.get("username")
    message, seconds = lockout_message(username=username, ip_address=client_ip(request))
    if is_api(request):
        response = JsonResponse({"detail": message, "retry_after": seconds}, status=429)
    else:
        # A fresh form keeping the typed username, the lockout as its only error.
        form = AuthenticationForm(request, initial={"username": username or ""})
        response = render(request, "registration/login.html",
                          {"form": form, "lockout": message, "next": request.POST.get("next", "")}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def forget_own_failures(sender, request, user, **kwargs) -> None:
    """user_logged_in: a successful sign-in forgets the failures counted against that account (from any address),
    and only those. What other accounts failed from the same address still counts towards its lockout."""
    from axes.models import AccessAttempt

    AccessAttempt.objects.filter(username=user.get_username()).delete()
