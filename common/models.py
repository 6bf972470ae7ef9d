"""The one table common keeps: which form submission created what."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Submission(models.Model):
    """One submitted create form, keyed by the token the form carried.

    The row is inserted in the same transaction as what the form creates, so the unique key
    decides between concurrent copies of one submission: the first commits, the others find its
    row and are sent to what it created. `object_id` stays null only inside that transaction."""

    key = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=40)
    object_id = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.kind} {self.object_id} ({self.key})"
