"""CSV import of customer orders: upload, preview, confirm."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django_htmx.http import HttpResponseClientRedirect

from orders.services.imports import orders_import

from ..forms import (
    ConfirmImportForm,
    UploadOrdersForm,
)
from ..imports import import_claim, import_load, import_save, rows_check, upload_read
from .common import IMPORTS_SESSION_KEY, _plural


class OrderImportView(PermissionRequiredMixin, View):
    """Upload: the file is read and stored server-side, then the preview is shown by token."""

    permission_required = "orders.add_salesorder"
    template_name = "orders/salesorder_import.html"

    def get(self, request):
        return render(request, self.template_name, {"form": UploadOrdersForm()})

    def post(self, request):
        form = UploadOrdersForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                rows = upload_read(upload)
            except ValidationError as error:
                form.add_error("file", error)
            else:
                token = import_save(rows=rows, filename=upload.name, user_id=request.user.pk)
                tokens = request.session.get(IMPORTS_SESSION_KEY, [])
                request.session[IMPORTS_SESSION_KEY] = [*tokens[-9:], token]
                url = reverse("orders:order-import-preview", args=[token])
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        template = f"{self.template_name}#upload-form" if request.htmx else self.template_name
        return render(request, template, {"form": form})


class OrderImportPreviewView(PermissionRequiredMixin, View):
    """Preview every row (invalid ones with their reason), then confirm to place the orders."""

    permission_required = "orders.add_salesorder"
    template_name = "orders/salesorder_import_preview.html"

    def stored(self, token):
        if token not in self.request.session.get(IMPORTS_SESSION_KEY, []):
            return None
        return import_load(token=token, user_id=self.request.user.pk)

    def gone(self):
        messages.warning(
            self.request,
            "That upload is no longer available (it was imported already or expired). "
            "Upload the file again if needed.",
        )
        return redirect("orders:order-import")

    def get(self, request, token):
        payload = self.stored(token)
        if payload is None:
            return self.gone()
        return self.render(payload, rows_check(payload["rows"]), ConfirmImportForm())

    def post(self, request, token):
        payload = self.stored(token)
        if payload is None:
            return self.gone()
        form = ConfirmImportForm(request.POST)
        check = rows_check(payload["rows"])
        form.is_valid()
        if check.invalid_rows and not form.cleaned_data.get("only_valid"):
            form.add_error(
                None,
                f"{_plural(len(check.invalid_rows), 'row')} "
                f"{'has' if len(check.invalid_rows) == 1 else 'have'} problems, so nothing was "
                "imported. Fix the file and upload it again, or tick “Import only the valid rows”.",
            )
        elif not check.valid_orders:
            form.add_error(None, "No order in this file is valid; nothing was imported.")
        elif import_claim(token=token, user_id=request.user.pk) is None:
            return self.gone()
        else:
            request.session[IMPORTS_SESSION_KEY] = [
                t for t in request.session.get(IMPORTS_SESSION_KEY, []) if t != token
            ]
            self.report(orders_import(orders=check.valid_orders, by=request.user), check)
            return redirect("orders:order-list")
        return self.render(payload, check, form)

    def report(self, outcomes, check):
        placed = [o for o in outcomes if o.order]
        failed = [o for o in outcomes if not o.order]
        if placed:
            messages.success(
                self.request,
                f"Imported {_plural(len(placed), 'order')}: "
                f"{_plural(sum(o.lines_allocated for o in placed), 'line')} allocated, "
                f"{sum(o.lines_backordered for o in placed)} backordered.",
            )
        if check.skipped_orders:
            refs = [o.order_ref or "(no ref)" for o in check.skipped_orders]
            messages.warning(
                self.request,
                f"Skipped {_plural(len(refs), 'order')} with invalid rows: "
                f"{', '.join(refs[:20])}{' …' if len(refs) > 20 else ''}.",
            )
        for outcome in failed[:10]:
            messages.error(
                self.request,
                f"Order {outcome.order_ref} for {outcome.customer} was not placed: {outcome.error}",
            )
        if len(failed) > 10:
            messages.error(self.request, f"{len(failed) - 10} more orders were not placed.")

    def render(self, payload, check, form):
        context = {"payload": payload, "check": check, "form": form}
        return render(self.request, self.template_name, context)
