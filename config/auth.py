"""Sign-in throttling glue for django-axes: the client address behind proxies, and the page a
locked-out visitor sees."""

import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render


def client_ip(request) -> str | None:
    """The address failed sign-ins are counted against.

    Directly exposed, that is the peer address. Behind BACKSTOCK_TRUSTED_PROXY_COUNT proxies that
    each append to X-Forwarded-For, it is the entry that many places from the right: the one the
    outermost trusted proxy saw. Entries further left are whatever the client chose to send.
    """
    count = settings.BACKSTOCK_TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


def lockout_response(request, original_response=None, credentials=None):
    """The sign-in page again, with the reason the form is refused (429 Too Many Requests)."""
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    context = {
        "form": form,
        "locked_out": True,
        "lockout_minutes": minutes,
        "next": request.POST.get("next") or request.GET.get("next", ""),
    }
    return render(request, "registration/login.html", context, status=429)
