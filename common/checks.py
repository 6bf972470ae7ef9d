"""The project's own system checks."""

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

MISSING_KEY_MESSAGE = "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (production)."


def secret_key_missing() -> bool:
    """True when production settings have no secret key (Django refuses to hand out an empty
    one, so asking is the test)."""
    try:
        return not settings.SECRET_KEY
    except ImproperlyConfigured:
        return True


@register(deploy=True)
def secret_key_check(app_configs, **kwargs):
    if settings.DEBUG or not secret_key_missing():
        return []
    return [
        Error(
            MISSING_KEY_MESSAGE,
            hint='Generate one with: python -c "import secrets; print(secrets.token_urlsafe(50))"',
            id="backstock.E001",
        )
    ]
