"""inventory.services: input checks, adjustments, counts, transfers and safety stock."""

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from common.cleaning import quantity_clean
from inventory.models import MovementKind, SafetyStockChange, StockLevel, StockMovement
from inventory.services import (
    safety_stock_record,
    safety_stock_set,
    stock_adjust,
    stock_count,
    stock_transfer,
)
from tests.factories import CustomerFactory, StockLevelFactory, WarehouseFactory
from tests.helpers import (
    error_codes,
    error_text,
    give_stock,
    invariants_check,
    level_for,
    place,
    stock_snapshot,
)

# --- quantity_clean ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (0, "zero"),
        ("0", "zero"),
        (-1, "negative"),
        ("-7", "negative"),
        ("1.5", "fractional"),
        (1.5, "fractional"),
        (Decimal("2.25"), "fractional"),
        ("abc", "not_a_number"),
        ("12abc", "not_a_number"),
        ([3], "not_a_number"),
        ("", "required"),
        ("   ", "required"),
        ("\t\n", "required"),
        (None, "required"),
        (True, "required"),
        (False, "required"),
        (10**9 + 1, "too_large"),
        ("1000000001", "too_large"),
        (-(10**12), "too_large"),
        (float("inf"), "not_a_number"),
        (float("nan"), "not_a_number"),
        ("NaN", "not_a_number"),
        ("Infinity", "not_a_number"),
        ("1,000", "not_a_number"),
        ("0x10", "not_a_number"),
        ("1 000", "not_a_number"),
    ],
)
def test_quantity_clean_rejects_bad_input_with_its_code(value, code):
    with pytest.raises(ValidationError) as excinfo:
        quantity_clean(value)
    assert error_codes(excinfo) == {code}


@pytest.mark.parametrize("value", ["1e3", "2E2", "1e0"])
def test_quantity_clean_rejects_scientific_notation(value):
    with pytest.raises(ValidationError) as excinfo:
        quantity_clean(value)
    assert error_codes(excinfo) == {"not_a_number"}


@pytest.mark.parametrize(
    ("value", "code", "text"),
    [
        ("9" * 5000, "too_large", "too large"),
        ("-" + "9" * 5000, "too_large", "too large"),
        ("1e5000", "not_a_number", "whole number"),
    ],
)
def test_quantity_clean_absurdly_long_numbers_give_a_readable_error(value, code, text):
    """The error must render: a 5000-digit integer cannot even be turned into a string."""
    with pytest.raises(ValidationError) as excinfo:
        quantity_clean(value)
    assert error_codes(excinfo) == {code}
    assert text in error_text(excinfo)


QUANTITY_CLEAN_IN_A_CHILD = """
import django, os
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
django.setup()
from django.core.exceptions import ValidationError
from common.cleaning import quantity_clean
try:
    quantity_clean("1e999999999")
except ValidationError as error:
    print(error.code)
"""


def test_quantity_clean_with_a_huge_exponent_answers_at_once():
    """'1e999999999' once made quantity_clean build a billion-digit integer. The call runs in a
    child process because such a conversion cannot be interrupted from inside Python. The time limit
    only stops a hang (that conversion takes hours); it is not a speed target, so it leaves ample
    room for a loaded machine to start Django in the child."""
    root = Path(__file__).resolve().parents[2]
    try:
        child = subprocess.run(  # noqa: S603 - our interpreter running our own fixed code
            [sys.executable, "-c", QUANTITY_CLEAN_IN_A_CHILD],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("quantity_clean('1e999999999') did not return within 2 minutes")
    # Start-up may log to stdout first; the answer is the last line.
    assert child.stdout.strip().splitlines()[-1:] == ["not_a_number"], child.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        ("1", 1),
        (" 7 ", 7),
        ("\t12\n", 12),
        ("5.0", 5),
        (Decimal("3"), 3),
        (4.0, 4),
        (10**9, 10**9),
        ("1000000000", 10**9),
    ],
)
def test_quantity_clean_accepts_whole_positive_numbers(value, expected):
    result = quantity_clean(value)
    assert result == expected
    assert type(result) is int


