"""Sign-in: the forms, and the throttling glue for django-axes (the client address behind
proxies, and the page a locked-out visitor sees)."""

import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.shortcuts import render


class UsernameLengthCheck:
    """Refuses an over-long username before anything is looked up or recorded.

    Django's sign-in forms set the username's max_length after the field is built, so no
    validator checks it: a long name would reach authenticate() and then django-axes' record of
    the failure, a 255-character column (a database error on PostgreSQL)."""

    def clean_username(self):
        username = self.cleaned_data.get("username", "")
        limit = self.fields["username"].max_length
        if limit and len(username) > limit:
            raise ValidationError(
                f"A username has at most {limit} characters.", code="username_too_long"
            )
        return username


class SignInForm(UsernameLengthCheck, AuthenticationForm):
    pass


class AdminSignInForm(UsernameLengthCheck, AdminAuthenticationForm):
    pass


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
    form = SignInForm(request, initial={"username": username})
    context = {
        "form": form,
        "locked_out": True,
        "lockout_minutes": minutes,
        "next": request.POST.get("next") or request.GET.get("next", ""),
    }
    return render(request, "registration/login.html", context, status=429)
