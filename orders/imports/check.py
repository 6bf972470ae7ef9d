"""Checking the rows of an order import against the database and grouping them into orders; an
order the customer already placed under the same reference is refused."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models.functions import Lower

from common.cleaning import plain_int, quantity_clean
from inventory.models import Product, Warehouse

from ..models import Customer, Priority, SalesOrder, SalesOrderStatus
from ..services.placement import MAX_LINES

PRIORITY_NAMES = {label.lower(): value for value, label in Priority.choices}


@dataclass
class RowCheck:
    number: int
    values: dict
    errors: list[str] = field(default_factory=list)
    product_id: int | None = None
    quantity: int | None = None
    priority: int | None = None

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def problem(self) -> str:
        return "; ".join(self.errors)


@dataclass
class OrderCheck:
    order_ref: str
    customer: str
    warehouse: str
    rows: list[RowCheck] = field(default_factory=list)
    customer_id: int | None = None
    warehouse_id: int | None = None
    priority: int = Priority.NORMAL

    @property
    def valid(self) -> bool:
        return all(row.valid for row in self.rows)

    @property
    def lines(self) -> list[tuple[int, int]]:
        return [(row.product_id, row.quantity) for row in self.rows]

    @property
    def units(self) -> int:
        return sum(row.quantity or 0 for row in self.rows)

    @property
    def priority_label(self) -> str:
        return Priority(self.priority).label


@dataclass
class ImportCheck:
    rows: list[RowCheck]
    orders: list[OrderCheck]

    @property
    def invalid_rows(self) -> list[RowCheck]:
        return [row for row in self.rows if not row.valid]

    @property
    def valid_orders(self) -> list[OrderCheck]:
        return [order for order in self.orders if order.valid]

    @property
    def skipped_orders(self) -> list[OrderCheck]:
        return [order for order in self.orders if not order.valid]

    @property
    def valid_row_count(self) -> int:
        return sum(len(order.rows) for order in self.valid_orders)


def _priority_parse(raw: str) -> int | None:
    text = raw.strip().lower()
    if not text:
        return Priority.NORMAL
    if text in PRIORITY_NAMES:
        return PRIORITY_NAMES[text]
    if (number := plain_int(text)) in Priority.values:
        return number
    return None


def _quantity_parse(raw: str) -> int:
    """quantity_clean reads the quantity cell: it never expands an exponent ("1e999999999") or an
    absurdly long number, and names the quantity in its message."""
    return quantity_clean(raw)


def rows_check(rows: list[dict]) -> ImportCheck:
    """Check every row and group rows into orders (same order_ref, customer and warehouse), in
    file order. Four queries, whatever the number of rows."""
    products = {
        p.key: p
        for p in Product.objects.annotate(key=Lower("sku")).filter(
            key__in={r["sku"].lower() for r in rows if r["sku"]}
        )
    }
    customers = {
        c.key: c
        for c in Customer.objects.annotate(key=Lower("name")).filter(
            key__in={r["customer"].lower() for r in rows if r["customer"]}
        )
    }
    warehouses = {
        w.key: w
        for w in Warehouse.objects.annotate(key=Lower("code")).filter(
            key__in={r["warehouse"].lower() for r in rows if r["warehouse"]}
        )
    }

    checked: list[RowCheck] = []
    orders: dict[tuple[str, str, str], OrderCheck] = {}
    for raw in rows:
        row = RowCheck(number=raw["row"], values=raw)
        checked.append(row)
        if raw.get("extra"):
            row.errors.append("more cells than the header has columns")
        if not raw["order_ref"]:
            row.errors.append("order_ref is empty")
        elif len(raw["order_ref"]) > 60:
            row.errors.append("order_ref is longer than 60 characters")
        customer = customers.get(raw["customer"].lower())
        if not raw["customer"]:
            row.errors.append("customer is empty")
        elif customer is None:
            row.errors.append(f"unknown customer “{raw['customer']}” (add the customer first)")
        elif not customer.is_active:
            row.errors.append(f"customer {customer.name} is inactive")
        warehouse = warehouses.get(raw["warehouse"].lower())
        if not raw["warehouse"]:
            row.errors.append("warehouse is empty")
        elif warehouse is None:
            row.errors.append(f"unknown warehouse code “{raw['warehouse']}”")
        elif not warehouse.is_active:
            row.errors.append(f"warehouse {warehouse.code} is inactive")
        row.priority = _priority_parse(raw["priority"])
        if row.priority is None:
            row.errors.append(
                f"bad priority “{raw['priority']}” (use low, normal, high, urgent or 0–3)"
            )
        product = products.get(raw["sku"].lower())
        if not raw["sku"]:
            row.errors.append("sku is empty")
        elif product is None:
            row.errors.append(f"unknown SKU “{raw['sku']}”")
        elif not product.is_active:
            row.errors.append(f"SKU {product.sku} is inactive")
        else:
            row.product_id = product.pk
        try:
            row.quantity = _quantity_parse(raw["quantity"])
        except ValidationError as exc:
            row.errors.append(f"bad quantity “{raw['quantity'][:30]}”: {' '.join(exc.messages)}")

        key = (raw["order_ref"], raw["customer"].lower(), raw["warehouse"].lower())
        order = orders.get(key)
        if order is None:
            order = orders[key] = OrderCheck(
                order_ref=raw["order_ref"],
                customer=customer.name if customer else raw["customer"],
                warehouse=warehouse.code if warehouse else raw["warehouse"],
                customer_id=customer.pk if customer else None,
                warehouse_id=warehouse.pk if warehouse else None,
                priority=row.priority if row.priority is not None else Priority.NORMAL,
            )
        else:
            first = order.rows[0]
            if (
                row.priority is not None
                and first.priority is not None
                and row.priority != first.priority
            ):
                row.errors.append(f"priority differs from row {first.number} of this order")
            same = next(
                (r for r in order.rows if row.product_id and r.product_id == row.product_id), None
            )
            if same is not None:
                row.errors.append(f"SKU already on row {same.number} of this order")
            if len(order.rows) >= MAX_LINES:
                row.errors.append(f"an order can have at most {MAX_LINES} lines")
        order.rows.append(row)

    _mark_already_placed(list(orders.values()))
    return ImportCheck(rows=checked, orders=list(orders.values()))


def _mark_already_placed(orders: list[OrderCheck]) -> None:
    """A file uploaded twice must not place its orders twice: an order whose reference the
    customer already used on a live order is refused."""
    candidates = [o for o in orders if o.customer_id and o.order_ref]
    if not candidates:
        return
    placed = {
        (customer_id, reference): pk
        for pk, customer_id, reference in SalesOrder.objects.filter(
            customer_id__in={o.customer_id for o in candidates},
            customer_reference__in={o.order_ref for o in candidates},
        )
        .exclude(status=SalesOrderStatus.CANCELLED)
        .values_list("pk", "customer_id", "customer_reference")
    }
    for order in candidates:
        pk = placed.get((order.customer_id, order.order_ref))
        if pk:
            number = SalesOrder(pk=pk).number
            for row in order.rows:
                row.errors.append(f"order {order.order_ref} was already placed as {number}")
