"""The rows a demo block starts from: products, suppliers with their terms, and customers."""

from __future__ import annotations

import random

from backoffice.demo.catalogue import CATEGORIES, CUSTOMERS, SUPPLIERS, WAREHOUSES, money, slug
from backoffice.demo.events import CustomerPlan, ProductPlan, SupplierPlan, TermPlan


def products_plan(*, block: int, rng: random.Random) -> list[ProductPlan]:
    """The catalogue; from block 1 on, SKUs carry the block number."""
    products = []
    for category, (_, families) in CATEGORIES.items():
        for stem, template, unit, (low, high), qty, variants in families:
            for index, (code, text) in enumerate(variants):
                sku = f"{category}-{stem}" + (f"-{code}" if code else "")
                if block:
                    sku = f"{sku}-{block:03d}"
                share = index / (len(variants) - 1) if len(variants) > 1 else rng.random()
                cost = float(low) + (float(high) - float(low)) * share
                products.append(
                    ProductPlan(
                        key=len(products),
                        sku=sku,
                        name=template.format(text) if "{}" in template else template,
                        unit=unit,
                        category=category,
                        cost=money(cost),
                        qty=qty,
                        popularity=rng.lognormvariate(0, 1.1),
                    )
                )
    return products


def suppliers_plan(
    *, block: int, rng: random.Random, products: list[ProductPlan]
) -> tuple[list[SupplierPlan], list[TermPlan]]:
    """Suppliers and their terms: every product gets one preferred supplier among the specialists
    of its category, and terms from the other specialists too."""
    suppliers = []
    for key, (name, _, _, phone) in enumerate(SUPPLIERS):
        shown = name if not block else f"{name} (region {block + 1})"
        suppliers.append(
            SupplierPlan(
                key=key,
                name=shown,
                email=f"sales{block or ''}@{slug(name)}.example.com",
                phone=phone,
            )
        )
    initials = {
        key: "".join(word[0] for word in name.split() if word[0].isalpha())[:3]
        for key, (name, *_) in enumerate(SUPPLIERS)
    }
    terms = []
    for product in products:
        specialists = [
            key for key, (_, cats, *_) in enumerate(SUPPLIERS) if product.category in cats
        ]
        preferred = rng.choice(specialists)
        high = product.qty[1]
        pack = 1 if high < 10 else rng.choice((1, 2, 5, 6, 10) if high < 40 else (6, 10, 12))
        for supplier in sorted(specialists, key=lambda key: key != preferred):
            is_preferred = supplier == preferred
            markup = 1 if is_preferred else rng.uniform(1.04, 1.15)
            term = TermPlan(
                supplier=supplier,
                product=product.key,
                supplier_sku=f"{initials[supplier]}-{rng.randint(10000, 99999)}",
                unit_cost=money(float(product.cost) * rng.uniform(0.95, 1.05) * markup),
                lead_time_days=min(30, max(3, SUPPLIERS[supplier][2] + rng.randint(-2, 3))),
                min_order_qty=pack * rng.choice((1, 1, 2, 3)),
                pack_size=pack,
                is_preferred=is_preferred,
            )
            terms.append(term)
    return suppliers, terms


def customers_plan(*, block: int, rng: random.Random) -> list[CustomerPlan]:
    codes = [code for code, _ in WAREHOUSES]
    categories = list(CATEGORIES)
    customers = []
    for key, name in enumerate(CUSTOMERS):
        customers.append(
            CustomerPlan(
                key=key,
                name=name if not block else f"{name} (branch {block + 1})",
                email=f"orders{block or ''}@{slug(name)}.example.com",
                warehouse=rng.choices(codes, weights=(45, 30, 25))[0],
                key_account=rng.random() < 0.2,
                partial_ok=rng.random() < 0.3,
                weight=rng.lognormvariate(0, 0.8),
                favourites=tuple(rng.sample(categories, 3)),
            )
        )
    return customers
