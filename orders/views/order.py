"""One order: detail, create (with customer and SKU lookups), ship, cancel, cancel a line; new customers."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import DetailView

from common.cleaning import plain_int
from common.forms import form_add_service_error
from common.lookups import NameOrNumberLookupView
from common.submissions import SubmissionDone
from common.views import OnceTokenMixin

from ..forms import (
    CancelForm,
    CreateCustomerForm,
    OrderLineFormSet,
    PlaceOrderForm,
    ShipOrderForm,
)
from ..models import Customer, OrderLine, SalesOrder
from ..selectors import line_etas, order_allocations, products_matching
from ..services import (
    customer_create,
    order_cancel,
    order_line_cancel,
    order_place,
    order_ship,
)
from .common import ONCE_TOKEN_RE, _plural, _release_offer


class OrderDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "orders.view_salesorder"
    queryset = SalesOrder.objects.select_related("customer", "warehouse", "created_by")
    template_name = "orders/salesorder_detail.html"
    context_object_name = "order"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        order = self.object
        lines = list(order.lines.select_related("product"))
        etas = line_etas(lines=[line for line in lines if line.quantity_backordered > 0])
        for line in lines:
            line.eta = etas.get(line.pk)
        context["lines"] = lines
        context["allocations"] = order_allocations(order_id=order.pk)
        context["can_ship"] = order.is_open and any(line.quantity_allocated for line in lines)
        return context


class OrderCreateView(OnceTokenMixin, PermissionRequiredMixin, View):
    permission_required = "orders.add_salesorder"
    template_name = "orders/salesorder_form.html"

    def get(self, request):
        initial = {}
        customer = request.GET.get("customer", "")
        # A link that preselects a customer (e.g. after adding one) carries its number.
        if (number := plain_int(customer)) is not None:
            initial["customer"] = Customer.objects.filter(pk=number, is_active=True).first()
        form = PlaceOrderForm(initial=initial)
        formset = OrderLineFormSet(prefix="lines")
        return self.render(form, formset, self.once_token_new())

    def post(self, request):
        token = request.POST.get("once_token", "")
        token_ok = bool(ONCE_TOKEN_RE.fullmatch(token))
        form = PlaceOrderForm(request.POST)
        formset = OrderLineFormSet(request.POST, prefix="lines")
        valid = form.is_valid() and formset.is_valid()
        if not token_ok:
            token = self.once_token_new()
            form.add_error(None, "This form was incomplete; check the order and submit it again.")
        elif valid:
            data = form.cleaned_data
            try:
                order = order_place(
                    customer_id=data["customer"].pk,
                    warehouse_id=data["warehouse"].pk,
                    lines=formset.lines(),
                    by=request.user,
                    priority=data["priority"],
                    customer_reference=data["customer_reference"],
                    submission_key=token,
                )
            except SubmissionDone as done:
                first = self.once_token_first(done, SalesOrder)
                messages.info(
                    request,
                    f"This order was already placed: {first.number}. Nothing was placed twice.",
                )
                return redirect(first)
            except ValidationError as error:
                form_add_service_error(form, error)
            else:
                placed = list(order.lines.all())
                waiting = sum(1 for line in placed if line.quantity_backordered > 0)
                served = len(placed) - waiting
                messages.success(
                    request,
                    f"{order.number} placed: {_plural(served, 'line')} allocated, "
                    f"{waiting} backordered.",
                )
                return redirect(order)
        return self.render(form, formset, token)

    def render(self, form, formset, token):
        return render(
            self.request,
            self.template_name,
            {"form": form, "formset": formset, "once_token": token},
        )


class ProductLookupView(PermissionRequiredMixin, View):
    """htmx: the SKUs matching what the user has typed, as <option>s for the form's datalist."""

    permission_required = "orders.add_salesorder"

    def get(self, request):
        query = request.GET.get("q", "").strip()[:40]
        products = []
        if query:
            products = products_matching(text=query)
        return render(request, "orders/_sku_options.html", {"products": products})


class CustomerLookupView(NameOrNumberLookupView):
    """Customers for the new-order form's datalist."""

    permission_required = "orders.add_salesorder"
    model = Customer
    param = "customer"
    template_name = "orders/_customer_options.html"
    context_object_name = "customers"


class OrderActionView(PermissionRequiredMixin, View):
    """An action on one open order: GET shows the form, POST calls one service."""

    template_name = ""

    def get_order(self, pk):
        return get_object_or_404(SalesOrder.objects.select_related("customer", "warehouse"), pk=pk)

    def closed(self, order):
        messages.error(
            self.request, f"{order.number} is {order.get_status_display().lower()}; nothing to do."
        )
        return redirect(order)

    def render(self, order, form, **extra):
        return render(self.request, self.template_name, {"order": order, "form": form, **extra})


