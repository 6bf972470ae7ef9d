"""Orders forms, one module per part: placing, shipping, cancelling and importing orders
(`orders`), and the release review (`release`)."""

from .orders import (
    BaseOrderLineFormSet,
    CancelForm,
    ConfirmImportForm,
    CreateCustomerForm,
    OrderLineForm,
    OrderLineFormSet,
    PlaceOrderForm,
    ShipOrderForm,
    UploadOrdersForm,
)

__all__ = [
    "BaseOrderLineFormSet",
    "CancelForm",
    "ConfirmImportForm",
    "CreateCustomerForm",
    "OrderLineForm",
    "OrderLineFormSet",
    "PlaceOrderForm",
    "ShipOrderForm",
    "UploadOrdersForm",
]