def test_quantity_clean_allow_zero_accepts_zero_but_not_negative():
    assert quantity_clean("0", allow_zero=True) == 0
    with pytest.raises(ValidationError) as excinfo:
        quantity_clean(-1, allow_zero=True)
    assert error_codes(excinfo) == {"negative"}


def test_quantity_clean_signed_accepts_negative_but_not_zero():
    assert quantity_clean("-4", signed=True) == -4
    with pytest.raises(ValidationError) as excinfo:
        quantity_clean(0, signed=True)
    assert error_codes(excinfo) == {"zero"}
    with pytest.raises(ValidationError) as excinfo:
        quantity_clean(-(10**9) - 1, signed=True)
    assert error_codes(excinfo) == {"too_large"}


def test_quantity_clean_message_names_the_field():
    with pytest.raises(ValidationError) as excinfo:
        quantity_clean("x", field="safety stock")
    assert "safety stock" in error_text(excinfo)


# --- stock_adjust ------------------------------------------------------------------------------


def test_stock_adjust_writes_ledger_row_with_kind_balance_who_and_reason(
    staff_user, product, warehouse
):
    level = level_for(product, warehouse)
    first = stock_adjust(level_id=level.pk, delta=10, reason="Found a pallet", by=staff_user)
    second = stock_adjust(level_id=level.pk, delta="-3", reason="Water damage", by=staff_user)

    level.refresh_from_db()
    assert level.on_hand == 7
    first.refresh_from_db()
    assert (first.kind, first.quantity, first.balance_after) == (MovementKind.ADJUSTMENT, 10, 10)
    assert first.created_by == staff_user
    assert first.reason == "Found a pallet"
    assert (second.quantity, second.balance_after, second.reason) == (-3, 7, "Water damage")
    assert StockMovement.objects.filter(level=level).count() == 2
    invariants_check()


def test_stock_adjust_on_hand_equals_sum_of_movements(staff_user, product, warehouse):
    level = level_for(product, warehouse)
    for delta in (5, 12, -4, 1, -14):
        stock_adjust(level_id=level.pk, delta=delta, reason="Recount", by=staff_user)
    level.refresh_from_db()
    assert level.on_hand == 0
    balances = list(
        StockMovement.objects.filter(level=level)
        .order_by("pk")
        .values_list("balance_after", flat=True)
    )
    assert balances == [5, 17, 13, 14, 0]
    invariants_check()


def test_stock_adjust_refuses_going_below_allocated_and_names_what_is_free(
    staff_user, product, warehouse
):
    level = give_stock(product, warehouse, 10, by=staff_user)
    place(CustomerFactory(), warehouse, [(product, 6)], by=staff_user)
    before = stock_snapshot()
    movements = StockMovement.objects.count()

    with pytest.raises(ValidationError) as excinfo:
        stock_adjust(level_id=level.pk, delta=-5, reason="Broken", by=staff_user)

    assert error_codes(excinfo) == {"below_allocated"}
    assert "Only 4 of WIDGET-1" in error_text(excinfo)
    assert stock_snapshot() == before
    assert StockMovement.objects.count() == movements


def test_stock_adjust_may_remove_exactly_the_free_stock(staff_user, product, warehouse):
    level = give_stock(product, warehouse, 10, by=staff_user)
    place(CustomerFactory(), warehouse, [(product, 6)], by=staff_user)
    stock_adjust(level_id=level.pk, delta=-4, reason="Broken", by=staff_user)
    level.refresh_from_db()
    assert (level.on_hand, level.allocated) == (6, 6)
    invariants_check()


@pytest.mark.parametrize(
    ("reason", "code"), [("", "reason_required"), ("x" * 256, "reason_too_long")]
)
def test_stock_adjust_needs_a_reason(staff_user, product, warehouse, reason, code):
    level = level_for(product, warehouse)
    with pytest.raises(ValidationError) as excinfo:
        stock_adjust(level_id=level.pk, delta=3, reason=reason, by=staff_user)
    assert error_codes(excinfo) == {code}
    assert not StockMovement.objects.exists()


