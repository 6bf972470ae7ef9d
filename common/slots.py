"""Slots: places in a lower app's page that a higher app fills.

A lower app never imports a higher one (docs/architecture.md). When its page must show something
a higher app owns — a product page's backorder queue with ETAs, a product's allocation history —
the lower app declares a Slot and the higher app registers a provider for it from its
AppConfig.ready(). The lower app calls the providers without knowing who they are, so the page is
still rendered in one request with the same queries, and the dependency points downwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString


@dataclass(frozen=True)
class Provider:
    function: Callable[..., Any]
    position: int


class Slot:
    """A named place; providers are called in their position's order with the slot's arguments."""

    def __init__(self, name: str):
        self.name = name
        self._providers: list[Provider] = []

    def register(self, *, position: int) -> Callable:
        """Decorator: add a provider at `position` (smaller first). Registering the same function
        again (a second ready()) replaces it instead of adding a copy."""

        def add(function: Callable) -> Callable:
            self._providers = [p for p in self._providers if p.function is not function]
            self._providers.append(Provider(function=function, position=position))
            self._providers.sort(key=lambda p: p.position)
            return function

        return add

    def collect(self, **kwargs) -> list:
        """Each provider's answer, in position order; providers answering None are left out."""
        answers = (provider.function(**kwargs) for provider in self._providers)
        return [answer for answer in answers if answer is not None]

    def __repr__(self) -> str:
        return f"<Slot {self.name}: {len(self._providers)} providers>"


@dataclass(frozen=True)
class Panel:
    """A part of a page: a template of the providing app and its context."""

    template: str
    context: dict

    def render(self, request) -> SafeString:
        return render_to_string(self.template, self.context, request=request)
