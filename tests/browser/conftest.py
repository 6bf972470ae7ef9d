"""Fixtures of the browser tests: signing in through the real form, extra browser sessions, and a
small shared world (one warehouse, customers, a supplier).

The live server answers from another thread, so everything a test builds must be committed: every
module here runs with `django_db(transaction=True)`.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.factories import CustomerFactory, SupplierFactory

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Fill the login form as a user would and wait for Home."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("signed-in-user")).to_have_text(username)


def nav(page: Page, name: str):
    """A link of the main navigation bar."""
    return page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name=name, exact=True
    )


@pytest.fixture
def log_in():
    """log_in(page, user): sign in through the login form."""

    def log_in(page: Page, user) -> Page:
        sign_in(page, user.username)
        return page

    return log_in


@pytest.fixture
def open_session(browser, live_server):
    """open_session() -> a page in a new browser context (its own cookies): a second user at
    another desk."""
    contexts = []

    def open_session() -> Page:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_session
    for context in contexts:
        context.close()


@pytest.fixture
def customers(db):
    return [CustomerFactory(name=name) for name in ("Acme Hardware", "Birch & Sons", "Cobalt Ltd")]


@pytest.fixture
def supplier(db):
    return SupplierFactory(name="Northwind Supply")


def days_ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)