@pytest.mark.parametrize("delta", [0, "1.5", "lots", None, 10**9 + 1])
def test_stock_adjust_rejects_bad_delta_and_writes_nothing(staff_user, product, warehouse, delta):
    level = give_stock(product, warehouse, 3, by=staff_user)
    with pytest.raises(ValidationError):
        stock_adjust(level_id=level.pk, delta=delta, reason="Typo", by=staff_user)
    level.refresh_from_db()
    assert level.on_hand == 3
    assert StockMovement.objects.count() == 1


@pytest.mark.parametrize("level_id", [999_999, "abc", None])
def test_stock_adjust_unknown_level_is_a_validation_error(staff_user, level_id):
    with pytest.raises(ValidationError) as excinfo:
        stock_adjust(level_id=level_id, delta=1, reason="Test", by=staff_user)
    assert error_codes(excinfo) == {"unknown_level"}


def test_stock_adjust_records_anonymous_caller_as_nobody(product, warehouse):
    from django.contrib.auth.models import AnonymousUser

    level = level_for(product, warehouse)
    movement = stock_adjust(level_id=level.pk, delta=2, reason="Import", by=AnonymousUser())
    movement.refresh_from_db()
    assert movement.created_by is None


# --- stock_count -------------------------------------------------------------------------------


def test_stock_count_writes_count_movement_for_the_difference(staff_user, product, warehouse):
    level = give_stock(product, warehouse, 10, by=staff_user)
    movement = stock_count(level_id=level.pk, counted="7", reason="Cycle count", by=staff_user)
    level.refresh_from_db()
    assert level.on_hand == 7
    movement.refresh_from_db()
    assert (movement.kind, movement.quantity, movement.balance_after) == (MovementKind.COUNT, -3, 7)
    assert movement.created_by == staff_user
    assert movement.reason == "Cycle count"
    invariants_check()


def test_stock_count_up_and_to_zero(staff_user, product, warehouse):
    level = give_stock(product, warehouse, 4, by=staff_user)
    up = stock_count(level_id=level.pk, counted=9, reason="Found more", by=staff_user)
    down = stock_count(level_id=level.pk, counted=0, reason="Empty shelf", by=staff_user)
    assert (up.quantity, up.balance_after) == (5, 9)
    assert (down.quantity, down.balance_after) == (-9, 0)
    level.refresh_from_db()
    assert level.on_hand == 0
    invariants_check()


def test_stock_count_matching_the_books_records_nothing(staff_user, product, warehouse):
    level = give_stock(product, warehouse, 4, by=staff_user)
    assert stock_count(level_id=level.pk, counted=4, reason="Cycle count", by=staff_user) is None
    assert StockMovement.objects.filter(level=level).count() == 1


def test_stock_count_refuses_a_count_below_allocated(staff_user, product, warehouse):
    level = give_stock(product, warehouse, 10, by=staff_user)
    place(CustomerFactory(), warehouse, [(product, 6)], by=staff_user)
    before = stock_snapshot()
    with pytest.raises(ValidationError) as excinfo:
        stock_count(level_id=level.pk, counted=5, reason="Cycle count", by=staff_user)
    assert error_codes(excinfo) == {"below_allocated"}
    assert "6 of WIDGET-1 are allocated" in error_text(excinfo)
    assert stock_snapshot() == before
    assert StockMovement.objects.filter(level=level).count() == 1


@pytest.mark.parametrize("counted", [-1, "2.5", "many", "", 10**9 + 1])
def test_stock_count_rejects_bad_counts(staff_user, product, warehouse, counted):
    level = give_stock(product, warehouse, 4, by=staff_user)
    with pytest.raises(ValidationError):
        stock_count(level_id=level.pk, counted=counted, reason="Cycle count", by=staff_user)
    level.refresh_from_db()
    assert level.on_hand == 4


# --- stock_transfer ----------------------------------------------------------------------------


@pytest.fixture
def other_warehouse(db):
    return WarehouseFactory(code="EAST", name="East warehouse")