class OrderShipView(OrderActionView):
    permission_required = "orders.ship_salesorder"
    template_name = "orders/salesorder_ship_form.html"

    def get(self, request, pk):
        order = self.get_order(pk)
        if not order.is_open:
            return self.closed(order)
        lines = list(order.lines.select_related("product"))
        return self.render(order, ShipOrderForm(lines=lines), lines=lines)

    def post(self, request, pk):
        order = self.get_order(pk)
        lines = list(order.lines.select_related("product"))
        form = ShipOrderForm(request.POST, lines=lines)
        ship_all = "ship_all" in request.POST
        if ship_all or form.is_valid():
            try:
                shipped = order_ship(
                    order_id=order.pk,
                    by=request.user,
                    quantities=None if ship_all else form.quantities(),
                )
            except ValidationError as error:
                form.is_valid()
                form_add_service_error(form, error)
            else:
                units = sum(line.quantity_shipped for line in shipped.lines.all()) - sum(
                    line.quantity_shipped for line in lines
                )
                messages.success(
                    request,
                    f"Shipped {_plural(units, 'unit')} on {shipped.number}; "
                    f"it is now {shipped.get_status_display().lower()}.",
                )
                return redirect(shipped)
        return self.render(order, form, lines=lines)


class OrderCancelView(OrderActionView):
    permission_required = "orders.cancel_salesorder"
    template_name = "orders/salesorder_cancel_form.html"

    def get(self, request, pk):
        order = self.get_order(pk)
        if not order.is_open:
            return self.closed(order)
        return self.render(order, CancelForm())

    def post(self, request, pk):
        order = self.get_order(pk)
        form = CancelForm(request.POST)
        if form.is_valid():
            try:
                result = order_cancel(
                    order_id=order.pk, reason=form.cleaned_data["reason"], by=request.user
                )
            except ValidationError as error:
                form_add_service_error(form, error)
            else:
                messages.success(
                    request,
                    format_html(
                        "{} cancelled.{}", order.number, _release_offer(result, order.warehouse_id)
                    ),
                )
                return redirect(result.order)
        return self.render(order, form)


class OrderLineCancelView(PermissionRequiredMixin, View):
    """Cancel what is still open on one line (the customer gave up waiting)."""

    permission_required = "orders.cancel_salesorder"
    template_name = "orders/orderline_cancel_form.html"

    def get_line(self, pk):
        return get_object_or_404(
            OrderLine.objects.select_related("order__customer", "order__warehouse", "product"),
            pk=pk,
        )

    def next_url(self, line):
        candidate = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={self.request.get_host()}, require_https=False
        ) and candidate.startswith("/"):
            return candidate
        return line.order.get_absolute_url()

    def get(self, request, pk):
        line = self.get_line(pk)
        return self.render(line, CancelForm())

    def post(self, request, pk):
        line = self.get_line(pk)
        form = CancelForm(request.POST)
        if form.is_valid():
            try:
                result = order_line_cancel(
                    line_id=line.pk, reason=form.cleaned_data["reason"], by=request.user
                )
            except ValidationError as error:
                form_add_service_error(form, error)
            else:
                offer = _release_offer(result, line.order.warehouse_id)
                messages.success(
                    request,
                    format_html(
                        "{} on {} cancelled.{}", line.product.sku, line.order.number, offer
                    ),
                )
                return redirect(self.next_url(line))
        return self.render(line, form)

    def render(self, line, form):
        context = {"line": line, "order": line.order, "form": form, "next": self.next_url(line)}
        return render(self.request, self.template_name, context)


class CustomerCreateView(OnceTokenMixin, PermissionRequiredMixin, View):
    """A new customer. Its name is unique, so a double submit cannot add two; the form's token
    sends the copies to the customer the first one added instead of "already exists"."""

    permission_required = "orders.add_customer"
    template_name = "orders/customer_form.html"

    def get(self, request):
        return self.render(CreateCustomerForm(), self.once_token_new())

    def post(self, request):
        token = request.POST.get("once_token", "")
        form = CreateCustomerForm(request.POST)
        if form.is_valid():
            try:
                customer = customer_create(
                    **form.cleaned_data,
                    by=request.user,
                    # A post without a token (an older page) is still kept single by the name.
                    submission_key=token if ONCE_TOKEN_RE.fullmatch(token) else None,
                )
            except SubmissionDone as done:
                customer = self.once_token_first(done, Customer)
                messages.info(request, f"Customer {customer.name} was already added.")
                return redirect(self.order_with(customer))
            except ValidationError as error:
                form_add_service_error(form, error)
            else:
                messages.success(request, f"Customer {customer.name} added.")
                return redirect(self.order_with(customer))
        return self.render(form, token if ONCE_TOKEN_RE.fullmatch(token) else self.once_token_new())

    @staticmethod
    def order_with(customer: Customer) -> str:
        return f"{reverse('orders:order-create')}?customer={customer.pk}"

    def render(self, form, token):
        return render(self.request, self.template_name, {"form": form, "once_token": token})
