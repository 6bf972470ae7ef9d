"""The home page: what needs attention today across stock, orders and purchasing."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from backoffice.selectors import attention_summary


class HomeView(LoginRequiredMixin, TemplateView):
    """What needs attention today, each count linking to the list that shows it."""

    template_name = "backoffice/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["summary"] = attention_summary()
        return context