def test_stock_transfer_writes_two_transfer_movements(
    staff_user, product, warehouse, other_warehouse
):
    source = give_stock(product, warehouse, 10, by=staff_user)
    out_move, in_move = stock_transfer(
        product_id=product.pk,
        from_warehouse_id=warehouse.pk,
        to_warehouse_id=other_warehouse.pk,
        quantity="4",
        reason="Rebalance",
        by=staff_user,
    )
    source.refresh_from_db()
    target = StockLevel.objects.get(product=product, warehouse=other_warehouse)
    assert (source.on_hand, target.on_hand) == (6, 4)
    out_move.refresh_from_db()
    in_move.refresh_from_db()
    assert (out_move.level, out_move.kind, out_move.quantity, out_move.balance_after) == (
        source,
        MovementKind.TRANSFER,
        -4,
        6,
    )
    assert (in_move.level, in_move.kind, in_move.quantity, in_move.balance_after) == (
        target,
        MovementKind.TRANSFER,
        4,
        4,
    )
    assert out_move.reference == in_move.reference == "TR MAIN→EAST"
    assert out_move.created_by == in_move.created_by == staff_user
    assert out_move.reason == in_move.reason == "Rebalance"
    invariants_check()


def test_stock_transfer_refuses_stock_owed_to_the_source_queue(
    staff_user, product, warehouse, other_warehouse
):
    source = give_stock(product, warehouse, 5, by=staff_user)
    first = place(CustomerFactory(), warehouse, [(product, 5)], by=staff_user)
    place(CustomerFactory(), warehouse, [(product, 3)], by=staff_user)  # waits for 3
    from orders.services import order_cancel

    order_cancel(order_id=first.pk, reason="Customer changed mind", by=staff_user)
    # 5 free on the shelf, but 3 are owed to the waiting line: only 2 may leave.
    before = stock_snapshot()
    movements = StockMovement.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        stock_transfer(
            product_id=product.pk,
            from_warehouse_id=warehouse.pk,
            to_warehouse_id=other_warehouse.pk,
            quantity=3,
            reason="Rebalance",
            by=staff_user,
        )
    assert error_codes(excinfo) == {"not_enough_free"}
    assert "Only 2 of WIDGET-1" in error_text(excinfo)
    assert stock_snapshot() == before
    assert StockMovement.objects.count() == movements

    stock_transfer(
        product_id=product.pk,
        from_warehouse_id=warehouse.pk,
        to_warehouse_id=other_warehouse.pk,
        quantity=2,
        reason="Rebalance",
        by=staff_user,
    )
    source.refresh_from_db()
    assert source.on_hand == 3
    invariants_check()


def test_stock_transfer_refuses_allocated_stock(staff_user, product, warehouse, other_warehouse):
    give_stock(product, warehouse, 5, by=staff_user)
    place(CustomerFactory(), warehouse, [(product, 4)], by=staff_user)
    with pytest.raises(ValidationError) as excinfo:
        stock_transfer(
            product_id=product.pk,
            from_warehouse_id=warehouse.pk,
            to_warehouse_id=other_warehouse.pk,
            quantity=2,
            reason="Rebalance",
            by=staff_user,
        )
    assert error_codes(excinfo) == {"not_enough_free"}
    assert not StockLevel.objects.filter(product=product, warehouse=other_warehouse, on_hand__gt=0)


