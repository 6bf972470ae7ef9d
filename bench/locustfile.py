"""Simulated warehouse staff for the load test (run by bench/load.py; not imported by Django).

Every tenth simulated user signs in through the form with a demo account, the others start with
a session opened beforehand (see bench/load.py); each then keeps mixing what staff do all day:
browsing (home, stock list and its filters, product pages, backorders, orders, receiving),
placing orders, receiving deliveries against open purchase orders and confirming the release
review that follows. Pages are found by following the app's own links and forms, as a person
would; only the SKUs to order come from the data file bench/load.py writes.

Environment (set by bench/load.py):
- BACKSTOCK_LOAD_DATA: JSON file with "accounts" ([username, password] pairs), "sessions"
  ([cookie name, session key] pairs opened beforehand) and "skus".
- BACKSTOCK_LOAD_REPORT: where to write the counters below when the run ends.
- BACKSTOCK_LOAD_MAX_REQUESTS: a hard cap; the run stops when it is reached.
"""

from __future__ import annotations

import html
import json
import os
import random
import re
from collections import Counter
from html.parser import HTMLParser

import gevent
from locust import HttpUser, between, events, task

DATA = json.loads(open(os.environ["BACKSTOCK_LOAD_DATA"], encoding="utf-8").read())  # noqa: SIM115
REPORT_PATH = os.environ["BACKSTOCK_LOAD_REPORT"]
MAX_REQUESTS = int(os.environ.get("BACKSTOCK_LOAD_MAX_REQUESTS", "50000"))

# Counters of this run: HTTP statuses, server errors by page, and per action how often it was
# tried and how often the app accepted it.
statuses: Counter[int] = Counter()
server_errors: Counter[str] = Counter()
actions: dict[str, Counter[str]] = {
    kind: Counter() for kind in ("browse", "order", "receive", "release")
}
_environment = None
_started = 0  # simulated users started so far


@events.init.add_listener
def _remember_environment(environment, **kwargs):
    global _environment
    _environment = environment


@events.request.add_listener
def _count(name, response=None, exception=None, **kwargs):
    if response is not None and getattr(response, "status_code", None):
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            server_errors[name] += 1
    if sum(statuses.values()) >= MAX_REQUESTS and _environment and _environment.runner:
        gevent.spawn(_environment.runner.quit)


def _write_report(**kwargs):
    report = {
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
        "server_errors": dict(server_errors),
        "actions": {kind: dict(counter) for kind, counter in actions.items()},
    }
    with open(REPORT_PATH, "w", encoding="utf-8") as file:
        json.dump(report, file, indent=2)


events.test_stop.add_listener(_write_report)
events.quitting.add_listener(_write_report)


