"""Product CSV import: upload, preview every row, confirm (writes products and supply terms)."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django_htmx.http import HttpResponseClientRedirect

from common.exports import csv_download
from common.forms import form_add_service_error
from suppliers import imports
from suppliers.forms import ProductImportConfirmForm, ProductImportUploadForm
from suppliers.services.product_import import product_import


class ProductImportView(PermissionRequiredMixin, View):
    """Upload a product CSV; it is checked at once and kept for the preview."""

    permission_required = "inventory.add_product"
    template_name = "suppliers/product_import_form.html"

    def get(self, request):
        return render(request, self.template_name, {"form": ProductImportUploadForm()})

    def post(self, request):
        form = ProductImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            template = "suppliers/_product_import_upload.html" if request.htmx else None
            return render(request, template or self.template_name, {"form": form})
        upload = form.cleaned_data["file"]
        token = imports.upload_keep(
            request.session, data=upload.read(), filename=upload.name or "upload.csv"
        )
        url = reverse("suppliers:product-import-preview", args=[token])
        # htmx posted the file with a progress bar; send the whole page on to the preview.
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


class ProductImportPreviewView(PermissionRequiredMixin, View):
    """Every row of the upload, valid or marked with its reasons; confirm writes the valid ones."""

    permission_required = "inventory.add_product"
    template_name = "suppliers/product_import_preview.html"

    def _upload(self, token):
        info = imports.upload_info(self.request.session, token=token)
        data = imports.upload_read(self.request.session, token=token) if info else None
        return info, data

    def _expired(self):
        messages.warning(
            self.request, "That upload has expired or is not yours; upload the file again."
        )
        return redirect("suppliers:product-import")

    def get(self, request, token):
        info, data = self._upload(token)
        if data is None:
            return self._expired()
        preview = imports.preview_build(data)
        if request.GET.get("_export") == "errors":
            return self._errors_csv(preview, info)
        return self._page(token, info, preview, ProductImportConfirmForm())

    def post(self, request, token):
        info, data = self._upload(token)
        if data is None:
            return self._expired()
        form = ProductImportConfirmForm(request.POST)
        # Checked again now: suppliers or products may have changed since the preview.
        preview = imports.preview_build(data)
        if form.is_valid():
            if preview.invalid_rows and not form.cleaned_data["only_valid"]:
                count = len(preview.invalid_rows)
                form.add_error(
                    "only_valid",
                    f"{count} row{'s are' if count != 1 else ' is'} invalid, so nothing was "
                    "imported. Fix the file and upload it again, or tick this box to import "
                    "only the valid rows.",
                )
            elif preview.file_errors or not preview.valid_rows:
                form.add_error(
                    None, "There are no valid rows to import; fix the file and upload it again."
                )
            else:
                products, terms = preview.inputs()
                try:
                    result = product_import(products=products, terms=terms, by=request.user)
                except ValidationError as error:
                    form_add_service_error(form, error)
                else:
                    imports.upload_discard(request.session, token=token)
                    skipped = len(preview.invalid_rows)
                    messages.success(
                        request,
                        f"Imported {info['filename']}: {result.products_created} products "
                        f"created, {result.products_updated} updated, "
                        f"{result.products_unchanged} unchanged; {result.terms_created} supply "
                        f"terms created, {result.terms_updated} updated"
                        + (f"; {skipped} invalid rows left out." if skipped else "."),
                    )
                    return redirect("suppliers:product-import")
        return self._page(token, info, preview, form)

    def _page(self, token, info, preview, form):
        invalid = preview.invalid_rows
        return render(
            self.request,
            self.template_name,
            {
                "token": token,
                "filename": info["filename"],
                "preview": preview,
                "summary": preview.summary(),
                "invalid_rows": invalid[:500],
                "invalid_hidden": max(0, len(invalid) - 500),
                "sample_rows": preview.valid_rows[:100],
                "form": form,
            },
        )

    def _errors_csv(self, preview, info):
        return csv_download(imports.errors_csv_rows(preview), filename="import-problems.csv")
