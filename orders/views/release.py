"""The release review (propose, adjust, move up, confirm) and the page of a confirmed release.

The review never trusts a re-posted plan: each request asks release_propose for the current one,
reads only the staff's decisions from the form (quantities, moved-up lines with reasons, a note),
and release_confirm checks the fingerprint of the plan they saw under lock (rule 4).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.views import View
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin

from common.input_guard import RefusedText, has_control_characters
from common.numbers import document_number
from common.views import CsvExportMixin
from inventory.models import Warehouse
from orders.forms.release import (
    ConfirmReleaseForm,
    ReleaseLinesForm,
    ReleaseSelectionForm,
    moved_up_dump,
)
from suppliers.selectors import shipment_product_ids

from ..filters import ReleaseAllocationFilter
from ..models import Release
from ..selectors import (
    products_by_sku,
    release_allocation_lines,
    release_allocations,
    release_ready_orders,
    release_summary,
)
from ..services import (
    ReleaseDecision,
    ReleasePlan,
    StalePlanError,
    release_confirm,
    release_propose,
)
from ..tables import ReadyOrderTable, ReleaseAllocationTable
from .lists import CountedPaginator

# Shown when the page itself notices that the plan changed before the service was asked.
CHANGED_MESSAGE = (
    "The stock or the queue changed while you were reviewing (someone else placed, shipped, "
    "cancelled or released). Nothing was applied. Here is the fresh proposal."
)


class ReleaseReviewView(PermissionRequiredMixin, View):
    """GET ?warehouse=&product=&product=&shipment= shows the proposal; POST moves a line up or
    back, or confirms the reviewed plan."""

    permission_required = "orders.add_release"
    template_name = "orders/release_review.html"

    def get(self, request):
        selection = ReleaseSelectionForm(request.GET)
        if not selection.is_valid():
            return self.render_page(selection_form=selection)
        return self.show(selection.selection(), moved_up={})

    def post(self, request):
        form = ConfirmReleaseForm(request.POST)
        if not form.is_valid():
            return self.render_page(selection_form=form)
        selection, moved_up = form.selection(), form.cleaned_data["moved_up"]
        if "move_up" in request.POST:
            return self.move_up(form, selection, moved_up)
        if "move_back" in request.POST:
            moved_up.pop(self.posted_line_id("move_back"), None)
            return self.show(
                selection,
                moved_up,
                note=form.cleaned_data["note"],
                seen=form.cleaned_data["fingerprint"],
            )
        return self.confirm(form, selection, moved_up)

    # --- actions ---------------------------------------------------------------------------

    def move_up(self, form, selection, moved_up):
        plan = self.propose(selection, moved_up)
        if plan is None:
            return self.render_page(selection_form=form)
        line_id = self.posted_line_id("move_up")
        line = self.find_line(plan, line_id)
        if plan.fingerprint != form.cleaned_data["fingerprint"] or line is None:
            return self.show(selection, moved_up, errors=[CHANGED_MESSAGE])
        raw = self.request.POST.get(f"reason_{line_id}", "")
        reason = raw.strip()
        # The input guard has already taken out what no field may hold; say so rather than
        # record a reason other than the one typed.
        refused = isinstance(raw, RefusedText) or has_control_characters(reason)
        if refused or not reason or len(reason) > 255:
            if refused:
                error = (
                    f"The reason for moving {line.order_number} up held invisible control "
                    "characters (such as NUL or a tab); type it again on one line."
                )
            elif reason:
                error = f"Give a reason for moving {line.order_number} up (at most 255 characters)."
            else:
                error = f"Give a reason for moving {line.order_number} up."
            # Nothing changed: keep what the staff typed in the other boxes.
            lines_form = ReleaseLinesForm(self.request.POST, plan=plan)
            lines_form.is_valid()
            return self.render_page(
                plan=plan,
                lines_form=lines_form,
                confirm_form=self.confirm_form(plan, selection, moved_up, form),
                errors=[error],
            )
        moved_up.pop(line_id, None)
        moved_up[line_id] = reason
        return self.show(
            selection,
            moved_up,
            note=form.cleaned_data["note"],
            seen=form.cleaned_data["fingerprint"],
            notice=f"{line.order_number} moved up. Check the quantities, then confirm.",
        )

    def confirm(self, form, selection, moved_up):
        plan = self.propose(selection, moved_up)
        if plan is None:
            return self.render_page(selection_form=form)
        seen = form.cleaned_data["fingerprint"]
        # Lines the page did not show are released as this plan proposes, so it must be the plan
        # the staff saw; release_confirm checks the same fingerprint again under lock.
        if plan.fingerprint != seen:
            return self.show_fresh(selection, moved_up, form, [CHANGED_MESSAGE])
        lines_form = ReleaseLinesForm(self.request.POST, plan=plan)
        if not lines_form.is_valid():
            return self.render_page(
                plan=plan,
                lines_form=lines_form,
                confirm_form=self.confirm_form(plan, selection, moved_up, form),
                errors=lines_form.non_field_errors()
                or ["Some quantities need correcting; nothing was applied."],
            )
        decisions = [
            ReleaseDecision(
                line_id=line_id, quantity=quantity, moved_up_reason=moved_up.get(line_id, "")
            )
            for line_id, quantity in lines_form.decided()
        ]
        try:
            result = release_confirm(
                warehouse_id=selection["warehouse_id"],
                product_ids=selection["product_ids"],
                fingerprint=seen,
                decisions=decisions,
                by=self.request.user,
                shipment_id=selection["shipment_id"],
                note=form.cleaned_data["note"],
            )
        except StalePlanError as error:
            return self.show_fresh(selection, moved_up, form, error.messages)
        except ValidationError as error:
            return self.render_page(
                plan=plan,
                lines_form=lines_form,
                confirm_form=self.confirm_form(plan, selection, moved_up, form),
                errors=error.messages,
            )
        release, ready = result.release, len(result.ready_order_ids)
        text = f"{release.number}: released {result.units:,} units."
        if ready:
            text += f" {ready:,} order{'s are' if ready != 1 else ' is'} now ready to ship."
        messages.success(self.request, text)
        return redirect("orders:release-detail", pk=release.pk)

    # --- helpers ---------------------------------------------------------------------------

    def propose(self, selection, moved_up) -> ReleasePlan | None:
        try:
            return release_propose(moved_up=moved_up, **selection)
        except ValidationError as error:
            self.propose_errors = error.messages
            return None

    def show(self, selection, moved_up, *, note="", errors=(), notice="", seen=""):
        """A fresh proposal; `seen` is the fingerprint of the page the staff came from."""
        plan = self.propose(selection, moved_up)
        if plan is None:
            return self.render_page(errors=self.propose_errors)
        if seen and plan.fingerprint != seen and not errors:
            errors, notice = [CHANGED_MESSAGE], ""
        # A moved-up line that no longer waits has nothing left to carry.
        waiting = {line.line_id for product in plan.products for line in product.lines}
        moved_up = {lid: reason for lid, reason in moved_up.items() if lid in waiting}
        confirm_form = ConfirmReleaseForm(
            initial={
                "warehouse": selection["warehouse_id"],
                "product": selection["product_ids"],
                "shipment": selection["shipment_id"],
                "fingerprint": plan.fingerprint,
                "moved_up": moved_up_dump(moved_up),
                "note": note,
            }
        )
        return self.render_page(
            plan=plan,
            lines_form=ReleaseLinesForm(plan=plan),
            confirm_form=confirm_form,
            errors=list(errors),
            notice=notice,
        )

    def show_fresh(self, selection, moved_up, form, errors):
        """Nothing was applied: the current proposal, keeping the reasons of lines still waiting."""
        return self.show(selection, moved_up, note=form.cleaned_data["note"], errors=errors)

    def confirm_form(self, plan, selection, moved_up, posted) -> ConfirmReleaseForm:
        """The posted hidden state, unchanged: the staff has not yet seen anything newer."""
        return ConfirmReleaseForm(
            initial={
                "warehouse": selection["warehouse_id"],
                "product": selection["product_ids"],
                "shipment": selection["shipment_id"],
                "fingerprint": posted.cleaned_data["fingerprint"],
                "moved_up": moved_up_dump(moved_up),
                "note": posted.cleaned_data["note"],
            }
        )

    @staticmethod
    def review_url(warehouse_id, product_ids, shipment_id=None) -> str:
        query = [("warehouse", warehouse_id)]
        if shipment_id:
            query.append(("shipment", shipment_id))
        query += [("product", product_id) for product_id in product_ids]
        return f"{reverse('orders:release-review')}?{urlencode(query)}"

    def links(self, plan, product_ids) -> dict:
        """Where "show all lines" of one product leads (the review of that product alone), and,
        on such a page, the way back to the review of the whole shipment."""
        links = {
            "alone_url": self.review_url(plan.warehouse_id, [], plan.shipment_id) + "&product="
        }
        if plan.shipment_id and len(product_ids) == 1:
            arrived = shipment_product_ids(shipment_id=plan.shipment_id)
            if set(arrived) - set(product_ids):
                links["whole_url"] = self.review_url(plan.warehouse_id, arrived, plan.shipment_id)
        return links

    def posted_line_id(self, name) -> int | None:
        try:
            return int(self.request.POST.get(name, ""))
        except ValueError:
            return None

    @staticmethod
    def find_line(plan: ReleasePlan, line_id):
        for product in plan.products:
            for line in product.lines:
                if line.line_id == line_id:
                    return line
        return None

    def render_page(
        self,
        *,
        plan=None,
        lines_form=None,
        confirm_form=None,
        selection_form=None,
        errors=(),
        notice="",
    ):
        context = {
            "plan": plan,
            "lines_form": lines_form,
            "confirm_form": confirm_form,
            "selection_form": selection_form,
            "errors": list(errors),
            "notice": notice,
        }
        if plan is not None:
            shown = set(plan.product_ids)
            quiet = [pid for pid in confirm_form.initial["product"] if pid not in shown]
            context["warehouse"] = Warehouse.objects.get(pk=plan.warehouse_id)
            context["shipment_number"] = (
                document_number("SH", plan.shipment_id) if plan.shipment_id else ""
            )
            # Requested products with neither stock nor a queue here: the plan leaves them out.
            context["quiet_products"] = list(products_by_sku(product_ids=quiet)) if quiet else []
            context["can_confirm"] = any(
                product.available > 0 and product.lines for product in plan.products
            )
            context.update(self.links(plan, confirm_form.initial["product"]))
        return render(self.request, self.template_name, context)


class ReleaseDetailView(CsvExportMixin, PermissionRequiredMixin, SingleTableMixin, FilterView):
    """What a release gave to whom and why, and which orders it made ready to ship.

    A release can serve twenty thousand lines, so the page is a summary counted in SQL, the ready
    orders and the allocations each paged, and a CSV of every allocation (`?_export=csv`)."""

    permission_required = "orders.view_release"
    template_name = "orders/release_detail.html"
    table_class = ReleaseAllocationTable
    filterset_class = ReleaseAllocationFilter
    table_pagination = {"per_page": 50}
    ready_per_page = 20

    def get(self, request, *args, **kwargs):
        self.release = get_object_or_404(
            Release.objects.select_related(
                "warehouse", "shipment", "shipment__purchase_order", "created_by"
            ),
            pk=kwargs["pk"],
        )
        return super().get(request, *args, **kwargs)

    @property
    def export_name(self) -> str:
        return self.release.number

    @cached_property
    def summary(self) -> dict[str, int]:
        return release_summary(release_id=self.release.pk)

    def get_queryset(self):
        return release_allocations(release_id=self.release.pk)

    def get_table_pagination(self, table):
        paginate = super().get_table_pagination(table)
        if paginate is False or self.filterset.form.has_changed():
            return paginate
        # Unfiltered, the summary has already counted the allocations: no second COUNT.
        return {
            **paginate,
            "paginator_class": CountedPaginator,
            "count": self.summary["allocations"],
        }

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        if hasattr(table, "page"):
            # The line, order, customer and product of the page's rows only: sorting every
            # allocation with them joined costs more than the whole page (one query).
            release_allocation_lines(allocations=[row.record for row in table.page.object_list])
        return table

    def ready_table(self) -> ReadyOrderTable:
        table = ReadyOrderTable(
            release_ready_orders(release_id=self.release.pk),
            prefix="ready-",
            can_ship=self.request.user.has_perm("orders.ship_salesorder"),
        )
        RequestConfig(
            self.request,
            paginate={
                "per_page": self.ready_per_page,
                "paginator_class": CountedPaginator,
                "count": self.summary["ready_orders"],
            },
        ).configure(table)
        return table

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["release"] = self.release
        context["summary"] = self.summary
        context["ready_table"] = self.ready_table()
        return context