def test_stock_transfer_is_one_transaction(
    staff_user, product, warehouse, other_warehouse, monkeypatch
):
    """If writing the second half fails, the first half is not left behind."""
    give_stock(product, warehouse, 5, by=staff_user)
    import inventory.services as services

    def failing_save(*, levels, fields):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "levels_save", failing_save)
    with pytest.raises(RuntimeError):
        stock_transfer(
            product_id=product.pk,
            from_warehouse_id=warehouse.pk,
            to_warehouse_id=other_warehouse.pk,
            quantity=2,
            reason="Rebalance",
            by=staff_user,
        )
    assert StockMovement.objects.filter(kind=MovementKind.TRANSFER).count() == 0
    assert StockLevel.objects.get(product=product, warehouse=warehouse).on_hand == 5
    invariants_check()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to_warehouse_id": "same"}, "same_warehouse"),
        ({"product_id": 999_999}, "unknown_product"),
        ({"to_warehouse_id": 999_999}, "unknown_warehouse"),
        ({"quantity": 0}, "zero"),
        ({"quantity": "-2"}, "negative"),
        ({"reason": " "}, "reason_required"),
    ],
)
def test_stock_transfer_rejects_bad_requests(
    staff_user, product, warehouse, other_warehouse, kwargs, code
):
    give_stock(product, warehouse, 5, by=staff_user)
    arguments = {
        "product_id": product.pk,
        "from_warehouse_id": warehouse.pk,
        "to_warehouse_id": other_warehouse.pk,
        "quantity": 1,
        "reason": "Rebalance",
        "by": staff_user,
    }
    arguments.update(kwargs)
    if arguments["to_warehouse_id"] == "same":
        arguments["to_warehouse_id"] = warehouse.pk
    with pytest.raises(ValidationError) as excinfo:
        stock_transfer(**arguments)
    assert error_codes(excinfo) == {code}
    assert StockMovement.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("product_id", "unknown_product"),
        ("from_warehouse_id", "unknown_warehouse"),
        ("to_warehouse_id", "unknown_warehouse"),
    ],
)
def test_stock_transfer_non_numeric_ids_are_validation_errors(
    staff_user, product, warehouse, other_warehouse, field, code
):
    give_stock(product, warehouse, 5, by=staff_user)
    arguments = {
        "product_id": product.pk,
        "from_warehouse_id": warehouse.pk,
        "to_warehouse_id": other_warehouse.pk,
        "quantity": 1,
        "reason": "Rebalance",
        "by": staff_user,
        field: "abc",
    }
    with pytest.raises(ValidationError) as excinfo:
        stock_transfer(**arguments)
    assert error_codes(excinfo) == {code}


# --- safety_stock_set --------------------------------------------------------------------------


def test_safety_stock_set_records_old_new_and_who(staff_user, manager_user, product, warehouse):
    level = level_for(product, warehouse)
    (first,) = safety_stock_set(level_ids=[level.pk], value="12", by=staff_user, reason="Season")
    (second,) = safety_stock_set(level_ids=[level.pk], value=5, by=manager_user)

    level.refresh_from_db()
    assert level.safety_stock == 5
    history = list(SafetyStockChange.objects.filter(level=level).order_by("pk"))
    assert [(c.old_value, c.new_value, c.changed_by, c.reason) for c in history] == [
        (0, 12, staff_user, "Season"),
        (12, 5, manager_user, ""),
    ]
    assert [first.pk, second.pk] == [c.pk for c in history]


def test_safety_stock_record_gives_each_level_its_own_value_and_reason(staff_user):
    first, second = StockLevelFactory(), StockLevelFactory()
    with transaction.atomic():
        changes = safety_stock_record(
            values={first.pk: (4, "Lumpy seller"), second.pk: (0, "Not stocked any more")},
            by=staff_user,
        )

    # second already had 0: nothing to record for it.
    assert [(c.level_id, c.old_value, c.new_value, c.reason) for c in changes] == [
        (first.pk, 0, 4, "Lumpy seller")
    ]
    first.refresh_from_db()
    assert first.safety_stock == 4


# A real transaction per statement: the suite's usual test-wide transaction would hide the check.
@pytest.mark.django_db(transaction=True)
def test_safety_stock_record_refuses_to_run_outside_a_transaction(staff_user):
    level = StockLevelFactory()
    with pytest.raises(RuntimeError, match="inside the caller's transaction"):
        safety_stock_record(values={level.pk: (3, "")}, by=staff_user)
    level.refresh_from_db()
    assert level.safety_stock == 0
    assert not SafetyStockChange.objects.exists()


def test_safety_stock_record_refuses_a_level_that_does_not_exist(staff_user):
    level = StockLevelFactory()
    with pytest.raises(ValidationError) as excinfo, transaction.atomic():
        safety_stock_record(values={level.pk: (3, ""), level.pk + 999: (3, "")}, by=staff_user)
    assert error_codes(excinfo) == {"unknown_level"}
    assert not SafetyStockChange.objects.exists()