class FormParser(HTMLParser):
    """The forms of a page as lists of (name, value) pairs a browser would submit (buttons left
    out), with the options of each select."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._select: str | None = None
        self._selected: str | None = None
        self._textarea: str | None = None
        self._text = ""

    @property
    def _form(self) -> dict:
        if not self.forms:
            self.forms.append({"action": "", "fields": [], "options": {}})
        return self.forms[-1]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "fields": [], "options": {}})
        elif tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                return
            self._form["fields"].append((name, attrs.get("value") or ""))
        elif tag == "select" and name:
            self._select, self._selected = name, None
            self._form["options"][name] = []
        elif tag == "option" and self._select:
            value = attrs.get("value") or ""
            self._form["options"][self._select].append(value)
            if "selected" in attrs:
                self._selected = value
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            options = self._form["options"][self._select]
            chosen = self._selected if self._selected is not None else (options or [""])[0]
            self._form["fields"].append((self._select, chosen))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self._form["fields"].append((self._textarea, self._text))
            self._textarea = None


def page_forms(html: str) -> list[dict]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms


def form_with(html: str, field: str) -> dict | None:
    """The first form on the page that has an input of this name."""
    for form in page_forms(html):
        if any(name == field for name, _ in form["fields"]):
            return form
    return None


PRODUCT_LINK = re.compile(r'href="/products/(\d+)/"')
ORDER_LINK = re.compile(r'href="/orders/(\d+)/"')
RECEIVE_LINK = re.compile(r'href="/purchase-orders/(\d+)/receive/"')
RELEASE_LINK = re.compile(r'href="(/releases/review/\?[^"]+)"')
OPTION_VALUE = re.compile(r'<option value="([^"]*)"')


class StaffUser(HttpUser):
    """One member of the warehouse team at work."""

    wait_time = between(0.5, 2.0)

    def on_start(self):
        global _started
        self.product_ids: list[str] = []
        self.order_ids: list[str] = []
        number, _started = _started, _started + 1
        sessions = DATA.get("sessions") or []
        if number % 10 and number < len(sessions):
            cookie, key = sessions[number]
            self.client.cookies.set(cookie, key)
        else:
            self.sign_in()
        # The start of a shift: look at the stock, check deliveries, take an order, see what
        # waits for stock. Every kind of work is then tried early even in a short run.
        self.stock_list()
        self.receive_and_release()
        self.place_order()
        self.release_waiting()

    def sign_in(self):
        username, password = random.choice(DATA["accounts"])
        page = self.client.get("/accounts/login/", name="login form")
        form = form_with(page.text, "csrfmiddlewaretoken")
        token = dict(form["fields"])["csrfmiddlewaretoken"] if form else ""
        with self.client.post(
            "/accounts/login/",
            {"csrfmiddlewaretoken": token, "username": username, "password": password},
            name="sign in",
            catch_response=True,
        ) as response:
            if urlpath(response.url) != "/":
                response.failure(f"sign-in as {username} did not reach the home page")

    # --- browsing ----------------------------------------------------------------------------

    def browse(self, url: str, name: str):
        actions["browse"]["tried"] += 1
        response = self.client.get(url, name=name)
        if response.ok:
            actions["browse"]["ok"] += 1
        return response

    @task(4)
    def home(self):
        self.browse("/", "home")

    @task(4)
    def stock_list(self):
        response = self.browse("/stock/", "stock list")
        self.product_ids = PRODUCT_LINK.findall(response.text)[:50] or self.product_ids

    @task(3)
    def stock_filtered(self):
        query = random.choice(
            ["has_backorders=on", "below_safety_stock=on", "releasable=on", "search=a"]
        )
        self.browse(f"/stock/?{query}", "stock list filtered")

    @task(3)
    def product_detail(self):
        if self.product_ids:
            self.browse(f"/products/{random.choice(self.product_ids)}/", "product detail")

    @task(3)
    def backorders(self):
        self.browse("/backorders/", "backorders")

    @task(2)
    def orders(self):
        response = self.browse("/orders/", "order list")
        self.order_ids = ORDER_LINK.findall(response.text)[:50] or self.order_ids

    @task(2)
    def order_detail(self):
        if self.order_ids:
            self.browse(f"/orders/{random.choice(self.order_ids)}/", "order detail")

    @task(2)
    def receiving(self):
        self.browse("/receiving/", "receiving list")

    # --- writing -----------------------------------------------------------------------------

    @task(3)
    def place_order(self):
        page = self.client.get("/orders/new/", name="order form")
        form = form_with(page.text, "once_token")
        if form is None:
            return
        fields = dict(form["fields"])
        # The customer is typed, as a clerk does: its number, then one of the suggestions. The
        # numbers are ones that exist, so every placement is really tried.
        number = random.choice(DATA.get("customers") or [random.randint(1, 99)])
        suggestions = self.client.get(
            "/orders/new/customer-lookup/",
            params={"customer": str(number)},
            name="customer lookup",
        )
        customers = [html.unescape(value) for value in OPTION_VALUE.findall(suggestions.text)]
        warehouses = [value for value in form["options"].get("warehouse", []) if value]
        if not (customers and warehouses and DATA["skus"]):
            return
        fields.update(customer=random.choice(customers), warehouse=random.choice(warehouses))
        skus = random.sample(DATA["skus"], k=min(len(DATA["skus"]), random.randint(1, 3)))
        for number, sku in enumerate(skus):
            fields[f"lines-{number}-sku"] = sku
            fields[f"lines-{number}-quantity"] = str(random.randint(1, 5))
        actions["order"]["tried"] += 1
        with self.client.post(
            "/orders/new/", fields, name="place order", catch_response=True
        ) as response:
            if re.fullmatch(r"/orders/\d+/", urlpath(response.url)):
                actions["order"]["ok"] += 1
            elif response.ok:
                response.failure("the order was not placed")

    @task(2)
    def receive_and_release(self):
        listing = self.client.get("/receiving/", name="receiving list")
        purchase_orders = RECEIVE_LINK.findall(listing.text)
        if not purchase_orders:
            return
        po = random.choice(purchase_orders)
        page = self.client.get(f"/purchase-orders/{po}/receive/", name="receive form")
        form = form_with(page.text, "idempotency_key")
        if form is None:
            return
        fields = dict(form["fields"])
        # Part of what is outstanding arrives, so purchase orders stay open for a while.
        for name, value in list(fields.items()):
            if name.startswith("line_") and value.isdigit():
                fields[name] = str(random.randint(0, int(value))) if int(value) else "0"
        if not any(name.startswith("line_") and value != "0" for name, value in fields.items()):
            return
        actions["receive"]["tried"] += 1
        # Not recorded is no failure: another user may have received the rest first, and the
        # form says so. Only HTTP errors count against the run.
        response = self.client.post(f"/purchase-orders/{po}/receive/", fields, name="receive")
        landed = urlpath(response.url)
        if landed in {"/releases/review/", f"/purchase-orders/{po}/"}:
            actions["receive"]["ok"] += 1
        if landed == "/releases/review/":
            self.confirm_release(response.text)

    @task(1)
    def release_waiting(self):
        """Stock that is free while customers wait (after a cancellation or an unfinished review):
        open its release review from the stock list and confirm it."""
        listing = self.client.get("/stock/?releasable=on", name="stock list filtered")
        links = RELEASE_LINK.findall(listing.text)
        if links:
            review = self.client.get(html.unescape(random.choice(links)), name="release review")
            self.confirm_release(review.text)

    def confirm_release(self, page: str):
        form = form_with(page, "fingerprint")
        if form is None:
            return  # nothing to confirm (no free stock or no queue any more)
        actions["release"]["tried"] += 1
        # A stale plan (someone released first) is answered with the fresh proposal: refused,
        # not failed.
        response = self.client.post("/releases/review/", form["fields"], name="confirm release")
        if re.fullmatch(r"/releases/\d+/", urlpath(response.url)):
            actions["release"]["ok"] += 1


def urlpath(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url or "").split("?", 1)[0]
