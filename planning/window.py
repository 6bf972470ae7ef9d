"""The days planning looks back over: shared by the screen, the rows and the KPIs."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone


def demand_window(today: dt.date | None = None) -> tuple[dt.date, dt.date, int]:
    """(first day, last day, number of days) of the demand look-back window, ending today."""
    today = today or timezone.localdate()
    days = max(1, int(settings.BACKSTOCK_DEMAND_WINDOW_DAYS))
    return today - dt.timedelta(days=days - 1), today, days


def day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of a local day, as an aware datetime."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())