def test_safety_stock_set_in_bulk_skips_unchanged_levels(staff_user, product, warehouse):
    levels = [level_for(product, warehouse), StockLevelFactory(), StockLevelFactory()]
    safety_stock_set(level_ids=[levels[0].pk], value=8, by=staff_user)
    changes = safety_stock_set(level_ids=[lv.pk for lv in levels], value=8, by=staff_user)
    assert sorted(c.level_id for c in changes) == sorted(lv.pk for lv in levels[1:])
    assert set(
        StockLevel.objects.filter(pk__in=[lv.pk for lv in levels]).values_list(
            "safety_stock", flat=True
        )
    ) == {8}
    assert SafetyStockChange.objects.count() == 3


def test_safety_stock_set_does_not_touch_quantities(staff_user, product, warehouse):
    level = give_stock(product, warehouse, 9, by=staff_user)
    safety_stock_set(level_ids=[level.pk], value=3, by=staff_user)
    level.refresh_from_db()
    assert (level.on_hand, level.allocated, level.safety_stock) == (9, 0, 3)
    assert StockMovement.objects.filter(level=level).count() == 1


@pytest.mark.parametrize(
    ("level_ids", "value", "code"),
    [
        ("ok", -1, "negative"),
        ("ok", "1.5", "fractional"),
        ("ok", "", "required"),
        ("ok", 10**9 + 1, "too_large"),
        ([], 3, "no_levels"),
        (["abc"], 3, "unknown_level"),
        ([999_999], 3, "unknown_level"),
    ],
)
def test_safety_stock_set_rejects_bad_input(staff_user, product, warehouse, level_ids, value, code):
    level = level_for(product, warehouse)
    with pytest.raises(ValidationError) as excinfo:
        safety_stock_set(
            level_ids=[level.pk] if level_ids == "ok" else level_ids, value=value, by=staff_user
        )
    assert error_codes(excinfo) == {code}
    level.refresh_from_db()
    assert level.safety_stock == 0
    assert not SafetyStockChange.objects.exists()


def test_safety_stock_set_with_one_unknown_level_changes_none(staff_user, product, warehouse):
    level = level_for(product, warehouse)
    with pytest.raises(ValidationError):
        safety_stock_set(level_ids=[level.pk, 999_999], value=4, by=staff_user)
    level.refresh_from_db()
    assert level.safety_stock == 0
    assert not SafetyStockChange.objects.exists()


@pytest.mark.parametrize("bad_id", [10**20, 2**63, 0, -3, True])
def test_safety_stock_set_with_ids_that_cannot_be_levels_is_unknown(
    staff_user, product, warehouse, bad_id
):
    level = level_for(product, warehouse)
    with pytest.raises(ValidationError) as excinfo:
        safety_stock_set(level_ids=[level.pk, bad_id], value=4, by=staff_user)
    assert error_codes(excinfo) == {"unknown_level"}
    assert not SafetyStockChange.objects.exists()


def test_stock_transfer_refuses_an_inactive_target_warehouse(staff_user, product, warehouse):
    closed = WarehouseFactory(code="SHUT", name="Closed site", is_active=False)
    give_stock(product, warehouse, 5, by=staff_user)
    before = stock_snapshot()
    with pytest.raises(ValidationError) as excinfo:
        stock_transfer(
            product_id=product.pk,
            from_warehouse_id=warehouse.pk,
            to_warehouse_id=closed.pk,
            quantity=2,
            reason="Rebalance",
            by=staff_user,
        )
    assert error_codes(excinfo) == {"unknown_warehouse"}
    assert stock_snapshot() == before


def test_safety_stock_set_refuses_a_string_of_ids(staff_user, product, warehouse):
    level = give_stock(product, warehouse, 1, by=staff_user)
    with pytest.raises(ValidationError) as excinfo:
        safety_stock_set(level_ids=str(level.pk), value=3, by=staff_user)
    assert error_codes(excinfo) == {"unknown_level"}
    level.refresh_from_db()
    assert level.safety_stock == 0
