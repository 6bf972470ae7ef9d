"""Measured lead times: purchase order sent → its first shipment received, per supplier."""

import datetime as dt
import math
import uuid

import pytest
from django.utils import timezone

from suppliers.models import PurchaseOrderStatus, Shipment
from suppliers.selectors import supplier_lead_times
from tests.factories import PurchaseOrderFactory, SupplierFactory, SupplierProductFactory

pytestmark = pytest.mark.django_db

SENT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def delivered(supplier, *, after_days: float, expected_after: int = 7, sent_at=SENT, more=()):
    """A sent purchase order whose first shipment landed `after_days` after sending; `more` adds
    later shipments at those day offsets."""
    po = PurchaseOrderFactory(
        supplier=supplier,
        status=PurchaseOrderStatus.RECEIVED,
        sent_at=sent_at,
        expected_date=sent_at.date() + dt.timedelta(days=expected_after),
    )
    for offset in (after_days, *more):
        shipment = Shipment.objects.create(purchase_order=po, idempotency_key=uuid.uuid4().hex)
        # received_at is set on insert; history is written back afterwards.
        Shipment.objects.filter(pk=shipment.pk).update(
            received_at=sent_at + dt.timedelta(days=offset)
        )
    return po


def test_measured_mean_and_sample_stdev_over_orders():
    supplier = SupplierFactory()
    delivered(supplier, after_days=5)
    delivered(supplier, after_days=9)

    stats = supplier_lead_times()[supplier.pk]

    assert stats.samples == 2
    assert stats.measured_mean == pytest.approx(7)
    assert stats.measured_stdev == pytest.approx(math.sqrt(8))  # sample: ((−2)² + 2²) / 1


def test_only_the_first_shipment_of_an_order_counts():
    supplier = SupplierFactory()
    delivered(supplier, after_days=4, more=(20, 30))

    stats = supplier_lead_times()[supplier.pk]

    assert stats.samples == 1
    assert stats.measured_mean == pytest.approx(4)


def test_fractional_days_are_kept():
    supplier = SupplierFactory()
    delivered(supplier, after_days=2.5)

    assert supplier_lead_times()[supplier.pk].measured_mean == pytest.approx(2.5)


def test_on_time_means_received_on_or_before_the_expected_date():
    supplier = SupplierFactory()
    delivered(supplier, after_days=7, expected_after=7)  # on the day: on time
    delivered(supplier, after_days=3, expected_after=7)  # early: on time
    delivered(supplier, after_days=8, expected_after=7)  # a day late

    stats = supplier_lead_times()[supplier.pk]

    assert stats.on_time == 2
    assert stats.on_time_rate == pytest.approx(2 / 3)


def test_promised_is_the_mean_of_the_suppliers_terms():
    supplier = SupplierFactory()
    SupplierProductFactory(supplier=supplier, lead_time_days=7)
    SupplierProductFactory(supplier=supplier, lead_time_days=10)

    assert supplier_lead_times()[supplier.pk].promised_days == pytest.approx(8.5)


def test_supplier_without_deliveries_has_no_measurement():
    supplier = SupplierFactory()
    SupplierProductFactory(supplier=supplier, lead_time_days=12)
    PurchaseOrderFactory(supplier=supplier)  # a draft: never sent
    PurchaseOrderFactory(
        supplier=supplier, status=PurchaseOrderStatus.SENT, sent_at=timezone.now()
    )  # sent, nothing received yet

    stats = supplier_lead_times()[supplier.pk]

    assert stats.samples == 0
    assert stats.measured_mean is None
    assert stats.measured_stdev is None
    assert stats.on_time_rate is None
    assert stats.promised_days == 12


def test_one_delivery_gives_a_mean_but_no_spread():
    supplier = SupplierFactory()
    delivered(supplier, after_days=6)

    stats = supplier_lead_times()[supplier.pk]

    assert stats.measured_mean == pytest.approx(6)
    assert stats.measured_stdev is None


def test_supplier_without_terms_has_no_promise():
    supplier = SupplierFactory()

    assert supplier_lead_times()[supplier.pk].promised_days is None


def test_filter_by_supplier_ids():
    wanted, other = SupplierFactory(), SupplierFactory()
    delivered(wanted, after_days=3)
    delivered(other, after_days=11)

    stats = supplier_lead_times(supplier_ids=[wanted.pk])

    assert set(stats) == {wanted.pk}
    assert stats[wanted.pk].measured_mean == pytest.approx(3)


def test_empty_supplier_list_needs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert supplier_lead_times(supplier_ids=[]) == {}


@pytest.mark.parametrize("suppliers", [1, 6])
def test_query_count_is_fixed(django_assert_num_queries, suppliers):
    for _ in range(suppliers):
        supplier = SupplierFactory()
        SupplierProductFactory(supplier=supplier)
        for days in (2, 4, 6):
            delivered(supplier, after_days=days, more=(9,))

    # 1: suppliers with the mean of their terms' lead times
    # 2: sent purchase orders with their first shipment's time
    with django_assert_num_queries(2):
        stats = supplier_lead_times()

    assert len(stats) == suppliers
    assert all(s.samples == 3 for s in stats.values())
